/**
 * mm/compaction.c (v4.8 with the seed's patches 02 and 03): the migrate scanner's
 * non-LRU path in isolate_migratepages_block(), and release_freepages().
 */
import { PageBuddy, PageIsolated, PageLRU, __PageMovable, nodePage, put_page } from './page.ts';
import { list_del, list_empty, listNextOf, spaceOf } from './list.ts';
import { isolateMovablePage, type MigrateCtx } from './migrate.ts';
import { type ActionFn, type GuardFn, type ProgramBuilder, br } from './program.ts';

/**
 * The lockless peeks before isolate_movable_page():
 *   if (PageBuddy(page)) skip; is_lru = PageLRU(page);
 *   if (!is_lru) { if (unlikely(__PageMovable(page)) && !PageIsolated(page)) isolate...
 * They are one step: each is a hint that isolate_movable_page() re-validates under
 * the page lock, and a write landing between two of them yields a decision that a
 * write landing before or after the whole step yields too, since each writer in
 * these systems changes one of the peeked fields at a time.
 */
const skipPfn: GuardFn = (m, L, P) => {
  const pfn = m[L + P.pfn];
  if (PageBuddy(m, pfn) || PageLRU(m, pfn)) return true;
  return !(__PageMovable(m, pfn) && !PageIsolated(m, pfn));
};
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
  b.steps(at, fn, 'PageBuddy(page)? PageLRU(page)? __PageMovable(page) && !PageIsolated(page)?', [
    br(x('next'), [], b.g('skip pfn', skipPfn, p)),
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
