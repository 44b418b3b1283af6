/**
 * The pages and list heads every migration system (nonlru, balloon, zsmalloc) starts
 * from:
 *
 *   pfn [0, pages)                the driver's pages, free until it allocates them
 *   pfn pages + c*pages + j       CPU c's migration targets, already taken from the
 *                                 buddy allocator by the free scanner
 *                                 (isolate_freepages_block() + map_pages(): refcount 1)
 *                                 and waiting on CPU c's cc->freepages
 *   then, at `heads`              the list heads (struct list_head, two bytes each):
 *                                 the zone's free list and the LRU (membership only,
 *                                 see NODE_BUDDY_FREE), the driver's list, and each
 *                                 CPU's cc->migratepages and cc->freepages
 *
 * Page pfn's page->lru is node pageNode(pfn) of the world's ListSpace.
 */
import { INIT_LIST_HEAD, LIST_NULL, LIST_POISON1, ListSpace, headOf, internSpace, list_add, spaceOf } from '../../src/kernel/list.ts';
import {
  F_FLAGS, F_LRU, F_MAPPING, F_PRIVATE, F_REF, F_TYPE, FILE_MAPPING, NODE_BUDDY_FREE, NODE_HEADS, NODE_LRU,
  PAGE_MAPPING_ANON, PAGE_STRIDE, PG_head, PG_lru, PG_slab, TYPE_BUDDY, pageNode, nodePage, MAX_PAGE_NODES, poisonLru, setCompoundHead, setLru,
} from '../../src/kernel/page.ts';

export interface MigrationPages {
  readonly cpus: number;
  readonly pages: number;
  /** How many kinds of the scan mix (SCAN_MIX) the world holds after the driver's pages. */
  readonly mix: number;
  /** Their pages: pfns [pages, pages + foreign). */
  readonly foreign: number;
  readonly npages: number;
  /** Byte offset of the first list head. */
  readonly heads: number;
  /** The world's ListSpace, as an id for step params (list.ts internSpace). */
  readonly lists: number;
  /** Node ids of the driver's list head, and of CPU c's cc->migratepages and cc->freepages. */
  readonly driverList: number;
  migrateList(cpu: number): number;
  freeList(cpu: number): number;
}

/** The list head node ids of a migration world. */
export const DRIVER_HEAD = NODE_HEADS;
export const migrateHead = (cpu: number): number => NODE_HEADS + 1 + 2 * cpu;
export const freeHead = (cpu: number): number => NODE_HEADS + 2 + 2 * cpu;
/** Bytes of the heads area: the free list, the LRU, the driver's list, two per CPU. */
export const headsBytes = (cpus: number): number => 2 * (3 + 2 * cpus);
/** World offset of head node `id` in a heads area at `heads`. */
export const headAt = (heads: number, id: number): number => heads + 2 * (id - NODE_BUDDY_FREE);

/**
 * The page kinds the compaction scan meets besides the driver's (v4.8
 * isolate_migratepages_block() tests each), in the order `--mix N` adds them, with
 * the field aliases each has:
 * - slab: PG_slab, one reference; page->mapping NULL (SLUB) or s_mem (SLAB, a
 *   cache-line-aligned address: low bits clear), so never __PageMovable;
 * - free: a free order-1 buddy block, PageBuddy and page_private = 1 on the head only,
 *   refcount 0 on both;
 * - thp: an order-1 compound page on the LRU, PG_head|PG_lru on the head (anonymous:
 *   mapping = anon_vma | PAGE_MAPPING_ANON), the tail's compound_head in lru.next,
 *   its compound_order in lru.prev and compound_mapcount = 2 (three PMD mappings) in
 *   page->mapping: low bits 0b10, which reads as PAGE_MAPPING_MOVABLE (Vlastimil
 *   Babka's review of seed patch 02); refcount 0 on the tail;
 * - lru: a file page on the LRU (mapping = a file's address_space, no isolate_page).
 */
export const SCAN_MIX = [
  { kind: 'slab', pages: 1 },
  { kind: 'free', pages: 2 },
  { kind: 'thp', pages: 2 },
  { kind: 'lru', pages: 1 },
] as const;
export const mixPages = (mix: number): number => SCAN_MIX.slice(0, mix).reduce((n, k) => n + k.pages, 0);
/** The anon_vma id of the THP in the mix (any id: PAGE_MAPPING_ANON makes page_mapping() NULL). */
const ANON_VMA = 2;

export const targetPfn = (lay: { pages: number; foreign?: number }, cpu: number, j: number): number =>
  lay.pages + (lay.foreign ?? 0) + cpu * lay.pages + j;

/** `p0` for a driver page, `thp+1` for a page of the mix, `t1.0` for CPU 1's first target: trace labels. */
export function migrationPageLabel(lay: { pages: number; foreign?: number }, pfn: number): string {
  if (pfn < lay.pages) return `p${pfn}`;
  const foreign = lay.foreign ?? 0;
  if (pfn < lay.pages + foreign) {
    let at = lay.pages;
    for (const k of SCAN_MIX) {
      if (pfn < at + k.pages) return pfn === at ? k.kind : `${k.kind}+${pfn - at}`;
      at += k.pages;
    }
  }
  const c = Math.floor((pfn - lay.pages - foreign) / lay.pages);
  return `t${c}.${pfn - targetPfn(lay, c, 0)}`;
}

/** Write the pages of the first `mix` kinds of SCAN_MIX from pfn `at`. */
function initScanMix(m: Uint8Array, at: number, mix: number): void {
  for (const k of SCAN_MIX.slice(0, mix)) {
    const o = at * PAGE_STRIDE;
    switch (k.kind) {
      case 'slab':
        m[o + F_FLAGS] = PG_slab;
        m[o + F_REF] = 1;
        poisonLru(m, at);
        break;
      case 'free':
        m[o + F_TYPE] = TYPE_BUDDY;
        m[o + F_PRIVATE] = 1; // set_page_order(page, 1)
        setLru(m, at, NODE_BUDDY_FREE, NODE_BUDDY_FREE);
        poisonLru(m, at + 1);
        break;
      case 'thp':
        m[o + F_FLAGS] = PG_head | PG_lru;
        m[o + F_REF] = 1;
        m[o + F_MAPPING] = (ANON_VMA << 2) | PAGE_MAPPING_ANON;
        setLru(m, at, NODE_LRU, NODE_LRU);
        setCompoundHead(m, at + 1, at);
        m[(at + 1) * PAGE_STRIDE + F_LRU + 1] = 1; // compound_order
        m[(at + 1) * PAGE_STRIDE + F_MAPPING] = 2; // compound_mapcount: atomic_t 2
        break;
      case 'lru':
        m[o + F_FLAGS] = PG_lru;
        m[o + F_REF] = 1;
        m[o + F_MAPPING] = FILE_MAPPING << 2;
        setLru(m, at, NODE_LRU, NODE_LRU);
        break;
    }
    at += k.pages;
  }
}

/**
 * The ListSpace of a migration world with `cpus` CPUs and `pages` driver pages, its
 * heads area at `heads`; `driverList` names the driver's list in messages.
 */
export function migrationLists(cpus: number, pages: number, heads: number, driverList = 'driver', foreign = 0): number {
  const npages = pages + foreign + cpus * pages;
  // A list pointer is one byte, and bit 7 set marks a compound tail's head pointer
  // (page.ts, TAIL_TAG): a page node past MAX_PAGE_NODES would be read as a tail.
  if (pageNode(npages - 1) > MAX_PAGE_NODES) {
    throw new Error(`${npages} pages (driver pages, scan mix, ${pages} targets per CPU) need list node ids past ${MAX_PAGE_NODES}; at most ${nodePage(MAX_PAGE_NODES) + 1} fit`);
  }
  return internSpace(`migration/${cpus}/${pages}/${foreign}/${heads}/${driverList}`, () => {
    const S = new ListSpace();
    for (let pfn = 0; pfn < npages; pfn++) S.node(pageNode(pfn), pfn * PAGE_STRIDE + F_LRU, `${migrationPageLabel({ pages, foreign }, pfn)}.lru`);
    S.node(NODE_BUDDY_FREE, headAt(heads, NODE_BUDDY_FREE), 'free', true);
    S.node(NODE_LRU, headAt(heads, NODE_LRU), 'lru', true);
    S.node(DRIVER_HEAD, headAt(heads, DRIVER_HEAD), driverList, true);
    for (let c = 0; c < cpus; c++) {
      S.node(migrateHead(c), headAt(heads, migrateHead(c)), `cpu${c}.migratepages`, true);
      S.node(freeHead(c), headAt(heads, freeHead(c)), `cpu${c}.freepages`, true);
    }
    return S;
  });
}

/** Write the initial driver pages, targets and list heads into `m`. */
export function initMigrationPages(m: Uint8Array, lay: MigrationPages): void {
  const S = spaceOf(lay.lists);
  INIT_LIST_HEAD(m, S, NODE_BUDDY_FREE);
  INIT_LIST_HEAD(m, S, NODE_LRU);
  INIT_LIST_HEAD(m, S, lay.driverList);
  for (let pfn = 0; pfn < lay.pages; pfn++) {
    m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_BUDDY;
    setLru(m, pfn, NODE_BUDDY_FREE, NODE_BUDDY_FREE);
  }
  initScanMix(m, lay.pages, lay.mix);
  for (let c = 0; c < lay.cpus; c++) {
    INIT_LIST_HEAD(m, S, lay.migrateList(c));
    INIT_LIST_HEAD(m, S, lay.freeList(c));
    // isolate_freepages_block(): list_add(&page->lru, freelist) in pfn order.
    for (let j = 0; j < lay.pages; j++) {
      const pfn = targetPfn(lay, c, j);
      m[pfn * PAGE_STRIDE + F_REF] = 1;
      list_add(m, S, pageNode(pfn), lay.freeList(c));
    }
  }
}

/** How traces name the list a page is on: the head its lru leads to (list.ts headOf). */
export function migrationView(lay: MigrationPages): { listName(node: number): string; pageList(m: Uint8Array, pfn: number): string } {
  const S = spaceOf(lay.lists);
  const listName = (node: number): string => (node === LIST_NULL ? '-' : S.name(node));
  return {
    listName,
    pageList: (m, pfn) => {
      const next = m[pfn * PAGE_STRIDE + F_LRU];
      if (next === LIST_POISON1) return 'POISON';
      return listName(headOf(m, S, pageNode(pfn)));
    },
  };
}
