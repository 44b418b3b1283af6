/**
 * Pageblock isolation and contiguous allocation: mm/page_isolation.c and the
 * alloc_contig_range() half of mm/page_alloc.c / mm/compaction.c, kernel v5.19 (the
 * seed "mm: make alloc_contig_range work at pageblock granularity", Zi Yan 2022,
 * seed 002, with isolate_single_pageblock() as merged, including the fix
 * 88ee134320b8 "mm: fix a potential infinite loop in start_isolate_page_range()").
 *
 * The functions here are the bodies of zone->lock critical sections (each is one
 * atomic step of a program) and the lockless peeks between them. The step program
 * that strings them together is in src/kernel/contig.ts.
 */
import { BUG_ON } from './bug.ts';
import {
  MIGRATE_ISOLATE, MIGRATE_MOVABLE, PageBuddy, Z_NR_ISOLATE, __free_one_page, __free_pages, __isolate_free_page,
  __mod_zone_freepage_state, buddy_order, find_buddy_page_pfn, get_pageblock_migratetype, is_migrate_isolate_page,
  maxOrderOf, move_freepages_block, pageblockNrPages, pageblockOrderOf, prep_new_page,
  set_pageblock_migratetype, F_OWNER, FPI_TO_TAIL, F_PCP_MT,
} from './buddy.ts';
import { F_PRIVATE, F_REF, PAGE_STRIDE } from './page.ts';

/**
 * has_unmovable_pages(zone, page, migratetype, flags) (mm/page_isolation.c, v5.19) for
 * the pageblock of `pfn`: the first page that is in use (a reference held) and
 * neither PageLRU nor __PageMovable, here an in-use page allocated with a migratetype
 * other than MIGRATE_MOVABLE; free pages (buddy, or on a per-cpu list with no
 * reference) are skipped. Returns its pfn or -1.
 */
export function has_unmovable_pages(m: Uint8Array, z: number, pfn: number): number {
  const nr = pageblockNrPages(m, z);
  const start = pfn & ~(nr - 1);
  for (let p = start; p < start + nr; p++) {
    if (m[p * PAGE_STRIDE + F_OWNER] !== 0 && m[p * PAGE_STRIDE + F_PCP_MT] !== MIGRATE_MOVABLE) return p;
  }
  return -1;
}

/**
 * set_migratetype_isolate() (mm/page_isolation.c, v5.19), zone->lock held: fails
 * (-EBUSY, false here) when the pageblock is already isolated ("someone else must
 * have done so") or has_unmovable_pages() finds an unmovable page; otherwise the
 * block becomes MIGRATE_ISOLATE, its free pages move to the isolate lists and leave
 * NR_FREE_PAGES.
 */
export function set_migratetype_isolate(m: Uint8Array, z: number, pfn: number): boolean {
  if (is_migrate_isolate_page(m, z, pfn)) return false;
  if (has_unmovable_pages(m, z, pfn) >= 0) return false;
  const mt = get_pageblock_migratetype(m, z, pfn);
  set_pageblock_migratetype(m, z, pfn, MIGRATE_ISOLATE);
  m[z + Z_NR_ISOLATE]++;
  const moved = move_freepages_block(m, z, pfn, MIGRATE_ISOLATE);
  __mod_zone_freepage_state(m, z, -moved, mt);
  return true;
}

/**
 * unset_migratetype_isolate() (mm/page_isolation.c, v5.19), zone->lock held. A free
 * page of order >= pageblock_order heading the block could not merge with its buddy
 * while isolated; if the buddy's block is not isolated the page is taken off and
 * freed again so that it merges (__isolate_free_page + __putback_isolated_page, at
 * the tail). Otherwise the free pages move back with move_freepages_block().
 */
export function unset_migratetype_isolate(m: Uint8Array, z: number, pfn: number, migratetype: number): void {
  if (!is_migrate_isolate_page(m, z, pfn)) return;
  let isolatedPage = false;
  let order = 0;
  if (PageBuddy(m, pfn)) {
    order = buddy_order(m, pfn);
    if (order >= pageblockOrderOf(m, z) && order < maxOrderOf(m, z) - 1) {
      const buddy = find_buddy_page_pfn(m, z, pfn, order);
      if (buddy >= 0 && !is_migrate_isolate_page(m, z, buddy)) {
        isolatedPage = __isolate_free_page(m, z, pfn, order) !== 0;
      }
    }
  }
  if (!isolatedPage) {
    const moved = move_freepages_block(m, z, pfn, migratetype);
    __mod_zone_freepage_state(m, z, moved, migratetype);
  }
  set_pageblock_migratetype(m, z, pfn, migratetype);
  if (isolatedPage) __free_one_page(m, z, pfn, order, migratetype, FPI_TO_TAIL);
  BUG_ON(m[z + Z_NR_ISOLATE] === 0, 'nr_isolate_pageblock underflow', 'unset_migratetype_isolate', pfn);
  m[z + Z_NR_ISOLATE]--;
}

/**
 * test_pages_isolated(start, end) (mm/page_isolation.c, v5.19): every pageblock of
 * the range is isolated, and, under zone->lock, __test_page_isolated_in_pageblock()
 * walks the range by free pages only. The unlocked migratetype check reads what is
 * written under zone->lock, so the model runs the whole call in one step.
 */
export function test_pages_isolated(m: Uint8Array, z: number, start: number, end: number): boolean {
  const nr = pageblockNrPages(m, z);
  for (let pfn = start; pfn < end; pfn += nr) if (!is_migrate_isolate_page(m, z, pfn)) return false;
  let pfn = start;
  while (pfn < end) {
    if (PageBuddy(m, pfn)) pfn += 1 << buddy_order(m, pfn);
    else break;
  }
  return pfn >= end;
}

/**
 * One pageblock of isolate_freepages_range() in strict mode (mm/compaction.c,
 * isolate_freepages_block(), v5.19, under zone->lock taken by compact_lock_irqsave):
 * take every free page from `pfn` up to the block's end off its list and split it
 * into order-0 pages owned by `owner` (split_map()). A free page may run past the
 * block: the scan goes on after it. Returns the pfn after the last page taken, or
 * -1 when a page that is not free stops the strict scan (nothing is taken then
 * from this block; the caller releases what earlier blocks gave).
 */
export function isolate_freepages_block(m: Uint8Array, z: number, pfn: number, blockEnd: number, owner: number, isolate = __isolate_free_page): number {
  const taken: [number, number][] = [];
  while (pfn < blockEnd) {
    if (!PageBuddy(m, pfn)) {
      // strict: give back what this block took so far, then fail.
      for (const [p, o] of taken) unsplitBack(m, z, p, o);
      return -1;
    }
    const order = buddy_order(m, pfn);
    // isolated = __isolate_free_page(page, order); if (!isolated) break; (strict: fail)
    if (!isolate(m, z, pfn, order)) {
      for (const [p, o] of taken) unsplitBack(m, z, p, o);
      return -1;
    }
    for (let i = 0; i < 1 << order; i++) prep_new_page(m, pfn + i, 0, owner);
    taken.push([pfn, order]);
    pfn += 1 << order;
  }
  return pfn;
}

/** Give back an order-`order` block taken by isolate_freepages_block(), page by page. */
function unsplitBack(m: Uint8Array, z: number, pfn: number, order: number): void {
  for (let i = 0; i < 1 << order; i++) __free_pages(m, z, pfn + i, 0);
}

/**
 * release_freepages() / free_contig_range() of pages the actor owns as order-0
 * pages: __free_page() each (one zone->lock section per page in the kernel; the
 * model frees them in one step, see the program).
 */
export function free_owned_pages(m: Uint8Array, z: number, from: number, to: number, owner: number): void {
  for (let pfn = from; pfn < to; pfn++) {
    if (m[pfn * PAGE_STRIDE + F_OWNER] === owner + 1) __free_pages(m, z, pfn, 0);
  }
}

/** The in-use page whose head is `pfn`, owned by a CPU (actor < ncpus): its order, or -1. */
export function cpuOwnedHead(m: Uint8Array, pfn: number, ncpus: number): number {
  const o = pfn * PAGE_STRIDE;
  const owner = m[o + F_OWNER] - 1;
  // In use: a reference held (the owner's mapping, and alloc_contig_range()'s
  // isolation while __alloc_contig_migrate_range() migrates it).
  if (owner < 0 || owner >= ncpus || m[o + F_REF] < 1) return -1;
  return m[o + F_PRIVATE];
}

/**
 * compound_head(): the head of the CPU-owned in-use page that holds `pfn` (pfn itself
 * for a head or an order-0 page), or -1 when no CPU owns pfn.
 */
export function cpuCompoundHead(m: Uint8Array, pfn: number, ncpus: number, maxOrder: number): number {
  const owner = m[pfn * PAGE_STRIDE + F_OWNER];
  if (owner === 0 || owner > ncpus) return -1;
  for (let o = 0; o < maxOrder; o++) {
    const head = pfn & ~((1 << o) - 1);
    const order = cpuOwnedHead(m, head, ncpus);
    if (order >= 0 && m[head * PAGE_STRIDE + F_OWNER] === owner && head + (1 << order) > pfn) return head;
  }
  return -1;
}
