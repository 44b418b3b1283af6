// The walker against @xstate/graph for machines test/oracle.test.ts does not build:
// reporting --kernel v5.7 (it builds each system at its default kernel) and contig with
// --steal 1 (Unmovable allocations, fallback, the CPUs' drain workers). Same method:
// same reachable states, same number of edges, no reduction. Drop it once the oracle
// iterates System.kernels and scope flags.
import { describe, expect, it } from 'vitest';
import { getAdjacencyMap } from '@xstate/graph';
import { reporting } from '../models/reporting/index.ts';
import { contig } from '../models/contig/index.ts';
import { resolveScope } from '../src/index.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { packSnapshot, systemLogic, type SystemSnapshot } from '../src/explore/xstate-logic.ts';
import type { System } from '../src/system.ts';

function both(sys: System, scope: Record<string, number>, kernel?: string) {
  const full = resolveScope(sys, scope);
  const model = kernel ? sys.build(full, null, undefined, kernel) : sys.build(full, null);
  const c = compile(model);
  const seen = new Set<string>();
  const r = walk(c, { por: false, symmetry: false, visit: (m) => {
    const parts = [Array.from(m.subarray(0, c.worldSize)).join(',')];
    for (const a of c.actors) parts.push(`${m[a.base]}:${Array.from(m.subarray(a.base + 1, a.base + 1 + a.locals.length)).join(',')}`);
    seen.add(parts.join('|'));
  } });
  const model2 = kernel ? sys.build(full, null, undefined, kernel) : sys.build(full, null);
  const { logic, eventsAt } = systemLogic(model2);
  const adj = getAdjacencyMap(logic as never, { events: eventsAt as never, serializeState: ((s: SystemSnapshot) => packSnapshot(model2, s, c.actors.map((a) => [...a.states]))) as never, limit: 1e7 });
  let edges = 0;
  for (const node of Object.values(adj) as { state: unknown; transitions: Record<string, { state: unknown }> }[]) for (const t of Object.values(node.transitions)) if (t.state !== node.state) edges++;
  return { r, seen, states: new Set(Object.keys(adj)), edges };
}
describe('oracle for the new machines', () => {
  for (const [sys, scope, k] of [[reporting, { cpus: 1, rounds: 1 }, 'v5.7'], [contig, { cpus: 1, contigs: 1, range: 0, steal: 1 }, undefined]] as const) {
    it(`${sys.name} ${JSON.stringify(scope)} ${k ?? ''}`, () => {
      const { r, seen, states, edges } = both(sys, scope as never, k);
      expect(r.verdict).toBe('pass');
      expect(states.size).toBe(seen.size);
      for (const s of states) expect(seen.has(s)).toBe(true);
      expect(edges).toBe(r.transitions);
    }, 300_000);
  }
});
