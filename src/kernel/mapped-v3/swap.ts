/**
 * The swap device and the swap cache (mm/swapfile.c, mm/swap_state.c, v3.3).
 *
 * One swap slot per virtual page of the range. swap_map[slot] counts the swap PTEs
 * that name the slot, plus SWAP_HAS_CACHE while a page is (or is being put) in the
 * swap cache for it; every access is under swap_lock, one step each. The swap cache
 * is swapper_space's radix tree: slot -> page, written under its tree_lock (one step
 * each) and read locklessly by find_get_page() (a step of its own). A page in the
 * swap cache has PG_swapcache, page_private = its swap entry, and one reference for
 * the cache. Swap entries are slot + 1 in page_private (0 is no entry).
 */
import { KernelBug } from '../bug.ts';
import { NO_PAGE, SWAP_HAS_CACHE, type MappedLayout } from './layout.ts';
import { put_page } from './lru.ts';
import {
  F_PRIVATE, PG_dirty, PG_swapbacked, PG_swapcache, PageLocked, PageSwapCache, PageWriteback, clearFlag, get_page,
  page_mapcount, pageAt, setFlag,
} from './page.ts';

export const entryOf = (slot: number): number => slot + 1;
export const slotOf = (entry: number): number => entry - 1;
const count = (m: Uint8Array, lay: MappedLayout, s: number): number => m[lay.swapMap(s)] & ~SWAP_HAS_CACHE;

/** get_swap_page() (mm/swapfile.c, v3.3): under swap_lock, a free slot with SWAP_HAS_CACHE; -1 when full. */
export function get_swap_page(m: Uint8Array, lay: MappedLayout): number {
  for (let s = 0; s < lay.vpages; s++) {
    if (m[lay.swapMap(s)] === 0) {
      m[lay.swapMap(s)] = SWAP_HAS_CACHE;
      return s;
    }
  }
  return -1;
}

/**
 * __add_to_swap_cache() (mm/swap_state.c, v3.3), under swapper_space.tree_lock:
 * page_cache_get(page); SetPageSwapCache(page); set_page_private(page, entry.val);
 * radix_tree_insert(), which fails with -EEXIST when the slot has a page.
 */
export function add_to_swap_cache(m: Uint8Array, lay: MappedLayout, p: number, slot: number): number {
  if (!PageLocked(m, p)) throw new KernelBug('VM_BUG_ON(!PageLocked(page))', '__add_to_swap_cache', p);
  if (PageSwapCache(m, p)) throw new KernelBug('VM_BUG_ON(PageSwapCache(page))', '__add_to_swap_cache', p);
  if (m[lay.swapCache(slot)] !== NO_PAGE) return -17;
  get_page(m, p, '__add_to_swap_cache');
  setFlag(m, p, PG_swapcache);
  setFlag(m, p, PG_swapbacked);
  m[pageAt(p, F_PRIVATE)] = entryOf(slot);
  m[lay.swapCache(slot)] = p;
  return 0;
}

/**
 * swapcache_free() / swap_entry_free() (mm/swapfile.c, v3.3) under swap_lock: drop
 * SWAP_HAS_CACHE; the slot is free when nothing else names it.
 */
export function swapcache_free(m: Uint8Array, lay: MappedLayout, slot: number): void {
  if (!(m[lay.swapMap(slot)] & SWAP_HAS_CACHE)) throw new KernelBug('VM_BUG_ON(!(count & SWAP_HAS_CACHE))', 'swap_entry_free', -1);
  m[lay.swapMap(slot)] &= ~SWAP_HAS_CACHE;
}

/**
 * __delete_from_swap_cache() (mm/swap_state.c, v3.3), under tree_lock:
 * radix_tree_delete(); set_page_private(page, 0); ClearPageSwapCache(page). Returns
 * the slot; the caller drops SWAP_HAS_CACHE and the cache's reference.
 */
export function __delete_from_swap_cache(m: Uint8Array, lay: MappedLayout, p: number): number {
  if (!PageLocked(m, p)) throw new KernelBug('VM_BUG_ON(!PageLocked(page))', '__delete_from_swap_cache', p);
  if (!PageSwapCache(m, p)) throw new KernelBug('VM_BUG_ON(!PageSwapCache(page))', '__delete_from_swap_cache', p);
  if (PageWriteback(m, p)) throw new KernelBug('VM_BUG_ON(PageWriteback(page))', '__delete_from_swap_cache', p);
  const slot = slotOf(m[pageAt(p, F_PRIVATE)]);
  m[lay.swapCache(slot)] = NO_PAGE;
  m[pageAt(p, F_PRIVATE)] = 0;
  clearFlag(m, p, PG_swapcache);
  return slot;
}

/** delete_from_swap_cache() (mm/swap_state.c, v3.3): tree_lock, swap_lock, then the cache's reference. */
export function delete_from_swap_cache(m: Uint8Array, lay: MappedLayout, p: number): void {
  const slot = __delete_from_swap_cache(m, lay, p);
  swapcache_free(m, lay, slot);
  put_page(m, lay, p, 'delete_from_swap_cache');
}

/** swap_duplicate() (mm/swapfile.c, v3.3) under swap_lock: one more swap PTE names the slot. */
export function swap_duplicate(m: Uint8Array, lay: MappedLayout, slot: number): void {
  if (m[lay.swapMap(slot)] === 0) throw new KernelBug('swap_duplicate: Bad swap file entry (unused offset)', 'swap_duplicate', -1);
  m[lay.swapMap(slot)]++;
}

/** swap_free() (mm/swapfile.c, v3.3) under swap_lock: a swap PTE that named the slot is gone. */
export function swap_free(m: Uint8Array, lay: MappedLayout, slot: number): void {
  if (count(m, lay, slot) === 0) throw new KernelBug('swap_free: Unused swap offset entry', 'swap_info_get', -1);
  m[lay.swapMap(slot)]--;
}

/**
 * swapcache_prepare() (mm/swapfile.c __swap_duplicate(entry, SWAP_HAS_CACHE), v3.3):
 * claim the right to add a page to the swap cache for the slot; -EEXIST when someone
 * has it, -ENOENT when the slot is free.
 */
export function swapcache_prepare(m: Uint8Array, lay: MappedLayout, slot: number): number {
  const v = m[lay.swapMap(slot)];
  if (v === 0) return -2;
  if (v & SWAP_HAS_CACHE) return -17;
  m[lay.swapMap(slot)] = v | SWAP_HAS_CACHE;
  return 0;
}

/** page_swapcount() (mm/swapfile.c, v3.3): the swap PTEs naming the page's slot. */
export const page_swapcount = (m: Uint8Array, lay: MappedLayout, p: number): number =>
  count(m, lay, slotOf(m[pageAt(p, F_PRIVATE)]));

/**
 * reuse_swap_page() (mm/swapfile.c, v3.3), page locked: when this is the only user
 * of the page and its slot, take the page out of the swap cache (the slot is no
 * longer needed: the page will be written) and mark it dirty; true when the caller
 * may map the page writable.
 */
export function reuse_swap_page(m: Uint8Array, lay: MappedLayout, p: number): boolean {
  if (!PageLocked(m, p)) throw new KernelBug('VM_BUG_ON(!PageLocked(page))', 'reuse_swap_page', p);
  let c = page_mapcount(m, p);
  if (c <= 1 && PageSwapCache(m, p)) {
    c += page_swapcount(m, lay, p);
    if (c === 1 && !PageWriteback(m, p)) {
      delete_from_swap_cache(m, lay, p);
      setFlag(m, p, PG_dirty);
    }
  }
  return c <= 1;
}
