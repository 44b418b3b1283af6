/**
 * The lifecycles of the allocator systems' pages (contig at v5.19; reporting at the
 * aeration series of 2019 and at v5.7, sharing the buddy core of src/kernel/buddy.ts):
 *
 * - `buddy-page`: one struct page of the zone, read through the buddy core's
 *   accessors only: the head of a free block on a free list (PageBuddy, the order in
 *   page->private, the list free_area[order].free_list[mt]); a page inside a larger
 *   free block, or a head just taken off its list (neither PageBuddy nor on a list
 *   nor anyone's: merged, or isolated by __isolate_free_page()); on a CPU's per-cpu
 *   list (contig, v5.19); in the aerator's batch (reporting, 2019); reported or
 *   aerated (back on its free list with PG_reported / PageAerated); allocated (held
 *   by an actor: a CPU, or alloc_contig_range() for the pages it took).
 *
 * - `pageblock` (contig, v5.19): a pageblock's migratetype, read from the zone's
 *   pageblock bytes (Lifecycle.bytes), its moves between Movable, Unmovable and
 *   Isolate (pageblockLifecycle below).
 */
import { createMachine, type AnyStateMachine } from 'xstate';
import {
  F_OWNER, PCPTYPES, get_pageblock_migratetype, nrPageblocks, pageblockAt, pageblockNrPages, PageBuddy, Z_LOCK, freeListOf, listIdOf, maxOrderOf, npagesOf, pcpCpusOf, pcpListHead,
} from '../../src/kernel/buddy.ts';
import { F_FLAGS, F_LIST, F_TYPE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { Lifecycle, LifecycleMeta } from '../../src/system.ts';
import { spinlockHeld, tr } from '../nonlru/lifecycle.ts';

/** PG_reported (v5.7) and PageAerated (2019) share the model's flag bit 0x10. */
const PG_REPORTED_OR_AERATED = 0x10;

/** The kinds of list a free page's page->lru may be on, besides a free list. */
export type OtherList = 'pcp' | 'batch';

/** The lifecycle state of one struct page of the zone at byte `z`. */
export function buddyPageState(m: Uint8Array, z: number, other: OtherList, pfn: number): string {
  return stateWith((list) => freeListOf(m, z, list) !== null, other)(m, pfn);
}

/**
 * The abstraction function over a zone whose free-list ids `isFreeList` tells (the
 * zone's list ids are constant: the table is made once, for speed).
 */
function stateWith(isFreeList: (list: number) => boolean, other: OtherList): (m: Uint8Array, pfn: number) => string {
  const free = Uint8Array.from({ length: 256 }, (_, list) => (list !== 0 && isFreeList(list) ? 1 : 0));
  return (m, pfn) => {
    const o = pfn * PAGE_STRIDE;
    if (m[o + F_OWNER] !== 0) return 'allocated';
    const list = m[o + F_LIST];
    if (PageBuddy(m, pfn)) {
      if (free[list] === 0) return 'other';
      return (m[o + F_FLAGS] & PG_REPORTED_OR_AERATED) !== 0 ? 'reported' : 'free';
    }
    if (list === 0) return 'off-list';
    return free[list] === 0 ? other : 'other';
  };
}

/**
 * The monitor's fast path: the state is read from these bytes only (whether the
 * page has an owner, its type, its list id, PG_reported / PageAerated), so a step
 * that changed none of them (a neighbour's list pointers, the order) left it as it was.
 */
function unchanged(pre: Uint8Array, post: Uint8Array, pfn: number): boolean {
  const o = pfn * PAGE_STRIDE;
  return (pre[o + F_OWNER] === 0) === (post[o + F_OWNER] === 0) && pre[o + F_TYPE] === post[o + F_TYPE] && pre[o + F_LIST] === post[o + F_LIST]
    && ((pre[o + F_FLAGS] ^ post[o + F_FLAGS]) & PG_REPORTED_OR_AERATED) === 0;
}

/** A buddy page's states, described once for every version. */
const STATES: Record<string, string> = {
  free: 'The head of a free block: PageBuddy, its order in page->private, on free_area[order].free_list[mt].',
  'off-list': 'Free but on no list: inside a larger free block (merged), or a head just taken off its list by __isolate_free_page() or freed and not yet linked.',
  allocated: 'Held by an actor: allocated by a CPU, taken by alloc_contig_range() (isolate_freepages_range) or a migration target.',
  pcp: 'On a CPU\'s per-cpu list (pcp->lists[pindex]), its migratetype cached in page->index.',
  batch: 'In the aerator\'s batch: taken off its free list (aerator_fill), being reacted on with zone->lock dropped.',
  reported: 'The head of a free block flagged as handed to the host: PG_reported (v5.7) or PageAerated (2019), behind the boundary.',
  other: 'Any combination of fields the allocator never produces.',
};

type On = Record<string, ReturnType<typeof tr>>;
const ZL = 'zone->lock';

function machine(id: string, states: Record<string, On>): AnyStateMachine {
  const all = Object.fromEntries([...Object.entries(states), ['other', {}] as [string, On]].map(([s, on]) => [s, { description: STATES[s], on }]));
  return createMachine({ id, initial: 'free', states: all } as never);
}

const m = (by: string[], lock: string, fn: string, largerScope?: string): LifecycleMeta => (largerScope ? { by, lock, fn, largerScope } : { by, lock, fn });

/** contig, v5.19: CPUs with per-cpu lists, their drain workers, alloc_contig_range(). */
export const contigBuddyPageMachine: AnyStateMachine = machine('buddy-page', {
  free: {
    ALLOC: tr('allocated', m(['cpu'], ZL, 'rmqueue_pcplist -> rmqueue_bulk -> __rmqueue (the page the CPU takes)')),
    TAKE: tr('allocated', m(['contig'], ZL, 'isolate_freepages_block: __isolate_free_page; prep_new_page (or alloc_migration_target)')),
    MERGE: tr('off-list', m(['cpu', 'contig', 'kworker'], ZL, '__free_one_page: del_page_from_free_list(buddy) (merged into a larger block)')),
  },
  'off-list': {
    // One transition: the monitor credits the first that explains a move.
    HEAD: tr('free', m(['cpu', 'contig', 'kworker'], ZL, 'expand / split_free_page (a part becomes a head) / free_one_page -> __free_one_page (the freed head)')),
    ALLOC_TAIL: tr('allocated', m(['cpu', 'contig'], ZL, 'rmqueue / isolate_freepages_block: prep_new_page (a page of the block taken)')),
    TO_PCP: tr('pcp', m(['cpu'], 'pcp lock', 'free_unref_page_commit: list_add(&page->lru, &pcp->lists[pindex])')),
  },
  allocated: {
    PREPARE: tr('off-list', m(['cpu', 'contig'], 'none', 'free_unref_page_prepare / free_pages_prepare (the last reference dropped)')),
    FREE: tr('free', m(['contig'], ZL, '__free_pages -> __free_one_page (free_contig_range, release_freepages, the migrated page)')),
  },
  pcp: {
    DRAIN: tr('free', m(['kworker', 'cpu'], 'pcp lock', 'free_pcppages_bulk -> __free_one_page (drain_pages_zone)')),
    DRAIN_MERGE: tr('off-list', m(['kworker', 'cpu'], 'pcp lock', 'free_pcppages_bulk -> __free_one_page (merged into a larger block)')),
    ALLOC_PCP: tr('allocated', m(['cpu'], 'pcp lock', 'rmqueue_pcplist: __rmqueue_pcplist (the first page of the list)',
      'a CPU allocates once and frees once at every scope, so its own list never serves an allocation: the free refills it after the only allocation')),
  },
});

/** reporting, the aeration series (2019): CPUs without per-cpu lists, the aerator. */
export const aerationBuddyPageMachine: AnyStateMachine = machine('buddy-page', {
  free: {
    ALLOC: tr('allocated', m(['cpu'], ZL, 'rmqueue -> __rmqueue_smallest')),
    MERGE: tr('off-list', m(['cpu', 'aerator'], ZL, '__free_one_page (merged into a larger block)')),
    FILL: tr('batch', m(['aerator'], ZL, 'aerator_fill -> get_aeration_page: __isolate_free_page')),
  },
  'off-list': {
    SPLIT: tr('free', m(['cpu'], ZL, 'expand (a new head of a lower order)')),
    ALLOC_TAIL: tr('allocated', m(['cpu'], ZL, 'rmqueue: prep_new_page (a page of the block taken)')),
  },
  allocated: {
    FREE: tr('free', m(['cpu'], ZL, '__free_pages -> free_one_page -> __free_one_page (aerator_notify_free)')),
    FREE_MERGED: tr('off-list', m(['cpu'], ZL, '__free_pages -> __free_one_page (merged into its buddy)')),
  },
  batch: {
    AERATED: tr('reported', m(['aerator'], ZL, 'aerator_drain -> put_aeration_page: __free_one_page; set_page_aerated (fully_aerated)')),
    PUT_MERGED: tr('off-list', m(['aerator'], ZL, 'aerator_drain -> put_aeration_page: __free_one_page (merged into its buddy)')),
    PUT_RAW: tr('free', m(['aerator'], ZL, 'aerator_drain -> put_aeration_page: __free_one_page (merged, the head: raw, aerator_notify_free)',
      'a batch page that merges and stays the head needs a second page in the batch or its buddy freed meanwhile: --capacity 2 reaches it, the default capacity 1 does not')),
  },
  reported: {
    ALLOC: tr('allocated', m(['cpu'], ZL, 'rmqueue -> del_page_from_free_area: clear_page_aerated')),
    MERGE: tr('off-list', m(['cpu', 'aerator'], ZL, '__free_one_page (an aerated buddy merged into a larger block)')),
    RAW: tr('free', m(['cpu', 'aerator'], ZL, '__free_one_page: a merge clears fully_aerated (patch 4/6): the head is raw again')),
  },
});

/** reporting --kernel v5.7 (mm/page_reporting.c): CPUs, the page_reporting work. */
export const reportingBuddyPageMachine: AnyStateMachine = machine('buddy-page', {
  free: {
    ALLOC: tr('allocated', m(['cpu'], ZL, 'rmqueue -> __rmqueue_smallest')),
    MERGE: tr('off-list', m(['cpu'], ZL, '__free_one_page (merged into a larger block)')),
    ISOLATE: tr('off-list', m(['page_reporting'], ZL, 'page_reporting_cycle: __isolate_free_page (into the scatterlist); or page_reporting_drain merged it into a larger block')),
  },
  'off-list': {
    SPLIT: tr('free', m(['cpu'], ZL, 'expand (a new head of a lower order)')),
    ALLOC_TAIL: tr('allocated', m(['cpu'], ZL, 'rmqueue: prep_new_page (a page of the block taken)')),
    PUT_BACK: tr('free', m(['page_reporting'], ZL, 'page_reporting_drain: __putback_isolated_page (the report failed, or it merged)')),
    REPORTED: tr('reported', m(['page_reporting'], ZL, 'page_reporting_drain: __putback_isolated_page; __SetPageReported')),
  },
  allocated: {
    FREE: tr('free', m(['cpu'], ZL, '__free_pages -> free_one_page -> __free_one_page (page_reporting_notify_free)')),
    FREE_MERGED: tr('off-list', m(['cpu'], ZL, '__free_pages -> __free_one_page (merged into its buddy)')),
  },
  reported: {
    ALLOC: tr('allocated', m(['cpu'], ZL, 'rmqueue -> del_page_from_free_list: __ClearPageReported')),
    MERGE: tr('off-list', m(['cpu', 'page_reporting'], ZL, '__free_one_page (a reported buddy merged into a larger block: __ClearPageReported)')),
    RAW: tr('free', m(['cpu'], ZL, '__free_one_page: the head of a merged block is not reported')),
  },
});

/**
 * The allocator systems' lifecycles over the zone at byte `z` of a world of
 * `npages` pages: the buddy page of `machine`, whose non-free-list lists are `other`.
 * `pcpCpu(actor)`: the CPU whose per-cpu list an actor may touch (its own CPU, or
 * the CPU its drain work runs on), -1 for none.
 */
export function buddyLifecycles(world: Uint8Array, z: number, lc: AnyStateMachine, other: OtherList, pcpCpu: (actor: number) => number = () => -1): Lifecycle[] {
  const npages = npagesOf(world, z);
  const pcpListCpu = new Int8Array(256).fill(-1);
  if (other === 'pcp') {
    for (let cpu = 0; cpu < pcpCpusOf(world, z); cpu++) {
      for (let order = 0; order < maxOrderOf(world, z); order++) {
        for (let mt = 0; mt < PCPTYPES; mt++) pcpListCpu[listIdOf(world, z, pcpListHead(world, z, cpu, order, mt))] = cpu;
      }
    }
  }
  const listCpu = (mm: Uint8Array, pfn: number): number => pcpListCpu[mm[pfn * PAGE_STRIDE + F_LIST]];
  return [{
    name: 'buddy-page',
    title: 'A page of the buddy allocator',
    machine: lc,
    pages: Array.from({ length: npages }, (_, pfn) => pfn),
    state: stateWith((list) => freeListOf(world, z, list) !== null, other),
    unchanged,
    holder: (mm, pfn) => mm[pfn * PAGE_STRIDE + F_OWNER] - 1,
    locks: {
      [ZL]: spinlockHeld(z + Z_LOCK),
      // local_lock(&pagesets.lock): only the list's own CPU (or its drain work) touches it.
      'pcp lock': (pre, post, pfn, actor) => {
        const c = pcpCpu(actor);
        return c >= 0 && (listCpu(pre, pfn) === c || listCpu(post, pfn) === c);
      },
    },
  }];
}

// --- pageblock --------------------------------------------------------------------

const PB_STATES: Record<string, string> = {
  movable: 'MIGRATE_MOVABLE: the zone\'s pageblocks start so; movable allocations are served from its free pages first.',
  unmovable: 'MIGRATE_UNMOVABLE: taken over by an unmovable allocation that fell back to it (--steal 1).',
  isolate: 'MIGRATE_ISOLATE: isolated by alloc_contig_range(); its free pages sit on the Isolate lists, which nothing allocates from.',
  other: 'Any other migratetype (MIGRATE_CMA): the model\'s zone has none.',
};

/** Why the stealing transitions have no witness at the default scope (test/lifecycle-alloc.test.ts finds them at the scope named). */
const STEAL_SCOPE = 'only an allocation that falls back to another migratetype\'s free page takes a block over, and the default scope allocates Movable pages only: --steal 1 reaches it (witnessed at --cpus 3 --contigs 1 --steal 1 --variant fix-isolate-splits-straddling: without the fix, v5.19 first steals an isolated block there, the finding steal-overwrites-isolate)';
const UNSET_UNMOVABLE_SCOPE = 'needs isolate_single_pageblock()\'s failed: path (unset_migratetype_isolate(saved_mt)) on a block that was Unmovable when it was isolated: a block stolen, its unmovable page freed, then isolated, and the migration of a straddling page failing; not reached at --steal 1 with --contigs 1 and up to 3 CPUs';

/**
 * The lifecycle of a pageblock's migratetype at v5.19 (include/linux/page-isolation.h,
 * mm/page_isolation.c, mm/page_alloc.c): alloc_contig_range() isolates a block with
 * set_migratetype_isolate() and gives it back with unset_migratetype_isolate(), both
 * under zone->lock; an allocation that falls back to another migratetype's free page
 * may take the block over (steal_suitable_fallback(): change_pageblock_range() for a
 * page of pageblock_order or more, else set_pageblock_migratetype() once
 * move_freepages_block() found half of it free or alike). An isolated pageblock is
 * left only through unset_migratetype_isolate(): "Making page-allocation-type to be
 * MIGRATE_ISOLATE means free pages in the range will never be allocated"
 * (start_isolate_page_range()), and nothing else may change it until the isolating
 * caller undoes it. (MIGRATE_RECLAIMABLE is not in the model's zone: FALLBACKS.)
 */
export const pageblockMachine: AnyStateMachine = createMachine({
  id: 'pageblock',
  initial: 'movable',
  states: {
    movable: {
      description: PB_STATES.movable,
      on: {
        ISOLATE: tr('isolate', m(['contig'], ZL, 'set_migratetype_isolate (start_isolate_page_range, isolate_single_pageblock; the migrated page\'s block around its migration)')),
        STEAL: tr('unmovable', m(['cpu'], ZL, '__rmqueue_fallback -> steal_suitable_fallback: change_pageblock_range / set_pageblock_migratetype', STEAL_SCOPE)),
      },
    },
    unmovable: {
      description: PB_STATES.unmovable,
      on: {
        ISOLATE: tr('isolate', m(['contig'], ZL, 'set_migratetype_isolate (has_unmovable_pages() found no in-use unmovable page)', STEAL_SCOPE)),
        STEAL: tr('movable', m(['cpu'], ZL, '__rmqueue_fallback -> steal_suitable_fallback (a movable allocation takes the block back)', STEAL_SCOPE)),
      },
    },
    isolate: {
      description: PB_STATES.isolate,
      on: {
        UNSET: tr('movable', m(['contig'], ZL, 'unset_migratetype_isolate (undo_isolate_page_range, isolate_single_pageblock\'s failed: and after-migration restores)')),
        UNSET_UNMOVABLE: tr('unmovable', m(['contig'], ZL, 'unset_migratetype_isolate(saved_mt / page_mt) restoring a block that was Unmovable when isolated', UNSET_UNMOVABLE_SCOPE)),
      },
    },
    other: { description: PB_STATES.other },
  },
} as never);

const PB_STATE_OF = ['unmovable', 'movable', 'other', 'isolate'];

/**
 * The pageblocks of the zone at byte `z` as a lifecycle (units: pageblock indices),
 * each read from its own migratetype byte only.
 */
export function pageblockLifecycle(world: Uint8Array, z: number): Lifecycle {
  const nr = pageblockNrPages(world, z);
  return {
    name: 'pageblock',
    title: 'A pageblock\'s migratetype',
    machine: pageblockMachine,
    pages: Array.from({ length: nrPageblocks(world, z) }, (_, b) => b),
    bytes: (b) => { const at = pageblockAt(world, z, b * nr); return [at, at + 1]; },
    state: (mm, b) => PB_STATE_OF[get_pageblock_migratetype(mm, z, b * nr)] ?? 'other',
    holder: () => -1,
    locks: { [ZL]: spinlockHeld(z + Z_LOCK) },
  };
}

