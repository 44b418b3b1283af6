/**
 * Past one core: a breadth-first search split over worker threads by fingerprint
 * (Stern and Dill's parallel Murphi scheme). Each worker owns the states whose
 * fingerprint falls in its share, with their parent links; a successor goes to its
 * owner, who alone decides whether it is new. The coordinator runs the search one
 * round at a time: every worker expands its states of the current depth, the
 * workers exchange successors, and when a round leaves states at the same depth
 * (reached by local steps, which cost nothing) another round of that depth follows.
 *
 * Same answers as the single-threaded walker: the same states are reached and
 * expanded level by level, so the distinct state count, the verdict and the
 * shortest violation length are the same; the first violating depth is finished
 * before one is picked, by the same order (compareViolations). Workers take in
 * their peers' successors in a fixed order, so counts and traces do not depend on
 * timing. Limits are checked between rounds, so `--max-states` stops at the end of
 * the round that passes it.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Compiled } from './compile.ts';
import { Expander, type Candidate } from './expand.ts';
import type { CompiledSource, ToCoordinator, ToWorker } from './parallel-protocol.ts';
import { NO_PARENT } from './states.ts';
import { GRACE_MS, newProbe, stuckLimit } from './watchdog.ts';
import { bestLength, limitHit, pickBest, stepsFromVias, violationOf, type WalkOptions, type WalkResult } from './walker.ts';

export type { CompiledSource } from './parallel-protocol.ts';

export interface ParallelOptions extends Pick<WalkOptions, 'maxStates' | 'maxSeconds' | 'maxBytes' | 'onProgress' | 'progressMs' | 'por' | 'symmetry'> {
  readonly workers: number;
}

interface FromWorker extends Candidate {
  readonly worker: number;
}

type RoundReport = Extract<ToCoordinator, { t: 'round' }>;

/** One worker thread and its replies, in order. */
class WorkerHandle {
  private readonly worker: Worker;
  private readonly replies: ((m: ToCoordinator) => void)[] = [];
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  constructor(setup: object, transfer: readonly MessagePort[], onFailure: (e: Error) => void) {
    this.worker = new Worker(new URL('./parallel-boot.js', import.meta.url), {
      workerData: { ...setup, entry: new URL('./parallel-worker.ts', import.meta.url).href },
      transferList: [...transfer],
    });
    const fail = (e: Error) => {
      if (this.failure) return;
      this.failure = e;
      onFailure(e);
    };
    this.ready = new Promise((resolve) => this.replies.push(() => resolve()));
    this.worker.on('message', (m: ToCoordinator) => {
      if (m.t === 'error') fail(new Error(`worker: ${m.message}`));
      else this.replies.shift()?.(m);
    });
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => { if (code !== 0) fail(new Error(`worker exited with code ${code}`)); });
  }

  ask<T extends ToCoordinator['t']>(m: ToWorker): Promise<Extract<ToCoordinator, { t: T }>> {
    return new Promise((resolve) => {
      this.replies.push(resolve as (m: ToCoordinator) => void);
      this.worker.postMessage(m);
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

export async function walkParallel(c: Compiled, source: CompiledSource, opts: ParallelOptions): Promise<WalkResult> {
  const t0 = performance.now();
  const W = opts.workers;
  const por = opts.por ?? true;
  const symmetry = opts.symmetry !== false;
  const ex = new Expander(c, por, symmetry);
  const init = ex.initial();
  const elapsed = () => (performance.now() - t0) / 1000;
  if ('bad' in init) {
    return { verdict: 'violation', states: 1, transitions: 0, depth: 0, seconds: elapsed(), bytesPerState: 0, violation: { ...init.bad, steps: [], preemptions: 0 } };
  }

  // One channel per pair of workers.
  const ports: (MessagePort | undefined)[][] = Array.from({ length: W }, () => new Array(W).fill(undefined));
  for (let i = 0; i < W; i++) {
    for (let j = i + 1; j < W; j++) {
      const ch = new MessageChannel();
      ports[i][j] = ch.port1;
      ports[j][i] = ch.port2;
    }
  }
  let failed: (e: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => { failed = reject; });
  failure.catch(() => {});
  // Each worker publishes the step it runs, so that one stuck in a step that never
  // returns can be named when --max-seconds has passed (see watchdog.ts).
  const probes = ports.map(() => newProbe());
  const workers = ports.map((mine, index) => new WorkerHandle(
    { source, index, count: W, por, symmetry, ports: mine, probe: probes[index] },
    mine.filter((p): p is MessagePort => p !== undefined),
    (e) => failed(e),
  ));
  const all = <T>(xs: Promise<T>[]): Promise<T[]> => Promise.race([Promise.all(xs), failure]);
  // Workers look at the clock between expansions; one that has not answered GRACE_MS
  // after the deadline is inside a step.
  let stuckAt = Infinity;
  const STUCK = Symbol('stuck');
  const orStuck = <T>(x: Promise<T>): Promise<T | typeof STUCK> => {
    if (stuckAt === Infinity) return x;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof STUCK>((resolve) => { timer = setTimeout(() => resolve(STUCK), Math.max(0, stuckAt - performance.now())); });
    return Promise.race([x, late]).finally(() => clearTimeout(timer));
  };

  try {
    await all(workers.map((w) => w.ready));
    const candidates: FromWorker[] = [];
    const maxStates = opts.maxStates ?? Infinity;
    const maxBytes = opts.maxBytes ?? Infinity;
    const deadline = opts.maxSeconds === undefined ? Number.MAX_SAFE_INTEGER : Date.now() + opts.maxSeconds * 1000;
    if (opts.maxSeconds !== undefined) stuckAt = performance.now() + opts.maxSeconds * 1000 + GRACE_MS;
    const progressMs = opts.progressMs ?? 1000;
    let lastProgress = performance.now();
    let states = 1;
    let transitions = 0;
    let bytes = 0;
    let pending = 1;
    let depth = 0;
    let limit: string | undefined;

    search: for (let d = 0; pending > 0; d++) {
      if (candidates.length && bestLength(candidates) <= d) break;
      for (let more = true; more;) {
        const reports = await orStuck(all(workers.map((w) => w.ask<'round'>({ t: 'round', depth: d, deadline }))));
        if (reports === STUCK) {
          const stuck = probes.find((p) => p[2] === 1) ?? probes[0];
          return { verdict: 'incomplete', states, transitions, depth, seconds: elapsed(), bytesPerState: bytes / states, limit: stuckLimit(c, stuck, opts.maxSeconds) };
        }
        const sum = (f: (r: RoundReport) => number) => reports.reduce((n, r) => n + f(r), 0);
        states = sum((r) => r.states);
        transitions = sum((r) => r.transitions);
        bytes = sum((r) => r.bytes);
        pending = sum((r) => r.pending);
        more = sum((r) => r.pendingHere) > 0;
        if (sum((r) => r.expanded) > 0) depth = d;
        reports.forEach((r, worker) => { for (const x of r.candidates) candidates.push({ ...x, worker }); });
        if (reports.some((r) => r.timedOut)) { limit = limitHit('seconds', opts); break search; }
        if (states >= maxStates) { limit = limitHit('states', opts); break search; }
        if (bytes > maxBytes) { limit = limitHit('memory', opts); break search; }
        const now = performance.now();
        if (opts.onProgress && now - lastProgress >= progressMs) {
          lastProgress = now;
          opts.onProgress({ states, transitions, queue: pending, depth, seconds: elapsed() });
        }
      }
    }

    const base = { states, transitions, depth, seconds: elapsed(), bytesPerState: bytes / states };
    if (candidates.length) {
      const best = pickBest(c, candidates);
      // Follow parent references across workers back to the initial state.
      const vias: number[] = [];
      for (let owner = best.worker, id = best.state; ;) {
        const { from, via } = await Promise.race([workers[owner].ask<'parent'>({ t: 'parent', id }), failure]);
        if (from === NO_PARENT) break;
        vias.push(via);
        owner = from % W;
        id = (from - owner) / W;
      }
      const steps = stepsFromVias(vias.reverse(), best.code);
      return { ...base, seconds: elapsed(), verdict: 'violation', violation: violationOf(c, ex, best, steps) };
    }
    if (limit) return { ...base, verdict: 'incomplete', limit };
    return { ...base, verdict: 'pass' };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
