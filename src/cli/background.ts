/**
 * A one-thread search that Ctrl-C can interrupt. The walker runs synchronously, so a
 * search on the main thread would never let a SIGINT handler run; here it runs in a
 * worker thread while the main thread waits, keeps the latest progress figures, and
 * on SIGINT reports them (the caller prints the incomplete summary and exits 130).
 * The worker builds the same model from the same ModelSpec and runs the same walk,
 * so the answer, counts and trace are the ones an in-process check gives.
 *
 * The same worker is the watchdog of `--max-seconds`: the walker looks at the clock
 * between expansions, but a step (a user's driver looping for ever) cannot be
 * interrupted in its own thread. The worker publishes the step it runs in a shared
 * probe (explore/watchdog.ts); GRACE_MS past the deadline without an answer, this
 * thread terminates it and the search is incomplete, its limit naming that step.
 */
import { Worker } from 'node:worker_threads';
import type { Compiled } from '../explore/compile.ts';
import type { SearchOptions } from '../explore/search.ts';
import { GRACE_MS, newProbe, stuckLimit } from '../explore/watchdog.ts';
import type { Progress, WalkResult } from '../explore/walker.ts';
import type { ModelSpec } from '../index.ts';

export interface BackgroundResult {
  readonly result: WalkResult;
  readonly coverage?: { pcSeen: number[][]; taken: number[][] };
  /** Set when the worker was stopped inside a step: the probe naming it (see namedStuck). */
  readonly stuck?: Int32Array;
}

/** The options the worker takes (data only: the rest are functions). */
export type BackgroundOptions = Pick<SearchOptions, 'maxStates' | 'maxSeconds' | 'maxBytes' | 'por' | 'symmetry' | 'preemptions' | 'liveness'>;

/** A result stopped inside a step, its limit naming the step (the caller has the compiled model). */
export function namedStuck(c: Compiled, bg: BackgroundResult, maxSeconds: number | undefined): WalkResult {
  return bg.stuck ? { ...bg.result, limit: stuckLimit(c, bg.stuck, maxSeconds) } : bg.result;
}

/** Thrown (as a rejection) when the search was interrupted: the figures so far. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly progress: Progress) {
    super('interrupted');
  }
}

/** A search started in a worker thread: its result, or cancel it (nothing is reported then). */
export interface BackgroundSearch {
  readonly done: Promise<BackgroundResult>;
  cancel(): void;
}

/**
 * Start the search at once: the worker loads and compiles the model while the caller
 * checks its inputs (cancel() when they are bad), which hides most of the thread's start.
 */
export function startSearch(
  spec: ModelSpec, opts: BackgroundOptions, coverage: boolean,
  onProgress?: (p: Progress) => void, { sigint = true }: { readonly sigint?: boolean } = {},
): BackgroundSearch {
  const probe = newProbe();
  // Only data crosses to the worker.
  const data = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined && typeof v !== 'function'));
  const t0 = performance.now();
  let last: Progress = { states: 0, transitions: 0, queue: 0, depth: 0, seconds: 0 };
  let cancelled = false;
  let worker!: Worker;
  let onSigint = () => {};
  let deadline: NodeJS.Timeout | undefined;
  const done = new Promise<BackgroundResult>((resolve, reject) => {
    worker = new Worker(new URL('../explore/parallel-boot.js', import.meta.url), {
      workerData: { entry: new URL('./walk-worker.ts', import.meta.url).href, spec, opts: data, coverage, probe },
    });
    const settle = () => { clearTimeout(deadline); process.off('SIGINT', onSigint); void worker.terminate(); };
    const fail = (e: Error) => { settle(); if (!cancelled) reject(e); };
    onSigint = () => fail(new Interrupted({ ...last, seconds: (performance.now() - t0) / 1000 }));
    if (sigint) process.on('SIGINT', onSigint);
    // The clock of the search starts when the worker has built the model (the walker's own clock does too).
    const watch = (maxSeconds: number) => {
      deadline = setTimeout(() => {
        settle();
        resolve({
          result: { verdict: 'incomplete', states: last.states, transitions: last.transitions, depth: last.depth, seconds: (performance.now() - t0) / 1000, bytesPerState: 0 },
          stuck: probe,
        });
      }, maxSeconds * 1000 + GRACE_MS);
    };
    worker.on('message', (m: { t: 'started' } | { t: 'progress'; p: Progress } | ({ t: 'done' } & BackgroundResult) | { t: 'error'; message: string }) => {
      if (m.t === 'started') { if (opts.maxSeconds !== undefined) watch(opts.maxSeconds); return; }
      if (m.t === 'progress') { last = m.p; onProgress?.(m.p); return; }
      if (m.t === 'error') { fail(new Error(`search thread: ${m.message}`)); return; }
      settle();
      resolve({ result: m.result, ...(m.coverage ? { coverage: m.coverage } : {}) });
    });
    worker.on('error', fail);
    worker.on('exit', (code) => { if (code !== 0) fail(new Error(`search thread exited with code ${code}`)); });
  });
  return {
    done,
    cancel: () => { cancelled = true; clearTimeout(deadline); process.off('SIGINT', onSigint); void worker.terminate(); },
  };
}

export const walkInBackground = (...args: Parameters<typeof startSearch>): Promise<BackgroundResult> => startSearch(...args).done;
