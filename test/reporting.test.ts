// reporting: every known bug of free page aeration is found with and without
// local-step chaining (at its committed length and by replay: test/variants.test.ts);
// the fixed system passes; the worker does aerate.
import { describe, expect, it } from 'vitest';
import { reporting, reportingLayout } from '../models/reporting/index.ts';
import { PageAerated } from '../src/kernel/aeration.ts';
import { PageReported } from '../src/kernel/page_reporting.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { check, resolveScope } from '../src/index.ts';

const SCOPE = { cpus: 2, rounds: 2, hwm: 1, capacity: 1 };

describe('reporting variants', () => {
  it('has a dangling boundary and at least one more', () => {
    const names = reporting.variants.map((v) => v.name);
    expect(names).toContain('dangling-boundary');
    expect(names.length).toBeGreaterThanOrEqual(2);
  });

  for (const v of reporting.variants) {
    describe(v.name, () => {
      it('is found with and without local-step chaining', () => {
        const on = check('reporting', SCOPE, v.name, { por: true }).result;
        const off = check('reporting', SCOPE, v.name, { por: false }).result;
        expect(off.verdict).toBe('violation');
        expect(off.violation?.property).toBe(on.violation?.property);
      });
    });
  }
});

describe('the fixed reporting system', () => {
  for (const scope of [
    { cpus: 1, rounds: 1 }, { cpus: 2, rounds: 1 }, { cpus: 2, rounds: 2 }, { cpus: 3, rounds: 1 },
    { cpus: 2, rounds: 2, capacity: 2 }, { cpus: 2, rounds: 2, hwm: 2 },
  ]) {
    it(`passes at ${JSON.stringify(scope)}`, () => {
      expect(check('reporting', scope, null).result.verdict).toBe('pass');
    }, 60_000);
  }

  it('passes without local-step chaining too', () => {
    expect(check('reporting', SCOPE, null, { por: false }).result.verdict).toBe('pass');
  });

  it('sometimes: both max-order pages end up aerated', () => {
    const full = resolveScope(reporting, SCOPE);
    const lay = reportingLayout(full.cpus, full.hwm);
    const c = compile(reporting.build(full, null));
    let bothAerated = false;
    walk(c, { visit: (m) => { if (PageAerated(m, 0) && PageAerated(m, 4)) bothAerated = true; } });
    expect(bothAerated).toBe(true);
    expect(lay.worker).toBe(2);
  });
});

describe('reporting --kernel v5.7 (mm/page_reporting.c as merged)', () => {
  const build = (scope: Record<string, number>) => compile(reporting.build(resolveScope(reporting, scope), null, undefined, 'v5.7'));

  it('lists both versions', () => {
    expect(reporting.kernels).toEqual(['v5.2+aeration-v1', 'v5.7']);
  });

  for (const scope of [{ cpus: 1, rounds: 1 }, { cpus: 2, rounds: 1 }, { cpus: 2, rounds: 2 }, { cpus: 3, rounds: 1 }, { cpus: 2, rounds: 2, capacity: 2 }]) {
    it(`passes at ${JSON.stringify(scope)}`, () => {
      expect(check('reporting', scope, null, { kernel: 'v5.7' }).result.verdict).toBe('pass');
    }, 60_000);
  }

  it('pins the default scope\'s state and transition counts, with and without local-step chaining', () => {
    const on = check('reporting', {}, null, { kernel: 'v5.7' }).result;
    expect([on.verdict, on.states, on.transitions]).toEqual(['pass', 36716, 109081]);
    expect(check('reporting', {}, null, { kernel: 'v5.7', por: false }).result.verdict).toBe('pass');
  });

  it('sometimes: both max-order pages end up reported', () => {
    let both = false;
    walk(build(SCOPE), { visit: (m) => { if (PageReported(m, 0) && PageReported(m, 4)) both = true; } });
    expect(both).toBe(true);
  });

  it('a variant of v5.7 refuses the other kernel', () => {
    expect(() => reporting.build(resolveScope(reporting, SCOPE), 'mutation-idle-with-atomic-set', undefined, 'v5.2+aeration-v1')).toThrow(/of kernel v5.7/);
  });
});

describe('reporting (aeration v1) pinned counts', () => {
  it('pins the default scope\'s state and transition counts', () => {
    const r = check('reporting', {}, null).result;
    expect([r.verdict, r.states, r.transitions]).toEqual(['pass', 25506, 69505]);
  });
});
