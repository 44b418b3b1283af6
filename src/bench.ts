/**
 * `pagerace bench`: the same nonlru machines through @xstate/graph's traversal and
 * through the walker, without and with reductions, in one run, so that the ratios
 * do not depend on how busy the machine is between runs.
 */
import { getAdjacencyMap } from '@xstate/graph';
import { nonlru } from '../models/nonlru/index.ts';
import { compile } from './explore/compile.ts';
import { walk } from './explore/walker.ts';
import { packSnapshot, systemLogic, type SystemSnapshot } from './explore/xstate-logic.ts';

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
}

/** @xstate/graph runs only where it finishes in reasonable time (its queue shift() is quadratic). */
const GRAPH_SCOPES = new Set(['1x1', '2x1', '1x2']);
export const BENCH_SCOPES: readonly { cpus: number; pages: number }[] = [
  { cpus: 1, pages: 1 }, { cpus: 2, pages: 1 }, { cpus: 1, pages: 2 }, { cpus: 2, pages: 2 }, { cpus: 3, pages: 1 },
];

export function runBench(scopes = BENCH_SCOPES, log: (s: string) => void = () => {}): BenchRow[] {
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
      rows.push({ scope: name, engine: '@xstate/graph', states, transitions: null, seconds, statesPerSecond: graphRate, bytesPerState: null, speedup: 1 });
    }
    for (const [engine, por, symmetry] of [['walker, no reductions', false, false], ['walker, reductions', true, true]] as const) {
      log(`${name}: ${engine}`);
      const r = walk(c, { por, symmetry });
      const rate = r.states / r.seconds;
      rows.push({
        scope: name, engine, states: r.states, transitions: r.transitions, seconds: r.seconds, statesPerSecond: rate,
        bytesPerState: r.bytesPerState, speedup: graphRate ? rate / graphRate : null,
      });
    }
  }
  return rows;
}

export function benchTable(rows: readonly BenchRow[]): string {
  const lines = [
    '| scope (cpus x pages) | engine | states | transitions | seconds | states/s | bytes/state | vs @xstate/graph |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.scope} | ${r.engine} | ${r.states.toLocaleString('en-US')} | ${r.transitions?.toLocaleString('en-US') ?? '-'} | ` +
      `${r.seconds.toFixed(2)} | ${Math.round(r.statesPerSecond).toLocaleString('en-US')} | ${r.bytesPerState?.toFixed(1) ?? '-'} | ${r.speedup ? `${r.speedup.toFixed(0)}x` : '-'} |`);
  }
  return lines.join('\n');
}
