// Every known bug of every system is found by exploration at the scope and kernel its
// committed trace records, as the same violation at exactly the committed minimal
// length, and every committed counterexample replays to the same violation. (The
// committed scope is read from the trace, as check --all reads it, so a variant
// committed at a scope of its own needs no table here.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { nonlru } from '../models/nonlru/index.ts';
import { committedVariant } from '../src/cli/check.ts';
import { check, exitCodeOf, replay } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';

describe('every variant of every system', () => {
  for (const sys of SYSTEMS) {
    for (const v of sys.variants) {
      // A fix- variant is checked at its finding's scope by check --all (test/cli.test.ts).
      if (v.fix) continue;
      describe(`${sys.name} --variant ${v.name}`, () => {
        const c = committedVariant(sys, v.name);
        it('has a committed trace', () => {
          expect(c, `counterexamples/${sys.name}/${v.name}.json`).not.toBeNull();
          expect({ kind: c!.kind, property: c!.property }).toEqual(v.expect);
        });
        if (!c) return;
        const opts = c.kernel ? { kernel: c.kernel } : {};

        it(`is found by exploration at its committed scope: ${v.expect.kind} ${v.expect.property}, ${c.steps} steps`, () => {
          const { result, trace } = check(sys.name, c.scope, v.name, opts);
          expect({ verdict: result.verdict, kind: result.violation?.kind, property: result.violation?.property, steps: trace && traceLength(trace.steps) })
            .toEqual({ verdict: 'violation', ...v.expect, steps: c.steps });
        }, 120_000);

        it('replays from its committed trace, every state equal', () => {
          const r = replay(readFileSync(c.path, 'utf8'));
          expect(r.matches).toBe(true);
          expect(exitCodeOf(r.trace!.violation.kind)).toBe(exitCodeOf(v.expect.kind));
        });
      });
    }
  }
});

describe('nonlru variants', () => {
  it('has the variants the foundation issue names', () => {
    const names = nonlru.variants.map((v) => v.name);
    for (const n of ['no-isolated-check', 'clear-movable-all-bits', 'lock-before-refcount', 'driver-touches-isolated-lru', 'putback-without-lock']) {
      expect(names).toContain(n);
    }
  });

  for (const v of nonlru.variants) {
    if (v.expect.property === 'livelock') {
      // A lasso is not a shortest trace (its loop is a fair closed walk), and the
      // liveness pass runs without symmetry whatever the flag says: symmetry off gives
      // the same lasso; without chaining (every local step a state of its own) the
      // graph is another one and its lasso too, still a livelock (at its committed
      // scope, where these searches are small).
      it(`${v.name} is found as the same lasso without symmetry, and as a livelock without chaining`, () => {
        const at = committedVariant(nonlru, v.name)!.scope;
        const lasso = (o: ReturnType<typeof check>) => ({ property: o.result.violation?.property, steps: traceLength(o.trace!.steps), loop: o.trace!.loop });
        const base = lasso(check('nonlru', at, v.name));
        expect(base.property).toBe('livelock');
        expect(lasso(check('nonlru', at, v.name, { symmetry: false }))).toEqual(base);
        expect(check('nonlru', at, v.name, { por: false }).result.violation?.property).toBe('livelock');
      }, 120_000);
      continue;
    }
    it(`${v.name} is found with the same property and shortest length with every reduction on or off`, () => {
      const length = committedVariant(nonlru, v.name)!.steps;
      for (const symmetry of [true, false]) {
        for (const por of [true, false]) {
          const { result, trace } = check('nonlru', { cpus: 2, pages: 2 }, v.name, { por, symmetry });
          expect({ symmetry, por, property: result.violation?.property, steps: trace && traceLength(trace.steps) })
            .toEqual({ symmetry, por, property: v.expect.property, steps: length });
        }
      }
    }, 120_000);
  }
});

describe('the fixed system', () => {
  for (const scope of [{ cpus: 1, pages: 1 }, { cpus: 2, pages: 1 }, { cpus: 1, pages: 2 }, { cpus: 2, pages: 2 }]) {
    it(`passes at ${JSON.stringify(scope)}`, () => {
      const { result } = check('nonlru', scope, null);
      expect(result.verdict).toBe('pass');
      expect(result.states).toBeGreaterThan(100);
    }, 600_000);
  }

  it('passes with every reduction on or off, each reduction storing fewer states', () => {
    const states = (por: boolean, symmetry: boolean) => {
      const r = check('nonlru', { cpus: 2, pages: 1 }, null, { por, symmetry }).result;
      expect(r.verdict).toBe('pass');
      return r.states;
    };
    const none = states(false, false);
    expect(states(true, false)).toBeLessThan(none);
    expect(states(false, true)).toBeLessThan(none);
    expect(states(true, true)).toBeLessThan(states(true, false));
  }, 120_000);

  it('stops cleanly at --max-states', () => {
    const { result } = check('nonlru', { cpus: 2, pages: 2 }, null, { maxStates: 1000 });
    expect(result.verdict).toBe('incomplete');
    expect(result.states).toBe(1000);
  });
});
