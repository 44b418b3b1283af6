/**
 * The buddy allocator of the mapped world at order 0 (mm/page_alloc.c, v3.3): each
 * node's one zone keeps its free pages on a free list under zone->lock. Every access
 * to a free list is under zone->lock, so an allocation or a free is one step.
 */
import { KernelBug } from '../bug.ts';
import { list_add, list_del, list_first_or_null } from '../list.ts';
import { FREE_HEAD, NODES, type MappedLayout } from './layout.ts';
import {
  DATA_GARBAGE, F_COUNT, F_INDEX, F_MAPCOUNT, F_MAPPING, F_PRIVATE, MAPCOUNT_NONE, PAGE_BUDDY_MAPCOUNT,
  PAGE_FLAGS_CHECK_AT_FREE, PAGE_FLAGS_CHECK_AT_PREP, PageAnon, flagsOf, pageAt, setFlags, F_DATA,
} from './page.ts';

/**
 * free_pages_prepare() + free_pages_check() + the free list (free_hot_cold_page(),
 * v3.3; the per-CPU page lists are left out: a page on one is as unusable as a free
 * one): bad_page() when the page is still mapped, on a mapping, referenced or has a
 * PAGE_FLAGS_CHECK_AT_FREE flag.
 */
export function free_hot_cold_page(m: Uint8Array, lay: MappedLayout, p: number, where = 'free_hot_cold_page'): void {
  if (PageAnon(m, p)) m[pageAt(p, F_MAPPING)] = 0;
  if (m[pageAt(p, F_MAPCOUNT)] !== MAPCOUNT_NONE) throw new KernelBug('bad_page(): nonzero mapcount', where, p);
  if (m[pageAt(p, F_MAPPING)] !== 0) throw new KernelBug('bad_page(): non-NULL mapping', where, p);
  if (m[pageAt(p, F_COUNT)] !== 0) throw new KernelBug('bad_page(): nonzero _count', where, p);
  if (flagsOf(m, p) & PAGE_FLAGS_CHECK_AT_FREE) throw new KernelBug('bad_page(): PAGE_FLAGS_CHECK_AT_FREE flag(s) set', where, p);
  setFlags(m, p, flagsOf(m, p) & ~PAGE_FLAGS_CHECK_AT_PREP);
  m[pageAt(p, F_PRIVATE)] = 0;
  m[pageAt(p, F_INDEX)] = 0;
  m[pageAt(p, F_DATA)] = DATA_GARBAGE;
  m[pageAt(p, F_MAPCOUNT)] = PAGE_BUDDY_MAPCOUNT;
  list_add(m, lay.S, p + 1, FREE_HEAD(lay.nid(p)), where);
}

/**
 * The first free page of node `nid`'s zone, taken off its free list with one
 * reference (buffered_rmqueue() + prep_new_page()), or -1.
 */
export function alloc_page_node(m: Uint8Array, lay: MappedLayout, nid: number): number {
  const first = list_first_or_null(m, lay.S, FREE_HEAD(nid));
  if (first === 0) return -1;
  const p = first - 1;
  list_del(m, lay.S, first, 'rmqueue');
  m[pageAt(p, F_MAPCOUNT)] = MAPCOUNT_NONE;
  m[pageAt(p, F_COUNT)] = 1;
  return p;
}

/**
 * alloc_pages_vma() / alloc_pages_current() for an anonymous page: the policy's node
 * first and, unless the policy binds (MPOL_BIND), the other nodes in turn (the
 * zonelist's fallback), or -1.
 */
export function alloc_page_policy(m: Uint8Array, lay: MappedLayout, preferred: number, bind: boolean): number {
  for (let i = 0; i < (bind ? 1 : NODES); i++) {
    const p = alloc_page_node(m, lay, (preferred + i) % NODES);
    if (p >= 0) return p;
  }
  return -1;
}
