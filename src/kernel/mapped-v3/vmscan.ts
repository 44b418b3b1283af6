/**
 * kswapd reclaiming node 0's anonymous pages (mm/vmscan.c shrink_inactive_list(),
 * isolate_lru_pages(), shrink_page_list(), __remove_mapping(), v3.3), one page per
 * pass, as a step program:
 *
 *   isolate the LRU's tail page (lru_lock; get_page_unless_zero; ClearPageLRU)
 *   trylock_page, else keep
 *   PageAnon && !PageSwapCache: add_to_swap(), else activate
 *   page_mapped: try_to_unmap(TTU_UNMAP), else keep
 *   PageDirty: pageout(): swap_writepage(), which unlocks the page; trylock again;
 *              still dirty or no mapping: keep
 *   __remove_mapping(): page_freeze_refs(page, 2), not dirty, __delete_from_swap_cache,
 *              swapcache_free(); then free the page
 *   keep: back on the LRU (putback_inactive_pages)
 *
 * page_check_references() is left out (the page is reclaimed as if unreferenced: the
 * referenced outcome keeps or activates it, which the trylock and unmap failures
 * reach too). swap_writepage() sets PG_writeback and unlocks the page; the bio
 * completes later (end_page_writeback(), endIoProgram below), in any order with
 * everything else.
 */
import { list_del, list_move, listPrevOf } from '../list.ts';
import { type ActionFn, type Branch, type GuardFn, ProgramBuilder, br } from '../program.ts';
import { free_hot_cold_page } from './alloc.ts';
import { LRU_HEAD, NO_PAGE, RECLAIM_HEAD, lruNode, type MappedLayout } from './layout.ts';
import { putback_inactive_page } from './lru.ts';
import { addToSwapSteps } from './mempolicy.ts';
import {
  F_DATA, F_PRIVATE, PG_dirty, PG_locked, PG_lru, PG_writeback, PageAnon, PageDirty, PageLocked, PageSwapCache, PageWriteback,
  clearFlag, get_page_unless_zero, setFlag, page_freeze_refs, page_mapped, pageAt,
} from './page.ts';
import { TTU_UNMAP, SWAP_SUCCESS, try_to_unmap } from './rmap.ts';
import { __delete_from_swap_cache, slotOf, swapcache_free } from './swap.ts';

export function kswapdProgram(lay: MappedLayout, passes: number): ProgramBuilder {
  const b = new ProgramBuilder('kswapd');
  const page = b.local('page', NO_PAGE);
  const slot = b.local('slot');
  const pass = b.local('pass');
  const pg = (m: Uint8Array, L: number) => m[L + page];

  const allDone: GuardFn = (m, L) => m[L + pass] >= passes;
  const lruEmpty: GuardFn = (m) => listPrevOf(m, lay.S, LRU_HEAD(0)) === LRU_HEAD(0);
  const nextPass: ActionFn = (m, L) => { m[L + pass]++; };
  const finish: ActionFn = (m) => { m[lay.kswapdDone] = 1; };
  // isolate_lru_pages() -> __isolate_lru_page() on the tail page, under lru_lock.
  const isolateTail: ActionFn = (m, L) => {
    m[L + pass]++;
    const p = listPrevOf(m, lay.S, LRU_HEAD(0)) - 1;
    if (!get_page_unless_zero(m, p)) return; // being freed elsewhere
    clearFlag(m, p, PG_lru);
    list_move(m, lay.S, lruNode(p), RECLAIM_HEAD, 'isolate_lru_pages');
    m[L + page] = p;
  };
  b.steps('isolate', 'isolate_lru_pages', 'spin_lock_irq(&zone->lru_lock); page = lru_to_page(src); __isolate_lru_page(): get_page_unless_zero(page); ClearPageLRU(page); list_move(&page->lru, dst)', [
    br('done', [b.a('kswapd done', finish)], b.g('all passes done', allDone)),
    br('isolate', [b.a('next pass', nextPass)], b.g('list_empty(&zone->lru)', lruEmpty)),
    br('trylock', [b.a('__isolate_lru_page', isolateTail)]),
  ]);
  const nothing: GuardFn = (m, L) => pg(m, L) === NO_PAGE;
  const unlocked: GuardFn = (m, L) => !PageLocked(m, pg(m, L));
  const lock: ActionFn = (m, L) => setFlag(m, pg(m, L), PG_locked);
  b.steps('trylock', 'shrink_page_list', 'if (!trylock_page(page)) goto keep', [
    br('isolate', [], b.g('page == NULL', nothing)),
    br('checks', [b.a('trylock_page', lock)], b.g('!PageLocked(page)', unlocked)),
    br('keep'),
  ]);
  const writeback: GuardFn = (m, L) => PageWriteback(m, pg(m, L));
  const anonNoSwap: GuardFn = (m, L) => PageAnon(m, pg(m, L)) && !PageSwapCache(m, pg(m, L));
  b.steps('checks', 'shrink_page_list', 'if (PageWriteback(page)) goto keep_locked; if (PageAnon(page) && !PageSwapCache(page)) add_to_swap(page)', [
    br('keep_locked', [], b.g('PageWriteback(page)', writeback)),
    br('add_to_swap', [], b.g('PageAnon(page) && !PageSwapCache(page)', anonNoSwap)),
    br('unmap'),
  ]);
  addToSwapSteps(b, lay, 'add_to_swap', page, slot, 'unmap', 'keep_locked', () => {});
  const mapped: GuardFn = (m, L) => page_mapped(m, pg(m, L));
  const ret = b.local('ret');
  const unmap: ActionFn = (m, L) => { m[L + ret] = try_to_unmap(m, lay, pg(m, L), TTU_UNMAP); };
  const failed: GuardFn = (m, L) => m[L + ret] !== SWAP_SUCCESS;
  b.steps('unmap', 'shrink_page_list', 'if (page_mapped(page) && mapping) switch (try_to_unmap(page, TTU_UNMAP)) { case SWAP_FAIL: case SWAP_AGAIN: goto keep_locked; }', [
    br('unmapped', [b.a('try_to_unmap(page, TTU_UNMAP)', unmap)], b.g('page_mapped(page)', mapped)),
    br('pageout'),
  ]);
  b.localStep('unmapped', 'shrink_page_list', 'case SWAP_SUCCESS: ; (the result of try_to_unmap)', [
    br('keep_locked', [], b.g('ret != SWAP_SUCCESS', failed)),
    br('pageout'),
  ]);
  const dirty: GuardFn = (m, L) => PageDirty(m, pg(m, L));
  // pageout(): clear_page_dirty_for_io(); swap_writepage(): set_page_writeback();
  // unlock_page(); submit_bio(). The device reads the page as the bio is submitted.
  const pageout: ActionFn = (m, L) => {
    const p = pg(m, L);
    clearFlag(m, p, PG_dirty);
    setFlag(m, p, PG_writeback);
    m[lay.swapData(slotOf(m[pageAt(p, F_PRIVATE)]))] = m[pageAt(p, F_DATA)];
    clearFlag(m, p, PG_locked);
  };
  b.steps('pageout', 'shrink_page_list', 'if (PageDirty(page)) pageout(page, mapping): clear_page_dirty_for_io(); swap_writepage(): set_page_writeback(); unlock_page(); submit_bio()', [
    br('written', [b.a('pageout', pageout)], b.g('PageDirty(page)', dirty)),
    br('remove'),
  ]);
  b.steps('written', 'shrink_page_list', 'case PAGE_SUCCESS: if (PageWriteback(page)) goto keep_lumpy; if (PageDirty(page)) goto keep', [
    br('keep', [], b.g('PageWriteback(page)', writeback)),
    br('keep', [], b.g('PageDirty(page)', dirty)),
    br('relock'),
  ]);
  const noMapping: GuardFn = (m, L) => PageDirty(m, pg(m, L)) || PageWriteback(m, pg(m, L)) || !PageSwapCache(m, pg(m, L));
  // trylock_page() and the tests it makes possible: PG_dirty, PG_writeback and the
  // swap cache change only under the page lock in the model, so they are read with it.
  b.steps('relock', 'shrink_page_list', 'if (!trylock_page(page)) goto keep; if (PageDirty(page) || PageWriteback(page)) goto keep_locked; mapping = page_mapping(page); if (!mapping) goto keep_locked', [
    br('keep_locked', [b.a('trylock_page', lock)], b.and(b.g('!PageLocked(page)', unlocked), b.g('PageDirty || PageWriteback || !page_mapping(page)', noMapping))),
    br('remove', [b.a('trylock_page', lock)], b.g('!PageLocked(page)', unlocked)),
    br('keep'),
  ]);
  // __remove_mapping() under tree_lock, then swapcache_free() under swap_lock.
  const freezable: GuardFn = (m, L) => m[pageAt(pg(m, L), 2)] === 2 && !PageDirty(m, pg(m, L)) && PageSwapCache(m, pg(m, L));
  const remove: ActionFn = (m, L) => {
    const p = pg(m, L);
    page_freeze_refs(m, p, 2);
    const s = __delete_from_swap_cache(m, lay, p);
    swapcache_free(m, lay, s);
  };
  b.steps('remove', '__remove_mapping', 'spin_lock_irq(&mapping->tree_lock); if (!page_freeze_refs(page, 2)) goto cannot_free; if (PageDirty(page)) goto cannot_free; __delete_from_swap_cache(page); swapcache_free(swap, page)', [
    br('free', [b.a('__remove_mapping', remove)], b.g('page_count(page) == 2 && !PageDirty(page)', freezable)),
    br('keep_locked'),
  ]);
  const free: ActionFn = (m, L) => {
    const p = pg(m, L);
    clearFlag(m, p, PG_locked); // __clear_page_locked(page): nobody else holds a reference
    list_del(m, lay.S, lruNode(p), 'shrink_page_list');
    free_hot_cold_page(m, lay, p, 'free_hot_cold_page_list');
    m[L + page] = NO_PAGE;
  };
  b.steps('free', 'shrink_page_list', '__clear_page_locked(page); free_it: free_hot_cold_page_list(&free_pages)', [br('isolate', [b.a('free the page', free)])]);
  const unlock: ActionFn = (m, L) => clearFlag(m, pg(m, L), PG_locked);
  b.steps('keep_locked', 'shrink_page_list', 'keep_locked: unlock_page(page)', [br('keep', [b.a('unlock_page', unlock)])]);
  const keep: ActionFn = (m, L) => {
    const p = pg(m, L);
    list_del(m, lay.S, lruNode(p), 'putback_inactive_pages');
    putback_inactive_page(m, lay, p);
    m[L + page] = NO_PAGE;
  };
  b.steps('keep', 'putback_inactive_pages', 'spin_lock_irq(&zone->lru_lock); SetPageLRU(page); add_page_to_lru_list(); put_page(page)', [br('isolate', [b.a('putback_inactive_pages', keep)])]);
  b.final('done');
  return b;
}

/**
 * The swap device's completions: end_swap_bio_write() -> end_page_writeback() (mm/page_io.c,
 * mm/filemap.c, v3.3) for any page under writeback, in any order, on any CPU; done once
 * kswapd has finished and no write is in flight.
 */
export function endIoProgram(lay: MappedLayout): ProgramBuilder {
  const b = new ProgramBuilder('swap-io');
  const under: GuardFn = (m, _L, P) => (m[pageAt(P.p, 0)] & PG_writeback) !== 0;
  const end: ActionFn = (m, _L, P) => clearFlag(m, P.p, PG_writeback);
  const idle: GuardFn = (m) => {
    if (!m[lay.kswapdDone]) return false;
    for (let p = 0; p < lay.npages; p++) if (m[pageAt(p, 0)] & PG_writeback) return false;
    return true;
  };
  const on: Record<string, Branch[]> = { idle: [br('done', [], b.g('kswapd done, no write in flight', idle))] };
  for (let p = 0; p < lay.npages; p++) on[`end_io_p${p}`] = [br('wait', [b.a('end_page_writeback', end, { p })], b.g('PageWriteback(page)', under, { p }))];
  b.step('wait', 'end_swap_bio_write', 'the bio completes: end_page_writeback(page): test_clear_page_writeback(); wake_up_page(PG_writeback)', on);
  b.final('done');
  return b;
}
