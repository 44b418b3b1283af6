// pagerace bench: every engine explores the same space; the table has every row.
import { describe, expect, it } from 'vitest';
import { benchTable, runBench, runSearchBench } from '../src/bench.ts';

describe('pagerace bench', () => {
  it('runs @xstate/graph, the walker and two workers over the same states', async () => {
    const rows = await runBench([{ cpus: 1, pages: 1 }], undefined, new Set(['1x1']));
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

  it('has rows for the bounded search at each bound and for simulate', () => {
    const rows = runSearchBench({ bounded: [{ cpus: 2, pages: 1 }], bound: 1, capSeconds: 30, simulate: { cpus: 2, pages: 2, seconds: 0.5 } });
    expect(rows.map((r) => `${r.scope} ${r.engine}`)).toEqual(['2x1 walker, --preemptions 0', '2x1 walker, --preemptions 1', '2x2 simulate: schedules (steps)']);
    expect(rows[0].states).toBeLessThan(rows[1].states);
    expect(rows[2].states).toBeGreaterThan(0);
  }, 60_000);
});
