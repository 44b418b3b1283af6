// The balloon and zsmalloc systems: every known bug is found by exploration at
// exactly the committed minimal length, every committed counterexample replays to the
// same violation, and the fixed systems pass.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findSystem } from '../models/index.ts';
import { check, exitCodeOf, replay } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';

const committed = (sys: string, name: string) =>
  readFileSync(new URL(`../counterexamples/${sys}/${name}.json`, import.meta.url), 'utf8');

const SCOPES: Record<string, Record<string, number>> = {
  balloon: { cpus: 2, pages: 2 },
  zsmalloc: { cpus: 2, zspages: 1, objects: 2 },
};

/** Where the chaining comparison runs: small enough to explore without chaining too. */
const SMALL: Record<string, Record<string, number>> = {
  balloon: { cpus: 2, pages: 1 },
  zsmalloc: { cpus: 2, zspages: 1, objects: 2 },
};

for (const [name, scope] of Object.entries(SCOPES)) {
  const sys = findSystem(name)!;

  describe(`${name} variants`, () => {
    for (const v of sys.variants) {
      describe(v.name, () => {
        it(`is found by exploration: ${v.expect.kind} ${v.expect.property}`, () => {
          const { result, trace } = check(name, scope, v.name);
          expect(result.verdict).toBe('violation');
          expect(result.violation!.kind).toBe(v.expect.kind);
          expect(result.violation!.property).toBe(v.expect.property);
          // Lengths count the steps that are not local, as replay classifies them.
          expect(traceLength(trace!.steps)).toBe(traceLength(replay(committed(name, v.name)).trace!.steps));
        }, 60_000);

        it('replays from its committed trace', () => {
          const r = replay(committed(name, v.name));
          expect(r.matches).toBe(true);
          expect(exitCodeOf(r.trace!.violation.kind)).toBe(exitCodeOf(v.expect.kind));
        });

        it('is found with and without local-step chaining, at the same property and length', () => {
          const on = check(name, SMALL[name], v.name, { por: true });
          const off = check(name, SMALL[name], v.name, { por: false });
          expect(on.result.violation?.property).toBe(v.expect.property);
          expect(off.result.violation?.property).toBe(v.expect.property);
          expect(traceLength(off.trace!.steps)).toBe(traceLength(on.trace!.steps));
        }, 120_000);
      });
    }
  });

  describe(`${name}, the fixed system`, () => {
    it(`passes at ${JSON.stringify(scope)}`, () => {
      const { result } = check(name, scope, null);
      expect(result.verdict).toBe('pass');
      expect(result.states).toBeGreaterThan(1000);
    }, 600_000);

    it('passes with and without local-step chaining at a smaller scope', () => {
      const on = check(name, SMALL[name], null, { por: true }).result;
      const off = check(name, SMALL[name], null, { por: false }).result;
      expect(on.verdict).toBe('pass');
      expect(off.verdict).toBe('pass');
      expect(off.states).toBeGreaterThan(on.states);
    }, 60_000);
  });
}

describe('scope flags of the new systems on the command line', () => {
  const BIN = new URL('../bin/pagerace.js', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

  it('takes --zspages and --objects for zsmalloc', () => {
    const r = run('check', 'zsmalloc', '--cpus', '1', '--zspages', '1', '--objects', '1', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).config).toEqual({ cpus: 1, zspages: 1, objects: 1 });
  });

  it.each([
    [['check', 'zsmalloc', '--pages', '2'], /--pages is not a scope parameter of zsmalloc/],
    [['check', 'balloon', '--objects', '2'], /--objects is not a scope parameter of balloon/],
    [['check', 'zsmalloc', '--zspages', '3'], /--zspages must be between 1 and 2/],
  ])('%j is a one-line usage error with exit 2', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
