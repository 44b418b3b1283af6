/**
 * The walker's search-mode flags of `check` (`--preemptions K`, `--liveness`,
 * `--no-liveness`) and how a result reports its coverage, in one place, so that
 * check's option table gains only a spread of SEARCH_FLAGS and a call or two.
 */
import { MAX_PREEMPTIONS } from '../explore/bounded.ts';
import type { WalkResult } from '../explore/walker.ts';
import { UsageError, intFlag, type OptionTable, type Parsed } from './args.ts';

/** The flags, as check's option table has them. */
export const SEARCH_FLAGS: OptionTable = {
  preemptions: { type: 'string', value: 'K', help: `explore only schedules with at most K preemptions, fewest first (0..${MAX_PREEMPTIONS}; a pass is not exhaustive)` },
  liveness: { type: 'boolean', help: 'after a pass, look for livelocks under fairness: weak over actors, strong on declared bounded exits (a lasso trace; on by default where the system says so)' },
  'no-liveness': { type: 'boolean', help: 'do not look for livelocks' },
};

/** The search options the flags give; `workers` and `sharded` for the combinations refused. */
export function searchOptions(p: Parsed, workers: number, sharded: boolean): { preemptions?: number; liveness?: boolean } {
  const preemptions = intFlag(p, 'preemptions', 0, MAX_PREEMPTIONS);
  if (preemptions !== undefined && (workers > 1 || sharded)) throw new UsageError('--preemptions runs on one thread: it does not combine with --workers or --shard');
  if (p.flags.has('liveness') && p.flags.has('no-liveness')) throw new UsageError('--liveness and --no-liveness contradict each other');
  const liveness = p.flags.has('liveness') ? true : p.flags.has('no-liveness') ? false : undefined;
  // After --workers N the liveness pass runs on one thread; a shard holds part of the graph only.
  if (liveness && sharded) throw new UsageError('--liveness needs the whole state graph: it does not combine with --shard');
  return { ...(preemptions === undefined ? {} : { preemptions }), ...(liveness === undefined ? {} : { liveness }) };
}

/**
 * What the JSON summary adds for a search that did not cover every schedule:
 * `"exhaustive": false` and the bound, with the figures of each bound completed.
 */
export function coverageSummary(r: WalkResult): Record<string, unknown> {
  const live = r.liveness ? { liveness: { states: r.liveness.states, transitions: r.liveness.transitions, seconds: Number(r.liveness.seconds.toFixed(3)) } } : {};
  const loop = r.violation?.loop !== undefined ? { loop: r.violation.loop } : {};
  if (!r.bound) return { ...live, ...loop };
  return {
    ...live,
    exhaustive: false,
    preemptions: r.bound.preemptions,
    bounds: r.bound.levels.map((l) => ({ preemptions: l.preemptions, states: l.states, distinct: l.distinct, transitions: l.transitions, seconds: Number(l.seconds.toFixed(3)) })),
  };
}

/** The verdict as the text output says it: a bounded pass is never an exhaustive pass. */
export function verdictText(r: WalkResult): string {
  const live = r.liveness ? ` (and no livelock: ${r.liveness.states} states in the liveness pass)` : '';
  if (!r.bound) return r.verdict + live;
  const k = r.bound.preemptions;
  const upTo = `up to ${k} preemption${k === 1 ? '' : 's'}`;
  return r.verdict === 'pass' ? `pass ${upTo} (not exhaustive: schedules with more preemptions were not explored)${live}` : `${r.verdict} (searching ${upTo})`;
}
