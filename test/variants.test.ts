// Every known bug is found by exploration, at exactly the committed minimal length,
// and every committed counterexample replays to the same violation.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nonlru } from '../models/nonlru/index.ts';
import { check, exitCodeOf, replay } from '../src/index.ts';

const committed = (name: string) => readFileSync(new URL(`../counterexamples/nonlru/${name}.json`, import.meta.url), 'utf8');

describe('nonlru variants', () => {
  it('has the variants the foundation issue names', () => {
    const names = nonlru.variants.map((v) => v.name);
    for (const n of ['no-isolated-check', 'clear-movable-all-bits', 'lock-before-refcount', 'driver-touches-isolated-lru', 'putback-without-lock']) {
      expect(names).toContain(n);
    }
  });

  for (const v of nonlru.variants) {
    describe(v.name, () => {
      it(`is found by exploration: ${v.expect.kind} ${v.expect.property}`, () => {
        const { result, trace } = check('nonlru', { cpus: 2, pages: 2 }, v.name);
        expect(result.verdict).toBe('violation');
        expect(result.violation!.kind).toBe(v.expect.kind);
        expect(result.violation!.property).toBe(v.expect.property);
        const file = JSON.parse(committed(v.name));
        expect(trace!.steps.length).toBe(file['#meta'].steps.length);
      });

      it('replays from its committed trace', () => {
        const r = replay(committed(v.name));
        expect(r.matches).toBe(true);
        expect(exitCodeOf(r.trace!.violation.kind)).toBe(exitCodeOf(v.expect.kind));
      });

      it('is found with and without local-step chaining, at the same verdict', () => {
        const on = check('nonlru', { cpus: 2, pages: 1 }, v.name, { por: true }).result;
        const off = check('nonlru', { cpus: 2, pages: 1 }, v.name, { por: false }).result;
        expect(off.verdict).toBe(on.verdict);
        expect(off.violation?.property).toBe(on.violation?.property);
      });
    });
  }
});

describe('the fixed system', () => {
  for (const scope of [{ cpus: 1, pages: 1 }, { cpus: 2, pages: 1 }, { cpus: 1, pages: 2 }, { cpus: 2, pages: 2 }]) {
    it(`passes at ${JSON.stringify(scope)}`, () => {
      const { result } = check('nonlru', scope, null);
      expect(result.verdict).toBe('pass');
      expect(result.states).toBeGreaterThan(100);
    }, 120_000);
  }

  it('passes without local-step chaining too, with more states', () => {
    const on = check('nonlru', { cpus: 2, pages: 1 }, null, { por: true }).result;
    const off = check('nonlru', { cpus: 2, pages: 1 }, null, { por: false }).result;
    expect(off.verdict).toBe('pass');
    expect(on.verdict).toBe('pass');
    expect(off.states).toBeGreaterThan(on.states);
  });

  it('stops cleanly at --max-states', () => {
    const { result } = check('nonlru', { cpus: 2, pages: 2 }, null, { maxStates: 1000 });
    expect(result.verdict).toBe('incomplete');
    expect(result.states).toBe(1000);
  });
});
