// The page lifecycle machines: the monitor passes the fixed systems, catches a move
// its machine does not allow, and every transition has a shortest witness (or a
// stated reason), cross-checked against @xstate/graph's paths over the machines.
import { getAdjacencyMap } from '@xstate/graph';
import { createMachine } from 'xstate';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { describe, expect, it } from 'vitest';
import { findSystem } from '../models/index.ts';
import { check } from '../src/index.ts';
import { monitorOf, searchWitnesses, transitionsOf } from '../src/lifecycle.ts';
import { lifecycleMonitor } from '../properties/lifecycle.ts';
import type { Lifecycle, System } from '../src/system.ts';
import { lifecycleSection } from '../src/lifecycle-doc.ts';
import { F_FLAGS, F_REF, PAGE_STRIDE, PG_locked } from '../src/kernel/page.ts';

/**
 * Every (state, event) of the machine reachable from its initial state that moves
 * it, by @xstate/graph's traversal of the machine (getAdjacencyMap).
 */
function graphTransitions(lc: Lifecycle): Set<string> {
  const events = transitionsOf([lc]).map(({ transition: t }) => ({ type: t.event }));
  const seen = new Set<string>();
  const adj = getAdjacencyMap(lc.machine as never, { events: events as never });
  for (const node of Object.values(adj) as { state: { value: string }; transitions: Record<string, { event: { type: string }; state: { value: string } }> }[]) {
    for (const t of Object.values(node.transitions)) {
      if (t.state.value !== node.state.value) seen.add(`${node.state.value} ${t.event.type}`);
    }
  }
  return seen;
}

const SMALL = {
  nonlru: { cpus: 1, pages: 2 },
  balloon: { cpus: 1, pages: 2 },
  zsmalloc: { cpus: 1, zspages: 1, objects: 2 },
} as const;

describe('page lifecycles', () => {
  for (const [name, scope] of Object.entries(SMALL)) {
    it(`${name}: the fixed system passes with the monitor on`, () => {
      const sys = findSystem(name)!;
      const model = sys.build(scope, null);
      expect(model.lifecycles?.length).toBeGreaterThan(0);
      expect(monitorOf(model)).not.toBeNull();
      const { result } = check(name, scope, null);
      expect(result.verdict).toBe('pass');
    }, 60_000);

    it(`${name}: @xstate/graph reaches every transition the walker must witness`, () => {
      const model = findSystem(name)!.build(scope, null);
      for (const lc of model.lifecycles!) {
        const graph = graphTransitions(lc);
        for (const { transition: t } of transitionsOf([lc])) expect(graph).toContain(`${t.from} ${t.event}`);
      }
    });
  }

  it('nonlru: the walker witnesses every transition @xstate/graph lists, at the default scope', () => {
    const sys = findSystem('nonlru')!;
    const model = sys.build({ cpus: 2, pages: 2 }, null);
    const search = searchWitnesses(model);
    expect(search.complete).toBe(true);
    for (const lc of model.lifecycles!) {
      const graph = graphTransitions(lc);
      const found = new Set(search.witnesses.filter((w) => w.lifecycle === lc.name && w.length !== null).map((w) => `${w.from} ${w.event}`));
      // A transition the machine says needs a larger scope has no witness here.
      const larger = new Set(transitionsOf([lc]).filter(({ transition: t }) => t.meta.largerScope).map(({ transition: t }) => `${t.from} ${t.event}`));
      for (const t of graph) if (!larger.has(t)) expect(found).toContain(t);
    }
    // A witness is a trace: its length is what the contract document shows.
    const iso = search.witnesses.find((w) => w.lifecycle === 'nonlru-page' && w.event === 'ISOLATE')!;
    expect(iso.length).toBe(8);
    expect(iso.steps!.length).toBeGreaterThanOrEqual(iso.length!);
  }, 60_000);

  it('reports a move the machine does not allow, naming the page, both states and the step', () => {
    const model = findSystem('nonlru')!.build({ cpus: 1, pages: 1 }, null);
    const [page, target] = model.lifecycles!;
    // The same page lifecycle with ISOLATE taken away: isolating a page breaks it.
    const config = (page.machine as unknown as { config: { states: Record<string, { on: Record<string, unknown> }> } }).config;
    const { ISOLATE: _gone, ...movableOn } = config.states.movable.on;
    const stricter: Lifecycle = {
      ...page,
      machine: createMachine({ ...config, states: { ...config.states, movable: { ...config.states.movable, on: movableOn } } } as never),
    };
    const monitor = lifecycleMonitor([stricter, target], model.actors, model.world.length);
    const properties = model.properties.map((p) => (p.name === monitor.name ? monitor : p));
    const r = walk(compile({ ...model, properties }));
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('page-lifecycle');
    expect(r.violation!.message).toMatch(/^pfn 0 \(nonlru-page\) went from movable to isolated in a step of cpu0 at '.+' \(isolate_movable_page\): no transition/);
  });
});

describe('the scan mix pages (slab, free buddy block, THP, LRU page)', () => {
  const model = findSystem('nonlru')!.build({ cpus: 1, pages: 1, mix: 4 }, null);
  const mix = model.lifecycles!.find((lc) => lc.name === 'scan-mix-page')!;
  const monitor = lifecycleMonitor(model.lifecycles!, model.actors, model.world.length);
  const cpu = model.actors.findIndex((a) => a.kind === 'cpu');

  it('watches every mix page, and the targets come after them', () => {
    expect(mix.pages).toEqual([1, 2, 3, 4, 5, 6]);
    expect(model.lifecycles!.find((lc) => lc.name === 'migration-target')!.pages).toEqual([7]);
    for (const pfn of mix.pages) expect(mix.state(model.world, pfn)).toBe('theirs');
  });

  it('lets a CPU peek (a reference taken and dropped) and catches any other change', () => {
    for (const pfn of mix.pages) {
      const o = pfn * PAGE_STRIDE;
      const peeked = model.world.slice();
      peeked[o + F_REF]++;
      expect(monitor.check(model.world, peeked, cpu, o, o + PAGE_STRIDE)).toBeNull();
      expect(monitor.check(peeked, model.world, cpu, o, o + PAGE_STRIDE)).toBeNull();
      const touched = model.world.slice();
      touched[o + F_FLAGS] ^= PG_locked;
      expect(monitor.check(model.world, touched, cpu, o, o + PAGE_STRIDE)).toMatch(new RegExp(`^pfn ${pfn} \\(scan-mix-page\\) went from theirs to other in a step of cpu0`));
    }
  });
});

describe('the lifecycle section of the contract', () => {
  // nonlru at its smallest scope, with one transition no interleaving can take.
  const base = findSystem('nonlru')!;
  const withExtra = (meta: object): System => ({
    ...base,
    scope: { cpus: { ...base.scope.cpus, default: 1 }, pages: { ...base.scope.pages, default: 1 } },
    build(scope, variant) {
      const model = base.build(scope, variant);
      const [page, ...rest] = model.lifecycles!;
      const config = (page.machine as unknown as { config: { states: Record<string, { on?: Record<string, unknown> }> } }).config;
      const free = config.states.free;
      const machine = createMachine({ ...config, states: { ...config.states, free: { ...free, on: { ...free.on, NEVER: { target: 'lru', meta: { by: ['cpu'], lock: 'none', fn: 'nothing', ...meta } } } } } } as never);
      const lifecycles = [{ ...page, machine }, ...rest];
      const monitor = lifecycleMonitor(lifecycles, model.actors, model.world.length);
      return { ...model, lifecycles, properties: model.properties.map((p) => (p.name === monitor.name ? monitor : p)) };
    },
  });

  it('draws each machine and gives each transition its witness length', () => {
    const text = lifecycleSection(base).join('\n');
    expect(text).toContain('#### `nonlru-page`');
    expect(text).toContain('#### `migration-target`');
    expect(text).toMatch(/\| `ISOLATE` \| movable \| isolated \| cpu \(the holder\) \| page lock \| isolate_movable_page \(a_ops->isolate_page\) \| 8 steps \|/);
  }, 60_000);

  it('refuses a transition no interleaving takes, unless the machine says why it needs a larger scope', () => {
    expect(() => lifecycleSection(withExtra({}))).toThrow(/no interleaving at the default scope takes NEVER \(free -> lru\)/);
    expect(lifecycleSection(withExtra({ largerScope: 'a test: nothing takes it' })).join('\n')).toContain('needs a larger scope: a test: nothing takes it');
  }, 60_000);
});
