/**
 * Per-CPU page lists (struct per_cpu_pages): mm/page_alloc.c of kernel v5.19:
 * free_unref_page() (free_unref_page_prepare() caches the pageblock's migratetype in
 * the page, free_unref_page_commit() puts the page on the CPU's list),
 * free_pcppages_bulk(), drain_pages_zone() / drain_local_pages() run by the CPU that
 * owns the list, __drain_all_pages()'s queueing of that work, and rmqueue_pcplist()
 * with rmqueue_bulk().
 *
 * The lists are the zone's (src/kernel/buddy.ts, ZoneGeometry.pcpCpus): for each CPU,
 * pcp->lists[order_to_pindex(mt, order)] for the pcp types and every order (all of the
 * model's orders are <= PAGE_ALLOC_COSTLY_ORDER, so every free and allocation goes
 * through them), and pcp->count.
 *
 * pcp->high and pcp->batch: the model's pcp->high is never reached (it stands for a
 * high mark above the zone's size), so free_pcppages_bulk() runs from drains only, and
 * pcp->batch is 1, so rmqueue_bulk() takes one page. A larger batch only takes more
 * pages onto a CPU's list in the same zone->lock section.
 *
 * Locking: pcp->lists are the owning CPU's, under local_lock (pagesets.lock) with
 * interrupts off: only that CPU (its task or its drain work) touches them, and each
 * function here runs in one step of that CPU. What another CPU can change between two
 * of them is the pageblock's migratetype, which free_unref_page_prepare() reads with
 * no lock: that read is a step of its own.
 */
import { VM_BUG_ON_PAGE } from './bug.ts';
import {
  F_PCP_MT, FALLBACKS, FPI_NONE, MIGRATE_ISOLATE, MIGRATE_MOVABLE, PCPTYPES, Z_NR_FREE_PAGES, __free_one_page, __rmqueue, free_pages_prepare,
  get_pageblock_migratetype, listEntries, listIdOf, list_add_node, list_add_tail_node, list_del_node, list_empty_head, maxOrderOf,
  pcpCountAt, pcpCpusOf, pcpDrainPendingAt, pcpListHead, prep_new_page, Z_NR_ISOLATE, type FreeHooks,
} from './buddy.ts';
import { F_LIST, F_PRIVATE, F_REF, LIST_NONE, PAGE_STRIDE } from './page.ts';

/** get_pcppage_migratetype(page). */
export const get_pcppage_migratetype = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_PCP_MT];

/**
 * free_unref_page_prepare(page, pfn, order) (v5.19), no lock: free_pages_prepare(),
 * then migratetype = get_pfnblock_migratetype(page, pfn) and
 * set_pcppage_migratetype(page, migratetype). The caller has dropped its reference.
 */
export function free_unref_page_prepare(m: Uint8Array, z: number, pfn: number, order: number): void {
  m[pfn * PAGE_STRIDE + F_REF] = 0;
  free_pages_prepare(m, pfn, order);
  m[pfn * PAGE_STRIDE + F_PRIVATE] = order; // the order travels with the page, as free_unref_page()'s argument
  m[pfn * PAGE_STRIDE + F_PCP_MT] = get_pageblock_migratetype(m, z, pfn);
}

/**
 * The rest of free_unref_page(page, order) (v5.19) on CPU `cpu`: an isolated
 * migratetype (as cached) goes straight to free_one_page() under zone->lock, which
 * re-reads the pageblock's type; a pcp type goes on the CPU's list under local_lock
 * (free_unref_page_commit(): list_add at the head, pcp->count += 1 << order).
 * `recheck` false is the variant that leaves free_one_page()'s re-read out
 * (before ad53f92eb416, v3.18).
 */
export function free_unref_page_commit(m: Uint8Array, z: number, cpu: number, pfn: number, hooks?: FreeHooks, recheck = true): void {
  const order = m[pfn * PAGE_STRIDE + F_PRIVATE];
  let mt = get_pcppage_migratetype(m, pfn);
  if (mt >= PCPTYPES) {
    if (mt === MIGRATE_ISOLATE) {
      m[pfn * PAGE_STRIDE + F_PRIVATE] = 0;
      // free_one_page(): "if (unlikely(has_isolate_pageblock(zone) || is_migrate_isolate(migratetype))) migratetype = get_pfnblock_migratetype(page, pfn);"
      __free_one_page(m, z, pfn, order, recheck ? get_pageblock_migratetype(m, z, pfn) : mt, FPI_NONE, hooks);
      return;
    }
    mt = MIGRATE_MOVABLE;
  }
  const head = pcpListHead(m, z, cpu, order, mt);
  list_add_node(m, z, pfn, head);
  m[pfn * PAGE_STRIDE + F_LIST] = listIdOf(m, z, head);
  m[pcpCountAt(m, z, cpu)] += 1 << order;
}

/**
 * free_pcppages_bulk(zone, count, pcp, pindex) (v5.19) for a whole drain, zone->lock
 * held: lists in round-robin from pindex + 1, pages from each list's tail; the cached
 * migratetype, re-read from the pageblock when any pageblock of the zone is isolated
 * ("Pageblock could have been isolated meanwhile", ad53f92eb416), then __free_one_page().
 * `recheck` false is the variant that leaves the re-read out.
 */
export function free_pcppages_bulk(m: Uint8Array, z: number, cpu: number, hooks?: FreeHooks, recheck = true): void {
  const isolatedPageblocks = m[z + Z_NR_ISOLATE] > 0; // has_isolate_pageblock(zone)
  const nlists = maxOrderOf(m, z) * PCPTYPES;
  let count = m[pcpCountAt(m, z, cpu)];
  let pindex = 0;
  while (count > 0) {
    let head: number;
    do {
      if (++pindex > nlists - 1) pindex = 0;
      head = pcpListHead(m, z, cpu, pindex / PCPTYPES | 0, pindex % PCPTYPES);
    } while (list_empty_head(m, z, head));
    const order = pindex / PCPTYPES | 0;
    do {
      const entries = listEntries(m, z, head);
      const page = entries[entries.length - 1]; // list_last_entry()
      let mt = get_pcppage_migratetype(m, page);
      list_del_node(m, z, page);
      m[page * PAGE_STRIDE + F_LIST] = LIST_NONE;
      count -= 1 << order;
      m[pcpCountAt(m, z, cpu)] -= 1 << order;
      VM_BUG_ON_PAGE(mt === MIGRATE_ISOLATE, 'is_migrate_isolate(mt)', 'free_pcppages_bulk', page);
      if (recheck && isolatedPageblocks) mt = get_pageblock_migratetype(m, z, page);
      m[page * PAGE_STRIDE + F_PRIVATE] = 0;
      __free_one_page(m, z, page, order, mt, FPI_NONE, hooks);
    } while (count > 0 && !list_empty_head(m, z, head));
  }
}

/** drain_pages_zone(cpu, zone) (v5.19), the body of drain_local_pages() on `cpu`: local_lock; free_pcppages_bulk(); and the work is done. */
export function drain_pages_zone(m: Uint8Array, z: number, cpu: number, hooks?: FreeHooks, recheck = true): void {
  if (m[pcpCountAt(m, z, cpu)]) free_pcppages_bulk(m, z, cpu, hooks, recheck);
  m[pcpDrainPendingAt(m, z, cpu)] = 0;
}

/**
 * __drain_all_pages(zone, false) (v5.19), under pcpu_drain_mutex: every CPU whose
 * pcp->count is non-zero (read without its lock) gets drain_local_pages_wq queued on
 * it (queue_work_on()); the caller then flush_work()s each (see drainAllDone()).
 */
export function drain_all_pages_queue(m: Uint8Array, z: number): void {
  for (let cpu = 0; cpu < pcpCpusOf(m, z); cpu++) if (m[pcpCountAt(m, z, cpu)]) m[pcpDrainPendingAt(m, z, cpu)] = 1;
}
/** flush_work() of every queued drain has returned. */
export function drainAllDone(m: Uint8Array, z: number): boolean {
  for (let cpu = 0; cpu < pcpCpusOf(m, z); cpu++) if (m[pcpDrainPendingAt(m, z, cpu)]) return false;
  return true;
}

/**
 * rmqueue_pcplist(..., order, migratetype) on CPU `cpu` (v5.19) with prep_new_page():
 * an empty list is refilled by rmqueue_bulk() under zone->lock (one page: __rmqueue(),
 * list_add_tail, NR_FREE_PAGES -= 1 << order), then the list's first page is taken.
 * Returns the pfn or -1.
 */
export function rmqueue_pcplist(m: Uint8Array, z: number, cpu: number, order: number, mt: number, owner: number, hooks?: FreeHooks, fallbacks = FALLBACKS): number {
  const head = pcpListHead(m, z, cpu, order, mt);
  if (list_empty_head(m, z, head)) {
    const page = __rmqueue(m, z, order, mt, hooks, undefined, fallbacks);
    if (page < 0) return -1;
    list_add_tail_node(m, z, page, head);
    m[page * PAGE_STRIDE + F_LIST] = listIdOf(m, z, head);
    m[pcpCountAt(m, z, cpu)] += 1 << order;
    m[z + Z_NR_FREE_PAGES] -= 1 << order; // __mod_zone_page_state(zone, NR_FREE_PAGES, -(i << order))
  }
  const page = listEntries(m, z, head)[0];
  list_del_node(m, z, page);
  m[page * PAGE_STRIDE + F_LIST] = LIST_NONE;
  m[pcpCountAt(m, z, cpu)] -= 1 << order;
  prep_new_page(m, page, order, owner);
  for (let i = 0; i < 1 << order; i++) m[(page + i) * PAGE_STRIDE + F_PCP_MT] = mt;
  return page;
}

/** Every page on the CPUs' per-cpu lists, with its order. */
export function pcpPages(m: Uint8Array, z: number): { pfn: number; order: number; cpu: number }[] {
  const out: { pfn: number; order: number; cpu: number }[] = [];
  for (let cpu = 0; cpu < pcpCpusOf(m, z); cpu++) {
    for (let order = 0; order < maxOrderOf(m, z); order++) {
      for (let mt = 0; mt < PCPTYPES; mt++) for (const pfn of listEntries(m, z, pcpListHead(m, z, cpu, order, mt))) out.push({ pfn, order, cpu });
    }
  }
  return out;
}
