/**
 * alloc_contig_range() as a step program: mm/page_alloc.c alloc_contig_range() and
 * mm/page_isolation.c start_isolate_page_range() / isolate_single_pageblock() /
 * undo_isolate_page_range(), kernel v5.19, from the seed "mm: make
 * alloc_contig_range work at pageblock granularity" (Zi Yan, v5, 2022, seed 002):
 *
 *   alloc_start = ALIGN_DOWN(start, pageblock_nr_pages); alloc_end = ALIGN(end, ...)
 *   start_isolate_page_range(): isolate_single_pageblock() at both ends of the range,
 *     then set_migratetype_isolate() for the pageblocks between; if that fails,
 *     "goto done" (the seed's change: the old code returned at once).
 *   __alloc_contig_migrate_range(start, end): migrate in-use pages out of the range
 *     (its -EBUSY is not fatal: test_pages_isolated() decides).
 *   test_pages_isolated(alloc_start, alloc_end), isolate_freepages_range(alloc_start,
 *     alloc_end), free the head [alloc_start, start) and the tail [end, alloc_end).
 *   done: undo_isolate_page_range(alloc_start, alloc_end, migratetype).
 *
 * isolate_single_pageblock() is the merged one: set_migratetype_isolate() instead of
 * a bare set_pageblock_migratetype(), and skip_isolation when the range is a single
 * pageblock, so that it is not isolated twice; with 88ee134320b8, split_free_page()
 * rechecks the page under zone->lock ("free page changed before split, check it
 * again") and the search for the freed page after a migration gives up at MAX_ORDER.
 * 88ee134320b8 also isolates the migrated page's own pageblock around the
 * migration (set_migratetype_isolate(page, page_mt, ...) before,
 * unset_migratetype_isolate(page, page_mt) after, "XXX: mark the page as
 * MIGRATE_ISOLATE so that no one else can grab the freed page after migration"),
 * each a zone->lock section of its own, as v5.19 has them.
 *
 * Every zone->lock critical section is one step. The lockless scans of
 * isolate_single_pageblock() peek at one page per step.
 */
import { VM_BUG_ON_PAGE } from './bug.ts';
import {
  MIGRATE_ISOLATE, PageBuddy, buddy_order, get_pageblock_migratetype, is_migrate_isolate_page, split_free_page,
} from './buddy.ts';
import {
  cpuCompoundHead, cpuOwnedHead, free_owned_pages, isolate_freepages_block,
  has_unmovable_pages, set_migratetype_isolate, test_pages_isolated, unset_migratetype_isolate,
} from './isolation.ts';
import { __free_pages, __isolate_free_page } from './buddy.ts';
import { F_OWNER } from './buddy.ts';
import { PAGE_STRIDE } from './page.ts';
import { EBUSY } from './migrate.ts';
import { drainAllDone, drain_all_pages_queue } from './pcp.ts';
import { type ActionFn, type Branch, type GuardFn, type ProgramBuilder, br } from './program.ts';
import { allocContigMigrateRange } from './contig-migrate.ts';

/** Where alloc_contig_range() works and what it may touch. */
export interface ContigCtx {
  /** Byte offset of the zone. */
  readonly z: number;
  readonly npages: number;
  readonly maxOrder: number;
  readonly pageblockNr: number;
  readonly maxOrderNr: number;
  /** [start, end): the pages wanted. */
  readonly start: number;
  readonly end: number;
  /** The migratetype the range is restored to (MIGRATE_MOVABLE for alloc_contig_pages). */
  readonly migratetype: number;
  /** CPU actors are 0 .. ncpus-1; slot[c] (world byte slots + c) is the page CPU c holds. */
  readonly ncpus: number;
  readonly slots: number;
  /** Ghost world byte: 0 while running, 1 when it returned 0, 2 when it failed. */
  readonly result: number;
  /** World byte: pcpu_drain_mutex (holder + 1). */
  readonly drainMutex: number;
  readonly slot: {
    readonly pfn: number; readonly order: number; readonly head: number; readonly saved: number; readonly ret: number;
    readonly outerStart: number; readonly tail: number;
    /** isolate_single_pageblock()'s page_mt and isolate_page around the migration. */
    readonly pageMt: number; readonly isolatePage: number;
    /** unmap_and_move()'s newpage (0xff: none). */
    readonly newpage: number;
    /** isolate_single_pageblock()'s migration: its cursor and end_pfn. */
    readonly lowPfn: number; readonly migEnd: number;
  };
}

export const RESULT_RUNNING = 0;
export const RESULT_OK = 1;
export const RESULT_FAILED = 2;

// --- guards and actions (P holds local slots and constants) --------------------

/** set_migratetype_isolate() will fail: the block is isolated already, or has_unmovable_pages() finds a page. */
const isolatedBlock: GuardFn = (m, _L, P) => is_migrate_isolate_page(m, P.z, P.block) || has_unmovable_pages(m, P.z, P.block) >= 0;
const setEbusy: ActionFn = (m, L, P) => { m[L + P.ret] = EBUSY; };
const setPfn: ActionFn = (m, L, P) => { m[L + P.pfn] = P.value; };
/** The name of isolate_single_pageblock()'s set_migratetype_isolate() action (variants replace its function). */
export const ACT_ISOLATE = 'set_migratetype_isolate';
/** set_migratetype_isolate(isolate_pageblock) by `isolate`: saved_mt, then the zone->lock section. */
export const isolateBlockWith = (isolate: typeof set_migratetype_isolate): ActionFn => (m, L, P) => {
  m[L + P.saved] = get_pageblock_migratetype(m, P.z, P.block);
  const ok = isolate(m, P.z, P.block);
  VM_BUG_ON_PAGE(!ok, 'set_migratetype_isolate failed on a block seen unisolated', 'isolate_single_pageblock', P.block);
  m[L + P.pfn] = P.scanStart;
};
const isolateBlock = isolateBlockWith(set_migratetype_isolate);
/** skip_isolation: saved_mt = get_pageblock_migratetype(); VM_BUG_ON(!is_migrate_isolate(saved_mt)). */
const skipIsolation: ActionFn = (m, L, P) => {
  const mt = get_pageblock_migratetype(m, P.z, P.block);
  VM_BUG_ON_PAGE(mt !== MIGRATE_ISOLATE, '!is_migrate_isolate(saved_mt)', 'isolate_single_pageblock', P.block);
  m[L + P.saved] = mt;
  m[L + P.pfn] = P.scanStart;
};

const scanDone: GuardFn = (m, L, P) => m[L + P.pfn] >= P.boundary;
const buddyCrossing: GuardFn = (m, L, P) => {
  const pfn = m[L + P.pfn];
  return PageBuddy(m, pfn) && pfn + (1 << buddy_order(m, pfn)) > P.boundary;
};
const rememberOrder: ActionFn = (m, L, P) => { m[L + P.order] = buddy_order(m, m[L + P.pfn]); };
const isBuddy: GuardFn = (m, L, P) => PageBuddy(m, m[L + P.pfn]);
const skipBuddy: ActionFn = (m, L, P) => { m[L + P.pfn] += 1 << buddy_order(m, m[L + P.pfn]); };
/** PageCompound(page) of an in-use page: the head's order > 0. */
const compoundAt = (m: Uint8Array, L: number, P: Readonly<Record<string, number>>): number => {
  const head = cpuCompoundHead(m, m[L + P.pfn], P.ncpus, P.maxOrder);
  return head >= 0 && cpuOwnedHead(m, head, P.ncpus) > 0 ? head : -1;
};
const compoundCrossing: GuardFn = (m, L, P) => {
  const head = compoundAt(m, L, P);
  return head >= 0 && head + (1 << cpuOwnedHead(m, head, P.ncpus)) > P.boundary;
};
/** head = compound_head(page); nr_pages = compound_nr(head), kept as the migration's end_pfn. */
const rememberHead: ActionFn = (m, L, P) => {
  const head = compoundAt(m, L, P);
  m[L + P.head] = head;
  m[L + P.migEnd] = head + (1 << cpuOwnedHead(m, head, P.ncpus));
};
const startMigration: ActionFn = (m, L, P) => { m[L + P.lowPfn] = m[L + P.head]; };
const isCompound: GuardFn = (m, L, P) => compoundAt(m, L, P) >= 0;
const skipCompound: ActionFn = (m, L, P) => {
  const head = compoundAt(m, L, P);
  m[L + P.pfn] = head + (1 << cpuOwnedHead(m, head, P.ncpus));
};
const pfnInc: ActionFn = (m, L, P) => { m[L + P.pfn]++; };
/** The action name of isolate_single_pageblock()'s split step (variants replace its function). */
export const ACT_SPLIT = 'split_free_page(page, order, boundary_pfn - pfn)';
/** split_free_page(page, order, boundary_pfn - pfn) under zone->lock; on success pfn += 1 << order. */
export const splitAtBoundaryWith = (split: typeof split_free_page): ActionFn => (m, L, P) => {
  const pfn = m[L + P.pfn];
  const order = m[L + P.order];
  if (split(m, P.z, pfn, order, P.boundary - pfn)) m[L + P.pfn] = pfn + (1 << order);
};
/** split_free_page(page, order, boundary_pfn - pfn) under zone->lock; on success pfn += 1 << order. */
const splitAtBoundary: ActionFn = (m, L, P) => {
  const pfn = m[L + P.pfn];
  const order = m[L + P.order];
  if (split_free_page(m, P.z, pfn, order, P.boundary - pfn)) m[L + P.pfn] = pfn + (1 << order);
};
/** page_mt = get_pageblock_migratetype(page); isolate_page = !is_migrate_isolate_page(page). */
const readPageMt: ActionFn = (m, L, P) => {
  const mt = get_pageblock_migratetype(m, P.z, m[L + P.pfn]);
  m[L + P.pageMt] = mt;
  m[L + P.isolatePage] = mt === MIGRATE_ISOLATE ? 0 : 1;
};
const notIsolatePage: GuardFn = (m, L, P) => m[L + P.isolatePage] === 0;
const pageBlockIsolated: GuardFn = (m, L, P) => is_migrate_isolate_page(m, P.z, m[L + P.pfn]) || has_unmovable_pages(m, P.z, m[L + P.pfn]) >= 0;
/** The names of the other two set_migratetype_isolate() actions (variants replace their functions). */
export const ACT_ISOLATE_PAGE = 'set_migratetype_isolate(page)';
export const ACT_ISOLATE_MID = 'set_migratetype_isolate(block)';
export const isolatePageBlockWith = (isolate: typeof set_migratetype_isolate): ActionFn => (m, L, P) => {
  const ok = isolate(m, P.z, m[L + P.pfn]);
  VM_BUG_ON_PAGE(!ok, 'set_migratetype_isolate failed on a block seen unisolated', 'isolate_single_pageblock', m[L + P.pfn]);
};
const isolatePageBlock = isolatePageBlockWith(set_migratetype_isolate);
const unsetPageBlock: ActionFn = (m, L, P) => unset_migratetype_isolate(m, P.z, m[L + P.pfn], m[L + P.pageMt]);
const retNonZero: GuardFn = (m, L, P) => m[L + P.ret] !== 0;
/** order = 0; outer_pfn = pfn; while (!PageBuddy(outer_pfn)) { if (++order >= MAX_ORDER) fail; outer_pfn &= ~0UL << order; } */
const findFreed = (m: Uint8Array, L: number, P: Readonly<Record<string, number>>): number => {
  let order = 0;
  let outer = m[L + P.pfn];
  while (!PageBuddy(m, outer)) {
    if (++order >= P.maxOrder) return -1;
    outer &= ~0 << order;
  }
  return outer;
};
const freedNotFound: GuardFn = (m, L, P) => findFreed(m, L, P) < 0;
const gotoFreed: ActionFn = (m, L, P) => { m[L + P.pfn] = findFreed(m, L, P); };
/** failed: unset_migratetype_isolate(isolate_pageblock, saved_mt) unless skip_isolation. */
const restoreBlock: ActionFn = (m, L, P) => {
  unset_migratetype_isolate(m, P.z, P.block, m[L + P.saved]);
  m[L + P.ret] = EBUSY;
};
/** The name of undo's unset_migratetype_isolate() action (variants replace its function). */
export const ACT_UNSET = 'unset_migratetype_isolate(block)';
export const unsetBlockWith = (unset: typeof unset_migratetype_isolate): ActionFn => (m, _L, P) => unset(m, P.z, P.block, P.mt);
const unsetBlock = unsetBlockWith(unset_migratetype_isolate);
export const setBlockWith = (isolate: typeof set_migratetype_isolate): ActionFn => (m, _L, P) => { isolate(m, P.z, P.block); };
const setBlock = setBlockWith(set_migratetype_isolate);
const undoBlocks: ActionFn = (m, L, P) => {
  for (let pfn = P.from; pfn < P.to; pfn += P.pbnr) unset_migratetype_isolate(m, P.z, pfn, P.mt);
  unset_migratetype_isolate(m, P.z, P.last, P.mt);
  m[L + P.ret] = EBUSY;
};

const notIsolated: GuardFn = (m, _L, P) => !test_pages_isolated(m, P.z, P.from, P.to);
const grabDone: GuardFn = (m, L, P) => m[L + P.pfn] >= P.to;
/** One pageblock of isolate_freepages_range(); ret = EBUSY when the strict scan fails. */
const grabBlock: ActionFn = (m, L, P, A) => {
  const pfn = m[L + P.pfn];
  const blockEnd = Math.min((pfn | (P.pbnr - 1)) + 1, P.to);
  const r = isolate_freepages_block(m, P.z, pfn, blockEnd, A);
  if (r < 0) m[L + P.ret] = EBUSY;
  else m[L + P.pfn] = r;
};
const releaseAll: ActionFn = (m, _L, P, A) => free_owned_pages(m, P.z, 0, P.npages, A);
/** free_contig_range(pfn, 1): __free_page() of one page taken with the range. */
const freeOne: ActionFn = (m, _L, P, A) => {
  VM_BUG_ON_PAGE(m[P.page * PAGE_STRIDE + F_OWNER] !== A + 1, 'freeing a page the caller does not hold', 'free_contig_range', P.page);
  __free_pages(m, P.z, P.page, 0);
};
const mutexFree: GuardFn = (m, _L, P) => m[P.mutex] === 0;
const drainQueue: ActionFn = (m, _L, P, A) => { m[P.mutex] = A + 1; drain_all_pages_queue(m, P.z); };
const drainsDone: GuardFn = (m, _L, P) => drainAllDone(m, P.z);
const drainDone: ActionFn = (m, L, P) => { m[P.mutex] = 0; m[L + P.pfn] = P.value; };
const setResult: ActionFn = (m, L, P) => { m[P.result] = m[L + P.ret] === 0 ? RESULT_OK : RESULT_FAILED; };
const clearRet: ActionFn = (m, L, P) => { m[L + P.ret] = 0; };

/**
 * isolate_single_pageblock(boundary_pfn, flags, gfp, isolate_before, skip_isolation)
 * at label `at`: returns to `ok` or, with ret = -EBUSY, to `fail`.
 */
export function isolateSinglePageblock(
  b: ProgramBuilder, at: string, ctx: ContigCtx, boundary: number, before: boolean, skip: boolean, ok: string, fail: string,
): void {
  const fn = 'isolate_single_pageblock';
  const x = (t: string) => `${at}/${t}`;
  const block = before ? boundary - ctx.pageblockNr : boundary;
  const scanStart = block & ~(ctx.maxOrderNr - 1);
  const s = ctx.slot;
  const P = { z: ctx.z, block, scanStart, boundary, ncpus: ctx.ncpus, maxOrder: ctx.maxOrder, slots: ctx.slots, ...s };
  b.steps(at, fn, ...isolateStepBranches(b, ctx, block, scanStart, skip, x('scan'), fail));
  b.steps(x('scan'), fn, 'page = pfn_to_page(pfn): PageBuddy(page) across boundary_pfn? PageCompound(page) across it?', [
    br(ok, [], b.g('pfn >= boundary_pfn', scanDone, P)),
    br(x('split'), [b.a('order = buddy_order(page)', rememberOrder, P)], b.g('PageBuddy(page) && pfn + (1 << order) > boundary_pfn', buddyCrossing, P)),
    br(x('scan'), [b.a('pfn += 1 << buddy_order(page)', skipBuddy, P)], b.g('PageBuddy(page)', isBuddy, P)),
    br(x('migrate'), [b.a('head = compound_head(page)', rememberHead, P)], b.g('PageCompound(page) && head_pfn + nr_pages > boundary_pfn', compoundCrossing, P)),
    br(x('scan'), [b.a('pfn = head_pfn + nr_pages', skipCompound, P)], b.g('PageCompound(page)', isCompound, P)),
    br(x('scan'), [b.a('pfn++', pfnInc, P)]),
  ]);
  b.steps(x('split'), 'split_free_page', 'spin_lock(&zone->lock); recheck; split the free page at boundary_pfn into its pageblocks\' free lists; spin_unlock', [
    br(x('scan'), [b.a(ACT_SPLIT, splitAtBoundary, P)]),
  ]);
  // v5.19 (with 88ee134320b8): "XXX: mark the page as MIGRATE_ISOLATE so that no one
  // else can grab the freed page after migration": the pageblock of `page` (the scan
  // cursor) is isolated around the migration and restored to page_mt after it.
  b.steps(x('migrate'), fn, 'page_mt = get_pageblock_migratetype(page); isolate_page = !is_migrate_isolate_page(page) (unlocked reads)', [
    br(x('tmp-isolate'), [b.a('page_mt, isolate_page', readPageMt, P)]),
  ]);
  b.steps(x('tmp-isolate'), 'set_migratetype_isolate', 'if (isolate_page) { spin_lock; set_migratetype_isolate(page, page_mt): -EBUSY if isolated meanwhile (goto failed); spin_unlock }', [
    br(x('migrate-range'), [], b.g('!isolate_page', notIsolatePage, P)),
    br(x('failed'), [], b.g('is_migrate_isolate_page(pfn_to_page(pfn))', pageBlockIsolated, P)),
    br(x('migrate-range'), [b.a(ACT_ISOLATE_PAGE, isolatePageBlock, P)]),
  ]);
  // ret = __alloc_contig_migrate_range(&cc, head_pfn, head_pfn + nr_pages): the same
  // steps as the range's migration, on their own cursor (cc.migrate_pfn).
  b.localStep(x('migrate-range'), '__alloc_contig_migrate_range', 'cc.migrate_pfn = head_pfn', [
    br(x('mig'), [b.a('low_pfn = head_pfn', startMigration, P)]),
  ]);
  allocContigMigrateRange(b, x('mig'), { z: ctx.z, ncpus: ctx.ncpus, slots: ctx.slots, end: 0, endLocal: s.migEnd, slot: { ...s, pfn: s.lowPfn } }, x('tmp-unset'), x('tmp-unset'));
  b.steps(x('tmp-unset'), 'unset_migratetype_isolate', 'if (isolate_page) { spin_lock; unset_migratetype_isolate(page, page_mt); spin_unlock } (restore the page\'s migratetype so that it can be split later)', [
    br(x('migrated'), [], b.g('!isolate_page', notIsolatePage, P)),
    br(x('migrated'), [b.a('unset_migratetype_isolate(page, page_mt)', unsetPageBlock, P)]),
  ]);
  b.localStep(x('migrated'), fn, 'if (ret) goto failed', [
    br(x('failed'), [], b.g('ret != 0', retNonZero, P)),
    br(x('find')),
  ]);
  b.steps(x('find'), fn, 'find the head of the freed page: while (!PageBuddy(outer_pfn)) { if (++order >= MAX_ORDER) goto failed; ... }', [
    br(x('failed'), [], b.g('no free page found', freedNotFound, P)),
    br(x('scan'), [b.a('pfn = outer_pfn', gotoFreed, P)]),
  ]);
  if (skip) b.localStep(x('failed'), fn, 'failed: return -EBUSY (skip_isolation: nothing to restore)', [br(fail, [b.a('ret = -EBUSY', setEbusy, P)])]);
  else b.steps(x('failed'), fn, 'failed: unset_migratetype_isolate(isolate_pageblock, saved_mt); return -EBUSY', [br(fail, [b.a('unset_migratetype_isolate(saved_mt)', restoreBlock, P)])]);
}

/**
 * The first step of isolate_single_pageblock(): with skip_isolation the block is
 * already isolated by the other end; otherwise set_migratetype_isolate(), which
 * fails on a block someone else isolated.
 */
export function isolateStepBranches(
  b: ProgramBuilder, ctx: ContigCtx, block: number, scanStart: number, skip: boolean, scan: string, fail: string,
): [string, Branch[]] {
  const P = { z: ctx.z, block, scanStart, ...ctx.slot };
  if (skip) {
    return ['skip_isolation: saved_mt = get_pageblock_migratetype(page); VM_BUG_ON(!is_migrate_isolate(saved_mt))', [
      br(scan, [b.a('skip_isolation', skipIsolation, P)]),
    ]];
  }
  return ['spin_lock(&zone->lock); set_migratetype_isolate(isolate_pageblock): -EBUSY if already isolated, else MIGRATE_ISOLATE and move_freepages_block(); spin_unlock', [
    br(fail, [b.a('ret = -EBUSY', setEbusy, P)], b.g('is_migrate_isolate_page(page)', isolatedBlock, P)),
    br(scan, [b.a(ACT_ISOLATE, isolateBlock, P)]),
  ]];
}

/**
 * Where alloc_contig_range() goes when start_isolate_page_range() fails. v5.19 (the
 * seed's change) has `if (ret) goto done;`, so the failed call runs
 * undo_isolate_page_range() over its whole range, and unset_migratetype_isolate()
 * un-isolates any isolated pageblock there, including those that a concurrent
 * alloc_contig_range() on an overlapping range isolated (the very case
 * start_isolate_page_range()'s comment says makes the second caller fail). That is a
 * finding (docs/findings.md); `returnOnIsolationFailure()` is the fix the variant
 * `fix-return-on-isolation-failure` checks: return at once, as before the seed, since
 * start_isolate_page_range() has already undone what it isolated itself.
 */
export const ISOLATION_FAILED = (at: string): string => `${at}/isolation-failed`;

/** alloc_contig_range(start, end, migratetype) at label `at`, ending at `done`. */
export function allocContigRange(b: ProgramBuilder, at: string, ctx: ContigCtx, done: string): void {
  const x = (t: string) => `${at}/${t}`;
  const pb = ctx.pageblockNr;
  const allocStart = ctx.start & ~(pb - 1);
  const allocEnd = (ctx.end + pb - 1) & ~(pb - 1);
  const s = ctx.slot;
  const C = { z: ctx.z, npages: ctx.npages, ncpus: ctx.ncpus, slots: ctx.slots, pbnr: pb, ...s };
  const single = allocStart === allocEnd - pb;

  // start_isolate_page_range(); when it fails, alloc_contig_range() does "goto done"
  // (see ISOLATION_FAILED).
  isolateSinglePageblock(b, x('isb-start'), ctx, allocStart, false, false, x('isb-end'), ISOLATION_FAILED(at));
  isolateSinglePageblock(b, x('isb-end'), ctx, allocEnd, true, single, x('mid0'), x('isb-end/undo-start'));
  b.steps(x('isb-end/undo-start'), 'start_isolate_page_range', 'spin_lock; unset_migratetype_isolate(isolate_start); spin_unlock; return ret', [
    br(ISOLATION_FAILED(at), [b.a(ACT_UNSET, unsetBlock, { ...C, block: allocStart, mt: ctx.migratetype })]),
  ]);
  b.localStep(ISOLATION_FAILED(at), 'alloc_contig_range', 'if (ret) goto done: undo_isolate_page_range(alloc_start, alloc_end, migratetype)', [br(x('undo'))]);
  const middle: number[] = [];
  for (let pfn = allocStart + pb; pfn < allocEnd - pb; pfn += pb) middle.push(pfn);
  middle.forEach((pfn, k) => {
    b.steps(x(`mid${k}`), 'start_isolate_page_range', `set_migratetype_isolate(pfn ${pfn})`, [
      br(x('mid-undo'), [b.a('undo_isolate_page_range + unset end', undoBlocks, { ...C, from: allocStart, to: pfn, last: allocEnd - pb, mt: ctx.migratetype })],
        b.g('is_migrate_isolate_page(page)', isolatedBlock, { ...C, block: pfn })),
      br(x(`mid${k + 1}`), [b.a(ACT_ISOLATE_MID, setBlock, { ...C, block: pfn })]),
    ]);
  });
  // drain_all_pages(cc.zone): __drain_all_pages() under pcpu_drain_mutex queues
  // drain_local_pages_wq on every CPU with pages on its list and flush_work()s them.
  b.steps(x(`mid${middle.length}`), 'drain_all_pages', 'mutex_lock(&pcpu_drain_mutex); for each CPU with pcp->count: queue_work_on(cpu, drain_local_pages_wq)', [
    br(x('drain-flush'), [b.a('__drain_all_pages: queue', drainQueue, { ...C, mutex: ctx.drainMutex })], b.g('pcpu_drain_mutex free', mutexFree, { ...C, mutex: ctx.drainMutex })),
  ]);
  b.steps(x('drain-flush'), 'drain_all_pages', 'flush_work() of every queued drain; mutex_unlock(&pcpu_drain_mutex); pfn = start', [
    br(x('migrate'), [b.a('__drain_all_pages: done', drainDone, { ...C, mutex: ctx.drainMutex, value: ctx.start })], b.g('every queued drain done', drainsDone, C)),
  ]);
  b.localStep(x('mid-undo'), 'start_isolate_page_range', 'return -EBUSY', [br(ISOLATION_FAILED(at))]);

  // __alloc_contig_migrate_range(&cc, start, end): LRU isolation and migrate_pages(),
  // step by step (src/kernel/contig-migrate.ts); -EBUSY is left to
  // test_pages_isolated(), -ENOMEM is "goto done".
  allocContigMigrateRange(b, x('migrate'), { z: ctx.z, ncpus: ctx.ncpus, slots: ctx.slots, end: ctx.end, endLocal: -1, slot: s }, x('take'), x('undo'));

  b.localStep(x('take'), 'alloc_contig_range', 'after migration: take the range (v5.19: from outer_start)', [br(x('test'))]);
  takeRangeV519(b, at, ctx, x('undo'));

  // done: undo_isolate_page_range(alloc_start, alloc_end, migratetype), one zone->lock section per pageblock.
  const blocks: number[] = [];
  for (let pfn = allocStart; pfn < allocEnd; pfn += pb) blocks.push(pfn);
  blocks.forEach((block, k) => {
    const next = k + 1 < blocks.length ? x(`undo${k + 1}`) : done;
    const acts = [b.a(ACT_UNSET, unsetBlock, { ...C, block, mt: ctx.migratetype })];
    if (k + 1 === blocks.length) acts.push(b.a(ACT_RETURN, setResult, { ...C, result: ctx.result }));
    b.steps(k === 0 ? x('undo') : x(`undo${k}`), 'undo_isolate_page_range', `spin_lock; unset_migratetype_isolate(pfn ${block}, migratetype); spin_unlock`, [br(next, acts)]);
  });
}

/** The action that records alloc_contig_range()'s return value. */
export const ACT_RETURN = 'return ret';
/** The label of undo_isolate_page_range()'s step for the k-th pageblock of the range. */
export const undoLabel = (at: string, k: number): string => (k === 0 ? `${at}/undo` : `${at}/undo${k}`);

/**
 * The fix of the `goto done` finding (variant `fix-return-on-isolation-failure`):
 * `if (ret) return ret;` as before the seed; start_isolate_page_range() has undone
 * its own isolation on every failure path.
 */
export function returnOnIsolationFailure(b: ProgramBuilder, at: string, ctx: ContigCtx, done: string): void {
  // Not a local step any more: it writes the result.
  b.nodes[ISOLATION_FAILED(at)] = {
    fn: 'alloc_contig_range', desc: 'if (ret) return ret: start_isolate_page_range() has undone its own isolation',
    on: { step: [br(done, [b.a('return ret', setResult, { result: ctx.result, ...ctx.slot })])] },
  };
}

/** The head of the free page holding `start`, as v5.19 alloc_contig_range() finds outer_start. */
function outerStart(m: Uint8Array, start: number, maxOrder: number): number {
  let order = 0;
  let outer = start;
  while (!PageBuddy(m, outer)) {
    if (++order >= maxOrder) return start;
    outer &= ~0 << order;
  }
  if (outer !== start && outer + (1 << buddy_order(m, outer)) <= start) return start;
  return outer;
}
const notIsolatedFromOuter: GuardFn = (m, _L, P) => !test_pages_isolated(m, P.z, outerStart(m, P.start, P.maxOrder), P.end);
const setOuterStart: ActionFn = (m, L, P) => {
  const o = outerStart(m, P.start, P.maxOrder);
  m[L + P.outerStart] = o;
  m[L + P.pfn] = o;
};
/** The name of isolate_freepages_range()'s per-pageblock action (variants replace its function). */
export const ACT_GRAB = 'isolate_freepages_block(to end)';
/** One pageblock of isolate_freepages_range() up to `end`, taking pages with `isolate` (__isolate_free_page()). */
export const grabBlockToWith = (isolate: typeof __isolate_free_page): ActionFn => (m, L, P, A) => {
  const pfn = m[L + P.pfn];
  const blockEnd = Math.min((pfn | (P.pbnr - 1)) + 1, P.to);
  const r = isolate_freepages_block(m, P.z, pfn, blockEnd, A, isolate);
  if (r < 0) m[L + P.ret] = EBUSY;
  else m[L + P.pfn] = r;
};
const grabBlockTo = grabBlockToWith(__isolate_free_page);
const outerBelowStart: GuardFn = (m, L, P) => m[L + P.outerStart] < P.start;
const freeOuterStart: ActionFn = (m, L, P, A) => {
  const pfn = m[L + P.outerStart];
  VM_BUG_ON_PAGE(m[pfn * PAGE_STRIDE + F_OWNER] !== A + 1, 'freeing a page the caller does not hold', 'free_contig_range', pfn);
  __free_pages(m, P.z, pfn, 0);
  m[L + P.outerStart] = pfn + 1;
};
const tailLeft: GuardFn = (m, L, P) => m[L + P.tail] < m[L + P.pfn];
const freeTail: ActionFn = (m, L, P, A) => {
  const pfn = m[L + P.tail];
  VM_BUG_ON_PAGE(m[pfn * PAGE_STRIDE + F_OWNER] !== A + 1, 'freeing a page the caller does not hold', 'free_contig_range', pfn);
  __free_pages(m, P.z, pfn, 0);
  m[L + P.tail] = pfn + 1;
};
const setTail: ActionFn = (m, L, P) => { m[L + P.tail] = P.value; };

/**
 * v5.19 alloc_contig_range() after the migration: outer_start is the head of the
 * free page holding `start` (found without zone->lock: "the pages are isolated thus
 * they won't get removed from buddy"); test_pages_isolated(outer_start, end);
 * outer_end = isolate_freepages_range(&cc, outer_start, end); then free the head
 * [outer_start, start) and the tail [end, outer_end), one page per step.
 */
export function takeRangeV519(b: ProgramBuilder, at: string, ctx: ContigCtx, undo: string): void {
  const x = (t: string) => `${at}/${t}`;
  const s = ctx.slot;
  const C = { z: ctx.z, pbnr: ctx.pageblockNr, maxOrder: ctx.maxOrder, start: ctx.start, end: ctx.end, ...s };
  b.steps(x('test'), 'test_pages_isolated', 'outer_start = head of the free page holding start; every pageblock of [outer_start, end) MIGRATE_ISOLATE; spin_lock; every page free; spin_unlock', [
    br(undo, [b.a('ret = -EBUSY', setEbusy, C)], b.g('!test_pages_isolated(outer_start, end)', notIsolatedFromOuter, C)),
    br(x('grab'), [b.a('outer_start = ...; pfn = outer_start', setOuterStart, C)]),
  ]);
  const G = { ...C, to: ctx.end };
  b.steps(x('grab'), 'isolate_freepages_range', 'spin_lock; isolate_freepages_block(pfn, block end, strict): take the free pages off their lists, split_map(); spin_unlock', [
    br(x('free-head'), [b.a('tail = end', setTail, { ...C, value: ctx.end })], b.g('pfn >= end (all taken)', grabDone, G)),
    br(x('grab/check'), [b.a(ACT_GRAB, grabBlockTo, G)]),
  ]);
  b.localStep(x('grab/check'), 'isolate_freepages_range', 'if (!isolated) break', [
    br(x('grab/release'), [], b.g('ret != 0', retNonZero, C)),
    br(x('grab')),
  ]);
  b.steps(x('grab/release'), 'isolate_freepages_range', 'release_freepages(&freelist): __free_page() each page taken; return 0', [
    br(undo, [b.a('release_freepages', releaseAll, { ...C, npages: ctx.npages })]),
  ]);
  b.steps(x('free-head'), 'free_contig_range', '__free_page(outer_start++): [outer_start, start) is not wanted', [
    br(x('free-head'), [b.a('__free_page(outer_start)', freeOuterStart, C)], b.g('outer_start < start', outerBelowStart, C)),
    br(x('free-tail')),
  ]);
  b.steps(x('free-tail'), 'free_contig_range', '__free_page(pfn): [end, outer_end) is not wanted', [
    br(x('free-tail'), [b.a('__free_page(tail)', freeTail, C)], b.g('tail < outer_end', tailLeft, C)),
    br(undo, [b.a('ret = 0', clearRet, C)]),
  ]);
}

/**
 * The seed's own tail of alloc_contig_range() (v5 of the patch), put back by the
 * variant `seed-alloc-range`: test_pages_isolated(alloc_start, alloc_end),
 * isolate_freepages_range(&cc, alloc_start, alloc_end), and free [alloc_start, start)
 * and [end, alloc_end), whatever isolate_freepages_range() returned as outer_end.
 */
export function takeRangeSeed(b: ProgramBuilder, at: string, ctx: ContigCtx, undo: string): void {
  const x = (t: string) => `${at}/seed-${t}`;
  const pb = ctx.pageblockNr;
  const allocStart = ctx.start & ~(pb - 1);
  const allocEnd = (ctx.end + pb - 1) & ~(pb - 1);
  const s = ctx.slot;
  const C = { z: ctx.z, npages: ctx.npages, pbnr: pb, ...s };
  b.steps(x('test'), 'test_pages_isolated', 'every pageblock MIGRATE_ISOLATE; spin_lock; every page of [alloc_start, alloc_end) free; spin_unlock', [
    br(undo, [b.a('ret = -EBUSY', setEbusy, C)], b.g('!test_pages_isolated(alloc_start, alloc_end)', notIsolated, { ...C, from: allocStart, to: allocEnd })),
    br(x('grab'), [b.a('pfn = value', setPfn, { ...C, value: allocStart })]),
  ]);
  const G = { ...C, to: allocEnd };
  b.steps(x('grab'), 'isolate_freepages_range', 'spin_lock; isolate_freepages_block(pfn, block end, strict); spin_unlock', [
    br(x('free0'), [], b.g('pfn >= alloc_end', grabDone, G)),
    br(x('grab/check'), [b.a('isolate_freepages_block', grabBlock, G)]),
  ]);
  b.localStep(x('grab/check'), 'isolate_freepages_range', 'if (!isolated) break', [
    br(x('grab/release'), [], b.g('ret != 0', retNonZero, C)),
    br(x('grab')),
  ]);
  b.steps(x('grab/release'), 'isolate_freepages_range', 'release_freepages(&freelist); return 0', [
    br(undo, [b.a('release_freepages', releaseAll, C)]),
  ]);
  const extra: number[] = [];
  for (let pfn = allocStart; pfn < ctx.start; pfn++) extra.push(pfn);
  for (let pfn = ctx.end; pfn < allocEnd; pfn++) extra.push(pfn);
  extra.forEach((page, k) => {
    b.steps(x(`free${k}`), 'free_contig_range', `__free_page(pfn ${page}): outside [start, end)`, [
      br(x(`free${k + 1}`), [b.a('__free_page(pfn)', freeOne, { ...C, page })]),
    ]);
  });
  b.localStep(x(`free${extra.length}`), 'alloc_contig_range', 'ret = 0', [br(undo, [b.a('ret = 0', clearRet, C)])]);
}
