/**
 * The search modes behind `check`, chosen by options: exhaustive breadth-first
 * search (walker.ts) or the preemption-bounded search (bounded.ts), then, when
 * asked, the liveness pass (liveness.ts) over a state space where no safety
 * property failed. One entry point, so that a search run in a watched worker
 * thread (cli/background.ts) is the very search the caller would have run.
 */
import type { Compiled } from './compile.ts';
import { walkBounded } from './bounded.ts';
import { findLivelock, hasLoops } from './liveness.ts';
import { walk, type WalkOptions, type WalkResult } from './walker.ts';

export interface SearchOptions extends WalkOptions {
  /** Explore only schedules with at most this many preemptions (bounded.ts). */
  readonly preemptions?: number;
  /**
   * After a search that passes, look for livelocks (liveness.ts). Default: the
   * model's own `liveness` (Model.liveness), for an exhaustive search; a model whose
   * actors have no loop is never checked (no state of it can repeat).
   */
  readonly liveness?: boolean;
}

export function search(c: Compiled, opts: SearchOptions = {}): WalkResult {
  const safety = opts.preemptions === undefined ? walk(c, opts) : walkBounded(c, opts.preemptions, opts);
  return livenessAfter(c, safety, opts);
}

/**
 * The liveness pass after a safety search that passed, when the options or the
 * model ask for it (also after a search on several threads: the pass itself runs
 * on this one).
 */
export function livenessAfter(c: Compiled, safety: WalkResult, opts: SearchOptions): WalkResult {
  if (safety.verdict !== 'pass' || !(opts.liveness ?? (opts.preemptions === undefined && c.model.liveness === true)) || !hasLoops(c)) return safety;
  // The liveness pass explores every state again (it is exhaustive, whatever the bound of the first).
  const live = findLivelock(c, { ...opts, maxSeconds: opts.maxSeconds === undefined ? undefined : Math.max(0, opts.maxSeconds - safety.seconds) });
  const seconds = safety.seconds + live.seconds;
  if (live.verdict === 'pass') return { ...safety, seconds, liveness: { states: live.states, transitions: live.transitions, seconds: live.seconds } };
  return { ...live, seconds };
}
