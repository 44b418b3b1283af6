/**
 * Compaction of node 0 migrating one anonymous page (mm/compaction.c compact_zone(),
 * isolate_freepages(), isolate_migratepages(); mm/migrate.c migrate_pages(),
 * unmap_and_move(), __unmap_and_move(), move_to_new_page(), migrate_page(),
 * remove_migration_ptes(); v3.3), asynchronous (MIGRATE_ASYNC), as a step program:
 *
 *   isolate_freepages():   a free page of node 0 taken off the buddy lists (the target)
 *   isolate_migratepages(): the first page of node 0 with PG_lru, under lru_lock
 *   unmap_and_move():      page_count(page) == 1: freed under us; trylock_page or give
 *                          up (async); PG_writeback: -EBUSY; page_get_anon_vma() or,
 *                          for an unmapped swap cache page, remap_swapcache = 0;
 *                          try_to_unmap(TTU_MIGRATE_DIRECT): migration entries;
 *                          move_to_new_page(): migrate_page_move_mapping() (page_count
 *                          == 1 without a mapping, page_freeze_refs(2) in the swap
 *                          cache), migrate_page_copy(), remove_migration_ptes(page,
 *                          newpage); on failure remove_migration_ptes(page, page);
 *                          unlock_page; putback_lru_page(page) and (newpage)
 *
 * migrate_pages() retries a page that returned -EAGAIN in up to ten passes; the model
 * makes one attempt and puts the page back (a later pass is a later attempt, which
 * the interleavings already contain, except for the compaction CPU holding the page
 * isolated longer).
 */
import { BUG_ON } from '../bug.ts';
import { list_del, list_first_or_null, list_move } from '../list.ts';
import { type ActionFn, type GuardFn, ProgramBuilder, br } from '../program.ts';
import { alloc_page_node } from './alloc.ts';
import { COMPACT_HEAD, FREE_HEAD, NO_PAGE, PTE_MIGRATION, PTE_PRESENT, lruNode, type MappedLayout } from './layout.ts';
import { lru_add_drain, put_page, putback_lru_page } from './lru.ts';
import { migrate_page_copy, migrate_page_move_mapping } from './migrate.ts';
import {
  F_COUNT, F_INDEX, F_MAPPING, PG_locked, PG_lru, PG_swapbacked, PageAnon, PageLocked, PageLRU, PageSwapCache,
  PageWriteback, clearFlag, get_page, get_page_unless_zero, page_count, page_mapped, pageAt, setFlag, unlock_page,
} from './page.ts';
import { TTU_MIGRATE_DIRECT, page_add_anon_rmap, try_to_unmap } from './rmap.ts';

/**
 * remove_migration_pte() for the page's one PTE (mm/migrate.c, v3.3), one step under
 * the ptl: a migration entry for `old` becomes a present PTE of `newp`, which takes a
 * reference and a mapcount.
 */
export function remove_migration_ptes(m: Uint8Array, lay: MappedLayout, old: number, newp: number): void {
  const v = m[pageAt(newp, F_INDEX)];
  if (m[lay.pte(v)] !== (PTE_MIGRATION | old)) return;
  get_page(m, newp, 'remove_migration_pte');
  m[lay.pte(v)] = PTE_PRESENT | newp;
  page_add_anon_rmap(m, newp);
}

export function compactionProgram(lay: MappedLayout, cpu: number): ProgramBuilder {
  const b = new ProgramBuilder('compaction');
  const page = b.local('page', NO_PAGE);
  const newpage = b.local('newpage', NO_PAGE);
  const remap = b.local('remap_swapcache');
  const rc = b.local('rc');
  const pg = (m: Uint8Array, L: number) => m[L + page];
  const np = (m: Uint8Array, L: number) => m[L + newpage];

  const noFree: GuardFn = (m) => list_first_or_null(m, lay.S, FREE_HEAD(0)) === 0;
  const takeFree: ActionFn = (m, L) => { m[L + newpage] = alloc_page_node(m, lay, 0); };
  b.steps('freepages', 'isolate_freepages', 'spin_lock_irqsave(&zone->lock); isolated = split_free_page(page); list_add(&page->lru, freelist)', [
    br('done', [], b.g('no free page on node 0', noFree)),
    br('isolate', [b.a('split_free_page', takeFree)]),
  ]);
  // isolate_migratepages(): the pfn scan over node 0's pages; the first with PG_lru
  // that __isolate_lru_page() can take (under lru_lock: PG_lru and the LRU change only under it).
  const isolate: ActionFn = (m, L) => {
    for (let p = 0; p < lay.npages; p++) {
      if (lay.nid(p) !== 0 || !PageLRU(m, p)) continue;
      if (!get_page_unless_zero(m, p)) continue;
      clearFlag(m, p, PG_lru);
      list_move(m, lay.S, lruNode(p), COMPACT_HEAD, 'isolate_migratepages');
      m[L + page] = p;
      return;
    }
  };
  const nothing: GuardFn = (m, L) => pg(m, L) === NO_PAGE;
  b.steps('isolate', 'isolate_migratepages', 'spin_lock_irq(&zone->lru_lock); for each pfn: if (!PageLRU(page)) continue; __isolate_lru_page(page, mode); del_page_from_lru_list(); list_add(&page->lru, migratelist)', [
    br('scan', [b.a('isolate_migratepages', isolate)]),
  ]);
  const freeTarget: ActionFn = (m, L) => { put_page(m, lay, np(m, L), 'release_freepages'); m[L + newpage] = NO_PAGE; };
  const countOne: GuardFn = (m, L) => page_count(m, pg(m, L)) === 1;
  b.steps('scan', 'unmap_and_move', 'if (page_count(page) == 1) goto out  /* page was freed from under us */', [
    br('release', [], b.g('nothing isolated', nothing)),
    br('out', [], b.g('page_count(page) == 1', countOne)),
    br('trylock'),
  ]);
  const unlocked: GuardFn = (m, L) => !PageLocked(m, pg(m, L));
  const lock: ActionFn = (m, L) => setFlag(m, pg(m, L), PG_locked);
  b.steps('trylock', '__unmap_and_move', 'if (!trylock_page(page)) { if (!force || mode == MIGRATE_ASYNC) goto out; }', [
    br('checks', [b.a('trylock_page', lock)], b.g('!PageLocked(page)', unlocked)),
    br('out'),
  ]);
  // Under the page lock: PG_writeback, the anon_vma (page_get_anon_vma() finds it only
  // while the page is mapped), the swap cache.
  const writeback: GuardFn = (m, L) => PageWriteback(m, pg(m, L));
  const noAnonVma: GuardFn = (m, L) => PageAnon(m, pg(m, L)) && !page_mapped(m, pg(m, L)) && !PageSwapCache(m, pg(m, L));
  const setRemap: ActionFn = (m, L) => { m[L + remap] = PageAnon(m, pg(m, L)) && !page_mapped(m, pg(m, L)) ? 0 : 1; };
  b.steps('checks', '__unmap_and_move', 'if (PageWriteback(page)) { rc = -EBUSY; goto unlock; } if (PageAnon(page)) { anon_vma = page_get_anon_vma(page); if (!anon_vma) { if (PageSwapCache(page)) remap_swapcache = 0; else goto unlock; } }', [
    br('unlock', [], b.g('PageWriteback(page)', writeback)),
    br('unlock', [], b.g('no anon_vma and not in the swap cache', noAnonVma)),
    br('unmap', [b.a('remap_swapcache', setRemap)]),
  ]);
  const unmap: ActionFn = (m, L) => { if (page_mapped(m, pg(m, L))) try_to_unmap(m, lay, pg(m, L), TTU_MIGRATE_DIRECT); };
  b.steps('unmap', '__unmap_and_move', 'try_to_unmap(page, TTU_MIGRATE_DIRECT|TTU_IGNORE_MLOCK|TTU_IGNORE_ACCESS)', [
    br('move', [b.a('try_to_unmap(page, TTU_MIGRATE_DIRECT)', unmap)]),
  ]);
  // move_to_new_page(): newpage is the compaction CPU's own until its PTE is set, so
  // its lock and fields are set in the step of migrate_page_move_mapping().
  const move: ActionFn = (m, L) => {
    const p = pg(m, L);
    const n = np(m, L);
    m[L + rc] = 1;
    if (page_mapped(m, p)) return;
    BUG_ON(PageLocked(m, n), 'trylock_page(newpage) failed', 'move_to_new_page', n);
    setFlag(m, n, PG_locked);
    m[pageAt(n, F_INDEX)] = m[pageAt(p, F_INDEX)];
    m[pageAt(n, F_MAPPING)] = m[pageAt(p, F_MAPPING)];
    setFlag(m, n, PG_swapbacked);
    let ok: boolean;
    if (!PageSwapCache(m, p)) ok = m[pageAt(p, F_COUNT)] === 1; // migrate_page_move_mapping(NULL, ...): page_count(page) != 1 -> -EAGAIN
    else ok = migrate_page_move_mapping(m, lay, n, p, 0) === 0;
    if (!ok) { m[pageAt(n, F_MAPPING)] = 0; return; }
    migrate_page_copy(m, n, p);
    m[L + rc] = 0;
  };
  b.steps('move', 'move_to_new_page', 'if (!page_mapped(page)) rc = move_to_new_page(newpage, page, remap_swapcache): trylock_page(newpage); migrate_page(): migrate_page_move_mapping(); migrate_page_copy()', [
    br('remap', [b.a('move_to_new_page', move)]),
  ]);
  const remapNew: ActionFn = (m, L) => {
    if (m[L + rc] === 0) {
      if (m[L + remap]) remove_migration_ptes(m, lay, pg(m, L), np(m, L));
    } else if (m[L + remap]) {
      remove_migration_ptes(m, lay, pg(m, L), pg(m, L));
    }
    if (PageLocked(m, np(m, L))) unlock_page(m, np(m, L), 'move_to_new_page');
  };
  b.steps('remap', 'move_to_new_page', 'if (!rc && remap_swapcache) remove_migration_ptes(page, newpage); unlock_page(newpage); if (rc && remap_swapcache) remove_migration_ptes(page, page)', [
    br('unlock', [b.a('remove_migration_ptes', remapNew)]),
  ]);
  const unlockPage: ActionFn = (m, L) => unlock_page(m, pg(m, L), '__unmap_and_move');
  b.steps('unlock', '__unmap_and_move', 'unlock: unlock_page(page)', [br('out', [b.a('unlock_page', unlockPage)])]);
  const out: ActionFn = (m, L) => {
    list_del(m, lay.S, lruNode(pg(m, L)), 'unmap_and_move');
    putback_lru_page(m, lay, cpu, pg(m, L));
    putback_lru_page(m, lay, cpu, np(m, L));
    m[L + page] = NO_PAGE;
    m[L + newpage] = NO_PAGE;
  };
  b.steps('out', 'unmap_and_move', 'out: list_del(&page->lru); putback_lru_page(page); putback_lru_page(newpage)  /* frees an unused newpage */', [
    br('drain', [b.a('putback_lru_page(page); putback_lru_page(newpage)', out)]),
  ]);
  b.steps('release', 'release_freepages', 'release_freepages(&cc->freepages): __free_page(newpage)', [br('drain', [b.a('__free_page', freeTarget)])]);
  const drain: ActionFn = (m) => lru_add_drain(m, lay, cpu);
  b.steps('drain', 'lru_add_drain', 'later, this CPU drains its LRU add pagevec (lru_add_drain())', [br('done', [b.a('lru_add_drain', drain)])]);
  b.final('done');
  return b;
}
