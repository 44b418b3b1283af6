/**
 * A CPU that allocates one page (v5.19 rmqueue() -> rmqueue_pcplist(): its per-cpu
 * list, refilled from the buddy lists under zone->lock) of an order it chooses,
 * Movable (or, with --steal 1, Unmovable, which may steal a Movable pageblock), then
 * frees it (free_unref_page(): the pageblock's migratetype is read and cached in the
 * page with no lock, then the page goes on the CPU's list, or to the buddy lists when
 * the cached type is MIGRATE_ISOLATE) or keeps it. A Movable page may be migrated by
 * alloc_contig_range(), which rewrites the CPU's slot (as migration rewrites the
 * owner's page tables).
 *
 * The CPU's drain work (drain_local_pages_wq, queued by __drain_all_pages()) is an
 * actor of its own, `kworker`: it runs on the CPU between the CPU's steps.
 */
import { MIGRATE_MOVABLE, MIGRATE_UNMOVABLE, pcpDrainPendingAt } from '../../src/kernel/buddy.ts';
import { drain_pages_zone, free_unref_page_commit, free_unref_page_prepare, rmqueue_pcplist } from '../../src/kernel/pcp.ts';
import { F_PRIVATE, F_REF, PAGE_STRIDE, PG_lru, clearFlag, page_count, setFlag } from '../../src/kernel/page.ts';
import { isMigrationEntry } from '../../src/kernel/contig-migrate.ts';
import { type ActionFn, type Branch, type GuardFn, ProgramBuilder, br } from '../../src/kernel/program.ts';
import { NO_PAGE } from '../../properties/contig.ts';

/** The name of the CPU's allocation action (variants replace its function). */
export const ACT_CPU_ALLOC = 'page = alloc_pages(gfp, order)';
/** The name of free_unref_page()'s second half (variants replace its function). */
export const ACT_CPU_FREE_COMMIT = 'free_unref_page_commit(page)';
/** rmqueue(zone, order, migratetype) by `alloc` on this CPU: slot = page or NULL. */
export const cpuAllocWith = (alloc: (m: Uint8Array, z: number, cpu: number, order: number, mt: number) => number): ActionFn => (m, _L, P, A) => {
  const pfn = alloc(m, P.z, A, P.order, P.mt);
  m[P.slots + A] = pfn < 0 ? NO_PAGE : pfn;
  // A Movable page is an anonymous page the CPU maps: lru_cache_add() (its pagevec
  // drain folded in) sets PG_lru, and __alloc_contig_migrate_range() isolates it from
  // the LRU (src/kernel/contig-migrate.ts).
  if (pfn >= 0 && P.mt === MIGRATE_MOVABLE) setFlag(m, pfn, PG_lru);
};
const cpuAlloc = cpuAllocWith((m, z, cpu, order, mt) => rmqueue_pcplist(m, z, cpu, order, mt, cpu));
const holds: GuardFn = (m, _L, P, A) => m[P.slots + A] !== NO_PAGE;
/**
 * The last reference dropped (put_page() -> __put_page() -> __page_cache_release():
 * an LRU page leaves the LRU under lru_lock, __ClearPageLRU), then
 * free_unref_page_prepare(page, pfn, order): the pageblock's migratetype read and
 * cached, no lock.
 */
const cpuFreePrepare: ActionFn = (m, _L, P, A) => {
  const pfn = m[P.slots + A];
  clearFlag(m, pfn, PG_lru);
  free_unref_page_prepare(m, P.z, pfn, m[pfn * PAGE_STRIDE + F_PRIVATE]);
};
const mapsEntry: GuardFn = (m, _L, P, A) => isMigrationEntry(m[P.slots + A]);
/** zap_pte_range() of a migration entry: the PTE is cleared; the entry holds no reference. */
const zapEntry: ActionFn = (m, _L, P, A) => { m[P.slots + A] = NO_PAGE; };
const notLast: GuardFn = (m, _L, P, A) => { const p = m[P.slots + A]; return p !== NO_PAGE && page_count(m, p) > 1; };
/** put_page() that is not the last: alloc_contig_range() holds the page isolated, and frees it. */
const putNotLast: ActionFn = (m, _L, P, A) => {
  const pfn = m[P.slots + A];
  m[pfn * PAGE_STRIDE + F_REF]--;
  m[P.slots + A] = NO_PAGE;
};
/** The rest of free_unref_page(): to the CPU's pcp list (local_lock) or, cached MIGRATE_ISOLATE, free_one_page(). */
export const cpuFreeCommitWith = (commit: typeof free_unref_page_commit): ActionFn => (m, _L, P, A) => {
  commit(m, P.z, A, m[P.slots + A]);
  m[P.slots + A] = NO_PAGE;
};
const cpuFreeCommit = cpuFreeCommitWith(free_unref_page_commit);

export function cpuProgram(z: number, slots: number, orders: readonly number[], unmovable: boolean): ProgramBuilder {
  const b = new ProgramBuilder('cpu');
  const on: Record<string, Branch[]> = {};
  for (const order of orders) on[`ALLOC_ORDER_${order}`] = [br('hold', [b.a(ACT_CPU_ALLOC, cpuAlloc, { z, slots, order, mt: MIGRATE_MOVABLE })])];
  if (unmovable) on.ALLOC_UNMOVABLE_ORDER_0 = [br('hold', [b.a(ACT_CPU_ALLOC, cpuAlloc, { z, slots, order: 0, mt: MIGRATE_UNMOVABLE })])];
  b.step('alloc', 'rmqueue_pcplist', 'local_lock; list = pcp->lists[order_to_pindex(migratetype, order)]; if empty, rmqueue_bulk() under zone->lock (__rmqueue(): smallest, else steal a fallback); take the first; local_unlock', on);
  b.step('hold', 'cpu', 'free the page, or keep it', {
    FREE: [
      br('done', [b.a('zap the migration entry', zapEntry, { slots })], b.g('the PTE is a migration entry', mapsEntry, { slots })),
      br('done', [b.a('put_page(page): not the last reference', putNotLast, { slots })], b.g('page_count(page) > 1', notLast, { slots })),
      br('free', [b.a('free_unref_page_prepare(page)', cpuFreePrepare, { z, slots })], b.g('page != NULL', holds, { slots })),
    ],
    KEEP: [br('done')],
  });
  b.steps('free', 'free_unref_page', 'migratetype = get_pcppage_migratetype(page); MIGRATE_ISOLATE: free_one_page() under zone->lock; else local_lock; list_add(&page->lru, &pcp->lists[pindex]); pcp->count += 1 << order; local_unlock', [
    br('done', [b.a(ACT_CPU_FREE_COMMIT, cpuFreeCommit, { z, slots })]),
  ]);
  b.final('done');
  return b;
}

const drainPending: GuardFn = (m, _L, P) => m[pcpDrainPendingAt(m, P.z, P.cpu)] !== 0;
/** Every alloc_contig_range() has returned and no drain is queued on this CPU: the worker has nothing left to do. */
const contigsDone: GuardFn = (m, _L, P) => {
  for (let k = 0; k < P.contigs; k++) if (m[P.results + k] === 0) return false;
  return m[pcpDrainPendingAt(m, P.z, P.cpu)] === 0;
};
/** The name of drain_local_pages()'s action (variants replace its function). */
export const ACT_DRAIN = 'drain_pages_zone(cpu, zone)';
export const drainWith = (recheck: boolean): ActionFn => (m, _L, P) => drain_pages_zone(m, P.z, P.cpu, undefined, recheck);

/** The drain work of CPU `cpu` (drain_local_pages_wq(), v5.19), run on that CPU. */
export function kworkerProgram(z: number, cpu: number, contigs: number, results: number): ProgramBuilder {
  const b = new ProgramBuilder('kworker');
  const P = { z, cpu, contigs, results };
  b.steps('wait', 'drain_local_pages_wq', 'the queued work runs on its CPU: drain_local_pages(zone) (or, with every alloc_contig_range() returned, stop)', [
    br('wait', [b.a(ACT_DRAIN, drainWith(true), P)], b.g('drain queued on this CPU', drainPending, P)),
    br('done', [], b.g('every alloc_contig_range() returned', contigsDone, P)),
  ]);
  b.final('done');
  return b;
}
