/**
 * Reverse mapping of anonymous pages (mm/rmap.c, v3.3, with seed 001's TTU modes).
 *
 * The modelled VMA is one anonymous VMA of one mm whose threads share its page table,
 * so an anon page has one possible PTE: the one at page->index. A PTE is changed only
 * under the page table lock (ptl), and each ptl section here is one step: the only
 * unlocked access to a PTE is the hardware's walk, which reads it (modelled in the
 * toucher's access step, after ptep_clear_flush()'s TLB shootdown has finished).
 */
import { BUG_ON, KernelBug } from '../bug.ts';
import { PTE_MIGRATION, PTE_SWAP, pteMaps, type MappedLayout } from './layout.ts';
import { put_page } from './lru.ts';
import { F_INDEX, F_MAPCOUNT, MAPCOUNT_NONE, PageAnon, PageKsm, PageLocked, PageSwapCache, PG_dirty, page_mapped, page_private, pageAt, setFlag } from './page.ts';
import { slotOf, swap_duplicate } from './swap.ts';

/** enum ttu_flags as seed 001 redefines it (include/linux/rmap.h). */
export const TTU_UNMAP = 0;
export const TTU_MIGRATE_DIRECT = 1;
export const TTU_MIGRATE_DEFERRED = 2;
export const TTU_MUNLOCK = 4;

export const SWAP_SUCCESS = 0;
export const SWAP_AGAIN = 1;
export const SWAP_FAIL = 2;

/** page_remove_rmap() (mm/rmap.c, v3.3): atomic_add_negative(-1, &page->_mapcount). */
export function page_remove_rmap(m: Uint8Array, p: number): void {
  if (m[pageAt(p, F_MAPCOUNT)] === MAPCOUNT_NONE) throw new KernelBug('BUG: Bad page map (mapcount underflow)', 'page_remove_rmap', p);
  m[pageAt(p, F_MAPCOUNT)]--;
}

/** page_add_anon_rmap() (mm/rmap.c, v3.3), page locked: atomic_inc_and_test(&page->_mapcount). */
export function page_add_anon_rmap(m: Uint8Array, p: number): void {
  if (!PageLocked(m, p)) throw new KernelBug('VM_BUG_ON(!PageLocked(page))', '__page_check_anon_rmap', p);
  m[pageAt(p, F_MAPCOUNT)]++;
}

/**
 * try_to_unmap_one() for the page's one PTE (mm/rmap.c, v3.3 with seed 001's hunk),
 * one step under the ptl: the PTE is cleared and flushed, the dirty bit moves to the
 * page, and the PTE becomes a swap entry (a swap cache page: swap_duplicate()) or a
 * migration entry (an anon page not in the swap cache, TTU_MIGRATE_DIRECT only:
 * `BUG_ON(TTU_ACTION(flags) != TTU_MIGRATE_DIRECT)`); then page_remove_rmap() and the
 * PTE's reference goes.
 */
export function try_to_unmap_one(m: Uint8Array, lay: MappedLayout, p: number, mode: number): number {
  const v = m[pageAt(p, F_INDEX)];
  // page_check_address(): the PTE maps this page?
  if (!pteMaps(m[lay.pte(v)], p)) return SWAP_AGAIN;
  // pteval = ptep_clear_flush(); if (pte_dirty(pteval)) set_page_dirty(page): every modelled PTE is written through.
  setFlag(m, p, PG_dirty);
  if (PageAnon(m, p)) {
    if (PageSwapCache(m, p)) {
      const slot = slotOf(page_private(m, p));
      swap_duplicate(m, lay, slot);
      m[lay.pte(v)] = PTE_SWAP | slot;
    } else {
      BUG_ON(mode !== TTU_MIGRATE_DIRECT, 'TTU_ACTION(flags) != TTU_MIGRATE_DIRECT', 'try_to_unmap_one', p);
      m[lay.pte(v)] = PTE_MIGRATION | p;
    }
  } else {
    throw new KernelBug('file pages are not modelled', 'try_to_unmap_one', p);
  }
  page_remove_rmap(m, p);
  put_page(m, lay, p, 'try_to_unmap_one');
  return SWAP_AGAIN;
}

/**
 * try_to_unmap() (mm/rmap.c, v3.3): BUG_ON(!PageLocked(page)); try_to_unmap_anon()
 * over the page's anon_vma; SWAP_SUCCESS when the page is no longer mapped. The
 * anon_vma lock is left out: every modelled caller holds the page lock, which already
 * serialises them (faults do not take the anon_vma lock).
 */
export function try_to_unmap(m: Uint8Array, lay: MappedLayout, p: number, mode: number): number {
  BUG_ON(!PageLocked(m, p), '!PageLocked(page)', 'try_to_unmap', p);
  if (PageKsm(m, p)) throw new KernelBug('KSM pages are not modelled', 'try_to_unmap', p);
  const ret = try_to_unmap_one(m, lay, p, mode);
  return !page_mapped(m, p) ? SWAP_SUCCESS : ret;
}
