// zsmalloc's callbacks as step programs (issue 9 item 4): the pinned counts of
// --perpage 2, and the interleavings the steps make reachable: a migration
// that holds the zspage's write lock across steps, and one that pins the first
// object of a page and then fails on the second (--perpage 2).
import { describe, expect, it } from 'vitest';
import { compile } from '../src/explore/compile.ts';
import { walk } from '../src/explore/walker.ts';
import { findSystem } from '../models/index.ts';
import { check } from '../src/index.ts';
import { zsLayout } from '../models/zsmalloc/layout.ts';
import { H_LOC, H_PIN, HANDLE_BYTES, ZS_READERS, ZS_WRITER } from '../src/kernel/zsmalloc.ts';
import type { Scope, StateInvariant } from '../src/system.ts';

const zsmalloc = findSystem('zsmalloc')!;

/** Explore the fixed system with one extra invariant, which the test expects to be broken (or not). */
function reaches(scope: Scope, name: string, holds: (m: Uint8Array) => boolean) {
  const model = zsmalloc.build(scope, null);
  const probe: StateInvariant = {
    name, kind: 'invariant', scope: 'state', rule: `never: ${name}`, source: 'test',
    check: (m) => (holds(m) ? `${name} reached` : null),
  };
  return walk(compile({ ...model, properties: [...model.properties, probe] }));
}

describe('zsmalloc state space', () => {
  // The default scope (468,857 states, 1,332,692 transitions; 116,345 / 347,772 while
  // the a_ops were one step each) is pinned in test/counts.test.ts with every system's.
  it('pins --perpage 2', () => {
    const { result } = check('zsmalloc', { perpage: 2 }, null);
    expect(result.verdict).toBe('pass');
    expect([result.states, result.transitions]).toEqual([346_439, 980_580]);
  }, 120_000);
});

describe('interleavings inside zs_page_migrate()', () => {
  const scope = { cpus: 2, zspages: 1, objects: 2 };

  it('zs_free() waits for the read lock while a migration holds the write lock with a handle pinned', () => {
    const lay = zsLayout(2, 1, 2);
    const zs = lay.pool.zspage0;
    // The migration holds the write lock; zram has pinned a handle and not yet taken the read lock.
    const r = reaches({ ...scope, perpage: 1 }, 'write lock held while zs_free holds a pin', (m) =>
      m[zs + ZS_WRITER] !== 0 && m[zs + ZS_READERS] === 0
      && [0, 1].some((o) => m[lay.pool.handle0 + o * HANDLE_BYTES + H_PIN] !== 0));
    expect(r.verdict).toBe('violation');
  }, 120_000);

  for (const perpage of [1, 2]) {
    it(`${perpage === 2 ? 'reaches' : 'cannot reach'} a migration holding one pin of a page whose other handle zs_free() pinned (--perpage ${perpage})`, () => {
      const lay = zsLayout(2, 1, 2, perpage);
      const h = (o: number) => lay.pool.handle0 + o * HANDLE_BYTES;
      // Both handles pinned, both objects in one page, the page's zspage write-locked: the
      // migration pinned the first and will fail on the second (zs_free can pin only one
      // object at a time), then unpin the first: the mid-way -EAGAIN of unpin_objects.
      const r = reaches({ ...scope, perpage }, 'mid-way trypin failure', (m) =>
        m[lay.pool.zspage0 + ZS_WRITER] !== 0 && m[h(0) + H_PIN] !== 0 && m[h(1) + H_PIN] !== 0
        && m[h(0) + H_LOC] === m[h(1) + H_LOC]);
      expect(r.verdict).toBe(perpage === 2 ? 'violation' : 'pass');
    }, 120_000);
  }
});
