// Every known bug is found by exploration, at exactly the committed minimal length,
// and every committed counterexample replays to the same violation.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nonlru } from '../models/nonlru/index.ts';
import { check, exitCodeOf, replay } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';
import { committedVariant } from '../src/cli/check.ts';

const committed = (name: string) => readFileSync(new URL(`../counterexamples/nonlru/${name}.json`, import.meta.url), 'utf8');
/** The committed trace's length: its steps that are not local, as replay classifies them. */
const committedLength = (name: string) => traceLength(replay(committed(name)).trace!.steps);

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
        const { result, trace } = check('nonlru', committedVariant(nonlru, v.name)!.scope, v.name);
        expect(result.verdict).toBe('violation');
        expect(result.violation!.kind).toBe(v.expect.kind);
        expect(result.violation!.property).toBe(v.expect.property);
        expect(traceLength(trace!.steps)).toBe(committedLength(v.name));
      }, 60_000);

      it('replays from its committed trace', () => {
        const r = replay(committed(v.name));
        expect(r.matches).toBe(true);
        expect(exitCodeOf(r.trace!.violation.kind)).toBe(exitCodeOf(v.expect.kind));
      });

      if (v.expect.property === 'livelock') {
        // A lasso is not a shortest trace (its loop is a fair closed walk), and the
        // liveness pass runs without symmetry whatever the flag says: symmetry off
        // gives the same lasso; without chaining (every local step a state of its own)
        // the graph is another one and its lasso too, still a livelock (at 2x1, its
        // committed scope, where these searches are small).
        it('is found as the same lasso without symmetry, and as a livelock without chaining', () => {
          const at = { cpus: 2, pages: 1 };
          const lasso = (o: ReturnType<typeof check>) => ({ property: o.result.violation?.property, steps: traceLength(o.trace!.steps), loop: o.trace!.loop });
          const base = lasso(check('nonlru', at, v.name));
          expect(base.property).toBe('livelock');
          expect(lasso(check('nonlru', at, v.name, { symmetry: false }))).toEqual(base);
          expect(check('nonlru', at, v.name, { por: false }).result.violation?.property).toBe('livelock');
        }, 120_000);
        return;
      }

      it('is found with the same property and shortest length with every reduction on or off', () => {
        const length = committedLength(v.name);
        for (const symmetry of [true, false]) {
          for (const por of [true, false]) {
            const { result, trace } = check('nonlru', { cpus: 2, pages: 2 }, v.name, { por, symmetry });
            expect({ symmetry, por, property: result.violation?.property, steps: trace && traceLength(trace.steps) })
              .toEqual({ symmetry, por, property: v.expect.property, steps: length });
          }
        }
      }, 120_000);
    });
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
