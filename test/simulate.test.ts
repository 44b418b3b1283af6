// pagerace simulate: random schedules past the exhaustive scopes, a failure shrunk
// to a short trace that replays, the same seed giving the same trace; a pass is
// never exhaustive.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nonlru } from '../models/nonlru/index.ts';
import { compile } from '../src/explore/compile.ts';
import { runSchedule } from '../src/explore/simulate.ts';
import { replay } from '../src/index.ts';
import { simulateSystem } from '../src/simulate.ts';
import { toItf, traceLength } from '../src/trace/trace.ts';
import { SYSTEMS } from '../models/index.ts';
import { committedVariant } from '../src/cli/check.ts';

const nonlruSystem = SYSTEMS.find((s) => s.name === 'nonlru')!;

const ROOT = new URL('..', import.meta.url).pathname;
const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/pagerace.js'), ...args], { encoding: 'utf8', cwd: ROOT });

describe('pagerace simulate', () => {
  it('finds a variant past the exhaustive maxima, shrinks it to the minimal length, and the seed gives the same trace', () => {
    const out = mkdtempSync(join(tmpdir(), 'pagerace-sim-'));
    const args = ['simulate', 'nonlru', '--cpus', '5', '--pages', '6', '--variant', 'no-isolated-check', '--runs', '500', '--seed', '3', '--out', out, '--json'];
    const first = run(args);
    expect(first.status).toBe(12);
    const j = JSON.parse(first.stdout);
    expect(j).toMatchObject({ verdict: 'violation', exhaustive: false, seed: 3, violation: { property: 'no-double-isolation' } });
    // The committed minimal trace at 2x2 has 12 steps; more CPUs and pages need none more.
    const committed = traceLength(replay(readFileSync(join(ROOT, 'counterexamples/nonlru/no-isolated-check.json'), 'utf8')).trace!.steps);
    expect(j.violation.steps).toBeLessThanOrEqual(2 * committed);
    expect(j.violation.shrinking.shrunk).toBeLessThanOrEqual(j.violation.shrinking.found);
    const file = join(out, 'no-isolated-check.seed-3.json');
    const bytes = readFileSync(file, 'utf8');
    const again = run(args);
    expect(again.status).toBe(12);
    expect(readFileSync(file, 'utf8')).toBe(bytes);
    const r = run(['replay', file, '--json']);
    expect(r.status).toBe(12);
    expect(JSON.parse(r.stdout).matches).toBe(true);
  }, 120_000);

  it('a pass says how many schedules it covered, not exhaustive', () => {
    const r = run(['simulate', 'nonlru', '--cpus', '2', '--pages', '2', '--runs', '20', '--seed', '1', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'pass', exhaustive: false, runs: 20 });
    const t = run(['simulate', 'nonlru', '--cpus', '2', '--pages', '2', '--runs', '20']);
    expect(t.stdout).toMatch(/^pass over 20 schedules, .* \(not exhaustive: random schedules only\)$/m);
  }, 60_000);

  it('refuses a scope whose pages do not fit the one-byte list pointers, with one line, exit 2', () => {
    // 16 + 6 + 8 * 16 = 150 pages: page node ids past 0x7f would read as compound tails.
    const r = run(['simulate', 'nonlru', '--cpus', '8', '--pages', '16', '--runs', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/150 pages .* at most 127 fit/);
    // The largest scope with 8 CPUs that fits: the fixed model passes there.
    expect(simulateSystem('nonlru', { cpus: 8, pages: 13 }, null, { runs: 40, seed: 1 }).result.verdict).toBe('pass');
  }, 60_000);

  it('refuses a scope past the simulate maxima with one line, exit 2', () => {
    const r = run(['simulate', 'nonlru', '--cpus', '17', '--runs', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--cpus must be between 1 and 16/);
  });

  it('a schedule is a function of its choices; past the list the first option is taken', () => {
    const c = compile(nonlru.build({ cpus: 2, pages: 1 }, null));
    const a = runSchedule(c, [3, 1, 4, 1, 5]);
    expect(runSchedule(c, [3, 1, 4, 1, 5])).toEqual(a);
    expect(runSchedule(c, [3, 1, 4, 1, 5, 0, 0, 0])).toEqual(a);
    expect(a.end).toBe('done');
    // A run that passes, found by simulate too.
    expect(simulateSystem('nonlru', { cpus: 2, pages: 1 }, null, { runs: 30, seed: 5 }).result.verdict).toBe('pass');
  });
});

describe('simulate at 8 CPUs and 13 pages', () => {
  // The variants whose shortest trace at this scope can be within twice the committed
  // one (found at 2x2): the others need the driver to allocate all 13 pages first
  // (4 steps each) before it releases one, a CPU to scan 13 pfns before the scan mix,
  // or every CPU to finish (an end-state property), so no trace at 8x13 is that short
  // (README, "Past the small scopes"). One found by each stage: fast-check's
  // shrinking and dropping steps, and the lift from a smaller scope.
  for (const v of ['no-isolated-check', 'lock-before-refcount', 'putback-without-lock']) {
    it(`${v}: found within 60 s and shrunk to at most twice the committed length`, () => {
      const o = simulateSystem('nonlru', { cpus: 8, pages: 13 }, v, { runs: 2 ** 31 - 1, seed: 1, maxSeconds: 60 });
      expect(o.result.verdict).toBe('violation');
      const c = committedVariant(nonlruSystem, v)!;
      const committed = traceLength(replay(readFileSync(c.path, 'utf8')).trace.steps);
      expect(traceLength(o.trace!.steps)).toBeLessThanOrEqual(2 * committed);
      const r = replay(toItf(o.compiled, o.trace!));
      expect(r.matches).toBe(true);
      if (v === 'putback-without-lock') expect(o.liftedFrom).toBeDefined();
    }, 120_000);
  }
});

describe('simulate on every system', () => {
  // Each committed variant at its committed scope (read as check --all reads it), 300
  // seeded schedules: every violation found shrinks to a trace that replays, and each
  // system has variants found with the very property they break.
  for (const sys of SYSTEMS) {
    it(`${sys.name}: the fixed model passes 50 schedules; violations replay`, () => {
      expect(simulateSystem(sys.name, {}, null, { runs: 50, seed: 1 }).result.verdict).toBe('pass');
      let expected = 0;
      for (const v of sys.variants) {
        const c = committedVariant(sys, v.name);
        if (!c) continue;
        const o = simulateSystem(sys.name, c.scope, v.name, { runs: 300, seed: 1 });
        if (!o.trace) continue;
        const r = replay(toItf(o.compiled, o.trace));
        expect(r.matches, `${v.name}`).toBe(true);
        expect(r.trace.preemptions).toBe(o.trace.preemptions);
        if (o.trace.violation.property === v.expect.property) expected++;
      }
      expect(expected).toBeGreaterThan(0);
    }, 60_000);
  }
});
