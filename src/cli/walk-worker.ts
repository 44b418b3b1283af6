/**
 * The search of a one-thread `check`, in a worker thread (see background.ts): the
 * same walk as in-process, with its progress and result posted to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compiledFor, type ModelSpec } from '../index.ts';
import { walk, type WalkOptions } from '../explore/walker.ts';
import { CoverageCounter } from './coverage.ts';

const { spec, opts, coverage } = workerData as { spec: ModelSpec; opts: Omit<WalkOptions, 'onProgress' | 'visit'>; coverage: boolean };
try {
  const compiled = await compiledFor(spec);
  const counter = coverage ? new CoverageCounter(compiled, opts.por ?? true) : null;
  const result = walk(compiled, {
    ...opts,
    progressMs: 250,
    onProgress: (p) => parentPort!.postMessage({ t: 'progress', p }),
    ...(counter ? { visit: (s: Uint8Array) => counter.visit(s) } : {}),
  });
  parentPort!.postMessage({ t: 'done', result, ...(counter ? { coverage: counter.counts() } : {}) });
} catch (e) {
  parentPort!.postMessage({ t: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}
