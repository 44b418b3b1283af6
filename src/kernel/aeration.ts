/**
 * Free page aeration: mm/aeration.c and include/linux/memory_aeration.h from the seed
 * "mm: Add logic for separating "aerated" pages from "raw" pages" (Alexander Duyck,
 * [PATCH v1 5/6], 2019, seed 003), with the page_alloc.c side of patch 4/6 that it
 * builds on ("mm: Introduce "aerated" pages", v1, 19 June 2019, read from the kvm list
 * archive, Message-ID <20190619223323.1231.86906.stgit@localhost.localdomain>):
 * set_page_aerated() / clear_page_aerated() in the free-area helpers,
 * get_aeration_page() / put_aeration_page(), and __free_one_page(..., aerated), where
 * every merge clears fully_aerated ("assume buddy is not aerated") and the result is
 * either set_page_aerated() or aerator_notify_free(). Patch 6/6 (virtio-balloon's
 * react(), which hands the batch to the host and waits) was not read: react() is one
 * step with zone->lock dropped that touches no allocator state.
 *
 * The buddy allocator is src/kernel/buddy.ts (the v5.19 core; the 2019 code it ports
 * differs only in names: free_area instead of free_list helpers). Every function
 * here runs under zone->lock unless it says otherwise.
 *
 * World: after the zone (zoneEnd()), the aerator's own bytes:
 *   boundary[order - AERATOR_MIN_ORDER][mt]   a list node: a page, or the list head
 *   a_dev_info->refcnt, the delayed work's pending bit, and a ghost count of CPUs
 *   that have finished (so that the idle worker knows when to stop).
 * The batch list a_dev_info->batch is the zone's extra list 0.
 */
import { WARN_ON } from './bug.ts';
import {
  type FreeHooks, FPI_NONE, FPI_TO_TAIL, MIGRATE_ISOLATE, Z_NR_ISOLATE, PageBuddy, Z_FLAGS, __free_one_page, __mod_zone_freepage_state,
  buddy_order, del_page_from_free_list, extraListHead, freeListHead, freeListOf, list_add_tail_node, list_del_node,
  list_empty_head, lruNext, lruPrev, maxOrderOf, nmtOf, nrFreeAt, nrFreeAeratedAt, pageblockOrderOf, zoneEnd,
  get_pageblock_migratetype, listIdOf, free_pages_prepare, F_PCP_MT,
} from './buddy.ts';
import { F_FLAGS, F_LIST, F_PRIVATE, F_REF, PAGE_STRIDE } from './page.ts';

/** PageAerated(): in the seed an alias of the Offline page type, set together with PageBuddy. A flag bit here. */
export const PG_aerated = 0x10;
export { F_PCP_MT };
/** zone->flags bits (include/linux/mmzone.h with the seed). */
export const ZONE_AERATION_REQUESTED = 0x1;
export const ZONE_AERATION_ACTIVE = 0x2;

/** AERATOR_MIN_ORDER = pageblock_order. */
export const aeratorMinOrder = (m: Uint8Array, z: number): number => pageblockOrderOf(m, z);
export const boundaryAt = (m: Uint8Array, z: number, order: number, mt: number): number =>
  zoneEnd(m, z) + (order - aeratorMinOrder(m, z)) * nmtOf(m, z) + mt;
const devBase = (m: Uint8Array, z: number): number => zoneEnd(m, z) + (maxOrderOf(m, z) - aeratorMinOrder(m, z)) * nmtOf(m, z);
/** a_dev_info->refcnt. */
export const refcntAt = (m: Uint8Array, z: number): number => devBase(m, z);
/** The delayed work aerator_work is pending. */
export const pendingAt = (m: Uint8Array, z: number): number => devBase(m, z) + 1;
/** Ghost: how many CPUs have finished. */
export const cpusDoneAt = (m: Uint8Array, z: number): number => devBase(m, z) + 2;
/** AERATOR_HWM (32 in the seed; a constant of the world here, set from the scope). */
export const hwmAt = (m: Uint8Array, z: number): number => devBase(m, z) + 3;
/**
 * Ghost, one byte per page: 1 while the page's content has not been aerated since a
 * CPU freed it (every page starts raw). Set by a CPU's free, cleared when the page
 * comes back from the batch; never read by the kernel code.
 */
export const rawGhostAt = (m: Uint8Array, z: number, pfn: number): number => devBase(m, z) + 4 + pfn;
/** Bytes the aerator takes after the zone. */
export const aeratorSize = (maxOrder: number, minOrder: number, nmt: number, npages: number): number => (maxOrder - minOrder) * nmt + 4 + npages;
export const batchHead = (m: Uint8Array, z: number): number => extraListHead(m, z, 0);

export const PageAerated = (m: Uint8Array, pfn: number): boolean => (m[pfn * PAGE_STRIDE + F_FLAGS] & PG_aerated) !== 0;
const active = (m: Uint8Array, z: number): boolean => (m[z + Z_FLAGS] & ZONE_AERATION_ACTIVE) !== 0;
export const requested = (m: Uint8Array, z: number): boolean => (m[z + Z_FLAGS] & ZONE_AERATION_REQUESTED) !== 0;

/** The migratetype a page on a free list was recorded with (get_pcppage_migratetype()). */
const pageMt = (m: Uint8Array, z: number, pfn: number): number => freeListOf(m, z, m[pfn * PAGE_STRIDE + F_LIST])?.mt ?? m[pfn * PAGE_STRIDE + F_PCP_MT];

/** aerator_get_tail(): the boundary while the zone is being aerated, else the list head. */
export function aerator_get_tail(m: Uint8Array, z: number, order: number, mt: number): number {
  if (order >= aeratorMinOrder(m, z) && active(m, z)) return m[boundaryAt(m, z, order, mt)];
  return freeListHead(m, z, order, mt);
}

/** __aerator_del_from_boundary(): "push boundary back if we removed the upper boundary". */
export function __aerator_del_from_boundary(m: Uint8Array, z: number, pfn: number): void {
  const at = boundaryAt(m, z, m[pfn * PAGE_STRIDE + F_PRIVATE], pageMt(m, z, pfn));
  if (m[at] === pfn) m[at] = lruNext(m, z, pfn);
}

/** aerator_add_to_boundary(): the page becomes the first aerated page of its list. */
export function aerator_add_to_boundary(m: Uint8Array, z: number, pfn: number): void {
  m[boundaryAt(m, z, m[pfn * PAGE_STRIDE + F_PRIVATE], pageMt(m, z, pfn))] = pfn;
}

/** set_page_aerated(): nr_free_aerated++, record the migratetype, __SetPageAerated, move the boundary to the page. */
export function set_page_aerated(m: Uint8Array, z: number, pfn: number, order: number, mt: number): void {
  m[nrFreeAeratedAt(m, z, order)]++;
  m[pfn * PAGE_STRIDE + F_PCP_MT] = mt;
  m[pfn * PAGE_STRIDE + F_FLAGS] |= PG_aerated;
  aerator_add_to_boundary(m, z, pfn);
}

/**
 * clear_page_aerated(), called by del_page_from_free_area() before the page is
 * unlinked: push the boundary back if it is this page, __ClearPageAerated,
 * nr_free_aerated--. Variants replace it through AERATION_HOOKS.onDel.
 */
export function clear_page_aerated(m: Uint8Array, z: number, pfn: number, order: number): void {
  if (!PageAerated(m, pfn)) return;
  if (active(m, z)) __aerator_del_from_boundary(m, z, pfn);
  m[pfn * PAGE_STRIDE + F_FLAGS] &= ~PG_aerated;
  m[nrFreeAeratedAt(m, z, order)]--;
}

/**
 * The end of __free_one_page() with patch 4/6: "if (fully_aerated)
 * set_page_aerated(page, zone, order, migratetype); else aerator_notify_free(zone,
 * order);". `checkRequested` false is the variant notify-without-requested-test.
 */
export const onFreedWith = (checkRequested: boolean) => (m: Uint8Array, z: number, pfn: number, order: number, mt: number, fullyAerated: boolean): void => {
  if (fullyAerated) set_page_aerated(m, z, pfn, order, mt);
  else aerator_notify_free(m, z, order, m[hwmAt(m, z)], checkRequested);
};

/** The hooks of patches 4 and 5 into the free lists. */
export const AERATION_HOOKS: FreeHooks = { tail: aerator_get_tail, onDel: clear_page_aerated, onFreed: onFreedWith(true) };

/** aerator_raw_pages(): nr_free - nr_free_aerated of an order. */
export const aerator_raw_pages = (m: Uint8Array, z: number, order: number): number =>
  m[nrFreeAt(m, z, order)] - m[nrFreeAeratedAt(m, z, order)];

/**
 * __aerator_notify(), zone->lock held: set ZONE_AERATION_REQUESTED; the first
 * reference schedules the work (schedule_delayed_work(); the delay is not modelled).
 */
export function __aerator_notify(m: Uint8Array, z: number): void {
  m[z + Z_FLAGS] |= ZONE_AERATION_REQUESTED;
  const old = m[refcntAt(m, z)]++;
  if (old) return;
  WARN_ON(!list_empty_head(m, z, batchHead(m, z)), '!list_empty(&a_dev_info->batch)', '__aerator_notify');
  m[pendingAt(m, z)] = 1;
}

/**
 * aerator_notify_free() with the high-water mark `hwm` (AERATOR_HWM, 32 in the
 * seed; a scope parameter here). `checkRequested` is the seed's
 * `if (test_bit(ZONE_AERATION_REQUESTED, ...)) return;` (a variant drops it).
 */
export function aerator_notify_free(m: Uint8Array, z: number, order: number, hwm: number, checkRequested = true): void {
  if (order < aeratorMinOrder(m, z)) return;
  if (checkRequested && requested(m, z)) return;
  if (aerator_raw_pages(m, z, order) < hwm) return;
  __aerator_notify(m, z);
}

/**
 * free_one_page() of a raw page with aeration (patch 4/6: __free_one_page(...,
 * aerated = false)): merge, list, and aerator_notify_free(zone, order) with the
 * final order, from __free_one_page()'s end (the hooks' onFreed).
 */
export function free_pages_aerated_zone(m: Uint8Array, z: number, pfn: number, order: number, hooks = AERATION_HOOKS): void {
  const o = pfn * PAGE_STRIDE;
  m[o + F_REF] = 0;
  free_pages_prepare(m, pfn, order);
  for (let i = 0; i < 1 << order; i++) m[rawGhostAt(m, z, pfn + i)] = 1;
  __free_one_page(m, z, pfn, order, get_pageblock_migratetype(m, z, pfn), FPI_NONE, hooks);
}

/**
 * get_aeration_page() (patch 4/6 with seed 003's hunk): walk free_list[mt] backwards
 * from just before the boundary; a raw page comes off the list; if an aerated page is
 * met, fall back to the list's first page, and if that is aerated too the whole list
 * is aerated: make it the boundary and return nothing.
 */
export function get_aeration_page(m: Uint8Array, z: number, order: number, mt: number, hooks = AERATION_HOOKS): number {
  const list = freeListHead(m, z, order, mt);
  for (let page = lruPrev(m, z, aerator_get_tail(m, z, order, mt)); page !== list; page = lruPrev(m, z, page)) {
    if (PageAerated(m, page)) {
      page = lruNext(m, z, list);
      if (PageAerated(m, page)) {
        aerator_add_to_boundary(m, z, page);
        break;
      }
    }
    del_page_from_free_list(m, z, page, order, hooks);
    m[page * PAGE_STRIDE + F_PCP_MT] = mt;
    // The order travels with the page in the batch (put_aeration_page() needs it).
    m[page * PAGE_STRIDE + F_PRIVATE] = order;
    if (mt !== MIGRATE_ISOLATE) __mod_zone_freepage_state(m, z, -(1 << order), mt);
    return page;
  }
  return -1;
}

/**
 * put_aeration_page() (patch 4/6): the migratetype recorded at get_aeration_page()
 * (the pageblock's when a pageblock is isolated), the order from page->private, then
 * __free_one_page(..., aerated = true): at the list's tail (before the boundary); a
 * page that merged with nothing becomes aerated and the boundary, a merged one is raw
 * and notifies (patch 4/6: "assume buddy is not aerated").
 */
export function put_aeration_page(m: Uint8Array, z: number, pfn: number, hooks = AERATION_HOOKS): void {
  let mt = m[pfn * PAGE_STRIDE + F_PCP_MT];
  if (m[z + Z_NR_ISOLATE] > 0 || mt === MIGRATE_ISOLATE) mt = get_pageblock_migratetype(m, z, pfn);
  const order = m[pfn * PAGE_STRIDE + F_PRIVATE];
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 0;
  for (let i = 0; i < 1 << order; i++) m[rawGhostAt(m, z, pfn + i)] = 0;
  __free_one_page(m, z, pfn, order, mt, FPI_NONE, hooks, true);
}

/**
 * put_aeration_page() as the model had it before following patch 4/6 (variant
 * merged-stays-aerated): the page that results from merging is marked aerated and
 * nothing is notified.
 */
export function put_aeration_page_merged_aerated(m: Uint8Array, z: number, pfn: number, hooks = AERATION_HOOKS): void {
  const mt = m[pfn * PAGE_STRIDE + F_PCP_MT];
  const order = m[pfn * PAGE_STRIDE + F_PRIVATE];
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 0;
  for (let i = 0; i < 1 << order; i++) m[rawGhostAt(m, z, pfn + i)] = 0;
  const r = __free_one_page(m, z, pfn, order, mt, FPI_TO_TAIL, { ...hooks, onFreed: undefined });
  set_page_aerated(m, z, r.pfn, r.order, mt);
}

/** aerator_populate_boundaries(): once per activation, every boundary at its list head; set ZONE_AERATION_ACTIVE. */
export function aerator_populate_boundaries(m: Uint8Array, z: number): void {
  if (active(m, z)) return;
  for (let order = maxOrderOf(m, z) - 1; order >= aeratorMinOrder(m, z); order--) {
    for (let mt = nmtOf(m, z) - 1; mt >= 0; mt--) m[boundaryAt(m, z, order, mt)] = freeListHead(m, z, order, mt);
  }
  m[z + Z_FLAGS] |= ZONE_AERATION_ACTIVE;
}

/**
 * aerator_fill(): pull raw pages, highest order first, onto the batch until it holds
 * `capacity`; if the lists run dry first, clear ZONE_AERATION_REQUESTED and drop the
 * request's reference.
 */
export function aerator_fill(m: Uint8Array, z: number, capacity: number, hooks = AERATION_HOOKS): void {
  let budget = capacity;
  const batch = batchHead(m, z);
  for (let order = maxOrderOf(m, z) - 1; order >= aeratorMinOrder(m, z); order--) {
    for (let mt = nmtOf(m, z) - 1; mt >= 0; mt--) {
      for (let page = get_aeration_page(m, z, order, mt, hooks); page >= 0; page = get_aeration_page(m, z, order, mt, hooks)) {
        list_add_tail_node(m, z, page, batch);
        m[page * PAGE_STRIDE + F_LIST] = listIdOf(m, z, batch);
        if (!--budget) return;
      }
    }
  }
  m[z + Z_FLAGS] &= ~ZONE_AERATION_REQUESTED;
  m[refcntAt(m, z)]--;
}

/** aerator_drain(): every page of the batch back to its free list, aerated. */
export function aerator_drain(m: Uint8Array, z: number, hooks = AERATION_HOOKS, put = put_aeration_page): void {
  const batch = batchHead(m, z);
  while (!list_empty_head(m, z, batch)) {
    const page = lruNext(m, z, batch);
    list_del_node(m, z, page);
    m[page * PAGE_STRIDE + F_LIST] = 0;
    put(m, z, page, hooks);
  }
}

/** Is every page of free_list[order][mt] from the boundary to the tail aerated, and the boundary on that list? */
export function checkBoundary(m: Uint8Array, z: number, order: number, mt: number): string | null {
  const head = freeListHead(m, z, order, mt);
  const b = m[boundaryAt(m, z, order, mt)];
  if (b === head) return null;
  if (b >= m[z] || !PageBuddy(m, b) || m[b * PAGE_STRIDE + F_LIST] !== listIdOf(m, z, head)) {
    return `boundary[${order}][${mt}] points to ${b < m[z] ? `pfn ${b}, which is not on free_list[${order}][${mt}]` : `node ${b}, not this list's head`}`;
  }
  for (let n = b; n !== head; n = lruNext(m, z, n)) {
    if (!PageAerated(m, n)) return `pfn ${n} lies past boundary[${order}][${mt}] but is not aerated`;
  }
  return null;
}

export { buddy_order };
