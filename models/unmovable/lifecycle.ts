/**
 * The lifecycles of unmovable's folios (kernel v6.8 with seed 004), as plain XState
 * machines the `page-lifecycle` monitor checks on every step:
 *
 * - `file-folio`: a folio of the ordinary file: in the page cache, on the LRU,
 *   isolated by a compaction CPU, being migrated (locked), migrated away or put
 *   back, truncated, freed.
 * - `unmovable-folio`: a folio of the guest_memfd-like mapping: in the page cache,
 *   on the (unevictable) LRU, truncated, freed. Compaction may isolate it only where
 *   the seed's compaction hunk is absent (SEED_WITHOUT), never migrate it: it has no
 *   `migrated` state.
 * - `migration-target`: a CPU's target folio (compaction_alloc), from free to the
 *   page cache in the source's place, or back (compaction_free).
 *
 * The abstraction functions are the one place that reads a folio: they go through
 * the kernel core's accessors (src/kernel/folio-v6/folio.ts) and read only the
 * folio's own struct folio (refcount, flags, mapping, the list its lru leads to).
 */
import { createMachine, type AnyStateMachine } from 'xstate';
import {
  FOLIO_BYTES, NO_MAPPING, PG_locked, PG_lru, flagsOf, folioListHead, folioMappingWord, folio_ref_count,
} from '../../src/kernel/folio-v6/folio.ts';
import type { Lifecycle, LifecycleMeta } from '../../src/system.ts';
import type { UnmovableLayout } from './layout.ts';

export { FOLIO_BYTES };
const tr = (target: string, meta: LifecycleMeta) => ({ target, meta });

/**
 * A folio's lifecycle state: free; in its mapping (`cache`, `lru`, `isolating`
 * between folio_test_clear_lru() and lruvec_del_folio() or the abort's folio_set_lru(), `isolated`, `isolated-locked`
 * by its CPU for migration or by truncation); out of it (`uncached-lru` truncated on the LRU,
 * `isolated-uncached` migrated away or truncated while isolated, `uncached`: a target
 * not yet adopted, or a truncated or migrated folio whose last references are going).
 */
export function folioState(lay: UnmovableLayout, m: Uint8Array, pfn: number): string {
  const head = folioListHead(m, lay, pfn);
  // A freed folio is on no list: the release takes it off the LRU when PG_lru says it is
  // there, and migration's list_del() comes before its last folio_put().
  if (folio_ref_count(m, lay, pfn) === 0) return head === 0 ? 'free' : 'other';
  const flags = flagsOf(m, lay, pfn);
  const inCache = folioMappingWord(m, lay, pfn) !== NO_MAPPING;
  if (head === 0) return flags & PG_lru ? 'other' : inCache ? 'cache' : 'uncached';
  if (isMigrateHead(lay, head)) {
    if (flags & PG_lru) return 'other';
    if (!inCache) return 'isolated-uncached';
    return flags & PG_locked ? 'isolated-locked' : 'isolated';
  }
  if (!inCache) return 'uncached-lru';
  return flags & PG_lru ? 'lru' : 'isolating';
}

function isMigrateHead(lay: UnmovableLayout, head: number): boolean {
  for (let c = 0; c < lay.cpus; c++) if (lay.migrateHead(c) === head) return true;
  return false;
}

/** The CPU whose cc->migratepages the folio is on, or -1. */
function holderOf(lay: UnmovableLayout, m: Uint8Array, pfn: number): number {
  const head = folioListHead(m, lay, pfn);
  for (let c = 0; c < lay.cpus; c++) if (lay.migrateHead(c) === head) return c;
  return -1;
}

const CPU = ['cpu'];
const OWNER = ['owner'];
const TRUNCATE = ['truncate'];
const EVICT = [...OWNER, ...TRUNCATE];
const ANYONE = [...CPU, ...OWNER, ...TRUNCATE];
/** Why the unmovable folio's isolation moves have no witness at the default scope. */
const SEED_KEEPS_IT = 'the seed\'s compaction hunk keeps the scanner off the owner\'s folios while they are in their mapping: only SEED_WITHOUT.compactionHunk (the migrate hunk alone) isolates one, and then move_to_new_folio() refuses it';

/**
 * A folio of a mapping at v6.8, for the ordinary file (`unmovable` false) or the
 * guest_memfd-like mapping (true): the unmovable folio has no MIGRATE, and its
 * in-mapping isolation moves are witnessed only with the seed's compaction hunk out.
 */
export function folioMachine(id: string, unmovable: boolean, target: boolean): AnyStateMachine {
  const iso = unmovable ? { largerScope: SEED_KEEPS_IT } : {};
  const states: Record<string, object> = {
    free: {
      description: 'Free: no reference.',
      on: target
        ? { ALLOC: tr('uncached', { by: CPU, holder: true, lock: 'none', fn: 'migrate_folio_unmap: dst = get_new_folio(src) (compaction_alloc)' }) }
        : { ADD_TO_CACHE: tr('cache', { by: OWNER, lock: 'i_pages lock', fn: 'filemap_grab_folio: __filemap_add_folio' }) },
    },
    cache: {
      description: 'In its mapping\'s page cache, off the LRU (just added).',
      on: { ADD_LRU: tr('lru', { by: target ? CPU : OWNER, lock: 'lru_lock', fn: target ? 'migrate_folio_move: folio_add_lru(dst)' : 'filemap_add_folio: folio_add_lru' }) },
    },
    lru: {
      description: `In its mapping and on the ${unmovable ? 'unevictable ' : ''}LRU (PG_lru).`,
      on: {
        CLEAR_LRU: tr('isolating', { by: CPU, lock: 'none', fn: 'isolate_migratepages_block: folio_test_clear_lru', ...iso }),
        TRUNCATE: tr('uncached-lru', { by: EVICT, lock: 'page lock', fn: 'truncate_inode_folio: filemap_remove_folio' }),
      },
    },
    isolating: {
      description: 'PG_lru cleared by a scanner, still on the lruvec list (before lruvec_del_folio).',
      on: {
        ISOLATE: tr('isolated', { by: CPU, holder: true, lock: 'lru_lock', fn: 'isolate_migratepages_block: lruvec_del_folio; list_add(&folio->lru, &cc->migratepages)', ...iso }),
        ISOLATE_LOCKED: tr('isolated-locked', { by: CPU, holder: true, lock: 'lru_lock', fn: 'isolate_migratepages_block: lruvec_del_folio (the folio is locked by truncation meanwhile)', ...(unmovable ? iso : { largerScope: 'truncation would have to lock the folio between the scanner\'s folio_test_clear_lru() and lruvec_del_folio(); no interleaving of the default scope (one folio of each mapping) does' }) }),
        TRUNCATE: tr('uncached-lru', { by: EVICT, lock: 'page lock', fn: 'truncate_inode_folio: filemap_remove_folio', ...iso }),
        ABORT: tr('lru', { by: CPU, lock: 'lru_lock', fn: 'isolate_migratepages_block: test_and_set_skip() found the pageblock marked: isolate_abort: folio_set_lru(folio)', ...iso }),
      },
    },
    isolated: {
      description: 'On CPU k\'s cc->migratepages, holding its isolation reference.',
      on: {
        LOCK: tr('isolated-locked', { by: [...CPU, ...EVICT], lock: 'page lock', fn: 'migrate_folio_unmap: folio_lock(src) / truncate_inode_pages_range: folio_lock', ...iso }),
        PUTBACK: tr('lru', { by: CPU, holder: true, lock: 'lru_lock', fn: 'putback_movable_pages: list_del; folio_add_lru', ...iso }),
      },
    },
    'isolated-locked': {
      description: 'Isolated and locked: by its CPU for migration, or by truncation.',
      on: {
        UNLOCK: tr('isolated', { by: CPU, holder: true, lock: 'page lock', fn: 'migrate_folio_undo_src: folio_unlock (-EAGAIN, retry)', ...iso }),
        ...(unmovable ? {
          // The owner locked it in filemap_grab_folio(); without the seed's compaction hunk a
          // scanner may isolate it meanwhile, and the owner's unlock finds it isolated.
          OWNER_UNLOCK: tr('isolated', { by: OWNER, lock: 'page lock', fn: 'kvm_gmem_get_pfn: folio_unlock', ...iso }),
        } : {}),
        PUTBACK: tr('lru', { by: CPU, holder: true, lock: 'lru_lock', fn: 'migrate_folio_undo_src: folio_unlock; putback_movable_pages', ...iso }),
        ...(unmovable ? {} : { MIGRATE: tr('isolated-uncached', { by: CPU, holder: true, lock: 'page lock', fn: 'move_to_new_folio: a_ops->migrate_folio (filemap_migrate_folio)' }) }),
        TRUNCATE: tr('isolated-uncached', { by: EVICT, lock: 'page lock', fn: 'truncate_inode_folio: filemap_remove_folio (an isolated folio)', ...iso }),
      },
    },
    'isolated-uncached': {
      description: 'Still on its CPU\'s cc->migratepages, out of its mapping: migrated away, or truncated while isolated.',
      on: {
        DONE_FREE: tr('free', { by: CPU, holder: true, lock: 'none', fn: 'migrate_folio_done: folio_put (the last reference) / "Folio was freed from under us"' }),
        DONE: tr('uncached', { by: CPU, holder: true, lock: 'none', fn: 'migrate_folio_move: list_del(&src->lru); migrate_folio_done' }),
        PUTBACK: tr('uncached-lru', { by: CPU, holder: true, lock: 'lru_lock', fn: 'putback_movable_pages: folio_add_lru (a truncated folio)' }),
      },
    },
    'uncached-lru': {
      description: 'Out of its mapping (truncated) but still on the LRU until its last reference goes.',
      on: {
        FREE: tr('free', { by: ANYONE, lock: 'none', fn: 'folio_put: __page_cache_release (the last reference)' }),
        ISOLATE: tr('isolated-uncached', { by: CPU, holder: true, lock: 'lru_lock', fn: 'isolate_migratepages_block: lruvec_del_folio (a truncated folio, no mapping to test)' }),
      },
    },
    uncached: {
      description: target ? 'A target taken by compaction_alloc, not (or no longer) in a mapping.' : 'Out of its mapping and off every list: its last references are going.',
      on: {
        FREE: tr('free', { by: ANYONE, lock: 'none', fn: target ? 'compaction_free / folio_put (the last reference)' : 'folio_put (the last reference)' }),
        ...(target ? {
          ADOPT: tr('cache', { by: CPU, holder: true, lock: 'i_pages lock', fn: 'move_to_new_folio: __filemap_migrate_folio (dst takes src\'s slot)' }),
          ADD_LRU_UNCACHED: tr('uncached-lru', { by: CPU, holder: true, lock: 'lru_lock', fn: 'migrate_folio_move: folio_add_lru(dst) (truncated meanwhile)' }),
        } : {}),
      },
    },
    other: { description: 'Any combination of folio fields the protocol never produces (e.g. on cc->migratepages with PG_lru set).' },
  };
  if (!target && !unmovable) {
    // The file's folios start in the page cache and on the LRU (initialWorld); nobody adds one.
    (states.free as { on?: object }).on = {};
    (states.cache as { on?: object }).on = {};
  }
  if (target) {
    // Targets lie outside the scanned range: no scanner isolates them.
    const lru = states.lru as { on: Record<string, object> };
    delete lru.on.CLEAR_LRU;
    for (const s of ['isolating', 'isolated', 'isolated-locked', 'isolated-uncached']) (states[s] as { on?: object }).on = {};
    delete (states['uncached-lru'] as { on: Record<string, object> }).on.ISOLATE;
  }
  // The file's folios start in the page cache and on the LRU (initialWorld).
  return createMachine({ id, initial: !target && !unmovable ? 'lru' : 'free', states } as never);
}

/**
 * The locks a transition may name. `page lock`: PG_locked before or after the step
 * (the core records no owner). `lru_lock` and `i_pages lock` have no byte in the
 * model: every step that changes an LRU list or a page cache slot is one critical
 * section under its lock (src/kernel/folio-v6/folio.ts lruvec_*, filemap.ts), so the
 * step is the lock.
 */
function locks(lay: UnmovableLayout): Lifecycle['locks'] {
  return {
    'page lock': (pre, post, pfn) => (flagsOf(pre, lay, pfn) & PG_locked) !== 0 || (flagsOf(post, lay, pfn) & PG_locked) !== 0,
    lru_lock: () => true,
    'i_pages lock': () => true,
  };
}

export function unmovableLifecycles(lay: UnmovableLayout): Lifecycle[] {
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  const l = locks(lay);
  const state = (m: Uint8Array, pfn: number) => folioState(lay, m, pfn);
  const holder = (m: Uint8Array, pfn: number) => holderOf(lay, m, pfn);
  const targetHolder = (_m: Uint8Array, pfn: number) => Math.floor((pfn - lay.scanned) / lay.scanned);
  return [
    { name: 'unmovable-folio', title: 'A folio of the unmovable (guest_memfd-like) mapping', machine: folioMachine('unmovable-folio', true, false), pages: range(0, lay.gmem), state, holder, locks: l },
    { name: 'file-folio', title: 'A folio of the ordinary file', machine: folioMachine('file-folio', false, false), pages: range(lay.gmem, lay.scanned), state, holder, locks: l },
    { name: 'migration-target', title: 'A compaction CPU\'s migration target', machine: folioMachine('unmovable-migration-target', false, true), pages: range(lay.scanned, lay.nfolios), state, holder: targetHolder, locks: l },
  ];
}
