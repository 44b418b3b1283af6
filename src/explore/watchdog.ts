/**
 * A search in a worker thread that the calling thread stops when `--max-seconds`
 * has passed. The walker checks the clock between expansions, but a step is a
 * guard or action of a model or of a user's driver, and a synchronous loop that
 * never ends (`for (;;) {}` in a driver) cannot be interrupted in its own thread.
 * The worker publishes the step it runs in a SharedArrayBuffer (setStepProbe), so
 * that when the deadline passes by GRACE_MS and no answer has come, the caller
 * terminates the worker and reports the search incomplete, naming the step that
 * did not return, with the figures of the last progress report.
 */
import { Worker } from 'node:worker_threads';
import type { Compiled } from './compile.ts';
import type { CompiledSource } from './parallel-protocol.ts';
import type { SearchOptions } from './search.ts';
import { limitHit, type Progress, type WalkResult } from './walker.ts';

/** How long past the deadline a search may take to stop by itself (it looks at the clock every 4096 states). */
export const GRACE_MS = 1000;

/** A step probe: [actor, branch id, 1 while a step runs]. */
export const newProbe = (): Int32Array => new Int32Array(new SharedArrayBuffer(12));

/** The limit of a search stopped inside a step: the flag, and the step that did not return. */
export function stuckLimit(c: Compiled, probe: Int32Array, maxSeconds: number | undefined): string {
  const a = c.actors[probe[0]];
  const br = a?.branches[probe[1]];
  const step = br ? `${a.name} at '${a.states[br.from]}' on ${br.event} (${a.fnOf[br.from]})` : 'a step';
  return `${limitHit('seconds', { maxSeconds })}: ${step} did not return`;
}

/** The options a worker takes (the rest are functions, given by the worker itself). */
const DATA_KEYS = ['maxStates', 'maxSeconds', 'maxBytes', 'por', 'symmetry', 'shard', 'preemptions', 'liveness'] as const satisfies readonly (keyof SearchOptions)[];

/** What the worker gets: where to build the model, and the search's options (data only). */
export interface WatchedSetup {
  readonly source: CompiledSource;
  readonly opts: Omit<SearchOptions, 'onProgress' | 'visit' | 'expandedFingerprint'>;
  readonly probe: Int32Array;
  readonly progressMs: number;
  readonly entry: string;
}

export type FromWatched =
  | { readonly t: 'progress'; readonly p: Progress }
  | { readonly t: 'done'; readonly result: WalkResult }
  | { readonly t: 'error'; readonly message: string };

/**
 * Run search(c, opts) in a worker that builds the same compiled system from
 * `source`; stop it `GRACE_MS` after `opts.maxSeconds` if it has not answered.
 */
export function searchWatched(c: Compiled, source: CompiledSource, opts: SearchOptions): Promise<WalkResult> {
  const { onProgress } = opts;
  // Data only: the caller's options may carry functions and a loaded driver.
  const data = Object.fromEntries(DATA_KEYS.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]])) as WatchedSetup['opts'];
  const probe = newProbe();
  const t0 = performance.now();
  const setup: WatchedSetup = {
    source, opts: data, probe, progressMs: Math.min(opts.progressMs ?? 1000, 250),
    entry: new URL('./watchdog-worker.ts', import.meta.url).href,
  };
  const worker = new Worker(new URL('./parallel-boot.js', import.meta.url), { workerData: setup });
  let last: Progress = { states: 0, transitions: 0, queue: 0, depth: 0, seconds: 0 };
  let lastShown = 0;
  return new Promise<WalkResult>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (f: () => void) => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      void worker.terminate();
      f();
    };
    if (opts.maxSeconds !== undefined) {
      timer = setTimeout(() => settle(() => resolve({
        verdict: 'incomplete', states: last.states, transitions: last.transitions, depth: last.depth,
        seconds: (performance.now() - t0) / 1000, bytesPerState: 0, limit: stuckLimit(c, probe, opts.maxSeconds),
      })), opts.maxSeconds * 1000 + GRACE_MS);
    }
    worker.on('message', (m: FromWatched) => {
      if (m.t === 'progress') {
        last = m.p;
        if (onProgress && m.p.seconds * 1000 - lastShown >= (opts.progressMs ?? 1000)) {
          lastShown = m.p.seconds * 1000;
          onProgress(m.p);
        }
      } else if (m.t === 'done') settle(() => resolve(m.result));
      else settle(() => reject(new Error(`search worker: ${m.message}`)));
    });
    worker.on('error', (e) => settle(() => reject(e)));
  });
}
