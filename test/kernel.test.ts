// The kernel core's own rules, step by step on a hand-built world.
import { describe, expect, it } from 'vitest';
import { KernelBug } from '../src/kernel/bug.ts';
import {
  F_REF, F_TYPE, NODE_BUDDY_FREE, setLru, PAGE_MAPPING_MOVABLE, PAGE_STRIDE, PG_isolated, PG_locked, TYPE_BUDDY,
  __PageMovable, alloc_page, get_page_unless_zero, mappingWord, page_count, page_mapping, put_page, setFlag,
  trylock_page, unlock_page,
} from '../src/kernel/page.ts';
import { PageMovable, __ClearPageMovable, __SetPageMovable } from '../src/kernel/movable.ts';

function freshWorld(pages = 2): Uint8Array {
  const m = new Uint8Array(pages * PAGE_STRIDE);
  for (let pfn = 0; pfn < pages; pfn++) {
    m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_BUDDY;
    setLru(m, pfn, NODE_BUDDY_FREE, NODE_BUDDY_FREE);
  }
  return m;
}

describe('struct page core (v4.8)', () => {
  it('__ClearPageMovable keeps PAGE_MAPPING_MOVABLE and drops the address space', () => {
    const m = freshWorld();
    alloc_page(m, 0);
    expect(trylock_page(m, 0, 0)).toBe(true);
    __SetPageMovable(m, 0, 1);
    expect(PageMovable(m, 0)).toBe(true);
    __ClearPageMovable(m, 0);
    expect(mappingWord(m, 0)).toBe(PAGE_MAPPING_MOVABLE);
    expect(__PageMovable(m, 0)).toBe(true);
    expect(PageMovable(m, 0)).toBe(false);
    expect(page_mapping(m, 0)).toBe(0);
  });

  it('__SetPageMovable without the page lock is a VM_BUG_ON_PAGE', () => {
    const m = freshWorld();
    alloc_page(m, 0);
    expect(() => __SetPageMovable(m, 0, 1)).toThrow(/VM_BUG_ON_PAGE\(!PageLocked\(page\)\)/);
  });

  it('get_page_unless_zero fails on a free page and put_page frees at zero', () => {
    const m = freshWorld();
    expect(get_page_unless_zero(m, 0)).toBe(false);
    alloc_page(m, 0);
    expect(get_page_unless_zero(m, 0)).toBe(true);
    expect(page_count(m, 0)).toBe(2);
    expect(put_page(m, 0)).toBe(false);
    expect(put_page(m, 0)).toBe(true);
    expect(m[F_TYPE]).toBe(TYPE_BUDDY);
    expect(() => put_page(m, 0)).toThrow(KernelBug);
  });

  it('freeing a locked page is a bad page; freeing an isolated one is silent, as in v4.8', () => {
    const m = freshWorld();
    alloc_page(m, 0);
    trylock_page(m, 0, 0);
    expect(() => put_page(m, 0)).toThrow(/PAGE_FLAGS_CHECK_AT_FREE/);
    alloc_page(m, 1);
    setFlag(m, 1, PG_isolated);
    expect(put_page(m, 1)).toBe(true);
    expect(m[PAGE_STRIDE]).toBe(0);
  });

  it('unlock_page of an unlocked page is a VM_BUG_ON_PAGE; trylock fails on a locked page', () => {
    const m = freshWorld();
    alloc_page(m, 0);
    expect(() => unlock_page(m, 0)).toThrow(/!PageLocked/);
    expect(trylock_page(m, 0, 1)).toBe(true);
    expect(m[0] & PG_locked).toBe(PG_locked);
    expect(trylock_page(m, 0, 2)).toBe(false);
    expect(m[F_REF]).toBe(1);
  });
});
