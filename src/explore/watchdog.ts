/**
 * Watching a search in a worker thread past `--max-seconds`. The walker checks the
 * clock between expansions, but a step is a guard or action of a model or of a
 * user's driver, and a synchronous loop that never ends (`for (;;) {}` in a driver)
 * cannot be interrupted in its own thread. A worker publishes the step it runs in
 * a SharedArrayBuffer (setStepProbe), so that when the deadline passes by GRACE_MS
 * and no answer has come, the caller terminates the worker and reports the search
 * incomplete, naming the step that did not return. The one-thread search's worker
 * (cli/background.ts) and the parallel search's workers (parallel.ts) use these.
 */
import type { Compiled } from './compile.ts';
import { limitHit } from './walker.ts';

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
