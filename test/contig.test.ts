// contig: every known bug is found with and without local-step chaining (at its
// committed length and by replay: test/variants.test.ts); each fix- variant passes where
// the unmodified code has its finding; an allocation on a quiet zone can succeed (a
// `sometimes` property, checked by visiting states).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contig, contigLayout } from '../models/contig/index.ts';
import { CONTIG_FINDINGS, CONTIG_VARIANTS } from '../models/contig/variants.ts';
import { RESULT_OK } from '../src/kernel/contig.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { traceLength } from '../src/trace/trace.ts';
import { check, replay, resolveScope } from '../src/index.ts';
import { CoverageCounter, coverageReport } from '../src/cli/coverage.ts';

const committed = (name: string) => readFileSync(new URL(`../counterexamples/contig/${name}.json`, import.meta.url), 'utf8');

describe('contig variants', () => {
  it('has the variants issue 5 names', () => {
    const names = contig.variants.map((v) => v.name);
    expect(names).toContain('no-split-straddling');
    expect(names).toContain('single-block-isolated-twice');
  });

  for (const v of CONTIG_VARIANTS.filter((x) => x.fix)) {
    it(`${v.name} fixes the finding '${v.expect.property}': the default violates it at ${JSON.stringify(v.scope)}, the fix passes`, () => {
      const def = check('contig', v.scope, null).result;
      expect(def.verdict).toBe('violation');
      expect(def.violation!.property).toBe(v.expect.property);
      expect(check('contig', v.scope, v.name).result.verdict).toBe('pass');
    });
  }

  for (const v of CONTIG_VARIANTS.filter((x) => !x.fix)) {
    describe(v.name, () => {
      it('is found with and without local-step chaining', () => {
        const on = check('contig', v.scope, v.name, { por: true }).result;
        const off = check('contig', v.scope, v.name, { por: false }).result;
        expect(off.verdict).toBe('violation');
        expect(off.violation?.property).toBe(on.violation?.property);
      });
    });
  }
});

describe('the contig system (v5.19 as it is)', () => {
  const scopes = [
    { cpus: 0, contigs: 1, range: 0 }, { cpus: 0, contigs: 1, range: 1 },
    { cpus: 2, contigs: 1, range: 0 }, { cpus: 2, contigs: 1, range: 1 },
  ];
  for (const scope of scopes) {
    it(`passes at ${JSON.stringify(scope)} (one alloc_contig_range() caller)`, () => {
      const { result } = check('contig', scope, null);
      expect(result.verdict).toBe('pass');
    }, 60_000);
  }

  it('passes without local-step chaining too', () => {
    const off = check('contig', { cpus: 1, contigs: 1, range: 0 }, null, { por: false }).result;
    expect(off.verdict).toBe('pass');
  });

  it('pins the state counts of the default scope and of --cpus 2 --contigs 1', () => {
    const d = check('contig', {}, null).result;
    expect([d.verdict, d.states, d.transitions, d.violation?.property]).toEqual(['violation', 187064, 538874, 'isolated-never-handed-out']);
    const one = check('contig', { cpus: 2, contigs: 1 }, null).result;
    expect([one.verdict, one.states, one.transitions]).toEqual(['pass', 29261, 63423]);
  });

  // sometimes: a success is reachable, so the properties above are not vacuous.
  for (const scope of [{ cpus: 0, contigs: 1, range: 0 }, { cpus: 0, contigs: 1, range: 1 }, { cpus: 2, contigs: 1, range: 0 }]) {
    it(`sometimes: alloc_contig_range() can succeed at ${JSON.stringify(scope)}`, () => {
      const full = resolveScope(contig, scope);
      const lay = contigLayout(full.cpus, full.contigs, full.range);
      const c = compile(contig.build(full, null));
      let ok = [false, false];
      walk(c, { visit: (m) => { for (let k = 0; k < full.contigs; k++) if (m[lay.result(k)] === RESULT_OK) ok[k] = true; } });
      expect(ok[0]).toBe(true);
      if (full.contigs === 2) expect(ok[1]).toBe(true);
      ok = [false, false];
    });
  }
});

describe('__alloc_contig_migrate_range() (v5.19): LRU isolation and migrate_pages(), step by step', () => {
  /** The branches of `kind`'s program a full walk never takes. */
  const untaken = (scope: Record<string, number>, variant: string | null, kind: string): string[] => {
    const c = compile(contig.build(resolveScope(contig, scope), variant));
    const cov = new CoverageCounter(c, true);
    const r = walk(c, { visit: (m) => cov.visit(m) });
    expect(r.verdict).toBe('pass');
    return [...coverageReport(c, cov.counts())[kind].untakenBranches];
  };

  it('the owner\'s interleavings are reached: unmapped before isolation, while isolated, and while its PTE is a migration entry', () => {
    const cpu = untaken({ cpus: 2, contigs: 1 }, null, 'cpu');
    expect(cpu.filter((b) => b.startsWith('hold --FREE'))).toEqual([]);
    const acr = untaken({ cpus: 2, contigs: 1 }, null, 'contig');
    expect(acr).not.toContain('acr/migrate/get --step[page_count(page) == 0]--> acr/migrate');
    expect(acr).not.toContain('acr/migrate/unmap_and_move --step[page_count(page) == 1]--> acr/migrate');
    expect(acr).not.toContain('acr/migrate/move --step--> acr/migrate');
    // No target (-ENOMEM) is not reached at the scopes tried (README).
    expect(acr).toContain('acr/migrate/target --step[!newpage]--> acr/migrate/enomem');
  }, 60_000);

  it('isolate_single_pageblock() migrates its straddling page by the same steps (--range 1: a max-order target exists)', () => {
    const acr = untaken({ cpus: 2, contigs: 1, range: 1 }, null, 'contig');
    expect(acr).not.toContain('acr/isb-end/mig/unmap --step--> acr/isb-end/mig/move');
    expect(acr).not.toContain('acr/isb-end/mig/move --step--> acr/isb-end/mig');
  }, 60_000);

  it('a second caller isolates the page first: TestClearPageLRU fails and the reference is put', () => {
    const acr = untaken({ cpus: 2, contigs: 2, range: 1 }, 'fix-return-on-isolation-failure', 'contig');
    expect(acr).not.toContain('acr/migrate/lru --step[!PageLRU(page)]--> acr/migrate');
  }, 60_000);
});

describe('isolate-lists-agree: where v5.19 promises a free page\'s list and its pageblock agree', () => {
  // The default scope stops at the finding isolated-never-handed-out; checked alone,
  // the promise holds over the whole space (and with stealing).
  for (const scope of [{}, { steal: 1 }]) {
    it(`holds over every state of v5.19 at ${JSON.stringify(scope)}`, () => {
      const m = contig.build(resolveScope(contig, scope), null);
      const only = { ...m, properties: m.properties.filter((p) => p.name === 'isolate-lists-agree') };
      expect(only.properties).toHaveLength(1);
      const r = walk(compile(only), {});
      expect([r.verdict, r.states]).toEqual(['pass', scope.steal ? 1454833 : 776085]);
    }, 60_000);
  }
});

describe('findings on v5.19 (docs/findings.md)', () => {
  for (const f of CONTIG_FINDINGS) {
    it(`${f.name}: ${f.property} at ${JSON.stringify(f.scope)}, ${f.steps} steps, replays from its committed trace`, () => {
      const { result, trace } = check('contig', f.scope, null);
      expect(result.verdict).toBe('violation');
      expect(result.violation!.property).toBe(f.property);
      expect(traceLength(trace!.steps)).toBe(f.steps);
      const r = replay(committed(`findings/${f.name}`));
      expect(r.matches).toBe(true);
    });
  }
});
