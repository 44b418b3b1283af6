/**
 * The list_head module against include/linux/list.h's semantics and
 * lib/list_debug.c's corruption checks, plus a fast-check model test against an
 * array-backed list.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  INIT_LIST_HEAD, LIST_POISON1, LIST_POISON2, ListSpace, headOf, listEntries, listNextOf, list_add, list_add_tail,
  list_del, list_del_init, list_empty, list_move, list_move_tail, list_splice_init, list_splice_tail_init, poisonEntry,
} from '../src/kernel/list.ts';
import { KernelBug } from '../src/kernel/bug.ts';
import { bitfieldLoad, bitfieldStore, loadWord, nonAtomicSet, storeWord, test_and_clear_bit, test_and_set_bit } from '../src/kernel/bitops.ts';

/** Two heads (ids 1, 2) and four entries (ids 3..6), two bytes each. */
function space(): { S: ListSpace; m: Uint8Array } {
  const S = new ListSpace();
  S.node(1, 0, 'A', true);
  S.node(2, 2, 'B', true);
  for (let i = 0; i < 4; i++) S.node(3 + i, 4 + 2 * i, `e${i}`);
  const m = new Uint8Array(12);
  INIT_LIST_HEAD(m, S, 1);
  INIT_LIST_HEAD(m, S, 2);
  for (let i = 0; i < 4; i++) poisonEntry(m, S, 3 + i);
  return { S, m };
}

const bug = (f: () => void): string => {
  try { f(); } catch (e) { if (e instanceof KernelBug) return e.assertion; throw e; }
  return 'no bug';
};

describe('list_head', () => {
  it('list_add is a stack, list_add_tail a queue, list_del poisons', () => {
    const { S, m } = space();
    list_add(m, S, 3, 1);
    list_add(m, S, 4, 1);
    list_add_tail(m, S, 5, 1);
    expect(listEntries(m, S, 1)).toEqual([4, 3, 5]);
    list_del(m, S, 3);
    expect(listEntries(m, S, 1)).toEqual([4, 5]);
    expect([m[S.at[3]], m[S.at[3] + 1]]).toEqual([LIST_POISON1, LIST_POISON2]);
    expect(headOf(m, S, 5)).toBe(1);
    expect(headOf(m, S, 3)).toBe(0);
    list_move_tail(m, S, 4, 2);
    expect(listEntries(m, S, 2)).toEqual([4]);
    list_del_init(m, S, 4);
    expect(list_empty(m, S, 2)).toBe(true);
    expect(headOf(m, S, 4)).toBe(0);
  });

  it('CONFIG_DEBUG_LIST: deleting twice, adding twice, following poison', () => {
    const { S, m } = space();
    list_add(m, S, 3, 1);
    list_del(m, S, 3);
    expect(bug(() => list_del(m, S, 3))).toBe('list_del corruption, e0->next is LIST_POISON1');
    list_add(m, S, 4, 1);
    expect(bug(() => list_add(m, S, 4, 1))).toMatch(/^list_add double add/);
    // A walker holding a stale cursor at a deleted entry follows LIST_POISON1.
    list_add(m, S, 5, 1);
    list_del(m, S, 5);
    expect(bug(() => listNextOf(m, S, listNextOf(m, S, 5)))).toBe('general protection fault: dereferencing LIST_POISON1');
    // An entry whose neighbours were relinked behind its back.
    list_add(m, S, 6, 2);
    m[S.at[2]] = 2; // B->next = B, but e3 still points at B
    expect(bug(() => list_del(m, S, 6))).toBe('list_del corruption. prev->next should be e3, but was B');
  });

  it('splices keep order', () => {
    const { S, m } = space();
    list_add_tail(m, S, 3, 1);
    list_add_tail(m, S, 4, 1);
    list_add_tail(m, S, 5, 2);
    list_splice_init(m, S, 1, 2);
    expect(listEntries(m, S, 2)).toEqual([3, 4, 5]);
    expect(list_empty(m, S, 1)).toBe(true);
    list_add(m, S, 6, 1);
    list_splice_tail_init(m, S, 2, 1);
    expect(listEntries(m, S, 1)).toEqual([6, 3, 4, 5]);
  });

  it('behaves as an array-backed reference list (fast-check)', () => {
    const op = fc.record({ kind: fc.constantFrom('add', 'tail', 'del', 'move', 'movetail'), e: fc.integer({ min: 3, max: 6 }), h: fc.constantFrom(1, 2) });
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const { S, m } = space();
      const ref = new Map<number, number[]>([[1, []], [2, []]]);
      const where = (e: number) => [...ref].find(([, l]) => l.includes(e))?.[0];
      for (const { kind, e, h } of ops) {
        const on = where(e);
        if (kind === 'add' || kind === 'tail') {
          if (on !== undefined) continue;
          if (kind === 'add') { list_add(m, S, e, h); ref.get(h)!.unshift(e); } else { list_add_tail(m, S, e, h); ref.get(h)!.push(e); }
        } else {
          if (on === undefined) continue;
          const l = ref.get(on)!;
          l.splice(l.indexOf(e), 1);
          if (kind === 'del') list_del(m, S, e);
          else if (kind === 'move') { list_move(m, S, e, h); ref.get(h)!.unshift(e); } else { list_move_tail(m, S, e, h); ref.get(h)!.push(e); }
        }
        for (const [hd, l] of ref) expect(listEntries(m, S, hd)).toEqual(l);
      }
    }), { seed: 9, numRuns: 200 });
  });
});

describe('words', () => {
  it('a non-atomic store of a loaded word loses a concurrent atomic update', () => {
    const m = new Uint8Array(2);
    storeWord(m, 0, 0x0100);
    const loaded = loadWord(m, 0); // CPU A: __SetPageX loads the word
    expect(test_and_set_bit(m, 0, 0x1)).toBe(false); // CPU B: an atomic lock bit
    storeWord(m, 0, nonAtomicSet(loaded, 0x4)); // CPU A stores: B's bit is gone
    expect(loadWord(m, 0)).toBe(0x0104);
    expect(test_and_clear_bit(m, 0, 0x4)).toBe(true);
    expect(bitfieldLoad(bitfieldStore(0xffff, 4, 3, 2), 4, 3)).toBe(2);
    expect(bitfieldStore(0xffff, 4, 3, 2) | (7 << 4)).toBe(0xffff);
  });
});
