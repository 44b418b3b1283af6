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
  F_LRU, F_REF, F_TYPE, NODE_BUDDY_FREE, NODE_HEADS, NODE_LRU, PAGE_STRIDE, TYPE_BUDDY, pageNode, setLru,
} from '../../src/kernel/page.ts';

export interface MigrationPages {
  readonly cpus: number;
  readonly pages: number;
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

export const targetPfn = (lay: { pages: number }, cpu: number, j: number): number => lay.pages + cpu * lay.pages + j;

/** `p0` for a driver page, `t1.0` for CPU 1's first target: trace labels. */
export function migrationPageLabel(lay: { pages: number }, pfn: number): string {
  if (pfn < lay.pages) return `p${pfn}`;
  const c = Math.floor((pfn - lay.pages) / lay.pages);
  return `t${c}.${pfn - targetPfn(lay, c, 0)}`;
}

/**
 * The ListSpace of a migration world with `cpus` CPUs and `pages` driver pages, its
 * heads area at `heads`; `driverList` names the driver's list in messages.
 */
export function migrationLists(cpus: number, pages: number, heads: number, driverList = 'driver'): number {
  const npages = pages + cpus * pages;
  return internSpace(`migration/${cpus}/${pages}/${heads}/${driverList}`, () => {
    const S = new ListSpace();
    for (let pfn = 0; pfn < npages; pfn++) S.node(pageNode(pfn), pfn * PAGE_STRIDE + F_LRU, `${migrationPageLabel({ pages }, pfn)}.lru`);
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
