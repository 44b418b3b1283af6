// --preemptions K: exhaustive over the schedules with at most K preemptions, the
// fewest preemptions first and, among those, the fewest steps; a pass is never an
// exhaustive pass.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { check, replay } from '../src/index.ts';
import { countPreemptions, MAX_PREEMPTIONS, walkBounded } from '../src/explore/bounded.ts';
import { compile } from '../src/explore/compile.ts';
import { nonlru } from '../models/nonlru/index.ts';
import { committedVariant } from '../src/cli/check.ts';
import { traceLength } from '../src/trace/trace.ts';

const ROOT = new URL('..', import.meta.url).pathname;

/** A committed counterexample (its scope as check --all reads it), its length, and the preemptions replay counts along it. */
function committed(sys: (typeof SYSTEMS)[number], variant: string) {
  const c = committedVariant(sys, variant);
  if (!c) return null;
  const r = replay(readFileSync(c.path, 'utf8'));
  return { scope: c.scope, length: traceLength(r.trace.steps), preemptions: r.trace.preemptions };
}

describe('every committed variant is found within the preemptions its trace needs', () => {
  for (const sys of SYSTEMS) {
    // A fix- variant has no trace: the check passes with it. A livelock is found by
    // the liveness pass over the whole graph, which the bounded search does not run.
    for (const v of sys.variants.filter((x) => committedVariant(sys, x.name) && x.expect.property !== 'livelock')) {
      it(`${sys.name} --variant ${v.name}`, () => {
        const c = committed(sys, v.name)!;
        const { result, trace, compiled } = check(sys.name, c.scope, v.name, { preemptions: c.preemptions });
        expect(result.verdict).toBe('violation');
        expect(result.bound).toMatchObject({ preemptions: c.preemptions });
        const found = { preemptions: result.violation!.preemptions, length: traceLength(trace!.steps) };
        // The committed trace is within the bound, so a violation with at most as many
        // preemptions is found; the search takes the fewest preemptions first, which can
        // cost steps (no violation is shorter than the committed minimal trace).
        expect(found.preemptions).toBeLessThanOrEqual(c.preemptions);
        expect(found.length).toBeGreaterThanOrEqual(c.length);
        // At the committed trace's own count, the fewest steps are its length, and the
        // property is the variant's.
        if (found.preemptions === c.preemptions) {
          expect(found.length).toBe(c.length);
          expect(result.violation!.property).toBe(v.expect.property);
        }
        // Fewest first: one preemption less finds nothing (or, with K = 0, this is it).
        if (found.preemptions > 0) expect(check(sys.name, c.scope, v.name, { preemptions: found.preemptions - 1 }).result.verdict).toBe('pass');
        // The count reported is the trace's own.
        const actors = trace!.steps.map((s) => compiled.actors.findIndex((a) => a.name === s.actor));
        expect(countPreemptions(compiled, actors, trace!.states)).toBe(found.preemptions);
      }, 60_000);
    }
  }
});

describe('the bounded search', () => {
  it('with a bound no schedule reaches covers every state: the exhaustive verdict, nothing pruned', () => {
    const whole = check('nonlru', { cpus: 2, pages: 1 }, null).result;
    const bounded = check('nonlru', { cpus: 2, pages: 1 }, null, { preemptions: MAX_PREEMPTIONS }).result;
    expect(bounded.verdict).toBe(whole.verdict);
    expect(bounded.bound!.pruned).toBe(0);
    // Nodes are (state, actor that stepped last): at least the distinct states.
    expect(bounded.states).toBeGreaterThanOrEqual(whole.states);
    // The nodes it drops as covered lose no state: exactly the exhaustive search's states.
    expect(bounded.bound!.levels.at(-1)!.distinct).toBe(whole.states);
  }, 60_000);

  it('its reductions keep every state within each bound, and the violation found', () => {
    // With and without them: the same distinct states after each bound (a state reached
    // within K preemptions is reached within K either way), fewer nodes with them, and
    // for a variant the same violation at the same preemptions and length.
    for (const [scope, variant, K] of [[{ cpus: 2, pages: 1 }, null, 3], [{ cpus: 3, pages: 1 }, null, 2], [{ cpus: 2, pages: 2 }, 'putback-without-lock', 2]] as const) {
      const c = compile(nonlru.build(scope, variant));
      const on = walkBounded(c, K);
      const off = walkBounded(c, K, { reduce: false });
      expect(on.bound.levels.map((l) => l.distinct)).toEqual(off.bound.levels.map((l) => l.distinct));
      expect(on.states).toBeLessThanOrEqual(off.states);
      expect(on.verdict).toBe(off.verdict);
      expect([on.violation?.property, on.violation?.preemptions, on.violation?.steps.length])
        .toEqual([off.violation?.property, off.violation?.preemptions, off.violation?.steps.length]);
    }
  }, 120_000);

  it('reports each bound it completed, cumulative, and the same figures every run', () => {
    const r = check('nonlru', { cpus: 2, pages: 1 }, null, { preemptions: 2 }).result;
    expect(r.verdict).toBe('pass');
    expect(r.bound!.levels.map((l) => l.preemptions)).toEqual([0, 1, 2]);
    const states = r.bound!.levels.map((l) => l.states);
    expect(states[0]).toBeLessThan(states[1]);
    expect(states[1]).toBeLessThan(states[2]);
    expect(states[2]).toBe(r.states);
    expect(r.bound!.pruned).toBeGreaterThan(0);
    const again = check('nonlru', { cpus: 2, pages: 1 }, null, { preemptions: 2 }).result;
    expect([again.states, again.transitions]).toEqual([r.states, r.transitions]);
  });

  it('says in text and JSON that a pass holds up to K preemptions, not exhaustively', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/pagerace.js'), ...args], { encoding: 'utf8', cwd: ROOT });
    const j = run(['check', 'nonlru', '--cpus', '2', '--pages', '1', '--preemptions', '1', '--json']);
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ verdict: 'pass', exhaustive: false, preemptions: 1 });
    const t = run(['check', 'nonlru', '--cpus', '2', '--pages', '1', '--preemptions', '1']);
    expect(t.stdout).toMatch(/^pass up to 1 preemption \(not exhaustive/m);
    const bad = run(['check', 'nonlru', '--preemptions', '1', '--workers', '2']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
