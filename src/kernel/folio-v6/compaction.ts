/**
 * Compaction's LRU path of kernel v6.8 with seed 004 ("mm: Add AS_UNMOVABLE to mark
 * mapping as completely unmovable"): isolate_migratepages_block() (mm/compaction.c)
 * for LRU folios, then migrate_pages() (mm/migrate.c) with move_to_new_folio()'s
 * -EOPNOTSUPP for unmovable mappings, and putback_movable_pages() for what fails.
 *
 * The compaction CPU runs as kcompactd does (MIGRATE_SYNC_LIGHT), so the isolate
 * mode is ISOLATE_UNEVICTABLE (sysctl_compact_unevictable_allowed, 1 by default)
 * without ISOLATE_ASYNC_MIGRATE: the dirty and writeback tests are the async mode's
 * and are written out but never taken, and folio_lock() in migration sleeps.
 *
 * Each step is the code between two interleaving points; its comment says which.
 * The step labels and the names of the actions variants swap are exported.
 */
import { list_add, list_del, list_first_or_null } from '../list.ts';
import { type ActionFn, type ProgramBuilder, br, fairExit } from '../program.ts';
import {
  type FolioWorld, NO_MAPPING, PG_active, PG_dirty, PG_locked, PG_lru, PG_unevictable, PG_writeback, F_FLAGS, F_REF,
  flagsOf, folioMappingWord, folio_add_lru, folio_clear_flag, folio_put, folio_ref_count, folio_test, folio_test_clear_lru,
  folio_trylock, folio_unlock, lruvec_del_folio, mapping_unmovable, folioUnlocked,
} from './folio.ts';
import { EAGAIN, EOPNOTSUPP, MIGRATEPAGE_SUCCESS, folio_migrate_mapping } from './filemap.ts';
import { set_bit } from '../bitops.ts';

/** isolate_mode_t bits (include/linux/mmzone.h). */
export const ISOLATE_ASYNC_MIGRATE = 0x4;
export const ISOLATE_UNEVICTABLE = 0x8;
/** kcompactd's mode: MIGRATE_SYNC_LIGHT with compact_unevictable_allowed. */
export const KCOMPACTD_ISOLATE_MODE = ISOLATE_UNEVICTABLE;

/** Locals of a compaction CPU (slots in its ProgramBuilder). */
export interface CompactSlots {
  readonly lowPfn: number;
  readonly folio: number;
  /** The folio->mapping value the scanner read (an inode id + 1, or 0). */
  readonly mapping: number;
  readonly unevictable: number;
  readonly unmovable: number;
  readonly src: number;
  readonly dst: number;
  readonly rc: number;
  /** How many of the CPU's targets migration has used. */
  readonly used: number;
  /** isolate_migratepages_block()'s skip_updated: this scan has tested and set the pageblock's skip bit. */
  readonly skipUpdated: number;
}

export interface CompactCtx {
  readonly W: FolioWorld;
  readonly cpu: number;
  /** pfns the migrate scanner walks: [0, end). */
  readonly end: number;
  /** pfn of the CPU's k-th migration target (already taken by the free scanner). */
  target(k: number): number;
  readonly slot: CompactSlots;
}

export function compactSlots(b: ProgramBuilder): CompactSlots {
  return {
    lowPfn: b.local('low_pfn'), folio: b.local('folio'), mapping: b.local('mapping'), unevictable: b.local('is_unevictable'),
    unmovable: b.local('is_unmovable'), src: b.local('src'), dst: b.local('dst'), rc: b.local('rc'), used: b.local('targets_used'),
    skipUpdated: b.local('skip_updated'),
  };
}

/** Step labels of the scan, for variants. */
export const SCAN = {
  get: 'scan/get', mapping: 'scan/mapping', anonPinned: 'scan/anon_pinned', lru: 'scan/lru', unevictable: 'scan/unevictable',
  trylock: 'scan/trylock', unmovable: 'scan/unmovable', unlock: 'scan/unlock', clearLru: 'scan/clear_lru',
  isolate: 'scan/isolate', abort: 'scan/abort', put: 'scan/put',
} as const;
/** The action of isolate_abort that gives the folio its PG_lru back (Hugh Dickins's fix, see SCAN.abort). */
export const ABORT_SET_LRU = 'isolate_abort: folio_set_lru(folio)';
/** The action that tests the mapping under the folio lock (the seed's hunk). */
export const UNMOVABLE_UNDER_LOCK = 'mapping = folio_mapping(folio); is_unmovable = mapping && mapping_unmovable(mapping)';
/** The action of move_to_new_folio(). */
export const MOVE_TO_NEW_FOLIO = 'move_to_new_folio(dst, src)';

/**
 * isolate_migratepages_block(cc, low_pfn, end_pfn, mode) (mm/compaction.c, v6.8 with
 * seed 004), the LRU path for every pfn in [0, end), then `next`.
 */
export function isolateMigratepagesBlock(b: ProgramBuilder, c: CompactCtx, next: string): void {
  const { W, slot } = c;
  const L = slot;
  const pfnOf = (m: Uint8Array, at: number) => m[at + L.folio];

  const atEnd = b.g('low_pfn == end_pfn', (m, at, P) => m[at + L.lowPfn] === P.end, { end: c.end });
  const refZero = b.g('!folio_try_get(folio)', (m, at) => folio_ref_count(m, W, m[at + L.lowPfn]) === 0);
  const skip = b.a('low_pfn++', (m, at) => { m[at + L.lowPfn]++; });
  const get = b.a('folio = folio_get_nontail_page(page)', (m, at) => {
    const pfn = m[at + L.lowPfn];
    m[at + L.folio] = pfn;
    m[W.folio(pfn) + F_REF]++;
  });
  // folio_get_nontail_page(): get_page_unless_zero(), one atomic operation.
  // The end of the block: "if (low_pfn == end_pfn && (!nr_isolated || cc->finish_pageblock))
  // { if (!cc->no_set_skip_hint && valid_page && !skip_updated) set_pageblock_skip(valid_page); }"
  // (kcompactd: skip hints on, not finishing a pageblock; valid_page is the block's first
  // page; nothing isolated is an empty cc->migratepages, as nothing is put back while scanning).
  const endOfBlock = b.a('if (!nr_isolated && !skip_updated) set_pageblock_skip(valid_page)', (m, at) => {
    if (m[at + L.skipUpdated] === 0 && list_first_or_null(m, W.S, W.migrateHead(c.cpu)) === 0) m[W.pageblockSkip] = 1;
  });
  b.steps(SCAN.get, 'isolate_migratepages_block', 'folio = folio_get_nontail_page(pfn_to_page(low_pfn)); if (!folio) goto isolate_fail', [
    br(next, [endOfBlock], atEnd),
    br(SCAN.get, [skip], refZero),
    br(SCAN.mapping, [get]),
  ]);

  // mapping = folio_mapping(folio): one unlocked read of folio->mapping. The pointer
  // is only compared with NULL on this path; it must not be followed without the lock.
  const hasMapping = b.g('folio_mapping(folio)', (m, at) => folioMappingWord(m, W, pfnOf(m, at)) !== NO_MAPPING);
  const readMapping = b.a('mapping = folio_mapping(folio)', (m, at) => { m[at + L.mapping] = folioMappingWord(m, W, pfnOf(m, at)); });
  b.steps(SCAN.mapping, 'isolate_migratepages_block', 'mapping = folio_mapping(folio)', [
    br(SCAN.lru, [readMapping], hasMapping),
    br(SCAN.anonPinned, [readMapping]),
  ]);

  // One unlocked read of _refcount; the model has no page tables (mapcount 0).
  const pinned = b.g('folio_ref_count(folio) - 1 > folio_mapcount(folio)', (m, at) => folio_ref_count(m, W, pfnOf(m, at)) - 1 > 0);
  b.steps(SCAN.anonPinned, 'isolate_migratepages_block', 'if (!mapping && (folio_ref_count(folio) - 1) > folio_mapcount(folio)) goto isolate_fail_put', [
    br(SCAN.put, [], pinned),
    br(SCAN.lru),
  ]);

  // "Only take pages on LRU: a check now makes later tests safe": one read of flags.
  const notLru = b.g('!folio_test_lru(folio)', (m, at) => !folio_test(m, W, pfnOf(m, at), PG_lru));
  b.steps(SCAN.lru, 'isolate_migratepages_block', 'if (!folio_test_lru(folio)) goto isolate_fail_put', [
    br(SCAN.put, [], notLru),
    br(SCAN.unevictable),
  ]);

  // is_unevictable = folio_test_unevictable(folio); the writeback and dirty tests read
  // the same word and matter only with ISOLATE_ASYNC_MIGRATE, which kcompactd's mode
  // has not (and no actor of the model dirties a folio or writes one back).
  const needsLock = b.g('(mode & ISOLATE_ASYNC_MIGRATE) && is_dirty || mapping && is_unevictable', (m, at) => {
    const flags = flagsOf(m, W, pfnOf(m, at));
    const asyncDirty = (KCOMPACTD_ISOLATE_MODE & ISOLATE_ASYNC_MIGRATE) !== 0 && (flags & PG_dirty) !== 0;
    return asyncDirty || (m[at + L.mapping] !== NO_MAPPING && (flags & PG_unevictable) !== 0);
  });
  const writebackAsync = b.g('(mode & ISOLATE_ASYNC_MIGRATE) && folio_test_writeback(folio)', (m, at) =>
    (KCOMPACTD_ISOLATE_MODE & ISOLATE_ASYNC_MIGRATE) !== 0 && folio_test(m, W, pfnOf(m, at), PG_writeback));
  const unevictableSkipped = b.g('!(mode & ISOLATE_UNEVICTABLE) && is_unevictable', (m, at) =>
    (KCOMPACTD_ISOLATE_MODE & ISOLATE_UNEVICTABLE) === 0 && folio_test(m, W, pfnOf(m, at), PG_unevictable));
  const noteUnevictable = b.a('is_unevictable = folio_test_unevictable(folio)', (m, at) => {
    m[at + L.unevictable] = folio_test(m, W, pfnOf(m, at), PG_unevictable) ? 1 : 0;
  });
  b.steps(SCAN.unevictable, 'isolate_migratepages_block', 'is_unevictable = folio_test_unevictable(folio); writeback and dirty tests; if (((mode & ISOLATE_ASYNC_MIGRATE) && is_dirty) || (mapping && is_unevictable)) lock and test', [
    br(SCAN.put, [noteUnevictable], unevictableSkipped),
    br(SCAN.put, [noteUnevictable], writebackAsync),
    br(SCAN.trylock, [noteUnevictable], needsLock),
    br(SCAN.clearLru, [noteUnevictable]),
  ]);

  // folio_trylock(): one atomic test_and_set_bit_lock().
  const trylockOk = b.g('folio_trylock(folio)', (m, at) => folioUnlocked(m, W, pfnOf(m, at)));
  const trylock = b.a('folio_trylock(folio)', (m, at) => { folio_trylock(m, W, pfnOf(m, at)); });
  b.steps(SCAN.trylock, 'isolate_migratepages_block', 'if (!folio_trylock(folio)) goto isolate_fail_put', [
    br(SCAN.unmovable, [trylock], trylockOk),
    br(SCAN.put),
  ]);

  // Under the folio lock: folio->mapping has no writer that does not hold it, and the
  // inode cannot be freed while the folio is in its page cache, because truncation
  // must lock the folio to remove it. So the re-read and the flags read are one step.
  const testUnmovable = b.a(UNMOVABLE_UNDER_LOCK, testUnmovableUnderLock(c));
  b.steps(SCAN.unmovable, 'isolate_migratepages_block', 'mapping = folio_mapping(folio); is_unmovable = mapping && mapping_unmovable(mapping)', [
    br(SCAN.unlock, [testUnmovable]),
  ]);

  const unlock = b.a('folio_unlock(folio)', (m, at) => folio_unlock(m, W, pfnOf(m, at), 'isolate_migratepages_block'));
  const isUnmovable = b.g('is_unmovable', (m, at) => m[at + L.unmovable] !== 0);
  b.steps(SCAN.unlock, 'isolate_migratepages_block', 'folio_unlock(folio); if (!migrate_dirty || is_unmovable) goto isolate_fail_put', [
    br(SCAN.put, [unlock], isUnmovable),
    br(SCAN.clearLru, [unlock]),
  ]);

  // folio_test_clear_lru(): one atomic test_and_clear_bit().
  const lruSet = b.g('folio_test_lru(folio)', (m, at) => folio_test(m, W, pfnOf(m, at), PG_lru));
  const clearLru = b.a('folio_test_clear_lru(folio)', (m, at) => { folio_test_clear_lru(m, W, pfnOf(m, at)); });
  b.steps(SCAN.clearLru, 'isolate_migratepages_block', 'if (!folio_test_clear_lru(folio)) goto isolate_fail_put', [
    br(SCAN.isolate, [clearLru], lruSet),
    br(SCAN.put),
  ]);

  // Under lruvec->lru_lock (compact_lock_irqsave): lruvec_del_folio(); then the list_add
  // to the CPU's own cc->migratepages. Every access to the LRU lists is under lru_lock.
  const isolate = b.a('lruvec_del_folio(lruvec, folio); list_add(&folio->lru, &cc->migratepages)', (m, at) => {
    const pfn = pfnOf(m, at);
    lruvec_del_folio(m, W, pfn, 'isolate_migratepages_block');
    list_add(m, W.S, W.lruNode(pfn), W.migrateHead(c.cpu), 'isolate_migratepages_block');
    m[at + L.lowPfn]++;
  });
  // Under the lock, the scan's first time: test_and_set_skip(cc, valid_page) (mm/compaction.c,
  // v6.8): if another scanner has marked the pageblock meanwhile, this one aborts ("low_pfn =
  // end_pfn; goto isolate_abort"), with the folio already off PG_lru.
  const aborts = b.g('!skip_updated && test_and_set_skip(cc, valid_page) && !cc->finish_pageblock', (m, at) =>
    m[at + L.skipUpdated] === 0 && m[W.pageblockSkip] !== 0);
  const abort = b.a('skip_updated = true; low_pfn = end_pfn; unlock lru_lock', (m, at) => {
    m[at + L.skipUpdated] = 1;
    m[at + L.lowPfn] = c.end;
  });
  const markSkip = b.a('if (!skip_updated) { skip_updated = true; test_and_set_skip(cc, valid_page) }', (m, at) => {
    if (m[at + L.skipUpdated] !== 0) return;
    m[at + L.skipUpdated] = 1;
    m[W.pageblockSkip] = 1;
  });
  b.steps(SCAN.isolate, 'isolate_migratepages_block', 'lock lru_lock; if (!skip_updated) test_and_set_skip(); lruvec_del_folio(lruvec, folio); list_add(&folio->lru, &cc->migratepages)', [
    br(SCAN.abort, [abort], aborts),
    br(SCAN.get, [markSkip, isolate]),
  ]);

  // isolate_abort: "if (folio) { folio_set_lru(folio); folio_put(folio); }": the folio goes
  // back to being an LRU folio (it never left the lruvec's list), then the reference goes.
  // Two atomic operations as one step: between them only the CPU's extra reference
  // differs, which another scanner could see only as a later -EAGAIN. "Be careful not to
  // clear PageLRU until after we're sure the page is not being freed elsewhere -- the page
  // release code relies on it": folio_put() of the last reference takes the folio off the
  // LRU only when PG_lru is set.
  const setLru = b.a(ABORT_SET_LRU, (m, at) => { set_bit(m, W.folio(pfnOf(m, at)) + F_FLAGS, PG_lru); });
  const abortPut = b.a('isolate_abort: folio_put(folio)', (m, at) => { folio_put(m, W, pfnOf(m, at), 'isolate_migratepages_block'); });
  b.steps(SCAN.abort, 'isolate_migratepages_block', 'isolate_abort: folio_set_lru(folio); folio_put(folio)', [br(next, [setLru, abortPut])]);

  // isolate_fail_put: folio_put(folio), one atomic decrement (and the release if it
  // was the last reference, see folio_put()).
  const put = b.a('folio_put(folio); low_pfn++', (m, at) => {
    folio_put(m, W, pfnOf(m, at), 'isolate_migratepages_block');
    m[at + L.lowPfn]++;
  });
  b.steps(SCAN.put, 'isolate_migratepages_block', 'isolate_fail_put: folio_put(folio)', [br(SCAN.get, [put])]);
}

/** The seed's test under the folio lock: re-read the mapping, then its flags. */
export function testUnmovableUnderLock(c: CompactCtx): ActionFn {
  const { W, slot: L } = c;
  return (m, at) => {
    const mapping = folioMappingWord(m, W, m[at + L.folio]);
    m[at + L.mapping] = mapping;
    m[at + L.unmovable] = mapping !== NO_MAPPING && mapping_unmovable(m, W, mapping, 'isolate_migratepages_block') ? 1 : 0;
  };
}

/** Step labels of migration, for variants. */
export const MIGRATE = {
  next: 'migrate/next', refcheck: 'migrate/refcheck', lock: 'migrate/lock', move: 'migrate/move', moved: 'migrate/moved',
  addLru: 'migrate/add_lru', unlockDst: 'migrate/unlock_dst', doneSrc: 'migrate/done_src', retry: 'migrate/retry', undo: 'migrate/undo',
  putback: 'migrate/putback', putbackPut: 'migrate/putback_put',
} as const;

/**
 * move_to_new_folio(dst, src, mode) (mm/migrate.c, v6.8 with seed 004), with both
 * folios locked: the mapping is read under the source's lock; no mapping is
 * migrate_folio() on a folio truncation has taken out of the page cache (it moves
 * only when the isolation's reference is the last one); an unmovable mapping is
 * -EOPNOTSUPP; otherwise a_ops->migrate_folio (filemap_migrate_folio) or, without
 * one, fallback_migrate_folio() -> migrate_folio(), which for the model's clean
 * folios without private data are both folio_migrate_mapping().
 */
export function moveToNewFolio(c: CompactCtx, testUnmovable = true): ActionFn {
  const { W, slot: L } = c;
  return (m, at) => {
    const src = m[at + L.src];
    const dst = m[at + L.dst];
    const mapping = folioMappingWord(m, W, src);
    let rc: number;
    if (mapping !== NO_MAPPING && testUnmovable && mapping_unmovable(m, W, mapping, 'move_to_new_folio')) rc = EOPNOTSUPP;
    else rc = folio_migrate_mapping(m, W, mapping, dst, src, 'move_to_new_folio');
    m[at + L.rc] = rc;
  };
}

/** migrate_pages(): NR_MAX_MIGRATE_PAGES_RETRY passes for -EAGAIN (mm/migrate.c, v6.8). */
export const NR_MAX_MIGRATE_PAGES_RETRY = 10;

/**
 * migrate_pages(&cc->migratepages, compaction_alloc, compaction_free, cc, MIGRATE_SYNC_LIGHT)
 * (mm/migrate.c, v6.8: migrate_pages_batch() with migrate_folio_unmap() and
 * migrate_folio_move()) and putback_movable_pages() for the folios that fail, one
 * folio at a time, then `next`. A folio that fails with -EAGAIN (a reference
 * beyond the expected ones) stays isolated, unlocked, for the next pass, up to
 * NR_MAX_MIGRATE_PAGES_RETRY passes. A failed pass leaves the world as it found it,
 * so the model keeps no pass counter: after each -EAGAIN the CPU either runs another
 * pass (`retry`) or gives the folio back as the kernel does after the last one
 * (`give_up`). The kernel runs each pass over the whole list, the model runs one
 * folio's passes before the next folio's (see the README).
 */
export function migratePages(b: ProgramBuilder, c: CompactCtx, next: string): void {
  const { W, slot: L } = c;
  const src = (m: Uint8Array, at: number) => m[at + L.src];
  const dst = (m: Uint8Array, at: number) => m[at + L.dst];
  const head = W.migrateHead(c.cpu);
  const empty = b.g('list_empty(&cc->migratepages)', (m) => list_first_or_null(m, W.S, head) === 0);
  const first = b.a('src = list_first_entry(&cc->migratepages)', (m, at) => {
    m[at + L.src] = W.pfnOfNode(list_first_or_null(m, W.S, head));
  });
  // The CPU's own list: nobody else reads or writes it.
  b.localStep(MIGRATE.next, 'migrate_pages_batch', 'list_for_each_entry_safe(folio, folio2, from, lru)', [
    br(next, [], empty),
    br(MIGRATE.refcheck, [first]),
  ]);

  // "Folio was freed from under us. So we are done.": one unlocked read of _refcount;
  // with it at 1 the isolation holds the only reference, and a scanner's speculative
  // reference taken now finds a folio off the LRU and lets go.
  const onlyUs = b.g('folio_ref_count(folio) == 1', (m, at) => folio_ref_count(m, W, src(m, at)) === 1);
  const freedUnderUs = b.a('folio_clear_active(folio); folio_clear_unevictable(folio); list_del(&folio->lru); migrate_folio_done(folio)', (m, at) => {
    const s = src(m, at);
    folio_clear_flag(m, W, s, PG_active);
    folio_clear_flag(m, W, s, PG_unevictable);
    list_del(m, W.S, W.lruNode(s), 'migrate_pages_batch');
    folio_put(m, W, s, 'migrate_folio_done');
  });
  b.steps(MIGRATE.refcheck, 'migrate_pages_batch', 'if (folio_ref_count(folio) == 1) { /* Folio was freed from under us */ }', [
    br(MIGRATE.next, [freedUnderUs], onlyUs),
    br(MIGRATE.lock),
  ]);

  // migrate_folio_unmap(): dst = compaction_alloc() (a target the free scanner took: the
  // CPU's own until it enters the page cache) locked for the move, then folio_lock(src),
  // which sleeps until the lock is free: one atomic test_and_set_bit_lock().
  const srcUnlocked = b.g('folio_lock(src) can take the lock', (m, at) => folioUnlocked(m, W, src(m, at)));
  const allocLock = b.a('dst = compaction_alloc(); folio_lock(src)', (m, at) => {
    const d = c.target(m[at + L.used]);
    m[at + L.dst] = d;
    m[W.folio(d) + F_REF] = 1;
    set_bit(m, W.folio(d) + F_FLAGS, PG_locked);
    folio_trylock(m, W, src(m, at));
  });
  b.steps(MIGRATE.lock, 'migrate_folio_unmap', 'dst = get_new_folio(src); folio_lock(src)', [
    br(MIGRATE.move, [allocLock], srcUnlocked),
  ]);

  b.steps(MIGRATE.move, 'move_to_new_folio', 'mapping = folio_mapping(src); if (mapping_unmovable(mapping)) rc = -EOPNOTSUPP; else rc = a_ops->migrate_folio(mapping, dst, src)', [
    br(MIGRATE.moved, [b.a(MOVE_TO_NEW_FOLIO, moveToNewFolio(c))]),
  ]);
  const ok = b.g('rc == MIGRATEPAGE_SUCCESS', (m, at) => m[at + L.rc] === MIGRATEPAGE_SUCCESS);
  const again = b.g('rc == -EAGAIN', (m, at) => m[at + L.rc] === EAGAIN);
  b.localStep(MIGRATE.moved, 'migrate_folio_move', 'if (rc) goto out', [br(MIGRATE.addLru, [], ok), br(MIGRATE.retry, [], again), br(MIGRATE.undo)]);

  // folio_add_lru(dst) with the batch drained: lru_add_fn() under lru_lock.
  b.steps(MIGRATE.addLru, 'migrate_folio_move', 'folio_add_lru(dst)', [
    br(MIGRATE.unlockDst, [b.a('folio_add_lru(dst)', (m, at) => folio_add_lru(m, W, dst(m, at), 'migrate_folio_move'))]),
  ]);
  // folio_unlock(dst) and folio_put(dst): dst is outside every scanner's range and
  // nobody migrates it, so nothing decides on its refcount in between.
  const finishDst = b.a('folio_unlock(dst); folio_put(dst)', (m, at) => {
    folio_unlock(m, W, dst(m, at), 'migrate_folio_move');
    folio_put(m, W, dst(m, at), 'migrate_folio_move');
    m[at + L.used]++;
  });
  b.steps(MIGRATE.unlockDst, 'migrate_folio_move', 'folio_unlock(dst); folio_put(dst)', [br(MIGRATE.doneSrc, [finishDst])]);
  // list_del(&src->lru) on the CPU's own list; folio_unlock(src); migrate_folio_done(src):
  // src is out of the page cache, so a truncation that holds a reference to it only
  // waits for the lock and lets go.
  const finishSrc = b.a('list_del(&src->lru); folio_unlock(src); migrate_folio_done(src)', (m, at) => {
    const s = src(m, at);
    list_del(m, W.S, W.lruNode(s), 'migrate_folio_move');
    folio_unlock(m, W, s, 'migrate_folio_move');
    folio_put(m, W, s, 'migrate_folio_done');
  });
  b.steps(MIGRATE.doneSrc, 'migrate_folio_move', 'list_del(&src->lru); folio_unlock(src); migrate_folio_done(src)', [br(MIGRATE.next, [finishSrc])]);

  // Failure: migrate_folio_undo_src() unlocks src, migrate_folio_undo_dst() gives dst
  // back to cc->freepages (compaction_free(): the CPU's own again).
  const undo = b.a('folio_unlock(src); compaction_free(dst)', (m, at) => {
    folio_unlock(m, W, src(m, at), 'migrate_folio_undo_src');
    const d = W.folio(dst(m, at));
    m[d + F_REF] = 0;
    m[d + F_FLAGS] = 0;
    m[d + F_FLAGS + 1] = 0;
  });
  b.steps(MIGRATE.undo, 'migrate_folio_undo_src', 'folio_unlock(src); migrate_folio_undo_dst(dst)', [br(MIGRATE.putback, [undo])]);
  // -EAGAIN: the same undo; the folio stays on cc->migratepages for the next pass, or,
  // after the last pass, goes back.
  b.step(MIGRATE.retry, 'migrate_folio_undo_src', 'folio_unlock(src); migrate_folio_undo_dst(dst); -EAGAIN: retry in the next pass, or give up after the last', {
    retry: [br(MIGRATE.refcheck, [undo])],
    // The bounded exit (Branch.fairExit): NR_MAX_MIGRATE_PAGES_RETRY ends every run
    // of retries, so a run that retries for ever is not the kernel's.
    give_up: [fairExit(br(MIGRATE.putback, [undo]))],
  });
  // putback_movable_pages(): list_del(&folio->lru), then folio_putback_lru() =
  // folio_add_lru() (lru_add_fn() under lru_lock, folio_evictable() under RCU) and
  // folio_put(); the put is its own atomic operation.
  const putbackAdd = b.a('list_del(&folio->lru); folio_add_lru(folio)', (m, at) => {
    const s = src(m, at);
    list_del(m, W.S, W.lruNode(s), 'putback_movable_pages');
    folio_add_lru(m, W, s, 'folio_putback_lru');
  });
  b.steps(MIGRATE.putback, 'putback_movable_pages', 'list_del(&folio->lru); folio_putback_lru(folio): folio_add_lru(folio)', [
    br(MIGRATE.putbackPut, [putbackAdd]),
  ]);
  b.steps(MIGRATE.putbackPut, 'folio_putback_lru', 'folio_put(folio)', [
    br(MIGRATE.next, [b.a('folio_put(src)', (m, at) => { folio_put(m, W, src(m, at), 'folio_putback_lru'); })]),
  ]);
}
