/**
 * __alloc_contig_migrate_range() of kernel v5.19 for the pages in use in
 * alloc_contig_range()'s [start, end): the LRU isolation of
 * isolate_migratepages_range() (mm/compaction.c) and migrate_pages() with
 * alloc_migration_target() (mm/migrate.c), split where another actor can interleave.
 *
 * The pages: a CPU's Movable page is an anonymous LRU page it maps once (its slot,
 * world byte slots + cpu, holds the pfn, as its page table would): PG_lru set when it
 * is allocated (lru_cache_add() of the faulted page, its pagevec drain folded in),
 * one reference for the mapping. Its owner can unmap it at any time (FREE in
 * models/contig/cpu.ts): put_page(), which frees it only if that was the last
 * reference, or the zap of a migration entry, which holds none.
 *
 * The steps of the range migration, one page at a time (cc->migratepages holds one
 * page: the model's range has at most two pages in use, and migrate_pages() of a list
 * is the same steps per page):
 *   isolate_migratepages_block(), for each pfn, no lock:
 *     PageBuddy(page): skip the free page (buddy_order_unsafe());
 *     !PageLRU(page): not ours (a tail, a free page on a pcp list, an unmovable page);
 *     get_page_unless_zero(page), else the owner freed it meanwhile;
 *   TestClearPageLRU(page) and, under the lruvec's lru_lock, del_page_from_lru_list():
 *     fails (isolate_fail_put: put_page()) when another isolator (the other
 *     alloc_contig_range()) took it first;
 *   migrate_pages() -> unmap_and_move():
 *     "if (page_count(page) == 1) { /* page was freed from under us. So we are done. *\/":
 *       put_page() frees it;
 *     newpage = alloc_migration_target(page, &mtc): a Movable page of the same order
 *       from the buddy (no target: -ENOMEM, putback_lru_page(page), and
 *       alloc_contig_range() "if (ret && ret != -EBUSY) goto done");
 *   __unmap_and_move(): lock_page(); try_to_migrate(): the owner's PTE becomes a
 *     migration entry and the mapping's reference is dropped;
 *   move_to_new_page() (migrate_page_move_mapping(): an anonymous page without a
 *     mapping needs page_count == 1, the isolation's), remove_migration_ptes(): the
 *     owner's entry, if still there, maps newpage (get_page(newpage)); unlock;
 *     put_page(page) frees the old page ("the isolation reference"); putback_lru_page(
 *     newpage): SetPageLRU, and the allocation's reference dropped, which frees newpage
 *     when the owner unmapped meanwhile.
 * The caller's own CPU has no per-cpu lists in the model (README): the pages it frees
 * go to the buddy lists with __free_pages(), and its targets come from them.
 */
import { VM_BUG_ON_PAGE } from './bug.ts';
import { MIGRATE_MOVABLE, PageBuddy, buddy_order, rmqueue, __free_pages, F_OWNER } from './buddy.ts';
import { ENOMEM } from './migrate.ts';
import { F_PRIVATE, F_REF, PAGE_STRIDE, PG_lru, PageLRU, clearFlag, get_page_unless_zero, page_count, setFlag } from './page.ts';
import { type ActionFn, type GuardFn, type ProgramBuilder, br } from './program.ts';

/** A slot that holds a migration entry for `pfn` instead of the page (try_to_migrate()). */
export const MIGRATION_ENTRY = 0x80;
export const isMigrationEntry = (slot: number): boolean => slot !== 0xff && (slot & MIGRATION_ENTRY) !== 0;

/** The CPU that maps `pfn` (its slot holds it), or -1. */
function mapper(m: Uint8Array, slots: number, ncpus: number, pfn: number): number {
  for (let c = 0; c < ncpus; c++) if (m[slots + c] === pfn) return c;
  return -1;
}

/**
 * put_page() of a page in this world (v5.19 put_page() -> __put_page() ->
 * __page_cache_release() and free_unref_page(), the caller's CPU having no pcp
 * lists): the last reference takes the page off the LRU and frees it.
 */
export function putPage519(m: Uint8Array, z: number, pfn: number): void {
  const c = page_count(m, pfn);
  VM_BUG_ON_PAGE(c <= 0, 'page_ref_count(page) == 0', 'put_page_testzero', pfn);
  if (c > 1) { m[pfn * PAGE_STRIDE + F_REF] = c - 1; return; }
  clearFlag(m, pfn, PG_lru);
  __free_pages(m, z, pfn, m[pfn * PAGE_STRIDE + F_PRIVATE]);
}

/** putback_lru_page(page) (mm/vmscan.c, v5.19): lru_cache_add(): SetPageLRU; put_page(): "drop ref from isolate". */
export function putbackLruPage519(m: Uint8Array, z: number, pfn: number): void {
  setFlag(m, pfn, PG_lru);
  putPage519(m, z, pfn);
}

// --- guards and actions --------------------------------------------------------

/** low_pfn >= end_pfn, end_pfn a constant or (endLocal >= 0) a local. */
const scanDone: GuardFn = (m, L, P) => m[L + P.pfn] >= (P.endLocal >= 0 ? m[L + P.endLocal] : P.end);
const isBuddy: GuardFn = (m, L, P) => PageBuddy(m, m[L + P.pfn]);
/** buddy_order_unsafe(): low_pfn += (1UL << freepage_order) - 1, then the loop's ++. */
const skipBuddy: ActionFn = (m, L, P) => { m[L + P.pfn] += 1 << buddy_order(m, m[L + P.pfn]); };
const notLru: GuardFn = (m, L, P) => !PageLRU(m, m[L + P.pfn]);
const pfnInc: ActionFn = (m, L, P) => { m[L + P.pfn]++; };
const refZero: GuardFn = (m, L, P) => page_count(m, m[L + P.pfn]) === 0;
/** The name of isolate_migratepages_block()'s reference (variants replace its function). */
export const ACT_GET_PAGE = 'get_page_unless_zero(page)';
const getPage: ActionFn = (m, L, P) => { get_page_unless_zero(m, m[L + P.pfn]); };
/** isolate_fail_put: put_page(page); low_pfn++. */
const failPut: ActionFn = (m, L, P) => { const pfn = m[L + P.pfn]; putPage519(m, P.z, pfn); m[L + P.pfn] = pfn + 1; };
/** TestClearPageLRU(page); lruvec lru_lock: del_page_from_lru_list(); list_add(&page->lru, &cc->migratepages). */
const isolateLru: ActionFn = (m, L, P) => { clearFlag(m, m[L + P.pfn], PG_lru); };
const freedUnderUs: GuardFn = (m, L, P) => page_count(m, m[L + P.pfn]) === 1;
/** The old page's order: the head keeps it in page->private (prep_new_page()). */
const orderOf = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_PRIVATE];
/** unmap_and_move(): "page was freed from under us": out: put_page(page); on to the next pfn. */
const putFreed: ActionFn = (m, L, P) => {
  const pfn = m[L + P.pfn];
  const order = orderOf(m, pfn);
  putPage519(m, P.z, pfn);
  m[L + P.pfn] = pfn + (1 << order);
};
/**
 * alloc_migration_target(): a Movable page of the old one's order. The ghost owner
 * of the target is the old page's (the CPU the migration gives it to), so that a
 * target from an isolated pageblock shows as a page handed to that CPU.
 */
const allocTarget: ActionFn = (m, L, P) => {
  const pfn = m[L + P.pfn];
  const owner = m[pfn * PAGE_STRIDE + F_OWNER] - 1;
  const target = rmqueue(m, P.z, orderOf(m, pfn), MIGRATE_MOVABLE, owner);
  m[L + P.newpage] = target < 0 ? 0xff : target;
};
const noTarget: GuardFn = (m, L, P) => m[L + P.newpage] === 0xff;
/** -ENOMEM: putback_movable_pages(&cc->migratepages) -> putback_lru_page(page); return -ENOMEM. */
const putbackNoMem: ActionFn = (m, L, P) => {
  putbackLruPage519(m, P.z, m[L + P.pfn]);
  m[L + P.newpage] = 0;
  m[L + P.ret] = ENOMEM;
};
/** try_to_migrate(page): the owner's PTE (if any) becomes a migration entry; the mapping's reference is dropped. */
const unmap: ActionFn = (m, L, P) => {
  const pfn = m[L + P.pfn];
  const c = mapper(m, P.slots, P.ncpus, pfn);
  if (c < 0) return;
  m[P.slots + c] = pfn | MIGRATION_ENTRY;
  m[pfn * PAGE_STRIDE + F_REF]--;
};
/** The name of the step that frees the old page (variants replace its function). */
export const ACT_MIGRATE_MOVE = 'move_to_new_page; remove_migration_ptes; put_page(page); putback_lru_page(newpage)';
/**
 * move_to_new_page(page, newpage) and remove_migration_ptes(page, newpage), unlock,
 * then `freeOld` of the old page (put_page(): the isolation's reference, its last)
 * and putback_lru_page(newpage).
 */
export const moveWith = (freeOld: (m: Uint8Array, z: number, pfn: number, order: number) => unknown): ActionFn => (m, L, P) => {
  const pfn = m[L + P.pfn];
  const newpage = m[L + P.newpage];
  const order = orderOf(m, pfn);
  // migrate_page_move_mapping(): "if (page_count(page) != expected_count) return -EAGAIN;"
  VM_BUG_ON_PAGE(page_count(m, pfn) !== 1, 'page_count(page) != expected_count', 'migrate_page_move_mapping', pfn);
  const c = mapper(m, P.slots, P.ncpus, pfn | MIGRATION_ENTRY);
  if (c >= 0) {
    m[P.slots + c] = newpage;
    m[newpage * PAGE_STRIDE + F_REF]++; // remove_migration_pte(): get_page(new)
  }
  freeOld(m, P.z, pfn, order);
  putbackLruPage519(m, P.z, newpage);
  m[L + P.newpage] = 0;
  m[L + P.pfn] = pfn + (1 << order);
};
const move = moveWith(__free_pages);
const clearRet: ActionFn = (m, L, P) => { m[L + P.ret] = 0; };

export interface MigrateRangeCtx {
  readonly z: number;
  readonly ncpus: number;
  readonly slots: number;
  /** end_pfn: a constant, or the local at `endLocal` when that is >= 0. */
  readonly end: number;
  readonly endLocal: number;
  readonly slot: { readonly pfn: number; readonly ret: number; readonly newpage: number };
}

/**
 * __alloc_contig_migrate_range(&cc, start, end) (mm/page_alloc.c, v5.19) at label
 * `at` with low_pfn (slot.pfn) = start already set (alloc_contig_range()'s range, or
 * isolate_single_pageblock()'s [head_pfn, head_pfn + nr_pages)): on to `next` (ret 0; -EBUSY left to
 * test_pages_isolated()) or, on -ENOMEM, to `fail` (alloc_contig_range()'s
 * "if (ret && ret != -EBUSY) goto done").
 */
export function allocContigMigrateRange(b: ProgramBuilder, at: string, ctx: MigrateRangeCtx, next: string, fail: string): void {
  const x = (t: string) => `${at}/${t}`;
  const P = { z: ctx.z, ncpus: ctx.ncpus, slots: ctx.slots, end: ctx.end, endLocal: ctx.endLocal, ...ctx.slot };
  b.steps(at, 'isolate_migratepages_block', 'page = pfn_to_page(low_pfn), no lock: PageBuddy(page)? PageLRU(page)?', [
    br(x('done'), [], b.g('low_pfn >= end_pfn', scanDone, P)),
    br(at, [b.a('low_pfn += 1 << buddy_order_unsafe(page)', skipBuddy, P)], b.g('PageBuddy(pfn_to_page(low_pfn))', isBuddy, P)),
    br(at, [b.a('low_pfn++', pfnInc, P)], b.g('!PageLRU(page)', notLru, P)),
    br(x('get')),
  ]);
  b.steps(x('get'), 'isolate_migratepages_block', 'if (unlikely(!get_page_unless_zero(page))) goto isolate_fail', [
    br(at, [b.a('low_pfn++', pfnInc, P)], b.g('page_count(page) == 0', refZero, P)),
    br(x('lru'), [b.a(ACT_GET_PAGE, getPage, P)]),
  ]);
  b.steps(x('lru'), 'isolate_migratepages_block', 'if (!TestClearPageLRU(page)) goto isolate_fail_put; lruvec lru_lock: del_page_from_lru_list(page, lruvec); list_add(&page->lru, &cc->migratepages)', [
    br(at, [b.a('isolate_fail_put: put_page(page)', failPut, P)], b.g('!PageLRU(page)', notLru, P)),
    br(x('unmap_and_move'), [b.a('TestClearPageLRU; del_page_from_lru_list', isolateLru, P)]),
  ]);
  b.steps(x('unmap_and_move'), 'unmap_and_move', 'if (page_count(page) == 1) goto out (freed from under us); newpage = alloc_migration_target(page, &mtc)', [
    br(at, [b.a('page was freed from under us: put_page(page)', putFreed, P)], b.g('page_count(page) == 1', freedUnderUs, P)),
    br(x('target'), [b.a('newpage = alloc_migration_target()', allocTarget, P)]),
  ]);
  b.localStep(x('target'), 'unmap_and_move', 'if (!newpage) return -ENOMEM', [
    br(x('enomem'), [], b.g('!newpage', noTarget, P)),
    br(x('unmap')),
  ]);
  b.steps(x('enomem'), '__alloc_contig_migrate_range', 'if (ret < 0) { putback_movable_pages(&cc->migratepages); return ret; }', [
    br(fail, [b.a('putback_lru_page(page); ret = -ENOMEM', putbackNoMem, P)]),
  ]);
  b.steps(x('unmap'), '__unmap_and_move', 'lock_page(page); if (page_mapped(page)) try_to_migrate(page, 0): the owner\'s PTE becomes a migration entry, page_remove_rmap(); put_page()', [
    br(x('move'), [b.a('try_to_migrate(page)', unmap, P)]),
  ]);
  b.steps(x('move'), '__unmap_and_move', 'move_to_new_page(newpage, page); remove_migration_ptes(page, newpage); unlock_page; put_page(page); putback_lru_page(newpage)', [
    br(at, [b.a(ACT_MIGRATE_MOVE, move, P)]),
  ]);
  b.localStep(x('done'), '__alloc_contig_migrate_range', 'return 0 (or -EBUSY: left to test_pages_isolated())', [
    br(next, [b.a('__alloc_contig_migrate_range: return 0', clearRet, P)]),
  ]);
}
