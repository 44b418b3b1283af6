// The unmovable system (seed 004, AS_UNMOVABLE, v6.8): every known bug is found by
// exploration at exactly the committed minimal length, every committed trace replays
// to the same violation, and the unmodified v6.8 code passes, with the default
// scope's state and transition counts pinned.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('unmovable on the command line', () => {
  const BIN = new URL('../bin/pagerace.js', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

  it('takes --gmem and --files', () => {
    const r = run('check', 'unmovable', '--cpus', '1', '--gmem', '1', '--files', '0', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.config).toEqual({ cpus: 1, gmem: 1, files: 0 });
    expect(out.verdict).toBe('pass');
  });

  it.each([
    [['check', 'unmovable', '--gmem', '3'], /--gmem must be between 0 and 2/],
    [['check', 'unmovable', '--pages', '1'], /--pages is not a scope parameter of unmovable/],
    [['check', 'unmovable', '--variant', 'no-such-bug'], /unknown variant 'no-such-bug' of unmovable/],
  ])('%j is a one-line usage error with exit 2', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('exits 12 on a variant that breaks an invariant and 10 on one that fires a kernel WARN', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-unmovable-'));
    try {
      expect(run('check', 'unmovable', '--cpus', '1', '--variant', 'unlocked-mapping-test', '--out', dir).status).toBe(12);
      expect(run('check', 'unmovable', '--cpus', '1', '--variant', 'set-unmovable-without-unevictable', '--out', dir).status).toBe(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
