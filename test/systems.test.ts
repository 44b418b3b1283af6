// The balloon and zsmalloc systems: every known bug is found with and without
// local-step chaining at the same length, and the fixed systems pass both ways. (That
// each variant is found at its committed scope and length and replays is
// test/variants.test.ts, for every system; the default counts are test/counts.test.ts.)
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findSystem } from '../models/index.ts';
import { check } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';

/** Where the chaining comparison runs: small enough to explore without chaining too. */
const SMALL: Record<string, Record<string, number>> = {
  balloon: { cpus: 2, pages: 1 },
  zsmalloc: { cpus: 2, zspages: 1, objects: 2 },
};

for (const name of Object.keys(SMALL)) {
  const sys = findSystem(name)!;

  describe(`${name} variants`, () => {
    for (const v of sys.variants) {
      describe(v.name, () => {
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
