// The unmovable system (seed 004, AS_UNMOVABLE, v6.8): every known bug is found by
// exploration at exactly the committed minimal length, every committed trace replays
// to the same violation, and the unmodified v6.8 code passes, with the default
// scope's state and transition counts pinned.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unmovable } from '../models/unmovable/index.ts';
import { check, exitCodeOf, replay } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';

const committed = (name: string) => readFileSync(new URL(`../counterexamples/unmovable/${name}.json`, import.meta.url), 'utf8');
const committedLength = (name: string) => traceLength(replay(committed(name)).trace!.steps);
const DEFAULT = { cpus: 2, gmem: 1, files: 1 };

describe('unmovable variants', () => {
  it('has the variants of the seed and its review', () => {
    expect(unmovable.variants.map((v) => v.name)).toEqual([
      'unlocked-mapping-test', 'stale-mapping-under-lock', 'test-after-unlock', 'set-unmovable-without-unevictable', 'no-unmovable-tests',
    ]);
  });

  for (const v of unmovable.variants) {
    describe(v.name, () => {
      it(`is found by exploration: ${v.expect.kind} ${v.expect.property}`, () => {
        const { result, trace } = check('unmovable', DEFAULT, v.name);
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

      it('is found with and without local-step chaining, at the same property and length, with one CPU', () => {
        const on = check('unmovable', { ...DEFAULT, cpus: 1 }, v.name, { por: true });
        const off = check('unmovable', { ...DEFAULT, cpus: 1 }, v.name, { por: false });
        expect(on.result.violation?.property).toBe(v.expect.property);
        expect(off.result.violation?.property).toBe(v.expect.property);
        expect(traceLength(off.trace!.steps)).toBe(traceLength(on.trace!.steps));
      }, 60_000);
    });
  }
});

describe('unmovable, the unmodified v6.8 code', () => {
  it('passes at the default scope with pinned counts', () => {
    const { result } = check('unmovable', DEFAULT, null);
    expect(result.verdict).toBe('pass');
    expect({ states: result.states, transitions: result.transitions }).toEqual({ states: 776688, transitions: 2581021 });
  }, 120_000);

  it.each([
    [{ cpus: 1, gmem: 1, files: 1 }], [{ cpus: 1, gmem: 2, files: 0 }], [{ cpus: 1, gmem: 0, files: 2 }], [{ cpus: 2, gmem: 1, files: 0 }],
  ])('passes at %j with and without local-step chaining', (scope) => {
    const on = check('unmovable', scope, null, { por: true }).result;
    const off = check('unmovable', scope, null, { por: false }).result;
    expect(on.verdict).toBe('pass');
    expect(off.verdict).toBe('pass');
    expect(off.states).toBeGreaterThan(on.states);
  }, 120_000);
});
