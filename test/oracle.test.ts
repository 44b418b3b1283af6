// The walker against @xstate/graph on the very same machines: same reachable
// states, same number of edges, at small scopes and with no reduction.
import { describe, expect, it } from 'vitest';
import { getAdjacencyMap } from '@xstate/graph';
import { balloon } from '../models/balloon/index.ts';
import { contig } from '../models/contig/index.ts';
import { nonlru } from '../models/nonlru/index.ts';
import { reporting } from '../models/reporting/index.ts';
import { unmovable } from '../models/unmovable/index.ts';
import { lazy } from '../models/lazy/index.ts';
import { zsmalloc } from '../models/zsmalloc/index.ts';
import { resolveScope } from '../src/index.ts';
import type { System } from '../src/system.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { packSnapshot, systemLogic, type SystemSnapshot } from '../src/explore/xstate-logic.ts';

function walkerStates(sys: System, scope: Record<string, number>) {
  const c = compile(sys.build(resolveScope(sys, scope), null));
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

function graphStates(sys: System, scope: Record<string, number>, stateNames: string[][]) {
  const model = sys.build(resolveScope(sys, scope), null);
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
  const cases: [System, Record<string, number>][] = [
    [nonlru, { cpus: 1, pages: 1 }], [nonlru, { cpus: 2, pages: 1 }],
    // The list_head world, the step-program callback (virtballoon_migratepage) and zsmalloc's a_ops.
    [balloon, { cpus: 1, pages: 1 }], [zsmalloc, { cpus: 1, zspages: 1, objects: 1 }],
    [contig, { cpus: 0, contigs: 1, range: 0 }], [contig, { cpus: 1, contigs: 1, range: 1 }],
    [contig, { cpus: 0, contigs: 2, range: 0 }], [reporting, { cpus: 1, rounds: 1 }], [reporting, { cpus: 2, rounds: 1 }],
    [unmovable, { cpus: 1, gmem: 1, files: 0 }], [unmovable, { cpus: 1, gmem: 1, files: 1 }],
    [lazy, { pages: 1, touchers: 1, reclaim: 0 }], [lazy, { pages: 1, touchers: 1, reclaim: 1 }],
  ];
  for (const [sys, scope] of cases) {
    it(`reach the same states and edges for ${sys.name} ${JSON.stringify(scope)}`, () => {
      const { c, r, seen } = walkerStates(sys, scope);
      expect(r.verdict).toBe('pass');
      const g = graphStates(sys, scope, c.actors.map((a) => [...a.states]));
      expect(g.states.size).toBe(seen.size);
      for (const s of g.states) expect(seen.has(s)).toBe(true);
      expect(g.edges).toBe(r.transitions);
    }, 300_000);
  }
});
