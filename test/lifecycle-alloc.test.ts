// The allocator systems' buddy-page lifecycles (contig v5.19, reporting 2019 and
// v5.7): the default checks keep their verdicts with the monitor on, every
// transition has a shortest witness at the default scope or a stated reason (and
// @xstate/graph reaches it over the machine), and a move the machine does not
// allow is reported.
import { getAdjacencyMap } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { findSystem } from '../models/index.ts';
import { check } from '../src/index.ts';
import { monitorOf, searchWitnesses, transitionsOf } from '../src/lifecycle.ts';
import type { Lifecycle, Scope } from '../src/system.ts';
import { lifecycleSection } from '../src/lifecycle-doc.ts';

function graphTransitions(lc: Lifecycle): Set<string> {
  const events = transitionsOf([lc]).map(({ transition: t }) => ({ type: t.event }));
  const seen = new Set<string>();
  const adj = getAdjacencyMap(lc.machine as never, { events: events as never });
  for (const node of Object.values(adj) as { state: { value: string }; transitions: Record<string, { event: { type: string }; state: { value: string } }> }[]) {
    for (const t of Object.values(node.transitions)) if (t.state.value !== node.state.value) seen.add(`${node.state.value} ${t.event.type}`);
  }
  return seen;
}

const defaults = (name: string): Scope => Object.fromEntries(Object.entries(findSystem(name)!.scope).map(([k, v]) => [k, v.default]));

const CASES: { name: string; kernel?: string; verdict: string; property?: string; lifecycles: string[] }[] = [
  // contig's default reports the v5.19 finding (docs/findings.md), not a lifecycle violation.
  { name: 'contig', verdict: 'violation', property: 'isolated-never-handed-out', lifecycles: ['buddy-page', 'pageblock'] },
  { name: 'reporting', verdict: 'pass', lifecycles: ['buddy-page'] },
  { name: 'reporting', kernel: 'v5.7', verdict: 'pass', lifecycles: ['buddy-page'] },
];

describe('allocator page lifecycles', () => {
  for (const c of CASES) {
    const label = `${c.name}${c.kernel ? ` --kernel ${c.kernel}` : ''}`;
    it(`${label}: the default check keeps its verdict with the monitor on`, () => {
      const model = findSystem(c.name)!.build(defaults(c.name), null, undefined, c.kernel);
      expect(model.lifecycles?.map((l) => l.name)).toEqual(c.lifecycles);
      expect(monitorOf(model)).not.toBeNull();
      const { result } = check(c.name, defaults(c.name), null, c.kernel ? { kernel: c.kernel } : {});
      expect(result.verdict).toBe(c.verdict);
      expect(result.violation?.property).toBe(c.property);
    }, 60_000);

    it(`${label}: every transition has a witness at the default scope or a stated reason`, () => {
      const model = findSystem(c.name)!.build(defaults(c.name), null, undefined, c.kernel);
      // The witness search looks for lifecycle moves only: the finding's invariant is no concern here.
      const search = searchWitnesses({ ...model, properties: model.properties.filter((p) => p.name === 'page-lifecycle') });
      expect(search.complete).toBe(true);
      const graphs = new Map(model.lifecycles!.map((lc) => [lc.name, graphTransitions(lc)]));
      for (const w of search.witnesses) {
        expect(graphs.get(w.lifecycle)).toContain(`${w.from} ${w.event}`);
        if (w.meta.largerScope) expect(w.length).toBeNull();
        else expect(w.length, `${w.from} ${w.event}`).not.toBeNull();
      }
    }, 60_000);
  }

  it('contig: the pageblock transitions marked as needing --steal 1 have witnesses there', () => {
    // With the fix of the steal finding: v5.19 itself breaks the pageblock machine at --steal 1 (docs/findings.md).
    const scope = { ...defaults('contig'), cpus: 3, contigs: 1, steal: 1 };
    const model = findSystem('contig')!.build(scope, 'fix-isolate-splits-straddling');
    const search = searchWitnesses({ ...model, properties: model.properties.filter((p) => p.name === 'page-lifecycle') }, { largerScope: true });
    const found = search.witnesses.filter((w) => w.lifecycle === 'pageblock').map((w) => `${w.from} ${w.event} ${w.length}`);
    expect(found).toEqual(['movable ISOLATE 1', 'movable STEAL 1', 'unmovable ISOLATE 3', 'unmovable STEAL 3', 'isolate UNSET 6', 'isolate UNSET_UNMOVABLE null']);
  }, 60_000);

  it('contig --steal 1: v5.19\'s stealing takes an isolated pageblock, which the pageblock machine does not allow', () => {
    const { result } = check('contig', { ...defaults('contig'), contigs: 1, steal: 1 }, null);
    expect(result.violation?.property).toBe('page-lifecycle');
    expect(result.violation?.message).toMatch(/^pageblock 1 went from isolate to unmovable in a step of cpu\d at 'alloc' \(rmqueue_pcplist\)/);
  }, 60_000);

  it('reports a move the machine does not allow, naming the page, both states and the step', () => {
    const { result } = check('reporting', defaults('reporting'), 'mutation-report-in-place', { kernel: 'v5.7' });
    expect(result.violation?.property).toBe('page-lifecycle');
    expect(result.violation?.message).toMatch(/^pfn \d \(buddy-page\) went from free to reported in a step of page_reporting at 'l1-cycle' \(page_reporting_cycle\): no transition/);
    const drain = check('contig', { ...defaults('contig'), cpus: 1, contigs: 1 }, 'mutation-remote-drain-without-pcp-lock', {});
    expect(drain.result.violation?.message).toMatch(/went from pcp to (free|off-list) in a step of contig0 .*DRAIN(_MERGE)? is taken by kworker or cpu, not by a contig/);
  }, 60_000);

  it('the contract draws the buddy page of contig and reporting with a witness or a reason per transition', () => {
    for (const name of ['contig', 'reporting']) {
      const text = lifecycleSection(findSystem(name)!).join('\n');
      expect(text).toContain('#### `buddy-page`: A page of the buddy allocator');
      expect(text).toMatch(/\| `ALLOC` \| free \| allocated \| cpu \| zone->lock \| .* \| \d+ steps \|/);
      expect(text).toContain(name === 'contig' ? '| `ALLOC_PCP` | pcp | allocated | cpu | pcp lock |' : '| `PUT_RAW` | batch | free | aerator | zone->lock |');
      expect(text).toContain('needs a larger scope');
    }
  }, 60_000);
});
