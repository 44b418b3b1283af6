// The lazy system (seed 001, v3.3): the fixed system passes at pinned counts, every
// known bug is found at its committed minimal length with and without each reduction
// (found at its committed scope and replayed: test/variants.test.ts), the finding
// reproduces, and each property is shown to fail on a world that breaks it.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lazy } from '../models/lazy/index.ts';
import { fromLayout } from '../models/lazy/world.ts';
import { lazyProperties } from '../properties/lazy.ts';
import { PTE_SWAP } from '../src/kernel/mapped-v3/layout.ts';
import { F_COUNT, F_FLAGS, F_MAPCOUNT, PAGE_BUDDY_MAPCOUNT, PG_locked, pageAt } from '../src/kernel/mapped-v3/page.ts';
import { check, replay } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';
import type { StateInvariant } from '../src/system.ts';

const committed = (name: string) => readFileSync(new URL(`../counterexamples/lazy/${name}.json`, import.meta.url), 'utf8');
const committedLength = (name: string) => traceLength(replay(committed(name)).trace!.steps);
/** The scope a variant's committed trace was found at (its #meta), e.g. --compaction 1 for a compaction race. */
const committedScope = (name: string): Record<string, number> => JSON.parse(committed(name))['#meta'].scope;

describe('lazy, the fixed system', () => {
  it('passes at the default scope with pinned counts', () => {
    const { result } = check('lazy', {}, null);
    expect(result.verdict).toBe('pass');
    expect({ states: result.states, transitions: result.transitions }).toEqual({ states: 70031, transitions: 236337 });
  }, 60_000);

  it.each([
    [{ pages: 1, touchers: 1, reclaim: 0 }, 81, 120],
    [{ pages: 1, touchers: 1, reclaim: 1 }, 4542, 11114],
    [{ pages: 2, touchers: 1, reclaim: 1 }, 14251, 32826],
    [{ pages: 1, touchers: 1, reclaim: 1, reads: 1 }, 10556, 25689],
  ])('passes at %j with %i states and %i transitions', (scope, states, transitions) => {
    const { result } = check('lazy', scope, null);
    expect(result.verdict).toBe('pass');
    expect({ states: result.states, transitions: result.transitions }).toEqual({ states, transitions });
  }, 60_000);

  it('passes with every reduction on or off, each storing no more states than none', () => {
    const run = (por: boolean, symmetry: boolean) => {
      const r = check('lazy', { pages: 1, touchers: 2, reclaim: 0 }, null, { por, symmetry }).result;
      expect(r.verdict).toBe('pass');
      return r.states;
    };
    const none = run(false, false);
    expect(run(false, true)).toBeLessThan(none);
    expect(run(true, true)).toBeLessThanOrEqual(run(false, true));
  }, 60_000);
});

describe('lazy variants', () => {
  it('has the variant the issue names', () => {
    expect(lazy.variants.map((v) => v.name)).toContain('unmap-only-without-trylock');
  });

  for (const v of lazy.variants) {
    describe(v.name, () => {
      it('is found at the same property and length with each reduction on or off', () => {
        const length = committedLength(v.name);
        for (const symmetry of [true, false]) {
          for (const por of [true, false]) {
            const { result, trace } = check('lazy', committedScope(v.name), v.name, { por, symmetry });
            expect({ symmetry, por, property: result.violation?.property, steps: trace && traceLength(trace.steps) })
              .toEqual({ symmetry, por, property: v.expect.property, steps: length });
          }
        }
      }, 120_000);
    });
  }
});

describe('lazy traces under thread symmetry', () => {
  // mbind's migrate_prep() branch drain_cpuN names a thread's CPU, and the walker
  // stores states with the threads renamed: the trace rebuild must rename the branch
  // too (walker.ts toConcrete), or the replay finds mbind unable to take the step
  // ("mbind cannot take 'drain_cpu2'") and the check ends in a TraceError.
  it.each(['fault-without-migrate-on-fault', 'migrate-on-fault-keeps-reference'])('%s at two threads rebuilds, replays, and drains each CPU once', (name) => {
    const { result, trace } = check('lazy', { pages: 1, touchers: 2, reclaim: 1 }, name, { symmetry: true });
    expect(result.verdict).toBe('violation');
    const drains = trace!.steps.filter((s) => s.actor === 'mbind' && s.event.startsWith('drain_cpu')).map((s) => s.event);
    expect([...drains].sort()).toEqual(['drain_cpu0', 'drain_cpu1', 'drain_cpu2']);
    expect(traceLength(trace!.steps)).toBe(traceLength(check('lazy', { pages: 1, touchers: 2, reclaim: 1 }, name, { symmetry: false }).trace!.steps));
  }, 60_000);
});

describe('lazy finding (v3.3 as modelled)', () => {
  it('a page under compaction\'s migration when mbind walks the range is skipped and stays on node 0 with no reason', () => {
    const scope = { pages: 1, touchers: 1, reclaim: 0, compaction: 1 };
    const { result, trace } = check('lazy', scope, null);
    expect(result.verdict).toBe('violation');
    expect(result.violation!.property).toBe('touched-page-placed');
    const r = replay(committed('findings/skipped-under-migration'));
    expect(r.matches).toBe(true);
    expect(traceLength(r.trace!.steps)).toBe(traceLength(trace!.steps));
  }, 60_000);
});

describe('lazy properties fail on worlds that break them', () => {
  const { lay, world } = fromLayout(1, 1, 0);
  const props = lazyProperties(lay);
  const state = (name: string) => props.find((p) => p.name === name) as StateInvariant;

  it('hold on the initial world', () => {
    for (const p of props) if (p.kind === 'invariant' && p.scope === 'state') expect(p.check(world)).toBeNull();
  });

  it('pte-maps-the-data: a PTE to a page without the latest write', () => {
    const m = world.slice();
    m[lay.version(0)] = 1;
    expect(state('pte-maps-the-data').check(m)).toMatch(/holds version 0, not the latest write 1/);
    const s = world.slice();
    s[lay.pte(0)] = PTE_SWAP | 0;
    s[lay.version(0)] = 3;
    expect(state('pte-maps-the-data').check(s)).toMatch(/swap slot 0 holds version 0/);
  });

  it('mapcount-matches-ptes and no-mapped-free-page', () => {
    const m = world.slice();
    m[pageAt(0, F_MAPCOUNT)] = 1;
    expect(state('mapcount-matches-ptes').check(m)).toMatch(/mapcount 2 but 1 PTE/);
    const f = world.slice();
    f[pageAt(0, F_MAPCOUNT)] = PAGE_BUDDY_MAPCOUNT;
    f[pageAt(0, F_COUNT)] = 0;
    expect(state('no-mapped-free-page').check(f)).toMatch(/points at pfn 0, which is free/);
  });

  it('refcounts-balance and pages-accounted at the end', () => {
    const end = (name: string) => props.find((p) => p.name === name)!;
    const m = world.slice();
    m[pageAt(0, F_COUNT)] = 2;
    expect((end('refcounts-balance') as { check(m: Uint8Array): string | null }).check(m)).toMatch(/_count 2, but 1 holder/);
    const d = world.slice();
    expect((end('pages-accounted') as { check(m: Uint8Array): string | null }).check(d)).toBeNull();
    d[pageAt(0, F_FLAGS)] |= PG_locked;
    expect((end('pages-accounted') as { check(m: Uint8Array): string | null }).check(d)).toMatch(/pfn 0 is still locked/);
  });
});

describe('lazy on the command line', () => {
  const BIN = new URL('../bin/pagerace.js', import.meta.url).pathname;
  it('takes --touchers, --reclaim and --compaction', () => {
    const r = spawnSync(process.execPath, [BIN, 'check', 'lazy', '--touchers', '1', '--reclaim', '0', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).config).toEqual({ pages: 1, touchers: 1, reclaim: 0, compaction: 0, reads: 0 });
  });
  it('a scope out of range is a one-line usage error', () => {
    const r = spawnSync(process.execPath, [BIN, 'check', 'lazy', '--compaction', '2'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
