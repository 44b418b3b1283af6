/**
 * The buddy allocator at struct-page granularity: a zone with
 * free_area[order].free_list[migratetype] and nr_free, the pageblock migratetype
 * bitmap, NR_FREE_PAGES, zone->lock, PageBuddy with the order in page->private, and
 * __free_one_page / expand / __rmqueue_smallest / move_freepages_block /
 * split_free_page / __isolate_free_page over it.
 *
 * Kernel version: v5.19 (mm/page_alloc.c, include/linux/mmzone.h,
 * include/linux/pageblock-flags.h), the tree the alloc_contig_range seed (002) was
 * merged into. The free-page-aeration seed (003, 2019) hooks into the same functions
 * through FreeHooks (list tail and notification), as its patches do.
 *
 * The world: pages [0, npages) first (PAGE_STRIDE bytes each, src/kernel/page.ts),
 * then the zone at byte offset `z`. The zone's geometry is written into the world as
 * constant bytes, so every function here is a pure function of (m, z, ...) and the
 * step programs can pass `z` as a static param. Free lists are doubly linked lists
 * of nodes, kept in the world: node `pfn` is page->lru of that page, and the list
 * heads follow the pages. List order is kept exactly (list_add at the head,
 * list_add_tail before a node), because free-page aeration depends on it.
 *
 * zone->lock: every function here that touches a free list, nr_free, NR_FREE_PAGES
 * or a pageblock's migratetype is called with zone->lock held (the kernel's rule), so
 * a step program may run one whole critical section as one step.
 */
import { BUG_ON, KernelBug, VM_BUG_ON_PAGE } from './bug.ts';
import {
  INIT_LIST_HEAD, ListSpace, list_add, list_add_tail, list_del, list_empty, list_move_tail, listEntries as listEntriesOf, poisonEntry,
} from './list.ts';
import { F_FLAGS, F_ISOLATORS, F_LIST, F_LOCKER, F_PRIVATE, F_REF, F_TYPE, LIST_NONE, PAGE_STRIDE, TYPE_BUDDY, TYPE_NONE } from './page.ts';

// ---------------------------------------------------------------------------
// enum migratetype (include/linux/mmzone.h), in the kernel's order, restricted to
// the types these systems need. MIGRATE_PCPTYPES is 3 in the kernel (UNMOVABLE,
// MOVABLE, RECLAIMABLE); the model leaves RECLAIMABLE out, so it is 2 here.
export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_PCPTYPES = 2;
export const MIGRATE_CMA = 2;
export const MIGRATE_ISOLATE = 3;
export const MIGRATE_TYPES = 4;
export const MT_NAMES = ['Unmovable', 'Movable', 'CMA', 'Isolate'];

/** migratetype_is_mergeable() (mmzone.h, v5.18+): only the pcp types merge with each other. */
export const migratetype_is_mergeable = (mt: number): boolean => mt < MIGRATE_PCPTYPES;

/** Ghost: who holds an allocated page (actor + 1), 0 for none. Buddy systems have no page lock, so F_LOCKER is free. */
export const F_OWNER = F_LOCKER;
/**
 * page->index as set_pcppage_migratetype() uses it (a free page on a per-cpu list,
 * an aerated page), and, for an in-use page, the migratetype it was allocated with
 * (what PageLRU() / __PageMovable() tell move_freepages_block() about it). Buddy
 * systems have no isolation ghosts, so F_ISOLATORS is free.
 */
export const F_PCP_MT = F_ISOLATORS;

/** List ids in page's F_LIST for pages on a zone list: LIST_BUDDY + (head node - npages). */
export const LIST_BUDDY = 16;

// --- zone layout -------------------------------------------------------------
const Z_NPAGES = 0;
const Z_MAX_ORDER = 1;
const Z_PB_ORDER = 2;
const Z_NMT = 3;
const Z_EXTRA = 4;
/** zone->lock: actor index + 1 of the holder. */
export const Z_LOCK = 5;
/** zone->flags (ZONE_AERATION_REQUESTED / ACTIVE, ...). */
export const Z_FLAGS = 6;
/** vm_stat[NR_FREE_PAGES]: free pages outside MIGRATE_ISOLATE lists. */
export const Z_NR_FREE_PAGES = 7;
/** zone->nr_isolate_pageblock. */
export const Z_NR_ISOLATE = 8;
/** zone->_watermark[WMARK_MIN] (constant per zone). */
const Z_WMARK_MIN = 9;
/** How many CPUs have per-cpu page lists (struct per_cpu_pages) in this zone. */
const Z_PCP_CPUS = 10;
const Z_NR_FREE = 11;

export interface ZoneGeometry {
  readonly npages: number;
  /** MAX_ORDER as in v5.19: orders 0 .. MAX_ORDER-1 exist. */
  readonly maxOrder: number;
  readonly pageblockOrder: number;
  /** How many migratetypes have free lists (the first `nmt` of the enum). */
  readonly nmt: number;
  /** Extra list heads for the system (an aerator's batch, ...). */
  readonly extraLists: number;
  /** zone->_watermark[WMARK_MIN] in pages; 0 when absent. */
  readonly wmarkMin?: number;
  /** CPUs with per-cpu page lists (src/kernel/pcp.ts); 0 when absent. */
  readonly pcpCpus?: number;
}

/**
 * MIGRATE_PCPTYPES of the model (Unmovable, Movable; RECLAIMABLE is left out): the
 * migratetypes a per-cpu list exists for.
 */
export const PCPTYPES = 2;

export const nrFreeAt = (m: Uint8Array, z: number, order: number): number => z + Z_NR_FREE + order;
/** free_area[order].nr_free_aerated (seed 003): right after nr_free. */
export const nrFreeAeratedAt = (m: Uint8Array, z: number, order: number): number => z + Z_NR_FREE + m[z + Z_MAX_ORDER] + order;
const pbBase = (m: Uint8Array, z: number): number => z + Z_NR_FREE + 2 * m[z + Z_MAX_ORDER];
export const pageblockAt = (m: Uint8Array, z: number, pfn: number): number => pbBase(m, z) + (pfn >> m[z + Z_PB_ORDER]);
const linksBase = (m: Uint8Array, z: number): number => pbBase(m, z) + (m[z + Z_NPAGES] >> m[z + Z_PB_ORDER]);
const nextAt = (m: Uint8Array, z: number, node: number): number => linksBase(m, z) + 2 * node;

/** The first byte after the zone (where a system's own fields may start). */
/** Every list_head of the zone: pages, free lists, the system's extra heads, per-cpu lists. */
const nodesOf = (m: Uint8Array, z: number): number =>
  m[z + Z_NPAGES] + m[z + Z_MAX_ORDER] * m[z + Z_NMT] + m[z + Z_EXTRA] + m[z + Z_PCP_CPUS] * m[z + Z_MAX_ORDER] * PCPTYPES;
/** pcp->count of a CPU, then the CPU's pending drain work (pcpu_drain), after the links. */
export const pcpCountAt = (m: Uint8Array, z: number, cpu: number): number => linksBase(m, z) + 2 * nodesOf(m, z) + cpu;
export const pcpDrainPendingAt = (m: Uint8Array, z: number, cpu: number): number => linksBase(m, z) + 2 * nodesOf(m, z) + m[z + Z_PCP_CPUS] + cpu;
export const pcpCpusOf = (m: Uint8Array, z: number): number => m[z + Z_PCP_CPUS];
/** The node of pcp->lists[order_to_pindex(mt, order)] of a CPU. */
export const pcpListHead = (m: Uint8Array, z: number, cpu: number, order: number, mt: number): number =>
  m[z + Z_NPAGES] + m[z + Z_MAX_ORDER] * m[z + Z_NMT] + m[z + Z_EXTRA] + (cpu * m[z + Z_MAX_ORDER] + order) * PCPTYPES + mt;

export function zoneEnd(m: Uint8Array, z: number): number {
  return linksBase(m, z) + 2 * nodesOf(m, z) + 2 * m[z + Z_PCP_CPUS];
}
export const npagesOf = (m: Uint8Array, z: number): number => m[z + Z_NPAGES];
export const maxOrderOf = (m: Uint8Array, z: number): number => m[z + Z_MAX_ORDER];
export const pageblockOrderOf = (m: Uint8Array, z: number): number => m[z + Z_PB_ORDER];
export const nmtOf = (m: Uint8Array, z: number): number => m[z + Z_NMT];
export const nrPageblocks = (m: Uint8Array, z: number): number => m[z + Z_NPAGES] >> m[z + Z_PB_ORDER];
export const nrFreePages = (m: Uint8Array, z: number): number => m[z + Z_NR_FREE_PAGES];

/** Bytes the zone takes after the pages. */
export function zoneSize(g: ZoneGeometry): number {
  const pcp = g.pcpCpus ?? 0;
  const nodes = g.npages + g.maxOrder * g.nmt + g.extraLists + pcp * g.maxOrder * PCPTYPES;
  return Z_NR_FREE + 2 * g.maxOrder + (g.npages >> g.pageblockOrder) + 2 * nodes + 2 * pcp;
}

/**
 * An empty zone at byte `z` of `m`: every list empty, every pageblock of migratetype
 * `mt`, every page allocated to nobody (refcount 0, not PageBuddy). Put pages into it
 * with `seedFreePages` or `__free_one_page`.
 */
export function initZone(m: Uint8Array, z: number, g: ZoneGeometry, mt = MIGRATE_MOVABLE): void {
  BUG_ON(g.npages % (1 << (g.maxOrder - 1)) !== 0, 'npages not a multiple of MAX_ORDER_NR_PAGES', 'initZone');
  BUG_ON(g.pageblockOrder > g.maxOrder - 1, 'pageblock_order > MAX_ORDER - 1', 'initZone');
  m[z + Z_NPAGES] = g.npages;
  m[z + Z_MAX_ORDER] = g.maxOrder;
  m[z + Z_PB_ORDER] = g.pageblockOrder;
  m[z + Z_NMT] = g.nmt;
  m[z + Z_EXTRA] = g.extraLists;
  m[z + Z_WMARK_MIN] = g.wmarkMin ?? 0;
  m[z + Z_PCP_CPUS] = g.pcpCpus ?? 0;
  for (let b = 0; b < g.npages >> g.pageblockOrder; b++) m[pbBase(m, z) + b] = mt;
  const nodes = nodesOf(m, z);
  const S = zoneListSpace(m, z);
  for (let n = g.npages; n < nodes; n++) INIT_LIST_HEAD(m, S, idOf(n));
  for (let n = 0; n < g.npages; n++) poisonEntry(m, S, idOf(n));
}

// --- list heads and links: struct list_head from src/kernel/list.ts ------------
//
// The zone keeps the list_heads of its pages (page->lru) and of its free lists in its
// own bytes (nextAt(node): `next`, then `prev`), and links them with the kernel's
// list.h functions of src/kernel/list.ts, CONFIG_DEBUG_LIST's checks and
// LIST_POISON1/2 included. This module numbers nodes by *index*: pfn for a page's lru,
// then the free-list heads, then the system's extra heads; the pointer stored in the
// world is the index + 1 (a list.ts node id, 0 being NULL).

/** The list.ts node id of a node index. */
const idOf = (node: number): number => node + 1;
/** A list.ts ListSpace for the zone at byte `z`, cached for the zone last asked for. */
let spaceKey = -1;
let space: ListSpace | null = null;
export function zoneListSpace(m: Uint8Array, z: number): ListSpace {
  const key = (z * 16 + m[z + Z_PCP_CPUS]) * 2 ** 32 + (((m[z + Z_NPAGES] << 24) | (m[z + Z_MAX_ORDER] << 16) | (m[z + Z_NMT] << 8) | m[z + Z_EXTRA]) >>> 0);
  if (space && key === spaceKey) return space;
  const S = new ListSpace();
  const npages = m[z + Z_NPAGES];
  const nmt = m[z + Z_NMT];
  const nodes = nodesOf(m, z);
  const extraEnd = npages + m[z + Z_MAX_ORDER] * nmt + m[z + Z_EXTRA];
  for (let n = 0; n < nodes; n++) {
    const k = n - extraEnd;
    const name = n < npages ? `p${n}.lru`
      : n < npages + m[z + Z_MAX_ORDER] * nmt ? `free_area[${Math.floor((n - npages) / nmt)}].free_list[${MT_NAMES[(n - npages) % nmt]}]`
      : n < extraEnd ? `extra${n - npages - m[z + Z_MAX_ORDER] * nmt}`
      : `pcp${Math.floor(k / (m[z + Z_MAX_ORDER] * PCPTYPES))}.lists[${k % (m[z + Z_MAX_ORDER] * PCPTYPES)}]`;
    S.node(idOf(n), nextAt(m, z, n), name, n >= npages);
  }
  spaceKey = key;
  space = S;
  return S;
}

/** The node of &zone->free_area[order].free_list[mt]. */
export const freeListHead = (m: Uint8Array, z: number, order: number, mt: number): number =>
  m[z + Z_NPAGES] + order * m[z + Z_NMT] + mt;
/** The node of the system's k-th extra list head. */
export const extraListHead = (m: Uint8Array, z: number, k: number): number =>
  m[z + Z_NPAGES] + m[z + Z_MAX_ORDER] * m[z + Z_NMT] + k;
/** F_LIST value of a page linked into the list with head `head`. */
export const listIdOf = (m: Uint8Array, z: number, head: number): number => LIST_BUDDY + head - m[z + Z_NPAGES];
/** The (order, mt) of a free list id, or null for an extra list. */
export function freeListOf(m: Uint8Array, z: number, listId: number): { order: number; mt: number } | null {
  const k = listId - LIST_BUDDY;
  const nmt = m[z + Z_NMT];
  if (k < 0 || k >= m[z + Z_MAX_ORDER] * nmt) return null;
  return { order: Math.floor(k / nmt), mt: k % nmt };
}

/** node->next as a node index (a poisoned or NULL pointer comes out >= every node). */
export const lruNext = (m: Uint8Array, z: number, node: number): number => (m[nextAt(m, z, node)] - 1) & 0xff;
/** node->prev as a node index. */
export const lruPrev = (m: Uint8Array, z: number, node: number): number => (m[nextAt(m, z, node) + 1] - 1) & 0xff;
export const isPageNode = (m: Uint8Array, z: number, node: number): boolean => node < m[z + Z_NPAGES];

/** list_add(&page->lru, head): right after `head` (a list head or any node). */
export function list_add_node(m: Uint8Array, z: number, node: number, head: number): void {
  list_add(m, zoneListSpace(m, z), idOf(node), idOf(head));
}
/** list_add_tail(&page->lru, head): right before `head`. */
export function list_add_tail_node(m: Uint8Array, z: number, node: number, head: number): void {
  list_add_tail(m, zoneListSpace(m, z), idOf(node), idOf(head));
}
/** list_del(&page->lru): unlink and poison (LIST_POISON1/2), with CONFIG_DEBUG_LIST's checks. */
export function list_del_node(m: Uint8Array, z: number, node: number): void {
  list_del(m, zoneListSpace(m, z), idOf(node));
}
/** list_move_tail(entry, head): `entry` (a page's lru or a list head) moves right before `head`. */
export function list_move_tail_node(m: Uint8Array, z: number, node: number, head: number): void {
  list_move_tail(m, zoneListSpace(m, z), idOf(node), idOf(head));
}
export const list_empty_head = (m: Uint8Array, z: number, head: number): boolean => list_empty(m, zoneListSpace(m, z), idOf(head));
/** The entries of a list from its first to its last, as node indices. */
export function listEntries(m: Uint8Array, z: number, head: number): number[] {
  return listEntriesOf(m, zoneListSpace(m, z), idOf(head), 'list_for_each', m[z + Z_NPAGES] + 1).map((id) => id - 1);
}

// --- pageblock flags (mm/page_alloc.c, include/linux/pageblock-flags.h) -------

/** get_pageblock_migratetype() / get_pfnblock_migratetype(). */
export const get_pageblock_migratetype = (m: Uint8Array, z: number, pfn: number): number => m[pageblockAt(m, z, pfn)];
/** set_pageblock_migratetype(). */
export function set_pageblock_migratetype(m: Uint8Array, z: number, pfn: number, mt: number): void {
  m[pageblockAt(m, z, pfn)] = mt;
}
export const is_migrate_isolate_page = (m: Uint8Array, z: number, pfn: number): boolean =>
  get_pageblock_migratetype(m, z, pfn) === MIGRATE_ISOLATE;
export const pageblockNrPages = (m: Uint8Array, z: number): number => 1 << m[z + Z_PB_ORDER];
export const maxOrderNrPages = (m: Uint8Array, z: number): number => 1 << (m[z + Z_MAX_ORDER] - 1);

// --- PageBuddy, buddy_order (include/linux/page-flags.h, mm/internal.h) -------

export const PageBuddy = (m: Uint8Array, pfn: number): boolean => m[pfn * PAGE_STRIDE + F_TYPE] === TYPE_BUDDY;
/** buddy_order(): page_private(page) of a PageBuddy page. */
export const buddy_order = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_PRIVATE];
/** set_buddy_order(): set_page_private(page, order); __SetPageBuddy(page). */
function set_buddy_order(m: Uint8Array, pfn: number, order: number): void {
  m[pfn * PAGE_STRIDE + F_PRIVATE] = order;
  m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_BUDDY;
}

/** __mod_zone_freepage_state(zone, nr_pages, migratetype): NR_FREE_PAGES (NR_FREE_CMA_PAGES left out). */
export function __mod_zone_freepage_state(m: Uint8Array, z: number, nr: number, mt: number): void {
  if (mt === MIGRATE_ISOLATE) throw new KernelBug('__mod_zone_freepage_state on MIGRATE_ISOLATE', '__mod_zone_freepage_state', -1);
  const v = m[z + Z_NR_FREE_PAGES] + nr;
  BUG_ON(v < 0 || v > 255, 'NR_FREE_PAGES out of range', '__mod_zone_freepage_state');
  m[z + Z_NR_FREE_PAGES] = v;
}

// --- free lists (mm/page_alloc.c v5.19) ----------------------------------------

/**
 * Hooks of the free-page-aeration seed (003) into the free lists. The plain buddy
 * allocator has none: the tail of a list is its head, and nothing is notified.
 */
export interface FreeHooks {
  /** aerator_get_tail(zone, order, mt): the node before which list_add_tail() inserts. */
  tail?(m: Uint8Array, z: number, order: number, mt: number): number;
  /** clear_page_aerated(): called by del_page_from_free_list() before the page is unlinked. */
  onDel?(m: Uint8Array, z: number, pfn: number, order: number): void;
  /**
   * The end of __free_one_page() with patch 4/6 of seed 003: set_page_aerated() for a
   * page freed aerated that merged with nothing (fully_aerated), else
   * aerator_notify_free(zone, order).
   */
  onFreed?(m: Uint8Array, z: number, pfn: number, order: number, mt: number, fullyAerated: boolean): void;
}

/** add_to_free_list(): list_add at the head of free_list[mt]; nr_free++. */
export function add_to_free_list(m: Uint8Array, z: number, pfn: number, order: number, mt: number): void {
  const head = freeListHead(m, z, order, mt);
  list_add_node(m, z, pfn, head);
  m[pfn * PAGE_STRIDE + F_LIST] = listIdOf(m, z, head);
  m[nrFreeAt(m, z, order)]++;
}

/** add_to_free_list_tail(): list_add_tail before the list's tail (aerator_get_tail() with seed 003). */
export function add_to_free_list_tail(m: Uint8Array, z: number, pfn: number, order: number, mt: number, hooks?: FreeHooks): void {
  const head = freeListHead(m, z, order, mt);
  const tail = hooks?.tail ? hooks.tail(m, z, order, mt) : head;
  list_add_tail_node(m, z, pfn, tail);
  m[pfn * PAGE_STRIDE + F_LIST] = listIdOf(m, z, head);
  m[nrFreeAt(m, z, order)]++;
}

/** move_to_free_list(): list_move_tail(&page->lru, &area->free_list[mt]). */
export function move_to_free_list(m: Uint8Array, z: number, pfn: number, order: number, mt: number, hooks?: FreeHooks): void {
  // Seed 003 patch 4/6: move_to_free_area() clears PageAerated (the page leaves the aerated tail).
  hooks?.onDel?.(m, z, pfn, order);
  const head = freeListHead(m, z, order, mt);
  list_move_tail_node(m, z, pfn, head);
  m[pfn * PAGE_STRIDE + F_LIST] = listIdOf(m, z, head);
}

/** del_page_from_free_list(): list_del, __ClearPageBuddy, set_page_private(page, 0), nr_free--. */
export function del_page_from_free_list(m: Uint8Array, z: number, pfn: number, order: number, hooks?: FreeHooks): void {
  hooks?.onDel?.(m, z, pfn, order);
  list_del_node(m, z, pfn);
  const o = pfn * PAGE_STRIDE;
  m[o + F_LIST] = LIST_NONE;
  m[o + F_TYPE] = TYPE_NONE;
  m[o + F_PRIVATE] = 0;
  BUG_ON(m[nrFreeAt(m, z, order)] === 0, 'nr_free underflow', 'del_page_from_free_list', pfn);
  m[nrFreeAt(m, z, order)]--;
}

/** The first page of free_list[mt] of an order, or -1: get_page_from_free_area(). */
export function get_page_from_free_area(m: Uint8Array, z: number, order: number, mt: number): number {
  const head = freeListHead(m, z, order, mt);
  const first = lruNext(m, z, head);
  return first === head ? -1 : first;
}

/**
 * page_is_buddy() + find_buddy_page_pfn(): the buddy of the order-`order` page at
 * `pfn` if it is free with that very order, else -1.
 */
export function find_buddy_page_pfn(m: Uint8Array, z: number, pfn: number, order: number): number {
  const buddy = pfn ^ (1 << order);
  if (buddy >= m[z + Z_NPAGES]) return -1;
  if (!PageBuddy(m, buddy) || buddy_order(m, buddy) !== order) return -1;
  return buddy;
}

/**
 * buddy_merge_likely(): is the buddy of the would-be merged page free, so that this
 * page is likely to be merged soon? Then it goes to the list's tail.
 */
function buddy_merge_likely(m: Uint8Array, z: number, pfn: number, buddyPfn: number, order: number): boolean {
  if (order >= m[z + Z_MAX_ORDER] - 2) return false;
  const higher = buddyPfn & pfn;
  return find_buddy_page_pfn(m, z, higher, order + 1) >= 0;
}

export const FPI_NONE = 0;
/** FPI_TO_TAIL: put the page at the list's tail (undo of isolation, aerated pages). */
export const FPI_TO_TAIL = 1;

/**
 * __free_one_page() (mm/page_alloc.c, v5.19), zone->lock held: merge the freed page
 * with its free buddies while they are free with the same order, except that at or
 * above pageblock_order a page does not merge with a buddy whose pageblock has a
 * different migratetype when either type cannot fall back to the other (MIGRATE_CMA,
 * MIGRATE_ISOLATE: "pageblock isolation could cause incorrect freepage or CMA
 * accounting"). Then the page goes to free_list[migratetype] of its final order, at
 * the tail when buddy_merge_likely() says so or the caller asks (FPI_TO_TAIL).
 * Returns the final (pfn, order) as pfn | order << 8 for callers that notify.
 */
export function __free_one_page(
  m: Uint8Array, z: number, pfn: number, order: number, mt: number, fpi = FPI_NONE, hooks?: FreeHooks, aerated = false,
): { pfn: number; order: number } {
  // Seed 003's patch 4/6: "bool fully_aerated = aerated;" and every merge clears it
  // ("assume buddy is not aerated").
  let fullyAerated = aerated;
  const o = pfn * PAGE_STRIDE;
  VM_BUG_ON_PAGE(m[o + F_TYPE] === TYPE_BUDDY, 'PageBuddy(page) at free', '__free_one_page', pfn);
  VM_BUG_ON_PAGE((pfn & ((1 << order) - 1)) !== 0, 'pfn & ((1 << order) - 1)', '__free_one_page', pfn);
  VM_BUG_ON_PAGE(pfn + (1 << order) > m[z + Z_NPAGES], 'bad_range(zone, page)', '__free_one_page', pfn);
  if (mt !== MIGRATE_ISOLATE) __mod_zone_freepage_state(m, z, 1 << order, mt);
  const maxOrder = m[z + Z_MAX_ORDER];
  const pbOrder = m[z + Z_PB_ORDER];
  let buddyPfn = pfn ^ (1 << order);
  while (order < maxOrder - 1) {
    buddyPfn = pfn ^ (1 << order);
    const buddy = find_buddy_page_pfn(m, z, pfn, order);
    if (buddy < 0) break;
    if (order >= pbOrder) {
      const buddyMt = get_pageblock_migratetype(m, z, buddy);
      if (mt !== buddyMt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddyMt))) break;
    }
    if (aerated) fullyAerated = false;
    del_page_from_free_list(m, z, buddy, order, hooks);
    pfn &= buddy;
    order++;
  }
  set_buddy_order(m, pfn, order);
  const toTail = aerated || (fpi & FPI_TO_TAIL) !== 0 || buddy_merge_likely(m, z, pfn, buddyPfn, order);
  if (toTail) add_to_free_list_tail(m, z, pfn, order, mt, hooks);
  else add_to_free_list(m, z, pfn, order, mt);
  hooks?.onFreed?.(m, z, pfn, order, mt, fullyAerated);
  return { pfn, order };
}

/**
 * expand() (mm/page_alloc.c, v5.19): split an order-`high` free block taken off the
 * lists down to order `low`, giving each upper half back to free_list[mt].
 */
export function expand(m: Uint8Array, z: number, pfn: number, low: number, high: number, mt: number): void {
  let size = 1 << high;
  while (high > low) {
    high--;
    size >>= 1;
    VM_BUG_ON_PAGE(pfn + size >= m[z + Z_NPAGES], 'bad_range(zone, &page[size])', 'expand', pfn + size);
    add_to_free_list(m, z, pfn + size, high, mt);
    set_buddy_order(m, pfn + size, high);
  }
}

/**
 * __rmqueue_smallest() (mm/page_alloc.c, v5.19): the first page of the smallest
 * non-empty free_list[mt] of order >= `order`, split down by expand(). Returns its
 * pfn or -1. The model has no fallback to other migratetypes (__rmqueue_fallback)
 * and no per-cpu lists: allocations are served straight from the buddy lists.
 */
export function __rmqueue_smallest(m: Uint8Array, z: number, order: number, mt: number, hooks?: FreeHooks, expandFn = expand): number {
  const maxOrder = m[z + Z_MAX_ORDER];
  for (let cur = order; cur < maxOrder; cur++) {
    const page = get_page_from_free_area(m, z, cur, mt);
    if (page < 0) continue;
    del_page_from_free_list(m, z, page, cur, hooks);
    expandFn(m, z, page, order, cur, mt);
    m[page * PAGE_STRIDE + F_PCP_MT] = mt; // set_pcppage_migratetype(page, migratetype)
    return page;
  }
  return -1;
}

/** fallbacks[] (mm/page_alloc.c, v5.19) without MIGRATE_RECLAIMABLE: where each pcp type falls back to. */
export const FALLBACKS: readonly (readonly number[])[] = [[MIGRATE_MOVABLE], [MIGRATE_UNMOVABLE]];

/** can_steal_fallback() (v5.19). */
export function can_steal_fallback(m: Uint8Array, z: number, order: number, startMt: number): boolean {
  const pbOrder = m[z + Z_PB_ORDER];
  if (order >= pbOrder) return true;
  return order >= pbOrder >> 1 || startMt === MIGRATE_UNMOVABLE;
}

/** find_suitable_fallback(area, order, migratetype, only_stealable = false): the fallback type and can_steal, or -1. */
export function find_suitable_fallback(m: Uint8Array, z: number, order: number, mt: number, fallbacks = FALLBACKS): { mt: number; canSteal: boolean } | null {
  if (m[nrFreeAt(m, z, order)] === 0) return null;
  for (const fallback of fallbacks[mt] ?? []) {
    if (get_page_from_free_area(m, z, order, fallback) < 0) continue;
    return { mt: fallback, canSteal: can_steal_fallback(m, z, order, mt) };
  }
  return null;
}

/**
 * steal_suitable_fallback() (v5.19), zone->lock held: a page of at least
 * pageblock_order takes its pageblocks over (change_pageblock_range()); otherwise,
 * allowed to steal the whole block, move_freepages_block() moves the block's free
 * pages to the new type, and the block changes type when free and alike pages make
 * at least half of it; the page itself goes to the new type's list either way.
 */
export function steal_suitable_fallback(m: Uint8Array, z: number, page: number, startMt: number, wholeBlock: boolean, hooks?: FreeHooks): void {
  const order = buddy_order(m, page);
  const oldMt = get_pageblock_migratetype(m, z, page);
  const pbOrder = m[z + Z_PB_ORDER];
  if (order >= pbOrder) {
    // change_pageblock_range(page, current_order, start_type)
    for (let p = page; p < page + (1 << order); p += pageblockNrPages(m, z)) set_pageblock_migratetype(m, z, p, startMt);
    move_to_free_list(m, z, page, order, startMt, hooks);
    return;
  }
  if (!wholeBlock) { move_to_free_list(m, z, page, order, startMt, hooks); return; }
  const { moved: freePages, movable } = move_freepages_block_counting(m, z, page, startMt, hooks);
  let alike: number;
  if (startMt === MIGRATE_MOVABLE) alike = movable;
  else alike = oldMt === MIGRATE_MOVABLE ? pageblockNrPages(m, z) - (freePages + movable) : 0;
  if (!freePages) { move_to_free_list(m, z, page, order, startMt, hooks); return; }
  if (freePages + alike >= 1 << (pbOrder - 1)) set_pageblock_migratetype(m, z, page, startMt);
}

/**
 * __rmqueue_fallback() (v5.19, no ALLOC_NOFRAGMENT): the largest free page of a
 * fallback type; when it cannot steal the block and the request is movable, the
 * smallest one instead; then steal_suitable_fallback(). Returns false when there is none.
 */
export function __rmqueue_fallback(m: Uint8Array, z: number, order: number, startMt: number, hooks?: FreeHooks, fallbacks = FALLBACKS): boolean {
  const maxOrder = m[z + Z_MAX_ORDER];
  let found: { order: number; mt: number; canSteal: boolean } | null = null;
  for (let cur = maxOrder - 1; cur >= order; cur--) {
    const f = find_suitable_fallback(m, z, cur, startMt, fallbacks);
    if (!f) continue;
    found = { order: cur, ...f };
    if (!f.canSteal && startMt === MIGRATE_MOVABLE && cur > order) {
      // find_smallest
      for (let small = order; small < maxOrder; small++) {
        const g = find_suitable_fallback(m, z, small, startMt, fallbacks);
        if (g) { found = { order: small, ...g }; break; }
      }
    }
    break;
  }
  if (!found) return false;
  const page = get_page_from_free_area(m, z, found.order, found.mt);
  steal_suitable_fallback(m, z, page, startMt, found.canSteal, hooks);
  return true;
}

/** __rmqueue() (v5.19, no CMA): __rmqueue_smallest(), and on failure __rmqueue_fallback() and retry. */
export function __rmqueue(m: Uint8Array, z: number, order: number, mt: number, hooks?: FreeHooks, expandFn = expand, fallbacks = FALLBACKS): number {
  for (;;) {
    const page = __rmqueue_smallest(m, z, order, mt, hooks, expandFn);
    if (page >= 0) return page;
    if (!__rmqueue_fallback(m, z, order, mt, hooks, fallbacks)) return -1;
  }
}

/**
 * prep_new_page() for a block the allocator hands out: check_new_page() (no stale
 * flags, not PageBuddy) and set_page_refcounted(); the ghost owner is recorded on
 * every page of the block, and the head keeps the order in page->private as
 * compound_order() (prep_compound_page) does for __GFP_COMP.
 */
export function prep_new_page(m: Uint8Array, pfn: number, order: number, owner: number): void {
  for (let i = 0; i < 1 << order; i++) {
    const o = (pfn + i) * PAGE_STRIDE;
    if (m[o + F_TYPE] !== TYPE_NONE || m[o + F_REF] !== 0 || m[o + F_FLAGS] !== 0) {
      throw new KernelBug('bad_page(): check_new_page', 'prep_new_page', pfn + i);
    }
    m[o + F_OWNER] = owner + 1;
  }
  m[pfn * PAGE_STRIDE + F_REF] = 1;
  m[pfn * PAGE_STRIDE + F_PRIVATE] = order;
}

/**
 * rmqueue() for a buddy allocation (rmqueue_buddy(), v5.19), zone->lock held for the
 * whole call: __rmqueue_smallest() then prep_new_page(). Returns the pfn or -1.
 */
export function rmqueue(m: Uint8Array, z: number, order: number, mt: number, owner: number, hooks?: FreeHooks, expandFn = expand): number {
  const pfn = __rmqueue(m, z, order, mt, hooks, expandFn);
  if (pfn >= 0) {
    __mod_zone_freepage_state(m, z, -(1 << order), mt);
    prep_new_page(m, pfn, order, owner);
    for (let i = 0; i < 1 << order; i++) m[(pfn + i) * PAGE_STRIDE + F_PCP_MT] = mt;
  }
  return pfn;
}

/**
 * free_pages_prepare() for an allocated block: the checks of free_pages_check()
 * that apply here (refcount dropped to zero by the caller, no stale flags), the
 * compound order dropped, the ghost owner cleared.
 */
export function free_pages_prepare(m: Uint8Array, pfn: number, order: number): void {
  for (let i = 0; i < 1 << order; i++) {
    const o = (pfn + i) * PAGE_STRIDE;
    if (m[o + F_TYPE] !== TYPE_NONE) throw new KernelBug('bad_page(): nonzero mapcount', 'free_pages_check', pfn + i);
    if (m[o + F_REF] !== 0) throw new KernelBug('bad_page(): nonzero _refcount', 'free_pages_check', pfn + i);
    m[o + F_OWNER] = 0;
    m[o + F_PRIVATE] = 0;
    // page->index is not read again before it is set (set_pcppage_migratetype(), an
    // allocation): cleared so that stale values do not split states.
    m[o + F_PCP_MT] = 0;
  }
}

/**
 * __free_pages(page, order) of the last reference, down to free_one_page() under
 * zone->lock (v5.19 __free_pages_ok): the migratetype is the pageblock's, read
 * under the lock when any pageblock is isolated (has_isolate_pageblock()), and the
 * whole block goes to __free_one_page(). One call = one zone->lock section.
 */
export function __free_pages(m: Uint8Array, z: number, pfn: number, order: number, hooks?: FreeHooks): { pfn: number; order: number } {
  const o = pfn * PAGE_STRIDE;
  BUG_ON(m[o + F_REF] !== 1, 'page_ref_count(page) != 1 at __free_pages', '__free_pages', pfn);
  m[o + F_REF] = 0;
  free_pages_prepare(m, pfn, order);
  return __free_one_page(m, z, pfn, order, get_pageblock_migratetype(m, z, pfn), FPI_NONE, hooks);
}

/**
 * move_freepages_block() (mm/page_alloc.c, v5.19): move every free page whose head
 * lies in the pageblock of `pfn` to free_list[mt] (a page of order above
 * pageblock_order moves whole, with the pages it holds in the next pageblock), and
 * count the block's in-use movable pages (num_movable: PageLRU() or __PageMovable(),
 * here an in-use page allocated MIGRATE_MOVABLE). Returns the pages moved.
 */
export function move_freepages_block_counting(m: Uint8Array, z: number, pfn: number, mt: number, hooks?: FreeHooks): { moved: number; movable: number } {
  const nr = pageblockNrPages(m, z);
  const start = pfn & ~(nr - 1);
  let moved = 0;
  let movable = 0;
  for (let p = start; p < start + nr;) {
    if (!PageBuddy(m, p)) {
      if (m[p * PAGE_STRIDE + F_OWNER] !== 0 && m[p * PAGE_STRIDE + F_PCP_MT] === MIGRATE_MOVABLE) movable++;
      p++;
      continue;
    }
    const order = buddy_order(m, p);
    move_to_free_list(m, z, p, order, mt, hooks);
    p += 1 << order;
    moved += 1 << order;
  }
  return { moved, movable };
}
export const move_freepages_block = (m: Uint8Array, z: number, pfn: number, mt: number, hooks?: FreeHooks): number =>
  move_freepages_block_counting(m, z, pfn, mt, hooks).moved;

/** The migratetype of the free list a free page is on (walks to its list head). */
export function freeListMigratetype(m: Uint8Array, z: number, pfn: number): number {
  const where = freeListOf(m, z, m[pfn * PAGE_STRIDE + F_LIST]);
  if (!where) throw new KernelBug('PageBuddy page not on a free list', 'freeListMigratetype', pfn);
  return where.mt;
}

/**
 * zone_watermark_ok(zone, 0, mark, 0, ALLOC_CMA) (mm/page_alloc.c, v5.19,
 * __zone_watermark_ok() for order 0 with no highatomic reserve, no lowmem_reserve and
 * no CMA pages held back): free_pages > mark.
 */
export const zone_watermark_ok_order0 = (m: Uint8Array, z: number, mark: number): boolean => m[z + Z_NR_FREE_PAGES] > mark;
export const wmarkMinOf = (m: Uint8Array, z: number): number => m[z + Z_WMARK_MIN];

/**
 * __isolate_free_page() (mm/page_alloc.c, v5.19), zone->lock held: take a free page
 * off its list for the caller. The migratetype is the pageblock's
 * (get_pageblock_migratetype()), not the list's; outside an isolated pageblock the
 * watermarks are obeyed "as if the page was being allocated" (min + 1 << order, else
 * 0 is returned and nothing changes) and NR_FREE_PAGES drops. A page of at least
 * half a pageblock turns each pageblock it starts ("for (; page < endpage; page +=
 * pageblock_nr_pages)") that is not isolated (nor CMA, nor highatomic, which the model
 * has not) into MIGRATE_MOVABLE. Returns 1 << order, or 0.
 */
export function __isolate_free_page(m: Uint8Array, z: number, pfn: number, order: number, hooks?: FreeHooks): number {
  BUG_ON(!PageBuddy(m, pfn), '!PageBuddy(page)', '__isolate_free_page', pfn);
  const mt = get_pageblock_migratetype(m, z, pfn);
  if (mt !== MIGRATE_ISOLATE) {
    const watermark = m[z + Z_WMARK_MIN] + (1 << order);
    if (!zone_watermark_ok_order0(m, z, watermark)) return 0;
    __mod_zone_freepage_state(m, z, -(1 << order), mt);
  }
  del_page_from_free_list(m, z, pfn, order, hooks);
  if (order >= m[z + Z_PB_ORDER] - 1) {
    const endpage = pfn + (1 << order) - 1;
    for (let page = pfn; page < endpage; page += pageblockNrPages(m, z)) {
      const bmt = get_pageblock_migratetype(m, z, page);
      if (bmt !== MIGRATE_ISOLATE && bmt !== MIGRATE_CMA) set_pageblock_migratetype(m, z, page, MIGRATE_MOVABLE);
    }
  }
  return 1 << order;
}

/**
 * split_free_page() (mm/page_alloc.c, v5.19: the seed's function with the recheck
 * added by 88ee134320b8), zone->lock held: split the free page at `pfn` of `order`
 * at `splitOffset` pages into blocks freed one by one to the free lists of their own
 * pageblocks. Returns false (the kernel's -ENOENT) when the page is no longer a free
 * page of that order.
 */
export function split_free_page(m: Uint8Array, z: number, freePfn: number, order: number, splitOffset: number): boolean {
  if (splitOffset === 0) return true;
  if (!PageBuddy(m, freePfn) || buddy_order(m, freePfn) !== order) return false;
  // v5.19: the pageblock's migratetype, whatever list the page is on.
  const mt = get_pageblock_migratetype(m, z, freePfn);
  del_page_from_free_list(m, z, freePfn, order);
  if (mt !== MIGRATE_ISOLATE) __mod_zone_freepage_state(m, z, -(1 << order), mt);
  for (let pfn = freePfn; pfn < freePfn + (1 << order);) {
    const blockMt = get_pageblock_migratetype(m, z, pfn);
    const freeOrder = Math.min(ctz(pfn), floorLog2(splitOffset));
    __free_one_page(m, z, pfn, freeOrder, blockMt, FPI_NONE);
    pfn += 1 << freeOrder;
    splitOffset -= 1 << freeOrder;
    if (splitOffset === 0) splitOffset = (1 << order) - (pfn - freePfn);
  }
  return true;
}

const floorLog2 = (x: number): number => 31 - Math.clz32(x);
/** __ffs(pfn), capped: the largest order pfn is aligned to. */
const ctz = (x: number): number => (x === 0 ? 31 : 31 - Math.clz32(x & -x));

// --- checks shared by tests and properties -------------------------------------

/**
 * Everything the zone's free lists must agree on, under zone->lock: each list is a
 * well-formed ring; each page on free_list[mt] of an order is PageBuddy with that
 * order, aligned, and says it is on that list; nr_free[order] counts them; free
 * blocks are disjoint; no PageBuddy page is off the lists; and (unless
 * `nrFreePagesToo` is false) NR_FREE_PAGES counts the pages on lists other than
 * MIGRATE_ISOLATE's. Returns null or what is
 * wrong.
 */
export function checkFreeLists(m: Uint8Array, z: number, nrFreePagesToo = true): string | null {
  const npages = m[z + Z_NPAGES];
  const maxOrder = m[z + Z_MAX_ORDER];
  const nmt = m[z + Z_NMT];
  const covered = new Uint8Array(npages);
  let nonIsolated = 0;
  for (let order = 0; order < maxOrder; order++) {
    let count = 0;
    for (let mt = 0; mt < nmt; mt++) {
      const head = freeListHead(m, z, order, mt);
      let prev = head;
      let steps = 0;
      for (let n = lruNext(m, z, head); n !== head; n = lruNext(m, z, n)) {
        if (n >= npages || ++steps > npages) return `free_list[${order}][${MT_NAMES[mt]}] is corrupt`;
        if (lruPrev(m, z, n) !== prev) return `free_list[${order}][${MT_NAMES[mt]}]: pfn ${n}'s prev link is wrong`;
        if (!PageBuddy(m, n)) return `pfn ${n} is on free_list[${order}][${MT_NAMES[mt]}] but not PageBuddy`;
        if (buddy_order(m, n) !== order) return `pfn ${n} is on free_list[${order}] with buddy order ${buddy_order(m, n)}`;
        if (m[n * PAGE_STRIDE + F_LIST] !== listIdOf(m, z, head)) return `pfn ${n} does not know it is on free_list[${order}][${MT_NAMES[mt]}]`;
        if (n & ((1 << order) - 1)) return `pfn ${n} of order ${order} is misaligned`;
        for (let i = n; i < n + (1 << order); i++) {
          if (i >= npages) return `free page ${n} of order ${order} runs past the zone`;
          if (covered[i]) return `pfn ${i} is in two free pages`;
          covered[i] = 1;
        }
        count++;
        if (mt !== MIGRATE_ISOLATE) nonIsolated += 1 << order;
        prev = n;
      }
      if (lruPrev(m, z, head) !== prev) return `free_list[${order}][${MT_NAMES[mt]}]: the head's prev link is wrong`;
    }
    if (m[nrFreeAt(m, z, order)] !== count) return `free_area[${order}].nr_free is ${m[nrFreeAt(m, z, order)]} but its lists hold ${count} pages`;
  }
  for (let pfn = 0; pfn < npages; pfn++) {
    if (PageBuddy(m, pfn) && !covered[pfn]) return `pfn ${pfn} is PageBuddy but on no free list`;
  }
  if (nrFreePagesToo && m[z + Z_NR_FREE_PAGES] !== nonIsolated) return `NR_FREE_PAGES is ${m[z + Z_NR_FREE_PAGES]} but the non-isolated free lists hold ${nonIsolated} pages`;
  return null;
}

/** The set of free pfns (every page of every free block), for tests and properties. */
export function freePfns(m: Uint8Array, z: number): Set<number> {
  const out = new Set<number>();
  const npages = m[z + Z_NPAGES];
  for (let pfn = 0; pfn < npages; pfn++) {
    if (PageBuddy(m, pfn)) for (let i = 0; i < 1 << buddy_order(m, pfn); i++) out.add(pfn + i);
  }
  return out;
}

/** Render free_area for traces: `o0: M[3,1] ; o2: I[4]`. */
export function describeFreeArea(m: Uint8Array, z: number): string {
  const parts: string[] = [];
  const maxOrder = m[z + Z_MAX_ORDER];
  const nmt = m[z + Z_NMT];
  for (let order = 0; order < maxOrder; order++) {
    for (let mt = 0; mt < nmt; mt++) {
      const head = freeListHead(m, z, order, mt);
      if (list_empty_head(m, z, head)) continue;
      let e: number[];
      try { e = listEntries(m, z, head); } catch { e = [-1]; }
      parts.push(`o${order}.${MT_NAMES[mt][0]}[${e.join(',')}]`);
    }
  }
  return parts.join(' ') || 'empty';
}
