/**
 * The LRU lists (mm/swap.c, mm/vmscan.c, v3.3): one list per zone under the zone's
 * lru_lock, PG_lru set on exactly the pages linked there, the per-CPU LRU add pagevec
 * (lru_add_pvecs) that holds a reference to each page it batches, and the page
 * release path that takes a page off its LRU when its last reference goes.
 *
 * Every writer of an LRU list and of PG_lru holds the zone's lru_lock, and each
 * lru_lock section here is one step. A pagevec belongs to its CPU and is touched
 * only with preemption off on that CPU, so adding to it is part of its CPU's step.
 */
import { KernelBug } from '../bug.ts';
import { list_add, list_del } from '../list.ts';
import { free_hot_cold_page } from './alloc.ts';
import { LRU_HEAD, NO_PAGE, PAGEVEC_SIZE, lruNode, type MappedLayout } from './layout.ts';
import { PG_lru, PageLRU, clearFlag, get_page, page_count, put_page_testzero, setFlag } from './page.ts';

/** __page_cache_release() + free_hot_cold_page(): a page whose last reference went. */
function releaseFreed(m: Uint8Array, lay: MappedLayout, p: number, where: string): void {
  if (PageLRU(m, p)) {
    // spin_lock_irqsave(&zone->lru_lock); __ClearPageLRU(page); del_page_from_lru_list()
    clearFlag(m, p, PG_lru);
    list_del(m, lay.S, lruNode(p), where);
  }
  free_hot_cold_page(m, lay, p, where);
}

/** put_page() / page_cache_release() of an order-0 page (mm/swap.c, v3.3). */
export function put_page(m: Uint8Array, lay: MappedLayout, p: number, where = 'put_page'): void {
  if (put_page_testzero(m, p, where)) releaseFreed(m, lay, p, where);
}

/**
 * isolate_lru_page() (mm/vmscan.c, v3.3): under lru_lock, a page with PG_lru is taken
 * off its LRU with a reference for the caller (the unlocked PageLRU() pre-check is a
 * hint that the locked test repeats). Returns 0, or -EBUSY.
 */
export function isolate_lru_page(m: Uint8Array, lay: MappedLayout, p: number): number {
  if (page_count(m, p) === 0) throw new KernelBug('VM_BUG_ON(!page_count(page))', 'isolate_lru_page', p);
  if (!PageLRU(m, p)) return -16;
  get_page(m, p, 'isolate_lru_page');
  clearFlag(m, p, PG_lru);
  list_del(m, lay.S, lruNode(p), 'isolate_lru_page');
  return 0;
}

/** The pagevec's entries. */
export const pagevecPages = (m: Uint8Array, lay: MappedLayout, cpu: number): number[] =>
  Array.from({ length: m[lay.pv(cpu)] }, (_, i) => m[lay.pv(cpu) + 1 + i]);

/**
 * __pagevec_lru_add() + pagevec_release() (mm/swap.c, v3.3): under each page's zone's
 * lru_lock, SetPageLRU and onto the LRU; then the pagevec's references go.
 */
export function pagevec_lru_add(m: Uint8Array, lay: MappedLayout, cpu: number): void {
  const pages = pagevecPages(m, lay, cpu);
  for (const p of pages) {
    if (PageLRU(m, p)) throw new KernelBug('VM_BUG_ON(PageLRU(page))', '__pagevec_lru_add_fn', p);
    setFlag(m, p, PG_lru);
    list_add(m, lay.S, lruNode(p), LRU_HEAD(lay.nid(p)), '__pagevec_lru_add');
  }
  m[lay.pv(cpu)] = 0;
  for (let i = 0; i < PAGEVEC_SIZE; i++) m[lay.pv(cpu) + 1 + i] = NO_PAGE;
  for (const p of pages) put_page(m, lay, p, 'release_pages');
}

/**
 * __lru_cache_add() (mm/swap.c, v3.3): page_cache_get(page); if (!pagevec_add(pvec,
 * page)) __pagevec_lru_add(pvec): the CPU's pagevec takes a reference and is flushed
 * onto the LRU when full.
 */
export function lru_cache_add(m: Uint8Array, lay: MappedLayout, cpu: number, p: number): void {
  get_page(m, p, '__lru_cache_add');
  const n = m[lay.pv(cpu)];
  m[lay.pv(cpu) + 1 + n] = p;
  m[lay.pv(cpu)] = n + 1;
  if (n + 1 === PAGEVEC_SIZE) pagevec_lru_add(m, lay, cpu);
}

/** lru_add_drain() (mm/swap.c, v3.3): flush this CPU's LRU add pagevec. */
export function lru_add_drain(m: Uint8Array, lay: MappedLayout, cpu: number): void {
  if (m[lay.pv(cpu)] > 0) pagevec_lru_add(m, lay, cpu);
}

/**
 * putback_lru_page() (mm/vmscan.c, v3.3) for an evictable page:
 * VM_BUG_ON(PageLRU(page)); lru_cache_add_lru(page, lru); put_page(page) (the
 * isolation reference).
 */
export function putback_lru_page(m: Uint8Array, lay: MappedLayout, cpu: number, p: number): void {
  if (PageLRU(m, p)) throw new KernelBug('VM_BUG_ON(PageLRU(page))', 'putback_lru_page', p);
  lru_cache_add(m, lay, cpu, p);
  put_page(m, lay, p, 'putback_lru_page');
}

/**
 * shrink_inactive_list()'s putback_inactive_pages() for one page (mm/vmscan.c, v3.3):
 * under lru_lock, SetPageLRU and back on its LRU, then the isolation reference goes
 * (a page whose last reference that was is taken off again and freed).
 */
export function putback_inactive_page(m: Uint8Array, lay: MappedLayout, p: number): void {
  if (PageLRU(m, p)) throw new KernelBug('VM_BUG_ON(PageLRU(page))', 'putback_inactive_pages', p);
  setFlag(m, p, PG_lru);
  list_add(m, lay.S, lruNode(p), LRU_HEAD(lay.nid(p)), 'putback_inactive_pages');
  put_page(m, lay, p, 'putback_inactive_pages');
}
