/**
 * The lifecycle of nonlru's pages (kernel v4.8, the seed's Documentation/vm/page_migration),
 * as plain XState machines the `page-lifecycle` monitor checks on every step:
 *
 * - `nonlru-page`: a page of the driver's, from the buddy allocator through
 *   allocation, __SetPageMovable, isolation by a compaction CPU, migration or put
 *   back, release by its owner (possibly while isolated), to the buddy allocator;
 *   a migration target that migratepage adopted lives the same life from `movable`.
 * - `migration-target`: a page the free scanner took for a CPU's cc->freepages,
 *   from there to compaction_alloc (newpage), back (compaction_free), to the driver
 *   (adopted by a_ops->migratepage) or back to the buddy allocator (release_freepages).
 *
 * The abstraction functions below are the one place that reads a page; they go
 * through the kernel core's accessors. The machines never read bytes.
 */
import { createMachine, type AnyStateMachine } from 'xstate';
import {
  PAGE_MAPPING_MOVABLE, PageBuddy, PageIsolated, PageLRU, PageLocked, mappingWord, pageLocker, pageNode,
} from '../../src/kernel/page.ts';
import { headOf, spaceOf } from '../../src/kernel/list.ts';
import { isolationClaims } from '../../src/kernel/movable.ts';
import type { MigrationPages } from '../common/migration-world.ts';
import type { Lifecycle, LifecycleMeta } from '../../src/system.ts';

/** A transition: its event, target and who/lock/function (LifecycleMeta). */
export const tr = (target: string, meta: LifecycleMeta) => ({ target, meta });

/**
 * The raw facts about a migration world's page that every lifecycle of the
 * migration systems (nonlru, balloon, zsmalloc) is built from.
 */
export interface PageFacts {
  readonly free: boolean;
  /** The list head page->lru leads to: 'driver', 'migrate', 'freepages', or null (off every list). */
  readonly list: 'driver' | 'migrate' | 'freepages' | 'lru' | null;
  /** The CPU whose cc->migratepages or cc->freepages it is on, or -1. */
  readonly listCpu: number;
  readonly isolated: boolean;
  readonly locked: boolean;
  readonly lru: boolean;
  /** page->mapping: 'owner' (the driver's, PAGE_MAPPING_MOVABLE), 'released' (PAGE_MAPPING_MOVABLE alone), 'none', 'other'. */
  readonly mapping: 'owner' | 'released' | 'none' | 'other';
}

/** Read a page's facts through the kernel core's accessors. */
export function pageFacts(lay: MigrationPages & { readonly mapping: number }, m: Uint8Array, pfn: number): PageFacts {
  const free = PageBuddy(m, pfn);
  const head = free ? 0 : headOf(m, spaceOf(lay.lists), pageNode(pfn));
  let list: PageFacts['list'] = null;
  let listCpu = -1;
  if (head !== 0) {
    if (head === lay.driverList) list = 'driver';
    for (let c = 0; c < lay.cpus && list === null; c++) {
      if (head === lay.migrateList(c)) { list = 'migrate'; listCpu = c; }
      else if (head === lay.freeList(c)) { list = 'freepages'; listCpu = c; }
    }
  }
  const w = mappingWord(m, pfn);
  const mapping = w === 0 ? 'none' : w === PAGE_MAPPING_MOVABLE ? 'released' : w === ((lay.mapping << 2) | PAGE_MAPPING_MOVABLE) ? 'owner' : 'other';
  return { free, list, listCpu, isolated: PageIsolated(m, pfn), locked: PageLocked(m, pfn), lru: PageLRU(m, pfn), mapping };
}

/** The CPU holding a page: the one that isolated it (ghost claims), or whose private list it is on. */
export function migrationHolder(lay: MigrationPages & { readonly mapping: number }, m: Uint8Array, pfn: number): number {
  const claims = isolationClaims(m, pfn);
  if (claims) return 31 - Math.clz32(claims & -claims);
  if (PageBuddy(m, pfn)) return -1;
  return pageFacts(lay, m, pfn).listCpu;
}

/** `page lock`: the actor holds PG_locked of the page before or after the step (it may take and drop it within). */
export const pageLockHeld = (pre: Uint8Array, post: Uint8Array, pfn: number, actor: number): boolean =>
  pageLocker(pre, pfn) === actor || pageLocker(post, pfn) === actor;

/** A spinlock byte (actor + 1 when held): the step's actor may hold it (free or its own before and after). */
export const spinlockHeld = (at: number) => (pre: Uint8Array, post: Uint8Array, _pfn: number, actor: number): boolean =>
  (pre[at] === 0 || pre[at] === actor + 1) && (post[at] === 0 || post[at] === actor + 1);

// --- nonlru-page ------------------------------------------------------------------

const CPU = ['cpu'];
const DRIVER = ['driver'];
const ANYONE = ['cpu', 'driver'];

/**
 * The driver's non-LRU movable page (Documentation/vm/page_migration, seed patch 02).
 * Transitions name the actor kind ('cpu': a compaction CPU; 'driver': the page's
 * owner), whether only the CPU holding the page isolated may take them, the lock
 * and the kernel function.
 */
export const nonlruPageMachine: AnyStateMachine = createMachine({
  id: 'nonlru-page',
  initial: 'free',
  states: {
    free: {
      description: 'In the buddy allocator (PageBuddy).',
      on: { ALLOC: tr('allocated', { by: DRIVER, lock: 'none', fn: 'alloc_page' }) },
    },
    allocated: {
      description: 'The driver\'s, not yet movable: only its owner knows it.',
      on: { SET_MOVABLE: tr('movable', { by: DRIVER, lock: 'page lock', fn: '__SetPageMovable' }) },
    },
    movable: {
      description: 'Owned and movable: __SetPageMovable(page, mapping) done, on the driver\'s list.',
      on: {
        ISOLATE: tr('isolated', { by: CPU, holder: true, lock: 'page lock', fn: 'isolate_movable_page (a_ops->isolate_page)' }),
        UNLIST: tr('unlisted', { by: DRIVER, lock: 'page lock', fn: 'driver release: list_del(&page->lru)' }),
      },
    },
    isolated: {
      description: 'Isolated by CPU k (PG_isolated, the isolation reference), on its cc->migratepages, off the driver\'s list.',
      on: {
        LOCK: tr('migrating', { by: CPU, holder: true, lock: 'page lock', fn: '__unmap_and_move: lock_page' }),
        TAKE_OFF: tr('putback', { by: CPU, holder: true, lock: 'none', fn: 'putback_movable_pages / unmap_and_move: list_del(&page->lru)' }),
        OWNER_RELEASES: tr('released-isolated', { by: DRIVER, lock: 'page lock', fn: 'driver release: __ClearPageMovable' }),
      },
    },
    migrating: {
      description: 'Being migrated: locked by the CPU that isolated it, in move_to_new_page.',
      on: {
        UNLOCK: tr('isolated', { by: CPU, holder: true, lock: 'page lock', fn: 'unmap_and_move: unlock_page (-EAGAIN)' }),
        GIVE_UP: tr('putback', { by: CPU, holder: true, lock: 'none', fn: 'unmap_and_move: list_del(&page->lru)' }),
        MIGRATE: tr('migrated', { by: CPU, holder: true, lock: 'page lock', fn: 'move_to_new_page (a_ops->migratepage)' }),
      },
    },
    putback: {
      description: 'Off cc->migratepages, on its way back to the driver (still PG_isolated).',
      on: {
        PUT_BACK: tr('movable', { by: CPU, holder: true, lock: 'page lock', fn: 'putback_movable_page (a_ops->putback_page)' }),
        OWNER_RELEASES: tr('released-isolated', { by: DRIVER, lock: 'page lock', fn: 'driver release: __ClearPageMovable' }),
      },
    },
    'released-isolated': {
      description: 'Released by its owner while isolated: __ClearPageMovable kept PAGE_MAPPING_MOVABLE, PG_isolated still set.',
      on: {
        CLEAR_ISOLATED: tr('released', { by: CPU, holder: true, lock: 'page lock', fn: 'putback_movable_pages: __ClearPageIsolated' }),
        FREED_UNDER_US: tr('migrated', { by: CPU, holder: true, lock: 'page lock', fn: 'unmap_and_move / move_to_new_page: __ClearPageIsolated' }),
      },
    },
    migrated: {
      description: 'Done with by the VM (migrated away, or found released): PG_isolated clear, on cc->migratepages with only the isolation reference to drop.',
      on: {
        PUT: tr('released', { by: CPU, holder: true, lock: 'none', fn: 'unmap_and_move: list_del; put_page' }),
        FREE: tr('free', { by: CPU, holder: true, lock: 'none', fn: 'unmap_and_move: list_del; put_page (the last reference)' }),
      },
    },
    unlisted: {
      description: 'Taken off the driver\'s list by its owner, who is releasing it under the page lock.',
      on: { CLEAR_MOVABLE: tr('released', { by: DRIVER, lock: 'page lock', fn: 'driver release: __ClearPageMovable' }) },
    },
    released: {
      description: 'Let go by its owner (PAGE_MAPPING_MOVABLE alone), not isolated: its last references are being dropped.',
      on: { FREE: tr('free', { by: ANYONE, lock: 'none', fn: 'put_page (the last reference)' }) },
    },
    lru: {
      description: 'On the LRU: a non-LRU page never gets here (the VM took it for an LRU page).',
    },
    other: {
      description: 'Any combination of page fields the protocol never produces.',
    },
  },
});

/** The nonlru-page state of `pfn`, or null for a migration target still the compaction's. */
export function nonlruPageState(lay: MigrationPages & { readonly mapping: number }, m: Uint8Array, pfn: number): string | null {
  const f = pageFacts(lay, m, pfn);
  if (f.free) return 'free';
  if (f.lru) return 'lru';
  if (pfn >= lay.pages && !f.isolated && f.mapping === 'none' && (f.list === 'freepages' || f.list === null)) return null;
  if (f.mapping === 'released') return f.isolated ? 'released-isolated' : f.list === 'migrate' ? 'migrated' : f.list === null ? 'released' : 'other';
  if (f.mapping === 'owner') {
    if (!f.isolated) return f.list === 'driver' ? 'movable' : f.list === null ? 'unlisted' : 'other';
    if (f.list === 'migrate') return f.locked && pageLocker(m, pfn) === f.listCpu ? 'migrating' : 'isolated';
    return f.list === null ? 'putback' : 'other';
  }
  if (f.mapping === 'none' && !f.isolated && f.list === null && pfn < lay.pages) return 'allocated';
  return 'other';
}

// --- migration-target ---------------------------------------------------------------

/**
 * A migration target: a free page the free scanner isolated onto a CPU's
 * cc->freepages (isolate_freepages_block, map_pages: one reference), until it is
 * adopted by the driver or goes back to the buddy allocator (mm/compaction.c,
 * mm/migrate.c, v4.8).
 */
export const migrationTargetMachine: AnyStateMachine = createMachine({
  id: 'migration-target',
  initial: 'reserved',
  states: {
    reserved: {
      description: 'On its CPU\'s cc->freepages.',
      on: {
        ALLOC: tr('newpage', { by: CPU, holder: true, lock: 'none', fn: 'compaction_alloc' }),
        RELEASE: tr('free', { by: CPU, holder: true, lock: 'none', fn: 'release_freepages' }),
      },
    },
    newpage: {
      description: 'Taken by compaction_alloc as newpage for one page\'s migration.',
      on: {
        RETURN: tr('reserved', { by: CPU, holder: true, lock: 'none', fn: 'compaction_free' }),
        RETURN_AND_RELEASE: tr('free', { by: CPU, holder: true, lock: 'none', fn: 'compaction_free; release_freepages (local steps chained)' }),
        ADOPT: tr('adopted', { by: CPU, holder: true, lock: 'page lock', fn: 'move_to_new_page (a_ops->migratepage sets it up)' }),
      },
    },
    adopted: {
      description: 'The driver\'s page now (its nonlru-page lifecycle goes on from movable).',
      on: { FREE: tr('free', { by: ANYONE, lock: 'none', fn: 'put_page (the last reference, see nonlru-page)' }) },
    },
    free: { type: 'final', description: 'Back in the buddy allocator.' },
  },
});

export function migrationTargetState(lay: MigrationPages & { readonly mapping: number }, m: Uint8Array, pfn: number): string {
  const f = pageFacts(lay, m, pfn);
  if (f.free) return 'free';
  if (f.list === 'freepages') return 'reserved';
  if (!f.isolated && f.mapping === 'none' && f.list === null) return 'newpage';
  return 'adopted';
}

/** The CPU whose target pfn is (its free scanner isolated it). */
export const targetCpu = (lay: { readonly pages: number }, pfn: number): number => Math.floor((pfn - lay.pages) / lay.pages);

/** nonlru's lifecycles: every page's nonlru-page life, and the targets' own. */
export function migrationLifecycles(
  lay: MigrationPages & { readonly mapping: number; readonly driverLock: number },
  page: { readonly name: string; readonly title: string; readonly machine: AnyStateMachine; state(m: Uint8Array, pfn: number): string | null } =
  { name: 'nonlru-page', title: 'The driver\'s non-LRU movable page', machine: nonlruPageMachine, state: (m, pfn) => nonlruPageState(lay, m, pfn) },
): Lifecycle[] {
  const all = Array.from({ length: lay.npages }, (_, pfn) => pfn);
  const locks = { 'page lock': pageLockHeld, 'driver lock': spinlockHeld(lay.driverLock) };
  return [
    { ...page, pages: all, holder: (m, pfn) => migrationHolder(lay, m, pfn), locks },
    {
      name: 'migration-target',
      title: 'A migration target (cc->freepages)',
      machine: migrationTargetMachine,
      pages: all.slice(lay.pages),
      state: (m, pfn) => migrationTargetState(lay, m, pfn),
      holder: (_m, pfn) => targetCpu(lay, pfn),
      locks,
    },
  ];
}
