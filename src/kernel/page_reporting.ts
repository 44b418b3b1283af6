/**
 * Free page reporting as merged: mm/page_reporting.c, mm/page_reporting.h and the
 * page_alloc.c hooks of kernel v5.7 (Alexander Duyck's series that grew out of the
 * aeration RFC of seed 003: 36e66c554b5c "mm: introduce Reported pages" and its
 * followers). The tree read for the port spells page_order() as buddy_order() (its
 * v5.10 name); the logic is v5.7's: the reporting state IDLE / REQUESTED / ACTIVE,
 * page_reporting_cycle() with its budget, __isolate_free_page() failure and the list
 * rotation, page_reporting_drain() with __putback_isolated_page(), and
 * page_reporting_process() ending with atomic_cmpxchg(ACTIVE -> IDLE).
 *
 * It shares the buddy core (src/kernel/buddy.ts): __free_one_page() notifies through
 * the FreeHooks (v5.7's `report` argument: true for free_one_page(), false for
 * __putback_isolated_page()), del_page_from_free_list() clears PageReported.
 *
 * World, after the zone (zoneEnd()): prdev->state, the delayed work's pending bit,
 * the scatterlist sgl[capacity] (a pfn and an order per entry, NO_PAGE when unset),
 * PAGE_REPORTING_CAPACITY, and two ghosts: how many CPUs have finished, and whether
 * the worker is inside a pass (so that properties can say who will serve a request).
 */
import {
  type FreeHooks, FPI_NONE, F_OWNER, MIGRATE_ISOLATE, PageBuddy, __free_one_page, __isolate_free_page, buddy_order, freeListHead,
  free_pages_prepare, get_pageblock_migratetype, list_empty_head, listEntries, list_move_tail_node, maxOrderOf, nmtOf,
  nrFreeAt, nrFreePages, pageblockOrderOf, zoneEnd, zone_watermark_ok_order0,
} from './buddy.ts';
import { F_FLAGS, F_PRIVATE, F_REF, PAGE_STRIDE } from './page.ts';

/** PG_reported (an alias of PG_uptodate in v5.7): a flag bit of the model's page->flags. */
export const PG_reported = 0x10;
export const PAGE_REPORTING_IDLE = 0;
export const PAGE_REPORTING_REQUESTED = 1;
export const PAGE_REPORTING_ACTIVE = 2;
export const STATE_NAMES = ['IDLE', 'REQUESTED', 'ACTIVE'];
export const NO_PAGE = 0xff;

/** PAGE_REPORTING_MIN_ORDER = pageblock_order. */
export const reportingMinOrder = (m: Uint8Array, z: number): number => pageblockOrderOf(m, z);
export const stateAt = (m: Uint8Array, z: number): number => zoneEnd(m, z);
export const pendingAt = (m: Uint8Array, z: number): number => zoneEnd(m, z) + 1;
export const capacityAt = (m: Uint8Array, z: number): number => zoneEnd(m, z) + 2;
/** Ghost: CPUs that have finished. */
export const cpusDoneAt = (m: Uint8Array, z: number): number => zoneEnd(m, z) + 3;
/** Ghost: 1 while page_reporting_process() runs a pass. */
export const inPassAt = (m: Uint8Array, z: number): number => zoneEnd(m, z) + 4;
/**
 * Ghost: 1 from a request (__page_reporting_request()) until a pass starts, which
 * covers every page freed before it: a request that nobody will serve shows as this
 * byte set with no work pending or running.
 */
export const requestGhostAt = (m: Uint8Array, z: number): number => zoneEnd(m, z) + 5;
/** sgl[i]: sg_page() as a pfn, and the order (get_order(sg->length)). */
export const sgPfnAt = (m: Uint8Array, z: number, i: number): number => zoneEnd(m, z) + 6 + 2 * i;
export const sgOrderAt = (m: Uint8Array, z: number, i: number): number => zoneEnd(m, z) + 7 + 2 * i;
/** Bytes after the zone. */
export const reportingSize = (capacity: number): number => 6 + 2 * capacity;
export const capacityOf = (m: Uint8Array, z: number): number => m[capacityAt(m, z)];

export const PageReported = (m: Uint8Array, pfn: number): boolean => (m[pfn * PAGE_STRIDE + F_FLAGS] & PG_reported) !== 0;

/** The pfns the scatterlist holds. */
export function sgPages(m: Uint8Array, z: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < capacityOf(m, z); i++) if (m[sgPfnAt(m, z, i)] !== NO_PAGE) out.push(m[sgPfnAt(m, z, i)]);
  return out;
}

/**
 * __page_reporting_request() (v5.7): atomic_read() REQUESTED: nothing to do; else
 * atomic_xchg(REQUESTED), and only a transition from IDLE schedules the delayed work.
 * Called from __free_one_page() under zone->lock, so the model runs it in the free's
 * step: the worker's atomic_set(ACTIVE) between the read and the xchg would leave the
 * state ACTIVE, which changes nothing it reports, since the freed page is on its free
 * list before the pass that set ACTIVE takes zone->lock to scan it.
 */
export function __page_reporting_request(m: Uint8Array, z: number): void {
  m[requestGhostAt(m, z)] = 1;
  if (m[stateAt(m, z)] === PAGE_REPORTING_REQUESTED) return;
  const old = m[stateAt(m, z)];
  m[stateAt(m, z)] = PAGE_REPORTING_REQUESTED;
  if (old !== PAGE_REPORTING_IDLE) return;
  m[pendingAt(m, z)] = 1; // schedule_delayed_work(&prdev->work, PAGE_REPORTING_DELAY)
}

/** page_reporting_notify_free(order) (mm/page_reporting.h, v5.7): at or above PAGE_REPORTING_MIN_ORDER, request. */
export function page_reporting_notify_free(m: Uint8Array, z: number, order: number): void {
  if (order < reportingMinOrder(m, z)) return;
  __page_reporting_request(m, z);
}

/** del_page_from_free_list() (v5.7): "if (page_reported(page)) __ClearPageReported(page);". */
function clearReported(m: Uint8Array, _z: number, pfn: number): void {
  m[pfn * PAGE_STRIDE + F_FLAGS] &= ~PG_reported;
}

/** __free_one_page(..., report = true): page_reporting_notify_free(order) with the final order. */
export const REPORTING_HOOKS: FreeHooks = {
  onDel: clearReported,
  onFreed: (m, z, _pfn, order) => page_reporting_notify_free(m, z, order),
};
/** __free_one_page(..., report = false), as __putback_isolated_page() calls it. */
export const PUTBACK_HOOKS: FreeHooks = { onDel: clearReported };

/** free_one_page() of a CPU's page (v5.7 __free_pages_ok / free_one_page, report = true). */
export function free_pages_reporting(m: Uint8Array, z: number, pfn: number, order: number, hooks = REPORTING_HOOKS): void {
  m[pfn * PAGE_STRIDE + F_REF] = 0;
  free_pages_prepare(m, pfn, order);
  __free_one_page(m, z, pfn, order, get_pageblock_migratetype(m, z, pfn), FPI_NONE, hooks);
}

/**
 * list_rotate_to_front(&page->lru, list) (include/linux/list.h): the list is rotated
 * so that `page` is its first entry (list_move_tail(list, &page->lru)).
 */
function list_rotate_to_front(m: Uint8Array, z: number, page: number, head: number): void {
  list_move_tail_node(m, z, head, page);
}

/** The worker's locals that page_reporting_cycle() keeps across its zone->lock sections. */
export interface CycleLocals {
  /** *offset: free slots left at the front of sgl. */
  offset: number;
  /** budget, which may go below zero. */
  budget: number;
}

export const CYCLE_DONE = 0;
export const CYCLE_REPORT = 1;

/**
 * One zone->lock section of page_reporting_cycle() (v5.7) over free_list[mt] of an
 * order, from the list's first entry ("next = list_first_entry(list, ...)" after a
 * drain, or the start of the walk): skip reported pages; on an exhausted budget set
 * the state REQUESTED and stop; while the scatterlist has room, __isolate_free_page()
 * each unreported page into it (a failure stops the walk); with the scatterlist full
 * and one more unreported page, rotate that page to the list's front and return
 * CYCLE_REPORT (the caller drops the lock and reports). Otherwise rotate the page the
 * walk stopped at (if any) to the front and return CYCLE_DONE.
 */
export function page_reporting_cycle_section(
  m: Uint8Array, z: number, order: number, mt: number, loc: CycleLocals, isolate = __isolate_free_page,
): number {
  const list = freeListHead(m, z, order, mt);
  let stopAt = -1;
  for (const page of listEntries(m, z, list)) {
    if (PageReported(m, page)) continue;
    if (loc.budget < 0) {
      m[stateAt(m, z)] = PAGE_REPORTING_REQUESTED; // atomic_set(&prdev->state, PAGE_REPORTING_REQUESTED)
      stopAt = page;
      break;
    }
    if (loc.offset) {
      if (!isolate(m, z, page, order, REPORTING_HOOKS)) {
        stopAt = page;
        break;
      }
      loc.offset--;
      m[sgPfnAt(m, z, loc.offset)] = page;
      m[sgOrderAt(m, z, loc.offset)] = order;
      continue;
    }
    // "Make the first non-reported page in the free list the new head of the free
    // list before we release the zone lock."
    if (listEntries(m, z, list)[0] !== page) list_rotate_to_front(m, z, page, list);
    return CYCLE_REPORT;
  }
  // "Rotate any leftover pages to the head of the freelist"
  if (stopAt >= 0 && listEntries(m, z, list)[0] !== stopAt) list_rotate_to_front(m, z, stopAt, list);
  return CYCLE_DONE;
}

/** budget = DIV_ROUND_UP(area->nr_free, PAGE_REPORTING_CAPACITY * 16), read under zone->lock. */
export const cycleBudget = (m: Uint8Array, z: number, order: number): number =>
  Math.ceil(m[nrFreeAt(m, z, order)] / (capacityOf(m, z) * 16));

/**
 * page_reporting_drain(prdev, sgl + from, nents, reported) (v5.7), zone->lock held:
 * each page back with __putback_isolated_page(page, order, get_pageblock_migratetype())
 * (no notification), and flagged PageReported if it did not merge.
 */
export function page_reporting_drain(m: Uint8Array, z: number, from: number, reported: boolean, putback = PUTBACK_HOOKS): void {
  for (let i = from; i < capacityOf(m, z); i++) {
    const page = m[sgPfnAt(m, z, i)];
    if (page === NO_PAGE) continue;
    const order = m[sgOrderAt(m, z, i)];
    const mt = get_pageblock_migratetype(m, z, page);
    m[page * PAGE_STRIDE + F_PRIVATE] = 0;
    __free_one_page(m, z, page, order, mt, FPI_NONE, putback);
    if (reported && PageBuddy(m, page) && buddy_order(m, page) === order) m[page * PAGE_STRIDE + F_FLAGS] |= PG_reported;
    // sg_init_table(sgl, nents)
    m[sgPfnAt(m, z, i)] = NO_PAGE;
    m[sgOrderAt(m, z, i)] = 0;
  }
}

/**
 * page_reporting_process_zone()'s first check (v5.7): zone_watermark_ok(zone, 0,
 * low_wmark_pages(zone) + (PAGE_REPORTING_CAPACITY << PAGE_REPORTING_MIN_ORDER), 0,
 * ALLOC_CMA); the model's zones have a low watermark of 0.
 */
export const reportingWatermarkOk = (m: Uint8Array, z: number): boolean =>
  zone_watermark_ok_order0(m, z, capacityOf(m, z) << reportingMinOrder(m, z));

/** The free lists page_reporting_process_zone() visits, in its order: orders up, then migratetypes, not MIGRATE_ISOLATE. */
export function reportingLists(m: Uint8Array, z: number): { order: number; mt: number }[] {
  const out: { order: number; mt: number }[] = [];
  for (let order = reportingMinOrder(m, z); order < maxOrderOf(m, z); order++) {
    for (let mt = 0; mt < nmtOf(m, z); mt++) if (mt !== MIGRATE_ISOLATE) out.push({ order, mt });
  }
  return out;
}

export const freeListEmpty = (m: Uint8Array, z: number, order: number, mt: number): boolean => list_empty_head(m, z, freeListHead(m, z, order, mt));

/** Ghost owner of a page (actor + 1), for properties. */
export const ownerOf = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_OWNER];
export { nrFreePages };
