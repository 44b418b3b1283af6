/**
 * Moving a swap cache page to a new page (mm/migrate.c, v3.3): the swapper_space case
 * of migrate_page_move_mapping() and migrate_page_copy(), as the migrate-on-fault path
 * of seed 001's series calls them with the page locked, isolated, and referenced by
 * the faulting task.
 */
import { KernelBug } from '../bug.ts';
import type { MappedLayout } from './layout.ts';
import {
  F_DATA, F_INDEX, F_MAPPING, F_PRIVATE, PG_dirty, PG_swapbacked, PG_swapcache, PG_uptodate,
  PageLocked, PageSwapCache, clearFlag, flagsOf, get_page, page_freeze_refs, page_unfreeze_refs, pageAt, setFlags,
} from './page.ts';
import { slotOf } from './swap.ts';

/**
 * migrate_page_move_mapping(swapper_space, newpage, page) (v3.3), under tree_lock:
 * the radix slot must still hold the page and page_freeze_refs() must find exactly
 * the expected references (2 + page_has_private() in v3.3: the cache's and the
 * isolation's; `extra` more for the caller's own, as migrate-on-fault holds one);
 * then newpage takes the cache's reference, PG_swapcache and page_private, the slot
 * points at it, and the page keeps one reference fewer. Returns 0 or -EAGAIN.
 */
export function migrate_page_move_mapping(m: Uint8Array, lay: MappedLayout, newpage: number, page: number, extra: number): number {
  const slot = slotOf(m[pageAt(page, F_PRIVATE)]);
  if (!PageSwapCache(m, page) || m[lay.swapCache(slot)] !== page) return -11;
  const expected = 2 + extra;
  if (!page_freeze_refs(m, page, expected)) return -11;
  get_page(m, newpage, 'migrate_page_move_mapping');
  setFlags(m, newpage, flagsOf(m, newpage) | PG_swapcache);
  m[pageAt(newpage, F_PRIVATE)] = m[pageAt(page, F_PRIVATE)];
  m[lay.swapCache(slot)] = newpage;
  page_unfreeze_refs(m, page, expected - 1);
  return 0;
}

/**
 * migrate_page_copy(newpage, page) and move_to_new_page()'s success path (v3.3): the
 * data and the page state flags move to newpage, which takes page->mapping and
 * page->index; the old page leaves the swap cache and its mapping is cleared.
 */
export function migrate_page_copy(m: Uint8Array, newpage: number, page: number): void {
  if (!PageLocked(m, page) || !PageLocked(m, newpage)) throw new KernelBug('BUG_ON(!PageLocked(newpage))', 'move_to_new_page', newpage);
  m[pageAt(newpage, F_DATA)] = m[pageAt(page, F_DATA)];
  setFlags(m, newpage, flagsOf(m, newpage) | (flagsOf(m, page) & (PG_uptodate | PG_dirty | PG_swapbacked)));
  m[pageAt(newpage, F_MAPPING)] = m[pageAt(page, F_MAPPING)];
  m[pageAt(newpage, F_INDEX)] = m[pageAt(page, F_INDEX)];
  clearFlag(m, page, PG_swapcache);
  clearFlag(m, page, PG_dirty);
  m[pageAt(page, F_PRIVATE)] = 0;
  m[pageAt(page, F_MAPPING)] = 0;
}
