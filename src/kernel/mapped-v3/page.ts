/**
 * struct page as v3.3 has it (include/linux/mm_types.h, include/linux/page-flags.h),
 * for the mapped-page world of the `lazy` system: the fields an anonymous page, the
 * swap cache, the LRU lists and the buddy allocator read and write, laid out in the
 * packed world by a MappedLayout (./layout.ts).
 *
 *   flags      a word (src/kernel/bitops.ts): atomic bitops are one step
 *   _count     page_count(): the reference count
 *   _mapcount  an int8, -1 when unmapped; PAGE_BUDDY_MAPCOUNT_VALUE (-128) marks a
 *              free page (PageBuddy, v3.3 keeps it in _mapcount)
 *   mapping    NULL, or the anon_vma with PAGE_MAPPING_ANON set (PageAnon)
 *   private    the swap entry of a swap cache page (page_private)
 *   index      the virtual page the anon page is mapped at (rmap's vma_address)
 *   lru        struct list_head (src/kernel/list.ts): an LRU list, a private
 *              isolation list, or a node's free list
 *   data       ghost: which version of the virtual page's data the page holds
 *
 * The numbering of the flag bits is the model's own (PG_swapcache is bit 16 in
 * v3.3, past a 16-bit model word); the kernel only ever tests them by name.
 */
import { KernelBug } from '../bug.ts';
import { clear_bit, loadWord, set_bit, storeWord, test_and_set_bit_lock, test_bit } from '../bitops.ts';

export const PG_locked = 1 << 0;
export const PG_uptodate = 1 << 1;
export const PG_dirty = 1 << 2;
export const PG_lru = 1 << 3;
export const PG_writeback = 1 << 5;
export const PG_swapcache = 1 << 6;
export const PG_swapbacked = 1 << 7;

/**
 * PAGE_FLAGS_CHECK_AT_FREE (include/linux/page-flags.h, v3.3), of the flags the model
 * has: PG_lru, PG_locked, PG_writeback, PG_swapcache. free_pages_check() calls
 * bad_page() when one is set.
 */
export const PAGE_FLAGS_CHECK_AT_FREE = PG_lru | PG_locked | PG_writeback | PG_swapcache;
/** PAGE_FLAGS_CHECK_AT_PREP: cleared when a page is freed (free_pages_prepare). */
export const PAGE_FLAGS_CHECK_AT_PREP = 0xff;

export const F_FLAGS = 0;
export const F_COUNT = 2;
export const F_MAPCOUNT = 3;
export const F_MAPPING = 4;
export const F_PRIVATE = 5;
export const F_INDEX = 6;
export const F_LRU = 7;
export const F_DATA = 9;
export const PAGE_STRIDE = 10;

/** PAGE_BUDDY_MAPCOUNT_VALUE (-128) as the int8 byte. */
export const PAGE_BUDDY_MAPCOUNT = 0x80;
/** _mapcount == -1. */
export const MAPCOUNT_NONE = 0xff;
/** PAGE_MAPPING_ANON (include/linux/mm.h). */
export const PAGE_MAPPING_ANON = 1;
/** The one anon_vma of the modelled VMA, as page->mapping stores it. */
export const ANON_MAPPING = 0x10 | PAGE_MAPPING_ANON;
/** Ghost data of a page nobody has written yet (a freshly allocated page). */
export const DATA_GARBAGE = 0xfe;

export const pageAt = (pfn: number, f: number): number => pfn * PAGE_STRIDE + f;
export const flagsOf = (m: Uint8Array, pfn: number): number => loadWord(m, pageAt(pfn, F_FLAGS));
export const testFlag = (m: Uint8Array, pfn: number, bit: number): boolean => test_bit(m, pageAt(pfn, F_FLAGS), bit);
/** SetPageX / ClearPageX: atomic bitops (set_bit/clear_bit). */
export const setFlag = (m: Uint8Array, pfn: number, bit: number): void => set_bit(m, pageAt(pfn, F_FLAGS), bit);
export const clearFlag = (m: Uint8Array, pfn: number, bit: number): void => clear_bit(m, pageAt(pfn, F_FLAGS), bit);
export const setFlags = (m: Uint8Array, pfn: number, v: number): void => storeWord(m, pageAt(pfn, F_FLAGS), v);

export const PageLocked = (m: Uint8Array, p: number): boolean => testFlag(m, p, PG_locked);
export const PageLRU = (m: Uint8Array, p: number): boolean => testFlag(m, p, PG_lru);
export const PageSwapCache = (m: Uint8Array, p: number): boolean => testFlag(m, p, PG_swapcache);
export const PageDirty = (m: Uint8Array, p: number): boolean => testFlag(m, p, PG_dirty);
export const PageWriteback = (m: Uint8Array, p: number): boolean => testFlag(m, p, PG_writeback);
export const PageAnon = (m: Uint8Array, p: number): boolean => (m[pageAt(p, F_MAPPING)] & PAGE_MAPPING_ANON) !== 0;
/** PageKsm(): mapping with PAGE_MAPPING_ANON and PAGE_MAPPING_KSM (2) both set; the model has no KSM pages. */
export const PageKsm = (m: Uint8Array, p: number): boolean => (m[pageAt(p, F_MAPPING)] & 3) === 3;
export const PageBuddy = (m: Uint8Array, p: number): boolean => m[pageAt(p, F_MAPCOUNT)] === PAGE_BUDDY_MAPCOUNT;

export const page_count = (m: Uint8Array, p: number): number => m[pageAt(p, F_COUNT)];
/** page_mapcount(): atomic_read(&page->_mapcount) + 1. */
export const page_mapcount = (m: Uint8Array, p: number): number => (m[pageAt(p, F_MAPCOUNT)] + 1) & 0xff;
export const page_mapped = (m: Uint8Array, p: number): boolean => page_mapcount(m, p) > 0 && !PageBuddy(m, p);
export const page_private = (m: Uint8Array, p: number): number => m[pageAt(p, F_PRIVATE)];

/** get_page(): atomic_inc(&page->_count); VM_BUG_ON(atomic_read(&page->_count) <= 0) (include/linux/mm.h, v3.3). */
export function get_page(m: Uint8Array, p: number, where = 'get_page'): void {
  if (m[pageAt(p, F_COUNT)] === 0) throw new KernelBug('VM_BUG_ON(atomic_read(&page->_count) <= 0)', where, p);
  m[pageAt(p, F_COUNT)]++;
}

/** get_page_unless_zero(): atomic_inc_not_zero(&page->_count). */
export function get_page_unless_zero(m: Uint8Array, p: number): boolean {
  if (m[pageAt(p, F_COUNT)] === 0) return false;
  m[pageAt(p, F_COUNT)]++;
  return true;
}

/**
 * put_page_testzero(): VM_BUG_ON(atomic_read(&page->_count) == 0); atomic_dec_and_test.
 * The caller frees the page when it returns true.
 */
export function put_page_testzero(m: Uint8Array, p: number, where = 'put_page'): boolean {
  if (m[pageAt(p, F_COUNT)] === 0) throw new KernelBug('VM_BUG_ON(atomic_read(&page->_count) == 0)', where, p);
  return --m[pageAt(p, F_COUNT)] === 0;
}

/** trylock_page(): !test_and_set_bit_lock(PG_locked, &page->flags). */
export const trylock_page = (m: Uint8Array, p: number): boolean => !test_and_set_bit_lock(m, pageAt(p, F_FLAGS), PG_locked);

/** unlock_page(): VM_BUG_ON(!PageLocked(page)); clear_bit_unlock(PG_locked); wake_up_page() (mm/filemap.c, v3.3). */
export function unlock_page(m: Uint8Array, p: number, where = 'unlock_page'): void {
  if (!PageLocked(m, p)) throw new KernelBug('VM_BUG_ON(!PageLocked(page))', where, p);
  clearFlag(m, p, PG_locked);
}

/** page_freeze_refs(page, count): atomic_cmpxchg(&page->_count, count, 0) == count (include/linux/pagemap.h, v3.3). */
export function page_freeze_refs(m: Uint8Array, p: number, count: number): boolean {
  if (m[pageAt(p, F_COUNT)] !== count) return false;
  m[pageAt(p, F_COUNT)] = 0;
  return true;
}

/** page_unfreeze_refs(page, count): VM_BUG_ON(page_count(page) != 0); atomic_set(&page->_count, count). */
export function page_unfreeze_refs(m: Uint8Array, p: number, count: number, where = 'page_unfreeze_refs'): void {
  if (m[pageAt(p, F_COUNT)] !== 0) throw new KernelBug('VM_BUG_ON(page_count(page) != 0)', where, p);
  m[pageAt(p, F_COUNT)] = count;
}
