/**
 * `pagerace bench`: the same nonlru machines through @xstate/graph's traversal and
 * through the walker, without and with reductions, on one thread and on two worker
 * threads, in one run, so that the ratios do not depend on how busy the machine is
 * between runs. A walker row follows an untimed warm-up of the same search; a row
 * on workers includes their start (each loads the model), as a user's run does.
 */
import { getAdjacencyMap } from '@xstate/graph';
import { nonlru } from '../models/nonlru/index.ts';
import { compile } from './explore/compile.ts';
import { walk, type WalkResult } from './explore/walker.ts';
import { walkBounded } from './explore/bounded.ts';
import { simulate } from './explore/simulate.ts';
import { walkParallel } from './explore/parallel.ts';
import { SOURCE_MODULE } from './index.ts';
import { packSnapshot, systemLogic, type SystemSnapshot } from './explore/xstate-logic.ts';
import { PAGE_LIFECYCLE } from '../properties/lifecycle.ts';
import type { Model } from './system.ts';

export interface BenchRow {
  readonly scope: string;
  readonly engine: string;
  readonly states: number;
  readonly transitions: number | null;
  readonly seconds: number;
  readonly statesPerSecond: number;
  readonly bytesPerState: number | null;
  /** statesPerSecond / that of @xstate/graph at the same scope. */
  readonly speedup: number | null;
  /**
   * For a run on several workers: statesPerSecond / that of the same reductions on one thread.
   * For the page-lifecycle monitor rows: statesPerSecond with the monitor / without it.
   */
  readonly vsOneThread: number | null;
}

/** The scope whose walker runs are repeated without the page-lifecycle monitor (issue 12: its cost). */
export const MONITOR_SCOPE = '2x2';
/** Each of those six runs stops here (2x2 with reductions has 1,896,547 states: whole). */
const MONITOR_MAX_STATES = 2_000_000;
/** The larger scope of issue 11 (3 CPUs, 2 pages), explored up to this many states: its rate, not its verdict. */
export const LARGE_SCOPE: { readonly cpus: number; readonly pages: number; readonly maxStates: number } = { cpus: 3, pages: 2, maxStates: 2_000_000 };

/** The same model without its page-lifecycle monitor. */
export function withoutMonitor(model: Model): Model {
  return { ...model, properties: model.properties.filter((p) => p.name !== PAGE_LIFECYCLE) };
}

/** @xstate/graph runs only where it finishes in reasonable time (its queue shift() is quadratic). */
const GRAPH_SCOPES = new Set(['1x1', '2x1', '1x2']);
/** Two workers run where a search lasts long enough for their start (about half a second) not to dominate. */
export const WORKER_SCOPES: ReadonlySet<string> = new Set(['2x2', '3x1']);
const WORKERS = 2;
const WARM_UP_SECONDS = 1;
export const BENCH_SCOPES: readonly { cpus: number; pages: number }[] = [
  { cpus: 1, pages: 1 }, { cpus: 2, pages: 1 }, { cpus: 1, pages: 2 }, { cpus: 2, pages: 2 }, { cpus: 3, pages: 1 },
];

export async function runBench(
  scopes = BENCH_SCOPES, log: (s: string) => void = () => {}, workerScopes = WORKER_SCOPES,
  { monitorScope = MONITOR_SCOPE, large = LARGE_SCOPE }: { monitorScope?: string | null; large?: typeof LARGE_SCOPE | null } = {},
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const scope of scopes) {
    const name = `${scope.cpus}x${scope.pages}`;
    const model = nonlru.build(scope, null);
    const c = compile(model);
    let graphRate: number | null = null;
    if (GRAPH_SCOPES.has(name)) {
      log(`${name}: @xstate/graph`);
      const { logic, eventsAt } = systemLogic(model);
      const t0 = performance.now();
      const adj = getAdjacencyMap(logic as never, {
        events: eventsAt as never,
        serializeState: ((s: SystemSnapshot) => packSnapshot(model, s, c.actors.map((a) => [...a.states]))) as never,
        limit: 1e8,
      });
      const seconds = (performance.now() - t0) / 1000;
      const states = Object.keys(adj).length;
      graphRate = states / seconds;
      rows.push({ scope: name, engine: '@xstate/graph', states, transitions: null, seconds, statesPerSecond: graphRate, bytesPerState: null, speedup: 1, vsOneThread: null });
    }
    const row = (engine: string, r: WalkResult, oneThread: number | null): BenchRow => {
      const rate = r.states / r.seconds;
      return {
        scope: name, engine, states: r.states, transitions: r.transitions, seconds: r.seconds, statesPerSecond: rate,
        bytesPerState: r.bytesPerState, speedup: graphRate ? rate / graphRate : null, vsOneThread: oneThread ? rate / oneThread : null,
      };
    };
    for (const [what, por, symmetry] of [['no reductions', false, false], ['reductions', true, true]] as const) {
      log(`${name}: walker, ${what}`);
      // Untimed first, for at most a second: the JIT's warm-up would otherwise be a
      // large part of the small scopes' fraction of a second (@xstate/graph runs long
      // enough there for its own warm-up not to count).
      walk(c, { por, symmetry, maxSeconds: WARM_UP_SECONDS });
      const one = row(`walker, ${what}`, walk(c, { por, symmetry }), null);
      rows.push(one);
      if (!workerScopes.has(name)) continue;
      log(`${name}: walker, ${what}, ${WORKERS} workers`);
      const source = { module: SOURCE_MODULE, export: 'compiledFor', args: { system: 'nonlru', scope, variant: null } };
      rows.push(row(`walker, ${what}, ${WORKERS} workers`, await walkParallel(c, source, { workers: WORKERS, por, symmetry }), one.statesPerSecond));
    }
    if (name === monitorScope) rows.push(...monitorCost(name, model, log));
  }
  if (large) rows.push(...largeScope(large, log));
  return rows;
}

/**
 * The page-lifecycle monitor's cost (issue 12: at most 15% of the walker's speed):
 * the same search with and without the monitor, alternately three times each, so
 * that a busy moment of the machine does not fall on one side only; the rows give
 * the median run of each and, in the last column, with / without. Each run stops
 * at MONITOR_MAX_STATES (the search without reductions is five times longer).
 */
function monitorCost(scope: string, model: Model, log: (s: string) => void): BenchRow[] {
  const on = compile(model);
  const off = compile(withoutMonitor(model));
  const rows: BenchRow[] = [];
  for (const [what, por, symmetry] of [['no reductions', false, false], ['reductions', true, true]] as const) {
    log(`${scope}: walker, ${what}, page-lifecycle monitor on and off`);
    walk(off, { por, symmetry, maxSeconds: WARM_UP_SECONDS });
    const runs: { on: WalkResult[]; off: WalkResult[] } = { on: [], off: [] };
    for (let i = 0; i < 3; i++) {
      runs.on.push(walk(on, { por, symmetry, maxStates: MONITOR_MAX_STATES }));
      runs.off.push(walk(off, { por, symmetry, maxStates: MONITOR_MAX_STATES }));
    }
    const median = (rs: WalkResult[]) => [...rs].sort((a, b) => a.seconds - b.seconds)[1];
    const a = median(runs.on);
    const b = median(runs.off);
    const rate = (r: WalkResult) => r.states / r.seconds;
    const r = (engine: string, x: WalkResult, ratio: number | null): BenchRow => ({
      scope, engine, states: x.states, transitions: x.transitions, seconds: x.seconds, statesPerSecond: rate(x), bytesPerState: x.bytesPerState, speedup: null, vsOneThread: ratio,
    });
    rows.push(r(`walker, ${what}, page-lifecycle monitor off`, b, null), r(`walker, ${what}, page-lifecycle monitor on (vs off)`, a, rate(a) / rate(b)));
  }
  return rows;
}

/** Issue 11's larger scope, up to LARGE_SCOPE.maxStates states with reductions. */
function largeScope({ cpus, pages, maxStates }: typeof LARGE_SCOPE, log: (s: string) => void): BenchRow[] {
  const name = `${cpus}x${pages}`;
  log(`${name}: walker, reductions, first ${maxStates} states`);
  const c = compile(nonlru.build({ cpus, pages }, null));
  walk(c, { maxSeconds: WARM_UP_SECONDS });
  const r = walk(c, { maxStates });
  return [{
    scope: name, engine: `walker, reductions, first ${maxStates.toLocaleString('en-US')} states`, states: r.states, transitions: r.transitions, seconds: r.seconds,
    statesPerSecond: r.states / r.seconds, bytesPerState: r.bytesPerState, speedup: null, vsOneThread: null,
  }];
}

export function benchTable(rows: readonly BenchRow[]): string {
  const lines = [
    '| scope (cpus x pages) | engine | states | transitions | seconds | states/s | bytes/state | vs @xstate/graph | vs one thread (monitor: on / off) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.scope} | ${r.engine} | ${r.states.toLocaleString('en-US')} | ${r.transitions?.toLocaleString('en-US') ?? '-'} | ` +
      `${r.seconds.toFixed(2)} | ${Math.round(r.statesPerSecond).toLocaleString('en-US')} | ${r.bytesPerState?.toFixed(1) ?? '-'} | ${r.speedup ? `${r.speedup.toFixed(0)}x` : '-'} | ${r.vsOneThread ? `${r.vsOneThread.toFixed(2)}x` : '-'} |`);
  }
  return lines.join('\n');
}

/**
 * Rows for the scopes past exhaustive search: the preemption-bounded search at
 * K = 0 .. bound (one search; the figures after each bound completed, the bound
 * that the cap stopped marked so), and simulate's schedules per second on the
 * fixed system (the states column counts schedules, the transitions column steps).
 */
export interface SearchBench {
  readonly bounded: readonly { cpus: number; pages: number }[];
  readonly bound: number;
  /** Seconds per bound: the search of a scope stops after (bound + 1) times this. */
  readonly capSeconds: number;
  readonly simulate: { readonly cpus: number; readonly pages: number; readonly seconds: number };
}

/**
 * 10 minutes per bounded scope, the issue's target for a verdict. Simulate at 8 CPUs
 * and 13 pages: at 16 pages the world (16 + 6 + 8 * 16 pages) does not fit the
 * one-byte list pointers (models/common/migration-world.ts refuses it).
 */
export const SEARCH_BENCH: SearchBench = {
  bounded: [{ cpus: 3, pages: 3 }, { cpus: 4, pages: 3 }], bound: 2, capSeconds: 200, simulate: { cpus: 8, pages: 13, seconds: 20 },
};

export function runSearchBench(b: SearchBench = SEARCH_BENCH, log: (s: string) => void = () => {}): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (scope: string, engine: string, states: number, transitions: number, seconds: number, bytesPerState: number | null): BenchRow => ({
    scope, engine, states, transitions, seconds, statesPerSecond: states / Math.max(seconds, 1e-9), bytesPerState, speedup: null, vsOneThread: null,
  });
  for (const scope of b.bounded) {
    const name = `${scope.cpus}x${scope.pages}`;
    log(`${name}: walker, --preemptions ${b.bound} (at most ${b.capSeconds * (b.bound + 1)} s)`);
    const r = walkBounded(compile(nonlru.build(scope, null)), b.bound, { maxSeconds: b.capSeconds * (b.bound + 1) });
    for (const l of r.bound.levels) rows.push(row(name, `walker, --preemptions ${l.preemptions}`, l.states, l.transitions, l.seconds, r.bytesPerState));
    if (r.verdict === 'incomplete') rows.push(row(name, `walker, --preemptions ${r.bound.levels.length} (stopped by ${r.limit})`, r.states, r.transitions, r.seconds, r.bytesPerState));
  }
  const { cpus, pages, seconds } = b.simulate;
  log(`${cpus}x${pages}: simulate, ${seconds} s`);
  const s = simulate(compile(nonlru.build({ cpus, pages }, null)), { runs: 2 ** 31 - 1, seed: 1, maxSeconds: seconds });
  rows.push(row(`${cpus}x${pages}`, 'simulate: schedules (steps)', s.runs, s.steps, s.seconds, null));
  return rows;
}
