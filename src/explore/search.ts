/**
 * The search modes behind `check`, chosen by options: exhaustive breadth-first
 * search (walker.ts) or the preemption-bounded search (bounded.ts), then, when
 * asked, the liveness pass (liveness.ts) over a state space where no safety
 * property failed. One entry point, so that a search run in a watched worker
 * thread (watchdog.ts) is the very search the caller would have run.
 */
import type { Compiled } from './compile.ts';
import { walkBounded } from './bounded.ts';
import { walk, type WalkOptions, type WalkResult } from './walker.ts';

export interface SearchOptions extends WalkOptions {
  /** Explore only schedules with at most this many preemptions (bounded.ts). */
  readonly preemptions?: number;
}

export function search(c: Compiled, opts: SearchOptions = {}): WalkResult {
  return opts.preemptions === undefined ? walk(c, opts) : walkBounded(c, opts.preemptions, opts);
}
