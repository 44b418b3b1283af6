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
  F_REF, PAGE_MAPPING_MOVABLE, PAGE_STRIDE, PG_isolated, PG_locked, PG_lru, PageBuddy, lruNext, lruPrev, pageFlags, page_count, PageIsolated, PageLRU, PageLocked, mappingWord, pageLocker, pageNode,
} from '../../src/kernel/page.ts';
import { headOf, spaceOf } from '../../src/kernel/list.ts';
import { isolationClaims } from '../../src/kernel/movable.ts';
import { type MigrationPages, headsBytes, initMigrationPages } from '../common/migration-world.ts';
import type { Lifecycle, LifecycleMeta } from '../../src/system.ts';

/** A transition: its event, target and who/lock/function (LifecycleMeta). */
export const tr = (target: string, meta: LifecycleMeta) => ({ target, meta });

/**
 * The raw facts about a migration world's page that every lifecycle of the
 * migration systems (nonlru, balloon, zsmalloc) is built from.
 */
export interface PageFacts {
  /**
   * In the buddy allocator, or on its way there: the last reference is gone
   * (put_page's free path; free_pages_check is the kernel's own business).
   */
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
  return { ...factsReader(lay)(m, pfn) };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Reader = (m: Uint8Array, pfn: number) => PageFacts;
const HEAD_DRIVER = 1;
const HEAD_MIGRATE = 2;
const HEAD_FREEPAGES = 3;

/**
 * The facts reader of a layout: list heads classified once, facts read into one
 * reused object (the abstraction functions keep nothing of it between calls).
 */
function factsReader(lay: MigrationPages & { readonly mapping: number }): Reader {
  const S = spaceOf(lay.lists);
  const headKind = new Uint8Array(256);
  const headCpu = new Int8Array(256).fill(-1);
  for (let c = lay.cpus - 1; c >= 0; c--) {
    headKind[lay.migrateList(c)] = HEAD_MIGRATE;
    headCpu[lay.migrateList(c)] = c;
    headKind[lay.freeList(c)] = HEAD_FREEPAGES;
    headCpu[lay.freeList(c)] = c;
  }
  headKind[lay.driverList] = HEAD_DRIVER;
  const owner = (lay.mapping << 2) | PAGE_MAPPING_MOVABLE;
  const f: Mutable<PageFacts> = { free: false, list: null, listCpu: -1, isolated: false, locked: false, lru: false, mapping: 'none' };
  return (m, pfn) => {
    f.free = PageBuddy(m, pfn) || page_count(m, pfn) === 0;
    const head = f.free ? 0 : headOf(m, S, pageNode(pfn));
    const kind = headKind[head];
    f.list = kind === HEAD_DRIVER ? 'driver' : kind === HEAD_MIGRATE ? 'migrate' : kind === HEAD_FREEPAGES ? 'freepages' : null;
    f.listCpu = headCpu[head];
    const w = mappingWord(m, pfn);
    f.mapping = w === 0 ? 'none' : w === PAGE_MAPPING_MOVABLE ? 'released' : w === owner ? 'owner' : 'other';
    f.isolated = PageIsolated(m, pfn);
    f.locked = PageLocked(m, pfn);
    f.lru = PageLRU(m, pfn);
    return f;
  };
}

/** The CPU holding a page: the one that isolated it (ghost claims), or whose private list it is on. */
function holderOf(read: Reader, m: Uint8Array, pfn: number): number {
  const claims = isolationClaims(m, pfn);
  if (claims) return 31 - Math.clz32(claims & -claims);
  if (PageBuddy(m, pfn)) return -1;
  return read(m, pfn).listCpu;
}

/**
 * The monitor's fast path for every migration lifecycle: nothing its state is read
 * from moved. That is PageBuddy, whether the refcount is zero, page->mapping, the
 * list the page->lru leads to (its own pointers also change when a neighbour comes
 * or goes, so the head is compared when they do), PG_isolated and PG_lru, and, on
 * an isolated page, PG_locked and its holder (migrating). Refcount changes between
 * non-zero values, other flags and the ghost isolation claims do not count.
 */
function unchangedIn(lay: MigrationPages) {
  const S = spaceOf(lay.lists);
  return (pre: Uint8Array, post: Uint8Array, pfn: number): boolean => {
    if (PageBuddy(pre, pfn) !== PageBuddy(post, pfn)) return false;
    if ((page_count(pre, pfn) === 0) !== (page_count(post, pfn) === 0)) return false;
    if (mappingWord(pre, pfn) !== mappingWord(post, pfn)) return false;
    const flags = pageFlags(pre, pfn);
    const diff = flags ^ pageFlags(post, pfn);
    if (diff & (PG_isolated | PG_lru)) return false;
    if ((flags & PG_isolated) && ((diff & PG_locked) || pageLocker(pre, pfn) !== pageLocker(post, pfn))) return false;
    if (lruNext(pre, pfn) === lruNext(post, pfn) && lruPrev(pre, pfn) === lruPrev(post, pfn)) return true;
    const node = pageNode(pfn);
    return headOf(pre, S, node) === headOf(post, S, node);
  };
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

/** Who does what to a system's own pages: actor kinds per kind of move. */
export interface OwnerKinds {
  /** Allocates the page and makes it movable (__SetPageMovable). */
  readonly alloc: readonly string[];
  /** Releases it (__ClearPageMovable under the page lock). */
  readonly release: readonly string[];
  /** Drops its last reference after release (besides the CPUs). */
  readonly free: readonly string[];
  /** The owner keeps its pages on a page->lru list (nonlru, balloon); zsmalloc links zspages instead. */
  readonly listed: boolean;
  /** The owner may release a page the VM holds isolated (nonlru's driver; not the balloon, not zsmalloc). */
  readonly releaseIsolated: boolean;
  /** What the owner calls its movable page, e.g. 'on the driver\'s list'. */
  readonly movable: string;
  /**
   * A listed owner's release: 'unlist-then-clear' (nonlru's driver: list_del in one
   * step, __ClearPageMovable in the next) or 'one-step' (balloon_page_delete: both
   * in one step under the page lock). An owner that is not listed releases in one step.
   */
  readonly release1?: 'unlist-then-clear' | 'one-step';
  /**
   * The lock the owner's __SetPageMovable and __ClearPageMovable are under: 'page
   * lock', or 'page lock in step' for an owner that takes and drops it inside the
   * one step (zsmalloc's SetZsPageMovable, balloon_page_dequeue's trylock_page).
   */
  readonly ownerLock?: 'page lock' | 'page lock in step';
  /**
   * An owner whose migratepage callback is a program of steps that releases the old
   * page in the middle (virtballoon_migratepage: balloon_page_delete(page) after
   * inserting newpage, then tell_host() sleeps): the callback's kernel function.
   * The old page then waits, released, isolated and locked by its CPU, until
   * move_to_new_page() clears PG_isolated on MIGRATEPAGE_SUCCESS.
   */
  readonly releasedInMigratepage?: string;
}

/**
 * The non-LRU movable page of Documentation/vm/page_migration (seed patch 02), for
 * an owner of the given kinds. Transitions name the actor kind ('cpu': a
 * compaction CPU), whether only the CPU holding the page isolated may take them,
 * the lock and the kernel function.
 */
export function migrationPageMachine(id: string, o: OwnerKinds): AnyStateMachine {
  const released = o.releaseIsolated
    ? { OWNER_RELEASES: tr('released-isolated', { by: o.release, lock: 'page lock', fn: 'owner\'s release: __ClearPageMovable' }) }
    : {};
  const states: Record<string, object> = {
    free: {
      description: 'In the buddy allocator (PageBuddy).',
      on: { ALLOC: tr('allocated', { by: o.alloc, lock: 'none', fn: 'alloc_page' }) },
    },
    allocated: {
      description: 'The owner\'s, not yet movable: only its owner knows it.',
      on: { SET_MOVABLE: tr('movable', { by: o.alloc, lock: o.ownerLock ?? 'page lock', fn: '__SetPageMovable' }) },
    },
    movable: {
      description: `Owned and movable: __SetPageMovable(page, mapping) done, ${o.movable}.`,
      on: {
        ISOLATE: tr('isolated', { by: CPU, holder: true, lock: 'page lock', fn: 'isolate_movable_page (a_ops->isolate_page)' }),
        ...(o.listed && o.release1 !== 'one-step'
          ? { UNLIST: tr('unlisted', { by: o.release, lock: 'page lock', fn: 'owner\'s release: list_del(&page->lru)' }) }
          : { RELEASE: tr('released', { by: o.release, lock: o.ownerLock ?? 'page lock', fn: 'owner\'s release: __ClearPageMovable' }) }),
      },
    },
    isolated: {
      description: 'Isolated by CPU k (PG_isolated, the isolation reference), on its cc->migratepages.',
      on: {
        LOCK: tr('migrating', { by: CPU, holder: true, lock: 'page lock', fn: '__unmap_and_move: lock_page' }),
        TAKE_OFF: tr('putback', { by: CPU, holder: true, lock: 'none', fn: 'putback_movable_pages / unmap_and_move: list_del(&page->lru)' }),
        ...released,
      },
    },
    migrating: {
      description: 'Being migrated: locked by the CPU that isolated it, in move_to_new_page.',
      on: {
        UNLOCK: tr('isolated', { by: CPU, holder: true, lock: 'page lock', fn: 'unmap_and_move: unlock_page (-EAGAIN)' }),
        // An owner whose callback releases the old page in its middle always passes
        // through `deleted`; the others' migration is one move.
        ...(o.releasedInMigratepage ? {
          DELETE: tr('deleted', { by: CPU, holder: true, lock: 'page lock', fn: `${o.releasedInMigratepage} (a_ops->migratepage, in the caller's context)` }),
        } : {
          MIGRATE: tr('migrated', { by: CPU, holder: true, lock: 'page lock', fn: 'move_to_new_page (a_ops->migratepage)' }),
        }),
      },
    },
    ...(o.releasedInMigratepage ? {
      deleted: {
        description: `Released by ${o.releasedInMigratepage} in the middle of its steps: PAGE_MAPPING_MOVABLE alone, still PG_isolated, locked by the migrating CPU, on its cc->migratepages.`,
        on: {
          CLEAR_ISOLATED: tr('migrated', { by: CPU, holder: true, lock: 'page lock', fn: 'move_to_new_page: __ClearPageIsolated (MIGRATEPAGE_SUCCESS)' }),
        },
      },
    } : {}),
    putback: {
      description: 'Off cc->migratepages, on its way back to its owner (still PG_isolated).',
      on: {
        PUT_BACK: tr('movable', { by: CPU, holder: true, lock: 'page lock', fn: 'putback_movable_page (a_ops->putback_page)' }),
        ...released,
      },
    },
    ...(o.releaseIsolated ? {
      'released-isolated': {
        description: 'Released by its owner while isolated: __ClearPageMovable kept PAGE_MAPPING_MOVABLE, PG_isolated still set.',
        on: {
          CLEAR_ISOLATED: tr('released', { by: CPU, holder: true, lock: 'page lock', fn: 'putback_movable_pages: __ClearPageIsolated' }),
          FREED_UNDER_US: tr('migrated', { by: CPU, holder: true, lock: 'page lock', fn: 'unmap_and_move / move_to_new_page: __ClearPageIsolated' }),
        },
      },
    } : {}),
    migrated: {
      description: 'Done with by the VM (migrated away, or found released): PG_isolated clear, on cc->migratepages with only the isolation reference to drop.',
      on: {
        PUT: tr('released', { by: CPU, holder: true, lock: 'none', fn: 'unmap_and_move: list_del; put_page' }),
        FREE: tr('free', { by: CPU, holder: true, lock: 'none', fn: 'unmap_and_move: list_del; put_page (the last reference)' }),
      },
    },
    ...(o.listed && o.release1 !== 'one-step' ? {
      unlisted: {
        description: 'Taken off its owner\'s list by the owner, who is releasing it under the page lock.',
        on: { CLEAR_MOVABLE: tr('released', { by: o.release, lock: 'page lock', fn: 'owner\'s release: __ClearPageMovable' }) },
      },
    } : {}),
    released: {
      description: 'Let go by its owner (PAGE_MAPPING_MOVABLE alone), not isolated: its last references are being dropped.',
      on: { FREE: tr('free', { by: [...CPU, ...o.free], lock: 'none', fn: 'put_page (the last reference)' }) },
    },
    lru: { description: 'On the LRU: a non-LRU page never gets here (the VM took it for an LRU page).' },
    other: { description: 'Any combination of page fields the protocol never produces.' },
  };
  return createMachine({ id, initial: 'free', states } as never);
}

/** The driver's non-LRU movable page (Documentation/vm/page_migration, seed patch 02). */
export const NONLRU_OWNER: OwnerKinds = {
  alloc: DRIVER, release: DRIVER, free: DRIVER, listed: true, releaseIsolated: true, movable: 'on the driver\'s list',
};
export const nonlruPageMachine: AnyStateMachine = migrationPageMachine('nonlru-page', NONLRU_OWNER);

/**
 * The lifecycle state of `pfn` for an owner of kind `o`, or null for a migration
 * target still the compaction's (see migration-target).
 */
export function migrationPageState(read: Reader, pages: number, o: OwnerKinds, m: Uint8Array, pfn: number): string | null {
  const f = read(m, pfn);
  if (f.free) return 'free';
  if (f.lru) return 'lru';
  if (pfn >= pages && !f.isolated && f.mapping === 'none' && (f.list === 'freepages' || f.list === null)) return null;
  if (f.mapping === 'released') {
    if (f.isolated) {
      if (o.releasedInMigratepage && f.list === 'migrate' && f.locked && pageLocker(m, pfn) === f.listCpu) return 'deleted';
      return o.releaseIsolated ? 'released-isolated' : 'other';
    }
    return f.list === 'migrate' ? 'migrated' : f.list === null ? 'released' : 'other';
  }
  if (f.mapping === 'owner') {
    if (!f.isolated) {
      if (o.listed) return f.list === 'driver' ? 'movable' : f.list === null && o.release1 !== 'one-step' ? 'unlisted' : 'other';
      return f.list === null ? 'movable' : 'other';
    }
    if (f.list === 'migrate') return f.locked && pageLocker(m, pfn) === f.listCpu ? 'migrating' : 'isolated';
    return f.list === null ? 'putback' : 'other';
  }
  if (f.mapping === 'none' && !f.isolated && f.list === null && pfn < pages) return 'allocated';
  return 'other';
}

export const nonlruPageState = (lay: MigrationPages & { readonly mapping: number }, m: Uint8Array, pfn: number): string | null =>
  migrationPageState(factsReader(lay), lay.pages, NONLRU_OWNER, m, pfn);

// --- migration-target ---------------------------------------------------------------

/**
 * A migration target: a free page the free scanner isolated onto a CPU's
 * cc->freepages (isolate_freepages_block, map_pages: one reference), until it is
 * adopted by the driver or goes back to the buddy allocator (mm/compaction.c,
 * mm/migrate.c, v4.8).
 */
export const migrationTargetMachine = (owner: readonly string[], releaseIsolated: boolean): AnyStateMachine => { const CPU_OR_OWNER = [...CPU, ...owner]; return createMachine({
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
        // v4.8's __unmap_and_move() out: rc is MIGRATEPAGE_SUCCESS when move_to_new_page()
        // found the page released by its owner, newpage unused; it is not movable, so
        // putback_lru_page(newpage) drops its last reference. Only an owner that
        // releases isolated pages gets here.
        ...(releaseIsolated ? {
          DROP: tr('free', { by: CPU, holder: true, lock: 'none', fn: '__unmap_and_move: putback_lru_page(newpage) (the page was released, newpage unused)' }),
        } : {}),
        ADOPT: tr('adopted', { by: CPU, holder: true, lock: 'page lock', fn: 'move_to_new_page (a_ops->migratepage sets it up)' }),
      },
    },
    adopted: {
      description: 'The driver\'s page now (its nonlru-page lifecycle goes on from movable).',
      on: { FREE: tr('free', { by: CPU_OR_OWNER, lock: 'none', fn: 'put_page (the last reference, see the page\'s own lifecycle)' }) },
    },
    free: { type: 'final', description: 'Back in the buddy allocator.' },
  },
}); };

export function migrationTargetState(read: Reader, m: Uint8Array, pfn: number): string {
  const f = read(m, pfn);
  if (f.free) return 'free';
  if (f.list === 'freepages') return 'reserved';
  if (!f.isolated && f.mapping === 'none' && f.list === null) return 'newpage';
  return 'adopted';
}

/** The CPU whose target pfn is (its free scanner isolated it). */
export const targetCpu = (lay: { readonly pages: number; readonly foreign: number }, pfn: number): number =>
  Math.floor((pfn - lay.pages - lay.foreign) / lay.pages);

// --- scan-mix-page ------------------------------------------------------------------

/**
 * A page of the scan mix (SCAN_MIX: slab, free order-1 buddy block, order-1 THP,
 * LRU page): another subsystem's page that the compaction scan meets. In this
 * system nobody but its (unmodelled) owner may change it, and its owner does not
 * run here, so its struct page stays as the world began, but for a reference a
 * compaction CPU may take and drop to look at it (v4.8 isolate_movable_page():
 * get_page_unless_zero(), then put_page() when it is not a movable page after all).
 */
export const scanMixPageMachine: AnyStateMachine = createMachine({
  id: 'scan-mix-page',
  initial: 'theirs',
  states: {
    theirs: {
      description: 'As its owner left it: slab, free buddy block, THP head or tail, or LRU page, every field as the world began.',
      on: {
        PEEK: tr('peeked', {
          by: CPU, lock: 'none', fn: 'isolate_movable_page: get_page_unless_zero',
          largerScope: 'no scope reaches it in v4.8: isolate_migratepages_block() skips every page of the mix (PageBuddy, PageCompound, PageLRU, !__PageMovable) before isolate_movable_page(), and nothing makes a mix page movable; a variant that drops one of those filters does',
        }),
      },
    },
    peeked: {
      description: 'A compaction CPU holds a reference to look at it; nothing else of it has changed.',
      on: {
        UNPEEK: tr('theirs', {
          by: CPU, lock: 'none', fn: 'isolate_movable_page: put_page (not a movable page)',
          largerScope: 'as PEEK: only a scan that drops a v4.8 filter takes a reference to a mix page',
        }),
      },
    },
    other: { description: 'Changed by this system: a flag, page->mapping, page->lru, page->private, the page lock, or a reference dropped below its owner\'s. Nobody here may do that.' },
  },
} as never);

/**
 * The state of a mix page: `theirs` while its struct page is byte for byte as in
 * `init` (the world at the start), `peeked` when only its refcount is above the
 * start's, `other` otherwise.
 */
export function scanMixPageState(init: Uint8Array, m: Uint8Array, pfn: number): string {
  const o = pfn * PAGE_STRIDE;
  for (let b = 0; b < PAGE_STRIDE; b++) if (b !== F_REF && m[o + b] !== init[o + b]) return 'other';
  const d = page_count(m, pfn) - page_count(init, pfn);
  return d === 0 ? 'theirs' : d > 0 ? 'peeked' : 'other';
}

/**
 * A migration system's lifecycles: every page's life as the owner `o` lives it
 * (`name`, e.g. nonlru-page), and the migration targets' own.
 */
export function migrationLifecycles(
  lay: MigrationPages & { readonly mapping: number; readonly driverLock: number },
  name = 'nonlru-page', title = 'The driver\'s non-LRU movable page', o: OwnerKinds = NONLRU_OWNER,
): Lifecycle[] {
  // pfns: the owner's pages, the scan mix's (SCAN_MIX), then the CPUs' migration targets.
  const all = Array.from({ length: lay.npages }, (_, pfn) => pfn);
  const owned = [...all.slice(0, lay.pages), ...all.slice(lay.pages + lay.foreign)];
  const read = factsReader(lay);
  const unchanged = unchangedIn(lay);
  const locks = {
    'page lock': pageLockHeld,
    // Taken and dropped inside the step: nobody holds it before or after.
    'page lock in step': (pre: Uint8Array, post: Uint8Array, pfn: number, actor: number) =>
      pageLockHeld(pre, post, pfn, actor) || (pageLocker(pre, pfn) < 0 && pageLocker(post, pfn) < 0),
  };
  const ownerKinds = [...new Set([...o.alloc, ...o.release, ...o.free])];
  const mix: Lifecycle[] = [];
  if (lay.foreign > 0) {
    const init = new Uint8Array(lay.heads + headsBytes(lay.cpus));
    initMigrationPages(init, lay);
    mix.push({
      name: 'scan-mix-page',
      title: 'A page of the scan mix (slab, free buddy block, THP, LRU page)',
      machine: scanMixPageMachine,
      pages: all.slice(lay.pages, lay.pages + lay.foreign),
      state: (m, pfn) => scanMixPageState(init, m, pfn),
      holder: () => -1,
      locks: {},
    });
  }
  return [
    {
      name, title, machine: o === NONLRU_OWNER ? nonlruPageMachine : migrationPageMachine(name, o), pages: owned,
      state: (m, pfn) => migrationPageState(read, lay.pages, o, m, pfn), unchanged, holder: (m, pfn) => holderOf(read, m, pfn), locks,
    },
    {
      name: 'migration-target',
      title: 'A migration target (cc->freepages)',
      machine: migrationTargetMachine(ownerKinds, o.releaseIsolated),
      pages: all.slice(lay.pages + lay.foreign),
      state: (m, pfn) => migrationTargetState(read, m, pfn),
      unchanged,
      holder: (_m, pfn) => targetCpu(lay, pfn),
      locks,
    },
    ...mix,
  ];
}
