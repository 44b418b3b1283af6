/**
 * mm/compaction.c (v4.8 with the seed's patches 02 and 03): the migrate scanner's
 * non-LRU path in isolate_migratepages_block(), and release_freepages().
 */
import { F_PRIVATE, PAGE_STRIDE, PageBuddy, PageCompound, PageIsolated, PageLRU, __PageMovable, compound_order, nodePage, put_page } from './page.ts';
import { list_del, list_empty, listNextOf, spaceOf } from './list.ts';
import { isolateMovablePage, type MigrateCtx } from './migrate.ts';
import { type ActionFn, type GuardFn, type ProgramBuilder, br } from './program.ts';

/** MAX_ORDER (v4.8 default): orders read locklessly are trusted only below it. */
export const MAX_ORDER = 11;

/**
 * The lockless filters of isolate_migratepages_block() (mm/compaction.c, v4.8 with the
 * seed's patch 02), in the kernel's order, for the page at low_pfn: how many further
 * pfns the scan skips (0 or more), or -1 when it calls isolate_movable_page():
 *   if (PageBuddy(page)) { freepage_order = page_order_unsafe(page);
 *       if (freepage_order > 0 && freepage_order < MAX_ORDER) low_pfn += (1UL << freepage_order) - 1;
 *       continue; }
 *   if (PageCompound(page)) { comp_order = compound_order(page);
 *       if (likely(comp_order < MAX_ORDER)) low_pfn += (1UL << comp_order) - 1;
 *       goto isolate_fail; }
 *   is_lru = PageLRU(page);
 *   if (!is_lru) { if (unlikely(__PageMovable(page)) && !PageIsolated(page)) isolate_movable_page(...);
 *       goto isolate_fail; }
 * The LRU path (__isolate_lru_page under zone->lru_lock) is not modelled: the
 * migration systems' pages are never on the LRU, and an LRU page of the mix is passed
 * by, as `isolate_fail` would after a failed LRU isolation (README, "What the world
 * holds"). The peeks are one step: each is a hint that isolate_movable_page()
 * re-validates under the page lock, and a write landing between two of them yields a
 * decision that a write landing before or after the whole step yields too, since each
 * writer in these systems changes one of the peeked fields at a time.
 */
export function scanSkip(m: Uint8Array, pfn: number): number {
  if (PageBuddy(m, pfn)) {
    const order = m[pfn * PAGE_STRIDE + F_PRIVATE]; // page_order_unsafe()
    return order > 0 && order < MAX_ORDER ? (1 << order) - 1 : 0;
  }
  if (PageCompound(m, pfn)) {
    const order = compound_order(m, pfn);
    return order < MAX_ORDER ? (1 << order) - 1 : 0;
  }
  if (!PageLRU(m, pfn)) return __PageMovable(m, pfn) && !PageIsolated(m, pfn) ? -1 : 0;
  return 0;
}
/** Step and action names variants change. */
export const SCAN_SKIP = 'low_pfn += skip';
const skipPfn: GuardFn = (m, L, P) => scanSkip(m, m[L + P.pfn]) >= 0;
const skipBlock: ActionFn = (m, L, P) => { m[L + P.pfn] += scanSkip(m, m[L + P.pfn]); };
const nextPfn: ActionFn = (m, L, P) => { m[L + P.pfn]++; };
const scanGoesOn: GuardFn = (m, L, P) => m[L + P.pfn] + 1 < P.end;

/**
 * isolate_migratepages_block(cc, low_pfn = 0, end_pfn = `end`): scans pfns [0, end)
 * into cc->migratepages, then goes to `done`.
 */
export function isolateMigratepagesBlock(
  b: ProgramBuilder, at: string, ctx: MigrateCtx, pfnSlot: number, end: number, done: string,
): void {
  const fn = 'isolate_migratepages_block';
  const x = (t: string) => `${at}/${t}`;
  const p = { pfn: pfnSlot };
  b.steps(at, fn, 'PageBuddy(page)? PageCompound(page)? PageLRU(page)? __PageMovable(page) && !PageIsolated(page)?', [
    br(x('next'), [b.a(SCAN_SKIP, skipBlock, p)], b.g('skip pfn', skipPfn, p)),
    br(x('isolate')),
  ]);
  isolateMovablePage(b, x('isolate'), ctx, pfnSlot, x('next'), x('next'));
  // A local step: the loop counter only.
  b.localStep(x('next'), fn, 'low_pfn++', [
    br(at, [b.a('low_pfn++', nextPfn, p)], b.g('low_pfn + 1 < end_pfn', scanGoesOn, { ...p, end })),
    br(done, [b.a('low_pfn++', nextPfn, p)]),
  ]);
}

const freeListNonEmpty: GuardFn = (m, _L, P) => !list_empty(m, spaceOf(P.ls), P.list);
const freeFirst: ActionFn = (m, _L, P) => {
  const S = spaceOf(P.ls);
  const node = listNextOf(m, S, P.list);
  list_del(m, S, node);
  put_page(m, nodePage(node)); // __free_page()
};

/** release_freepages(&cc->freepages): every unused target goes back to the allocator. */
export function releaseFreepages(b: ProgramBuilder, at: string, ctx: MigrateCtx, done: string): void {
  const lst = { list: ctx.freeList, ls: ctx.lists };
  b.steps(at, 'release_freepages', 'list_del(&page->lru); __free_page(page)', [
    br(at, [b.a('__free_page(first)', freeFirst, lst)], b.g('!list_empty(freelist)', freeListNonEmpty, lst)),
    br(done),
  ]);
}
