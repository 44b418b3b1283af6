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

export function walkInBackground(
  spec: ModelSpec, opts: Pick<WalkOptions, 'maxStates' | 'maxSeconds' | 'maxBytes' | 'por' | 'symmetry'>, coverage: boolean,
  onProgress?: (p: Progress) => void,
): Promise<BackgroundResult> {
  const t0 = performance.now();
  let last: Progress = { states: 0, transitions: 0, queue: 0, depth: 0, seconds: 0 };
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../explore/parallel-boot.js', import.meta.url), {
      workerData: { entry: new URL('./walk-worker.ts', import.meta.url).href, spec, opts, coverage },
    });
    const onSigint = () => {
      process.off('SIGINT', onSigint);
      void worker.terminate();
      reject(new Interrupted({ ...last, seconds: (performance.now() - t0) / 1000 }));
    };
    process.on('SIGINT', onSigint);
    const done = () => process.off('SIGINT', onSigint);
    worker.on('message', (m: { t: 'progress'; p: Progress } | ({ t: 'done' } & BackgroundResult) | { t: 'error'; message: string }) => {
      if (m.t === 'progress') { last = m.p; onProgress?.(m.p); return; }
      done();
      void worker.terminate();
      if (m.t === 'done') resolve({ result: m.result, ...(m.coverage ? { coverage: m.coverage } : {}) });
      else reject(new Error(`search thread: ${m.message}`));
    });
    worker.on('error', (e) => { done(); reject(e); });
    worker.on('exit', (code) => { done(); if (code !== 0) reject(new Error(`search thread exited with code ${code}`)); });
  });
}
