// pagerace/vitest: the matchers a driver author's tests use, as the README shows them.
import { describe, expect, it } from 'vitest';
import '../src/vitest.ts';
import { check, loadDriver } from '../src/index.ts';

describe('pagerace/vitest', () => {
  it('toPass: a check where every property holds', async () => {
    const result = check('nonlru', { cpus: 2, pages: 1 }, null, { driver: await loadDriver('./examples/fixed-driver.ts', new URL('..', import.meta.url).pathname) });
    expect(result).toPass();
    expect(() => expect(result).toFailWith('pages-accounted')).toThrow(/expected a violation of pages-accounted, but the search found a pass \(\d+ states\)/);
  });

  it('toFailWith: the property, its kind, and a trace within N steps', async () => {
    const result = check('nonlru', { cpus: 2, pages: 2 }, null, { driver: await loadDriver('./examples/buggy-driver.ts', new URL('..', import.meta.url).pathname) });
    expect(result).toFailWith('pages-accounted', { within: 33, kind: 'termination' });
    expect(result).not.toPass();
    expect(() => expect(result).toPass()).toThrow(/to pass, but the search found termination pages-accounted: the driver still counts 1 isolated page\(s\) \(33 steps/);
    expect(() => expect(result).toFailWith('pages-accounted', { within: 32 })).toThrow(/within 32 steps/);
    expect(() => expect(result).toFailWith('no-double-isolation')).toThrow(/expected a violation of no-double-isolation/);
  });

  it('an incomplete search neither passes nor fails', () => {
    const result = check('nonlru', { cpus: 2, pages: 2 }, null, { maxStates: 100 });
    expect(() => expect(result).toPass()).toThrow(/an incomplete search \(stopped by --max-states 100/);
    expect(result).not.toFailWith('pages-accounted');
  });

  it('refuses what is not a check result', () => {
    expect(() => expect({}).toPass()).toThrow(/the result of pagerace check\(\)/);
  });
});
