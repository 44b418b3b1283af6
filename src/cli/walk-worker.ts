/**
 * The search of a one-thread `check`, in a worker thread (see background.ts): the
 * same search as in-process (explore/search.ts: exhaustive or preemption-bounded,
 * then liveness), with its progress and result posted to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compiledFor, type ModelSpec } from '../index.ts';
import { setStepProbe } from '../explore/check.ts';
import { search } from '../explore/search.ts';
import type { BackgroundOptions } from './background.ts';
import { CoverageCounter } from './coverage.ts';

const { spec, opts, coverage, probe } = workerData as { spec: ModelSpec; opts: BackgroundOptions; coverage: boolean; probe: Int32Array };
try {
  const compiled = await compiledFor(spec);
  const counter = coverage ? new CoverageCounter(compiled, opts.por ?? true) : null;
  // Every step published, so that the main thread can name one that never returns.
  setStepProbe(probe);
  parentPort!.postMessage({ t: 'started' });
  const result = search(compiled, {
    ...opts,
    progressMs: 250,
    onProgress: (p) => parentPort!.postMessage({ t: 'progress', p }),
    ...(counter ? { visit: (s: Uint8Array) => counter.visit(s) } : {}),
  });
  parentPort!.postMessage({ t: 'done', result, ...(counter ? { coverage: counter.counts() } : {}) });
} catch (e) {
  parentPort!.postMessage({ t: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}
