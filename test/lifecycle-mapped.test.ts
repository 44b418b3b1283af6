// The lifecycles of the mapping systems (lazy, v3.3; unmovable, v6.8): the fixed
// systems pass with the page-lifecycle monitor on at their default scopes (pinned
// counts unchanged: the monitor is a property), every transition has a shortest
// witness or a stated reason, @xstate/graph reaches every transition the walker
// is asked to witness, and the monitor stops a move its machine does not allow.
import { getAdjacencyMap } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { lazy } from '../models/lazy/index.ts';
import { unmovable } from '../models/unmovable/index.ts';
import { fromLayout } from '../models/lazy/world.ts';
import { lazyLifecycles } from '../models/lazy/lifecycle.ts';
import { check } from '../src/index.ts';
import { monitorOf, searchWitnesses, transitionsOf } from '../src/lifecycle.ts';
import { F_MAPCOUNT, pageAt } from '../src/kernel/mapped-v3/page.ts';
import type { Lifecycle, System } from '../src/system.ts';

const defaults = (s: System) => Object.fromEntries(Object.entries(s.scope).map(([k, v]) => [k, v.default]));

/** (state, event) pairs @xstate/graph's traversal of the machine takes from its initial state. */
function graphTransitions(lc: Lifecycle): Set<string> {
  const events = transitionsOf([lc]).map(({ transition: t }) => ({ type: t.event }));
  const seen = new Set<string>();
  const adj = getAdjacencyMap(lc.machine as never, { events: events as never });
  for (const node of Object.values(adj) as { state: { value: string }; transitions: Record<string, { event: { type: string }; state: { value: string } }> }[]) {
    for (const t of Object.values(node.transitions)) if (t.state.value !== node.state.value) seen.add(`${node.state.value} ${t.event.type}`);
  }
  return seen;
}

describe.each([
  [lazy, 70031, 236337],
  [unmovable, 333309, 1108342],
] as const)('%s lifecycles', (sys, states, transitions) => {
  it('the fixed system passes with the monitor on, at the pinned counts', () => {
    const model = sys.build(defaults(sys), null);
    expect(monitorOf(model)).not.toBeNull();
    expect(model.lifecycles!.length).toBeGreaterThan(1);
    const { result } = check(sys.name, defaults(sys), null);
    expect({ verdict: result.verdict, states: result.states, transitions: result.transitions }).toEqual({ verdict: 'pass', states, transitions });
  }, 60_000);

  it('every transition has a witness at the default scope or a reason it needs a larger one', () => {
    const model = sys.build(defaults(sys), null);
    const r = searchWitnesses(model, { maxSeconds: 60 });
    expect(r.complete).toBe(true);
    const missing = r.witnesses.filter((w) => w.length === null && !w.meta.largerScope).map((w) => `${w.lifecycle} ${w.from} ${w.event}`);
    expect(missing).toEqual([]);
    // A transition marked as needing a larger scope must not have a witness here (else the mark is stale).
    const stale = r.witnesses.filter((w) => w.length !== null && w.meta.largerScope).map((w) => `${w.lifecycle} ${w.from} ${w.event}`);
    expect(stale).toEqual([]);
    for (const lc of model.lifecycles!) {
      const graph = graphTransitions(lc);
      for (const w of r.witnesses.filter((x) => x.lifecycle === lc.name && x.length !== null)) expect(graph).toContain(`${w.from} ${w.event}`);
    }
  }, 60_000);
});

describe('the lazy monitor', () => {
  it('reports a move its machine does not allow, naming the page, both states and the step', () => {
    const model = lazy.build(defaults(lazy), null);
    const monitor = monitorOf(model)!;
    const pre = model.world.slice();
    const post = pre.slice();
    post[pageAt(0, F_MAPCOUNT)] = 0xff; // pfn 0 loses its mapping: mapped -> unmapped, which only compaction may do
    const thread = model.actors.findIndex((a) => a.kind === 'toucher');
    expect(monitor.check(pre, post, thread, 0, pre.length)).toMatch(/^pfn 0 \(anon-page\) went from mapped to unmapped in a step of thread0 .*UNMAP_MIGRATION is taken by compaction, not by a toucher/);
  });

  it('watches only the pages of the policy\'s node as migration targets', () => {
    const { lay } = fromLayout(1, 2, 0);
    const [, target] = lazyLifecycles(lay);
    expect(target.pages.every((p) => lay.nid(p) === 1)).toBe(true);
    expect(target.pages.length).toBeGreaterThan(0);
  });
});

describe('variants found first by page-lifecycle (issue 12: at least one per system)', () => {
  it.each([['lazy', lazy], ['unmovable', unmovable]] as const)('%s: found by exploration at the default scope, the monitor first', (_name, sys) => {
    const first = sys.variants.filter((v) => v.expect.property === 'page-lifecycle');
    expect(first.length).toBeGreaterThan(0);
    for (const v of first) {
      const { result } = check(sys.name, defaults(sys), v.name);
      expect(result.violation?.property).toBe('page-lifecycle');
    }
  }, 60_000);

  it('unmovable: a folio brought in before mapping_set_unmovable() is migrated, which only its lifecycle forbids', () => {
    const { result } = check('unmovable', defaults(unmovable), 'set-unmovable-after-first-folio');
    // The unmovable folio's machine has no migration: the only move from isolated-locked
    // to isolated-uncached it knows is truncation, which no compaction CPU takes.
    expect(result.violation!.message).toMatch(/^pfn 0 \(unmovable-folio\) went from isolated-locked to isolated-uncached in a step of cpu\d at 'migrate\/move'/);
  }, 60_000);
});
