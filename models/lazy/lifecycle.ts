/**
 * The lifecycles of lazy's pages (kernel v3.3 with seed 001), as plain XState
 * machines the `page-lifecycle` monitor checks on every step:
 *
 * - `anon-page`: an anonymous page of the range, from the buddy allocator to a
 *   present PTE, into the swap cache (add_to_swap() by mbind's lazy unmap or by
 *   reclaim), unmapped (try_to_unmap(): a swap entry, or compaction's migration
 *   entry), faulted back in, migrated on touch or by compaction, reclaimed, freed.
 * - `migration-target`: a page of the policy's node (node 1) the fault path takes
 *   for a swap-in or a migrate-on-fault, until the swap cache adopts it or it goes
 *   back to the buddy allocator.
 *
 * The abstraction functions are the one place that reads a page: they go through
 * the kernel core's accessors (src/kernel/mapped-v3/page.ts) and read only the
 * page's own struct page (PageBuddy, _count, _mapcount, PG_swapcache), as the
 * monitor requires. The PTE a page's mapcount counts is not read: mapcount-matches-ptes
 * says the two agree.
 */
import { createMachine, type AnyStateMachine } from 'xstate';
import type { MappedLayout } from '../../src/kernel/mapped-v3/layout.ts';
import { PageBuddy, PageLocked, PageSwapCache, page_count, page_mapcount } from '../../src/kernel/mapped-v3/page.ts';
import type { Lifecycle, LifecycleMeta } from '../../src/system.ts';

const tr = (target: string, meta: LifecycleMeta) => ({ target, meta });

/** The node the VMA policy names after mbind() (MPOL_BIND {1}): where migrate-on-fault puts pages. */
export const POLICY_NODE = 1;

/** The anon page's lifecycle state, from PageBuddy, the refcount, the mapcount and PG_swapcache. */
export function anonPageState(m: Uint8Array, pfn: number): string {
  if (PageBuddy(m, pfn)) return 'free';
  if (page_count(m, pfn) === 0) return 'freeing';
  const mapped = page_mapcount(m, pfn) > 0;
  if (PageSwapCache(m, pfn)) return mapped ? 'mapped-swapcache' : 'swapcache';
  return mapped ? 'mapped' : 'unmapped';
}

/** The target's state: free, newpage (allocated, no PTE, no swap cache), adopted (in the swap cache or mapped). */
export function targetState(m: Uint8Array, pfn: number): string {
  const s = anonPageState(m, pfn);
  return s === 'free' ? 'free' : s === 'unmapped' || s === 'freeing' ? 'newpage' : 'adopted';
}

/** The monitor's fast path: none of the four facts the states are read from moved. */
function unchanged(pre: Uint8Array, post: Uint8Array, pfn: number): boolean {
  return PageBuddy(pre, pfn) === PageBuddy(post, pfn)
    && (page_count(pre, pfn) === 0) === (page_count(post, pfn) === 0)
    && (page_mapcount(pre, pfn) > 0) === (page_mapcount(post, pfn) > 0)
    && PageSwapCache(pre, pfn) === PageSwapCache(post, pfn);
}

const TOUCHER = ['toucher'];
const MBIND = ['mbind'];
const KSWAPD = ['kswapd'];
const COMPACTION = ['compaction'];
/** Why some transitions have no witness at the default scope. */
const COMPACTION_OFF = 'compaction runs only at --compaction 1 (the default scope has none)';
const READS_OFF = 'read faults, and so do_wp_page, happen only at --reads 1 (the default threads only write)';
const EVERYONE = ['toucher', 'mbind', 'kswapd', 'compaction', 'swap-io'];

export const anonPageMachine: AnyStateMachine = createMachine({
  id: 'anon-page',
  initial: 'free',
  states: {
    free: {
      description: 'In the buddy allocator (PageBuddy).',
      on: {
        ALLOC_FAULT: tr('unmapped', { by: TOUCHER, lock: 'mmap_sem', fn: 'read_swap_cache_async: alloc_page_vma / migrate_misplaced_page: alloc_pages_exact_node' }),
        ALLOC_TARGET: tr('unmapped', { by: COMPACTION, lock: 'none', fn: 'isolate_freepages: split_free_page', largerScope: COMPACTION_OFF }),
      },
    },
    mapped: {
      description: 'Mapped by a present PTE, not in the swap cache (PageAnon, on the LRU or isolated).',
      on: {
        ADD_TO_SWAP: tr('mapped-swapcache', { by: [...MBIND, ...KSWAPD], lock: 'page lock', fn: 'migrate_pages_unmap_only / shrink_page_list: add_to_swap' }),
        UNMAP_MIGRATION: tr('unmapped', { by: COMPACTION, lock: 'page lock', fn: '__unmap_and_move: try_to_unmap(TTU_MIGRATE_DIRECT): a migration entry', largerScope: COMPACTION_OFF }),
      },
    },
    'mapped-swapcache': {
      description: 'Mapped and in the swap cache: added by add_to_swap() before the unmap, or faulted in read-only.',
      on: {
        UNMAP: tr('swapcache', { by: [...MBIND, ...KSWAPD, ...COMPACTION], lock: 'page lock', fn: 'try_to_unmap (TTU_MIGRATE_DEFERRED, TTU_UNMAP, TTU_MIGRATE_DIRECT): a swap entry' }),
        REUSE: tr('mapped', { by: TOUCHER, lock: 'page lock in step', fn: 'do_wp_page: trylock_page; reuse_swap_page (delete_from_swap_cache); unlock_page (under the ptl)', largerScope: READS_OFF }),
        REUSE_AFTER_LOCK: tr('mapped', { by: TOUCHER, lock: 'page lock', fn: 'do_wp_page: lock_page; pte_same; reuse_swap_page; unlock_page', largerScope: READS_OFF }),
      },
    },
    swapcache: {
      description: 'In the swap cache with no PTE: its PTE is a swap entry (lazily unmapped by mbind, or by reclaim).',
      on: {
        FAULT_MAP: tr('mapped', { by: TOUCHER, lock: 'page lock', fn: 'do_swap_page: set_pte_at; reuse_swap_page on a write fault' }),
        FAULT_MAP_SHARED: tr('mapped-swapcache', { by: TOUCHER, lock: 'page lock', fn: 'do_swap_page: set_pte_at (read fault, or the swap cache kept)' }),
        MIGRATE: tr('unmapped', { by: [...TOUCHER, ...COMPACTION], lock: 'page lock', fn: 'migrate_misplaced_page / move_to_new_page: migrate_page_move_mapping; migrate_page_copy' }),
        RECLAIM: tr('freeing', { by: KSWAPD, lock: 'page lock', fn: '__remove_mapping: page_freeze_refs(page, 2); __delete_from_swap_cache' }),
      },
    },
    unmapped: {
      description: 'No PTE, not in the swap cache: a new page, a page under compaction\'s migration entry, or the old page after a migration until its last reference goes.',
      on: {
        ADD_TO_SWAP_CACHE: tr('swapcache', { by: [...TOUCHER, ...COMPACTION], lock: 'tree_lock', fn: 'read_swap_cache_async: __add_to_swap_cache / migrate_page_move_mapping (newpage)' }),
        REMAP: tr('mapped', { by: COMPACTION, lock: 'page lock', fn: 'remove_migration_ptes', largerScope: COMPACTION_OFF }),
        FREE: tr('free', { by: EVERYONE, lock: 'none', fn: 'put_page / putback_lru_page / lru_add_drain (the last reference)' }),
      },
    },
    freeing: {
      description: 'Reclaimed: its references frozen to zero by __remove_mapping(), on kswapd\'s free list.',
      on: { FREE: tr('free', { by: KSWAPD, lock: 'none', fn: 'shrink_page_list: free_hot_cold_page_list' }) },
    },
  },
} as never);

export const migrationTargetMachine: AnyStateMachine = createMachine({
  id: 'lazy-migration-target',
  initial: 'free',
  states: {
    free: {
      description: 'A free page of the policy\'s node.',
      on: { ALLOC: tr('newpage', { by: TOUCHER, lock: 'mmap_sem', fn: 'read_swap_cache_async: alloc_page_vma / migrate_misplaced_page: alloc_pages_exact_node(GFP_THISNODE)' }) },
    },
    newpage: {
      description: 'Allocated by a faulting thread on the policy\'s node, not yet in the swap cache.',
      on: {
        ADOPT: tr('adopted', { by: TOUCHER, lock: 'tree_lock', fn: 'read_swap_cache_async: __add_to_swap_cache / migrate_misplaced_page: migrate_page_move_mapping' }),
        DROP: tr('free', { by: TOUCHER, lock: 'none', fn: 'read_swap_cache_async: page_cache_release(new_page) (-EEXIST, -ENOENT) / migrate_misplaced_page: put_page(newpage)' }),
      },
    },
    adopted: { type: 'final', description: 'In the swap cache or mapped: an anon page of the range now (its anon-page lifecycle goes on).' },
  },
} as never);

/**
 * The locks a transition may name. `page lock`: PG_locked before or after the step
 * (v3.3 records no owner; the step that takes or drops it is the actor's); `page lock in
 * step`: taken and dropped within the step. `mmap_sem`:
 * held (for read or write) before or after the step. `tree_lock`: swapper_space's
 * radix tree lock has no byte in the model: every step that changes the swap cache is
 * one critical section under it (src/kernel/mapped-v3/swap.ts, migrate.ts), so the
 * step itself is the lock.
 */
function locks(lay: MappedLayout): Lifecycle['locks'] {
  return {
    'page lock': (pre, post, pfn) => PageLocked(pre, pfn) || PageLocked(post, pfn),
    // Taken and dropped inside the one step (do_wp_page's trylock_page under the ptl): unlocked before and after.
    'page lock in step': (pre, post, pfn) => !PageLocked(pre, pfn) && !PageLocked(post, pfn),
    mmap_sem: (pre, post) => pre[lay.mmapSem] !== 0 || post[lay.mmapSem] !== 0,
    tree_lock: () => true,
  };
}

export function lazyLifecycles(lay: MappedLayout): Lifecycle[] {
  const all = Array.from({ length: lay.npages }, (_, p) => p);
  const l = locks(lay);
  return [
    { name: 'anon-page', title: 'An anonymous page of the range', machine: anonPageMachine, pages: all, state: anonPageState, unchanged, holder: () => -1, locks: l },
    {
      name: 'lazy-migration-target', title: 'A target page on the policy\'s node', machine: migrationTargetMachine,
      pages: all.filter((p) => lay.nid(p) === POLICY_NODE), state: targetState, unchanged, holder: () => -1, locks: l,
    },
  ];
}
