// The walker against @xstate/graph on the very same machines: same reachable
// states, same number of edges, at small scopes and with no reduction.
import { describe, expect, it } from 'vitest';
import { getAdjacencyMap } from '@xstate/graph';
import { nonlru } from '../models/nonlru/index.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { packSnapshot, systemLogic, type SystemSnapshot } from '../src/explore/xstate-logic.ts';

function walkerStates(scope: { cpus: number; pages: number }) {
  const c = compile(nonlru.build(scope, null));
  const seen = new Set<string>();
  const r = walk(c, {
    por: false,
    symmetry: false,
    visit: (m) => {
      const parts = [Array.from(m.subarray(0, c.worldSize)).join(',')];
      for (const a of c.actors) parts.push(`${m[a.base]}:${Array.from(m.subarray(a.base + 1, a.base + 1 + a.locals.length)).join(',')}`);
      seen.add(parts.join('|'));
    },
  });
  return { c, r, seen };
}

function graphStates(scope: { cpus: number; pages: number }, stateNames: string[][]) {
  const model = nonlru.build(scope, null);
  const { logic, eventsAt } = systemLogic(model);
  const adj = getAdjacencyMap(logic as never, {
    events: eventsAt as never,
    serializeState: ((s: SystemSnapshot) => packSnapshot(model, s, stateNames)) as never,
    limit: 1e7,
  });
  let edges = 0;
  for (const node of Object.values(adj) as { state: unknown; transitions: Record<string, { state: unknown }> }[]) {
    for (const t of Object.values(node.transitions)) if (t.state !== node.state) edges++;
  }
  return { states: new Set(Object.keys(adj)), edges };
}

describe('walker vs @xstate/graph', () => {
  for (const scope of [{ cpus: 1, pages: 1 }, { cpus: 2, pages: 1 }]) {
    it(`reach the same states and edges for nonlru ${JSON.stringify(scope)}`, () => {
      const { c, r, seen } = walkerStates(scope);
      expect(r.verdict).toBe('pass');
      const g = graphStates(scope, c.actors.map((a) => [...a.states]));
      expect(g.states.size).toBe(seen.size);
      for (const s of g.states) expect(seen.has(s)).toBe(true);
      expect(g.edges).toBe(r.transitions);
    }, 120_000);
  }
});
