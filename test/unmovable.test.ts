// The unmovable system (seed 004, AS_UNMOVABLE, v6.8): every known bug is found at
// exactly the committed minimal length with symmetry and chaining on or off (found at
// its committed scope and replayed: test/variants.test.ts), and the unmodified v6.8
// code passes, with the default scope's state and transition counts pinned.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildUnmovable, unmovable } from '../models/unmovable/index.ts';
import { SEED_WITHOUT } from '../models/unmovable/variants.ts';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { FILE_INODE, GMEM_INODE, unmovableLayout } from '../models/unmovable/layout.ts';
import { AS_UNMOVABLE, F_MAPPING, F_REF, I_FLAGS, I_SLOTS, I_STATE, INODE_FREED, INODE_LIVE } from '../src/kernel/folio-v6/folio.ts';
import { headOf, list_add, list_del } from '../src/kernel/list.ts';
import type { EndProperty, StateInvariant } from '../src/system.ts';
import { check, replay } from '../src/index.ts';
import { traceLength } from '../src/trace/trace.ts';

const committed = (name: string) => readFileSync(new URL(`../counterexamples/unmovable/${name}.json`, import.meta.url), 'utf8');
const committedLength = (name: string) => traceLength(replay(committed(name)).trace!.steps);
const DEFAULT = { cpus: 2, gmem: 1, files: 1 };
/** Variants whose race needs a second compaction CPU (test_and_set_skip() finds the other's mark). */
const NEEDS_TWO_CPUS = ['abort-without-set-lru'];

describe('unmovable variants', () => {
  it('has the variants of the seed and its review, and the seeded mutations', () => {
    expect(unmovable.variants.map((v) => v.name)).toEqual([
      'unlocked-mapping-test', 'stale-mapping-under-lock', 'test-after-unlock', 'set-unmovable-without-unevictable', 'no-unmovable-tests',
      'set-unmovable-after-first-folio', 'abort-without-set-lru', 'isolate-without-clear-lru', 'putback-without-folio-put',
    ]);
  });

  for (const v of unmovable.variants) {
    describe(v.name, () => {
      it('is found with the same property and shortest length with symmetry on or off', () => {
        const length = committedLength(v.name);
        for (const symmetry of [true, false]) {
          const { result, trace } = check('unmovable', DEFAULT, v.name, { symmetry });
          expect({ symmetry, property: result.violation?.property, steps: trace && traceLength(trace.steps) })
            .toEqual({ symmetry, property: v.expect.property, steps: length });
        }
      }, 60_000);

      it('is found with and without local-step chaining, at the same property and length, with one CPU', () => {
        if (NEEDS_TWO_CPUS.includes(v.name)) {
          // The abort needs another scanner to have marked the pageblock: one CPU passes.
          expect(check('unmovable', { ...DEFAULT, cpus: 1 }, v.name).result.verdict).toBe('pass');
          return;
        }
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
    expect({ states: result.states, transitions: result.transitions }).toEqual({ states: 333309, transitions: 1108342 });
  }, 120_000);

  it.each([[{ cpus: 2, gmem: 1, files: 0 }], [{ cpus: 2, gmem: 0, files: 1 }]])('passes at %j with symmetry on and off, symmetry storing fewer states', (scope) => {
    const on = check('unmovable', scope, null, { symmetry: true }).result;
    const off = check('unmovable', scope, null, { symmetry: false }).result;
    expect(on.verdict).toBe('pass');
    expect(off.verdict).toBe('pass');
    expect(on.states).toBeLessThan(off.states);
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

describe('each of the seed\'s two hunks alone keeps the owner\'s folios in place', () => {
  const lay = unmovableLayout(DEFAULT.cpus, DEFAULT.gmem, DEFAULT.files);
  /** Walk the patched model; count the states where the owner's folio is isolated while still in its mapping. */
  const run = (patch: Parameters<typeof buildUnmovable>[1]) => {
    let isolated = 0;
    const r = walk(compile(buildUnmovable(DEFAULT, patch)), {
      por: true,
      symmetry: true,
      visit: (m) => {
        const head = headOf(m, lay.S, lay.lruNode(0));
        const inMapping = m[lay.folio(0) + F_MAPPING] === GMEM_INODE + 1;
        if (inMapping && (head === lay.migrateHead(0) || head === lay.migrateHead(1))) isolated++;
      },
    });
    return { ...r, isolated };
  };

  it('without the compaction hunk: isolated, refused by move_to_new_folio(), put back', () => {
    const r = run(SEED_WITHOUT.compactionHunk);
    expect(r.verdict).toBe('pass');
    expect(r.isolated).toBeGreaterThan(0);
    expect(r.states).toBe(240252);
  }, 120_000);

  it('without the move_to_new_folio() hunk: the scanner never isolates them (the same states as v6.8)', () => {
    const r = run(SEED_WITHOUT.migrateHunk);
    expect(r.verdict).toBe('pass');
    expect(r.isolated).toBe(0);
    expect(r.states).toBe(333309);
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

describe('unmovable properties can fail', () => {
  const scope = { cpus: 1, gmem: 1, files: 1 };
  const lay = unmovableLayout(1, 1, 1);
  const fresh = () => {
    const model = unmovable.build(scope, null);
    const prop = (name: string) => model.properties.find((p) => p.name === name)!;
    return { m: Uint8Array.from(model.world), prop };
  };
  const file = lay.gmem; // the file's folio

  it('hold in the initial world', () => {
    const { m, prop } = fresh();
    for (const n of ['no-freed-mapping-read', 'unmovable-never-migrated', 'isolated-holds-reference']) expect((prop(n) as StateInvariant).check(m)).toBeNull();
    expect((prop('folios-accounted') as EndProperty).check(m)).toMatch(/never freed/);
  });

  it('no-freed-mapping-read: a KASAN report', () => {
    const { m, prop } = fresh();
    m[lay.kasan] = FILE_INODE + 1;
    expect((prop('no-freed-mapping-read') as StateInvariant).check(m)).toMatch(/slab-use-after-free: the file's inode/);
  });

  it('unmovable-never-migrated: a target in an unmovable mapping', () => {
    const { m, prop } = fresh();
    m[lay.inode(GMEM_INODE) + I_STATE] = INODE_LIVE;
    m[lay.inode(GMEM_INODE) + I_FLAGS] = AS_UNMOVABLE & 0xff;
    m[lay.inode(GMEM_INODE) + I_FLAGS + 1] = AS_UNMOVABLE >> 8;
    m[lay.inode(GMEM_INODE) + I_SLOTS] = lay.target(0, 0) + 1;
    expect((prop('unmovable-never-migrated') as StateInvariant).check(m)).toMatch(/migrated to f/);
  });

  it('isolated-holds-reference: an isolated folio without a reference, or still PG_lru', () => {
    const { m, prop } = fresh();
    list_del(m, lay.S, lay.lruNode(file));
    list_add(m, lay.S, lay.lruNode(file), lay.migrateHead(0));
    expect((prop('isolated-holds-reference') as StateInvariant).check(m)).toMatch(/with PG_lru set/);
    m[lay.folio(file)] = 0;
    m[lay.folio(file) + 1] = 0;
    m[lay.folio(file) + F_REF] = 0;
    expect((prop('isolated-holds-reference') as StateInvariant).check(m)).toMatch(/with no reference/);
  });

  it('folios-accounted: a leaked reference', () => {
    const { m, prop } = fresh();
    for (const i of [GMEM_INODE, FILE_INODE]) m[lay.inode(i) + I_STATE] = INODE_FREED;
    m[lay.inode(FILE_INODE) + I_SLOTS] = 0;
    list_del(m, lay.S, lay.lruNode(file));
    m[lay.folio(file)] = 0;
    m[lay.folio(file) + 1] = 0;
    m[lay.folio(file) + F_MAPPING] = 0;
    expect((prop('folios-accounted') as EndProperty).check(m)).toMatch(/keeps 1 reference/);
    m[lay.folio(file) + F_REF] = 0;
    expect((prop('folios-accounted') as EndProperty).check(m)).toBeNull();
  });
});
