/**
 * A one-thread search that Ctrl-C can interrupt. The walker runs synchronously, so a
 * search on the main thread would never let a SIGINT handler run; here it runs in a
 * worker thread while the main thread waits, keeps the latest progress figures, and
 * on SIGINT reports them (the caller prints the incomplete summary and exits 130).
 * The worker builds the same model from the same ModelSpec and runs the same walk,
 * so the answer, counts and trace are the ones an in-process check gives.
 */
import { Worker } from 'node:worker_threads';
import type { Progress, WalkOptions, WalkResult } from '../explore/walker.ts';
import type { ModelSpec } from '../index.ts';

export interface BackgroundResult {
  readonly result: WalkResult;
  readonly coverage?: { pcSeen: number[][]; taken: number[][] };
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
  spec: ModelSpec, opts: Pick<WalkOptions, 'maxStates' | 'maxSeconds' | 'maxBytes' | 'por' | 'symmetry'>, coverage: boolean,
  onProgress?: (p: Progress) => void,
): BackgroundSearch {
  const t0 = performance.now();
  let last: Progress = { states: 0, transitions: 0, queue: 0, depth: 0, seconds: 0 };
  let cancelled = false;
  let worker!: Worker;
  let onSigint = () => {};
  const done = new Promise<BackgroundResult>((resolve, reject) => {
    worker = new Worker(new URL('../explore/parallel-boot.js', import.meta.url), {
      workerData: { entry: new URL('./walk-worker.ts', import.meta.url).href, spec, opts, coverage },
    });
    const settle = () => { process.off('SIGINT', onSigint); void worker.terminate(); };
    const fail = (e: Error) => { settle(); if (!cancelled) reject(e); };
    onSigint = () => fail(new Interrupted({ ...last, seconds: (performance.now() - t0) / 1000 }));
    process.on('SIGINT', onSigint);
    worker.on('message', (m: { t: 'progress'; p: Progress } | ({ t: 'done' } & BackgroundResult) | { t: 'error'; message: string }) => {
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
    cancel: () => { cancelled = true; process.off('SIGINT', onSigint); void worker.terminate(); },
  };
}

export const walkInBackground = (...args: Parameters<typeof startSearch>): Promise<BackgroundResult> => startSearch(...args).done;
