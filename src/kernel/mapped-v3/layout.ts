/**
 * Where the mapped-page world lives in the packed vector (v3.3): pages, the two NUMA
 * nodes (each one zone with its free list and its LRU list), the swap device and the
 * swap cache, one mm with its page table, mmap_sem and VMA policy, each CPU's LRU add
 * pagevec, and the ghost fields the properties read.
 *
 *   pfn [0, V)            node 0: the pages the initial thread faulted in, one per
 *                         virtual page, mapped and on node 0's LRU
 *   pfn [V, V+F0)         node 0: free pages (compaction's targets)
 *   pfn [V+F0, V+F0+F1)   node 1: free pages
 */
import { ListSpace, INIT_LIST_HEAD, list_add_tail } from '../list.ts';
import {
  ANON_MAPPING, DATA_GARBAGE, F_COUNT, F_DATA, F_INDEX, F_LRU, F_MAPCOUNT, F_MAPPING,
  PAGE_BUDDY_MAPCOUNT, PAGE_STRIDE, PG_lru, PG_swapbacked, PG_uptodate, pageAt, setFlags,
} from './page.ts';

export const NODES = 2;
/** Entries of a CPU's lru_add_pvecs (PAGEVEC_SIZE is 14 in v3.3; the model's lists are shorter). */
export const PAGEVEC_SIZE = 4;
export const NO_PAGE = 0xff;

/** List node ids (src/kernel/list.ts): page p's lru is p + 1; the heads follow. */
export const lruNode = (p: number): number => p + 1;
const HEADS = 0xc0;
export const FREE_HEAD = (n: number): number => HEADS + 2 * n;
export const LRU_HEAD = (n: number): number => HEADS + 2 * n + 1;
/** do_mbind()'s LIST_HEAD(pagelist). */
export const PAGELIST_HEAD = HEADS + 8;
/** shrink_inactive_list()'s LIST_HEAD(page_list). */
export const RECLAIM_HEAD = HEADS + 9;
/** compact_control's cc->migratepages. */
export const COMPACT_HEAD = HEADS + 10;

/** PTE encodings: none, a swap entry (slot), a present page (pfn), a migration entry (pfn). */
export const PTE_NONE = 0;
export const PTE_SWAP = 0x40;
export const PTE_PRESENT = 0x80;
export const PTE_MIGRATION = 0xc0;
export const PTE_TYPE = 0xc0;
/** A present PTE without write permission (!pte_write). */
export const PTE_RDONLY = 0x20;
export const pteType = (pte: number): number => pte & PTE_TYPE;
export const pteArg = (pte: number): number => pte & 0x1f;
/** pte_present(pte) && pte_pfn(pte) == pfn, writable or not. */
export const pteMaps = (pte: number, pfn: number): boolean => pteType(pte) === PTE_PRESENT && pteArg(pte) === pfn;

/** swap_map: the count of swap PTEs, and SWAP_HAS_CACHE (include/linux/swap.h, v3.3). */
export const SWAP_HAS_CACHE = 0x40;

/** mmap_sem: the writer bit and the count of readers. */
export const MMAP_WRITER = 0x80;
/** The VMA policy: 0 is the default (local) policy; else MPOL_BIND to (v & 0xf) with MPOL_F_MOF. */
export const POLICY_MOF = 0x80;

/** Why a touched page may stay off its policy's node (the ghost `reason` of a virtual page). */
export const REASON = {
  none: 0,
  notIsolated: 1, // check_range: isolate_lru_page() failed (off the LRU: a pagevec, reclaim) or mapcount != 1
  unmapSkipped: 2, // migrate_pages_unmap_only(): count == 1, trylock failed, KSM/writeback, no mapping
  unmapFailed: 3, // add_to_swap() failed or the page is still mapped after try_to_unmap()
  nomem: 4, // migrate-on-fault: no free page on the policy's node
  notLru: 5, // migrate-on-fault: isolate_lru_page() failed (the page sits in a CPU's pagevec)
  busy: 6, // migrate-on-fault: migrate_page_move_mapping() found other references
} as const;
export const REASON_NAMES = ['-', 'not isolated by mbind', 'unmap skipped', 'unmap failed', 'no free page on the node', 'not on the LRU at fault', 'references held at fault'];

export interface MappedLayout {
  /** Virtual pages of the range (and swap slots). */
  readonly vpages: number;
  readonly npages: number;
  /** pfn -> node (page_to_nid). */
  nid(pfn: number): number;
  readonly nodeBase: number;
  readonly swapBase: number;
  readonly mmBase: number;
  readonly pvBase: number;
  readonly ghostBase: number;
  readonly size: number;
  readonly cpus: number;
  readonly S: ListSpace;
  /** Field offsets. */
  swapMap(slot: number): number;
  swapCache(slot: number): number;
  swapData(slot: number): number;
  readonly mmapSem: number;
  readonly policy: number;
  pte(v: number): number;
  /** A CPU's pagevec: count at pv(cpu), entries after it. */
  pv(cpu: number): number;
  version(v: number): number;
  reason(v: number): number;
  lazied(v: number): number;
  readonly mbindDone: number;
  /** Ghost: kswapd has finished (the swap I/O completions may stop once none is pending). */
  readonly kswapdDone: number;
}

export function mappedLayout(vpages: number, spare0: number, spare1: number, cpus: number): MappedLayout {
  const npages = vpages + spare0 + spare1;
  const nodeBase = npages * PAGE_STRIDE;
  const extraHeads = nodeBase + NODES * 4;
  const swapBase = extraHeads + 6;
  const mmBase = swapBase + 3 * vpages;
  const pvBase = mmBase + 2 + vpages;
  const ghostBase = pvBase + cpus * (1 + PAGEVEC_SIZE);
  const size = ghostBase + 3 * vpages + 2;
  const S = new ListSpace();
  for (let p = 0; p < npages; p++) S.node(lruNode(p), pageAt(p, F_LRU), `p${p}.lru`);
  for (let n = 0; n < NODES; n++) {
    S.node(FREE_HEAD(n), nodeBase + 4 * n, `node${n}.free`, true);
    S.node(LRU_HEAD(n), nodeBase + 4 * n + 2, `node${n}.lru`, true);
  }
  S.node(PAGELIST_HEAD, extraHeads, 'pagelist', true);
  S.node(RECLAIM_HEAD, extraHeads + 2, 'page_list', true);
  S.node(COMPACT_HEAD, extraHeads + 4, 'cc->migratepages', true);
  return {
    vpages, npages, nodeBase, swapBase, mmBase, pvBase, ghostBase, size, cpus, S,
    nid: (pfn) => (pfn < vpages + spare0 ? 0 : 1),
    swapMap: (s) => swapBase + 3 * s,
    swapCache: (s) => swapBase + 3 * s + 1,
    swapData: (s) => swapBase + 3 * s + 2,
    mmapSem: mmBase,
    policy: mmBase + 1,
    pte: (v) => mmBase + 2 + v,
    pv: (c) => pvBase + c * (1 + PAGEVEC_SIZE),
    version: (v) => ghostBase + v,
    reason: (v) => ghostBase + vpages + v,
    lazied: (v) => ghostBase + 2 * vpages + v,
    mbindDone: ghostBase + 3 * vpages,
    kswapdDone: ghostBase + 3 * vpages + 1,
  };
}

/**
 * The world after the initial thread touched every page of the range: virtual page v
 * is pfn v on node 0, mapped writable, on node 0's LRU (drained), holding version 0
 * of its data; node 1's pages are free; no swap in use; the default policy.
 */
export function initialMappedWorld(lay: MappedLayout): Uint8Array {
  const m = new Uint8Array(lay.size);
  const S = lay.S;
  for (const h of [FREE_HEAD(0), FREE_HEAD(1), LRU_HEAD(0), LRU_HEAD(1), PAGELIST_HEAD, RECLAIM_HEAD, COMPACT_HEAD]) INIT_LIST_HEAD(m, S, h);
  for (let p = 0; p < lay.npages; p++) {
    if (p < lay.vpages) {
      setFlags(m, p, PG_lru | PG_uptodate | PG_swapbacked);
      m[pageAt(p, F_COUNT)] = 1;
      m[pageAt(p, F_MAPCOUNT)] = 0; // mapped once
      m[pageAt(p, F_MAPPING)] = ANON_MAPPING;
      m[pageAt(p, F_INDEX)] = p;
      m[pageAt(p, F_DATA)] = 0;
      list_add_tail(m, S, lruNode(p), LRU_HEAD(0));
      m[lay.pte(p)] = PTE_PRESENT | p;
    } else {
      m[pageAt(p, F_MAPCOUNT)] = PAGE_BUDDY_MAPCOUNT;
      m[pageAt(p, F_DATA)] = DATA_GARBAGE;
      list_add_tail(m, S, lruNode(p), FREE_HEAD(lay.nid(p)));
    }
  }
  for (let s = 0; s < lay.vpages; s++) m[lay.swapCache(s)] = NO_PAGE;
  for (let c = 0; c < lay.cpus; c++) for (let i = 0; i < PAGEVEC_SIZE; i++) m[lay.pv(c) + 1 + i] = NO_PAGE;
  return m;
}
