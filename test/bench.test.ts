// pagerace bench: every engine explores the same space; the table has every row.
import { describe, expect, it } from 'vitest';
import { benchTable, runBench, runSearchBench, withoutMonitor } from '../src/bench.ts';
import { compile } from '../src/explore/compile.ts';
import { nonlru } from '../models/nonlru/index.ts';

describe('pagerace bench', () => {
  it('runs @xstate/graph, the walker and two workers over the same states', async () => {
    const rows = await runBench([{ cpus: 1, pages: 1 }], undefined, new Set(['1x1']), { monitorScope: null, large: null });
    const by = (engine: string) => rows.find((r) => r.engine === engine)!;
    expect(rows.map((r) => r.engine)).toEqual([
      '@xstate/graph', 'walker, no reductions', 'walker, no reductions, 2 workers', 'walker, reductions', 'walker, reductions, 2 workers',
    ]);
    // @xstate/graph and the walker without reductions store the same states.
    expect(by('walker, no reductions').states).toBe(by('@xstate/graph').states);
    expect(by('walker, no reductions, 2 workers').states).toBe(by('walker, no reductions').states);
    expect(by('walker, reductions, 2 workers').states).toBe(by('walker, reductions').states);
    expect(by('walker, reductions').states).toBeLessThan(by('walker, no reductions').states);
    for (const r of rows) expect(r.statesPerSecond).toBeGreaterThan(0);
    expect(by('walker, reductions, 2 workers').vsOneThread).toBeGreaterThan(0);
    expect(benchTable(rows).split('\n')).toHaveLength(2 + rows.length);
  }, 120_000);

  it('measures the page-lifecycle monitor on against off over the same states, and a capped larger scope', async () => {
    const rows = await runBench([{ cpus: 1, pages: 1 }], undefined, new Set(), { monitorScope: '1x1', large: { cpus: 2, pages: 1, maxStates: 500 } });
    const by = (engine: string) => rows.find((r) => r.engine === engine)!;
    for (const what of ['no reductions', 'reductions']) {
      const on = by(`walker, ${what}, page-lifecycle monitor on (vs off)`);
      const off = by(`walker, ${what}, page-lifecycle monitor off`);
      // The monitor judges steps; it must not change the space explored.
      expect(on.states).toBe(by(`walker, ${what}`).states);
      expect(off.states).toBe(on.states);
      expect(off.transitions).toBe(on.transitions);
      expect(on.vsOneThread).toBeCloseTo(on.statesPerSecond / off.statesPerSecond, 6);
    }
    // Off means off: the monitor is the one step invariant gone.
    const model = nonlru.build({ cpus: 1, pages: 1 }, null);
    const names = (m: typeof model) => compile(m).stepInvariants.map((p) => p.name);
    expect(names(model)).toContain('page-lifecycle');
    expect(names(withoutMonitor(model))).toEqual(names(model).filter((n) => n !== 'page-lifecycle'));
    const capped = rows[rows.length - 1];
    expect(capped.engine).toBe('walker, reductions, first 500 states');
    expect(capped.states).toBe(500);
  }, 120_000);

  it('has rows for the bounded search at each bound and for simulate', () => {
    const rows = runSearchBench({ bounded: [{ cpus: 2, pages: 1 }], bound: 1, capSeconds: 30, simulate: { cpus: 2, pages: 2, seconds: 0.5 } });
    expect(rows.map((r) => `${r.scope} ${r.engine}`)).toEqual(['2x1 walker, --preemptions 0', '2x1 walker, --preemptions 1', '2x2 simulate: schedules (steps)']);
    expect(rows[0].states).toBeLessThan(rows[1].states);
    expect(rows[2].states).toBeGreaterThan(0);
  }, 60_000);
});
