/**
 * Properties of non-LRU movable page migration (kernel v4.8, the seed series
 * "Support non-lru page migration", v6/v6r2), each with the rule it enforces and
 * where the rule comes from.
 *
 * They read the packed world through the layout a model hands them and know nothing
 * of the model's machines, so a variant is caught only by what it does.
 */
import {
  F_FLAGS, F_ISOLATORS, F_LOCKER, F_LRU, F_MAPPING, F_REF, F_TYPE, PAGE_MAPPING_MOVABLE, PAGE_STRIDE,
  PG_isolated, PG_locked, PG_private, TYPE_BUDDY, TYPE_NONE, pageNode,
} from '../src/kernel/page.ts';
import { LIST_POISON1, LIST_POISON2, headOf, spaceOf } from '../src/kernel/list.ts';
import type { EndProperty, Property, StateInvariant, StepInvariant } from '../src/system.ts';
import type { MigrationPages } from '../models/common/migration-world.ts';

/**
 * Where things are in a non-LRU world; built by the model from its scope: the pages,
 * scan mix and list heads of every migration world (models/common/migration-world.ts),
 * and the driver's own fields.
 */
export interface NonlruLayout extends MigrationPages {
  /** The driver's address space id. */
  readonly mapping: number;
  /** Byte offsets of the driver's fields. */
  readonly driverLock: number;
  readonly driverIsolated: number;
  /** slot[k] = pfn of the driver's k-th page, or NO_PAGE. */
  readonly slots: number;
  readonly driverActor: number;
}

export const NO_PAGE = 0xff;

const pageByte = (m: Uint8Array, pfn: number, f: number) => m[pfn * PAGE_STRIDE + f];
const popcount = (x: number) => { let n = 0; for (; x; x &= x - 1) n++; return n; };

function pageChanged(pre: Uint8Array, post: Uint8Array, pfn: number): boolean {
  const o = pfn * PAGE_STRIDE;
  for (let i = 0; i < PAGE_STRIDE; i++) if (pre[o + i] !== post[o + i]) return true;
  return false;
}

/** The pages whose bytes lie in [from, to): the only ones a step can have changed. */
const firstPage = (from: number) => Math.floor(from / PAGE_STRIDE);
const endPage = (to: number, npages: number) => Math.min(npages, Math.ceil(to / PAGE_STRIDE));

export function nonlruProperties(lay: NonlruLayout, initial?: Uint8Array): Property[] {
  const S = spaceOf(lay.lists);
  /** The list head page pfn's lru is linked into (list.ts headOf), or 0. */
  const listOf = (m: Uint8Array, pfn: number): number => headOf(m, S, pageNode(pfn));
  const LRU_BYTES = [F_LRU, F_LRU + 1];
  /** Property.watches: these fields of every struct page. */
  const pageFields = (...fields: number[]) => (at: number) => at < lay.npages * PAGE_STRIDE && fields.includes(at % PAGE_STRIDE);

  /** list id -> the CPU whose private list it is, or -1. */
  const owners = new Int16Array(256).fill(-1);
  for (let c = lay.cpus - 1; c >= 0; c--) {
    owners[lay.freeList(c)] = c;
    owners[lay.migrateList(c)] = c;
  }
  const cpuOwning = (list: number): number => owners[list];

  const useAfterFree: StepInvariant = {
    name: 'use-after-free',
    watches: (at) => at < lay.npages * PAGE_STRIDE,
    kind: 'invariant',
    scope: 'step',
    rule: 'A freed page is never touched again except by the allocator handing it out anew.',
    source: 'mm/page_alloc.c: a page in the buddy allocator belongs to the allocator; isolate_movable_page() only peeks at it through get_page_unless_zero().',
    check(pre, post, _actor, from, to) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        if (pageByte(pre, pfn, F_TYPE) !== TYPE_BUDDY || !pageChanged(pre, post, pfn)) continue;
        const allocated = pageByte(post, pfn, F_TYPE) === TYPE_NONE && pageByte(post, pfn, F_REF) === 1 &&
          pageByte(post, pfn, F_LRU) === LIST_POISON1 && pageByte(post, pfn, F_LRU + 1) === LIST_POISON2 &&
          pageByte(post, pfn, F_FLAGS) === 0 && pageByte(post, pfn, F_FLAGS + 1) === 0;
        if (!allocated) return `pfn ${pfn} was written after it was freed`;
      }
      return null;
    },
  };

  const freedClean: StepInvariant = {
    name: 'freed-page-clean',
    watches: pageFields(F_TYPE),
    kind: 'invariant',
    scope: 'step',
    rule: 'A page is freed only after the VM has cleared PG_isolated; free_pages_prepare() wipes PG_isolated (PG_reclaim) silently, so the kernel itself would not notice.',
    source: 'mm/migrate.c unmap_and_move(): "page was freed from under us" clears PG_isolated before put_page; free_pages_prepare() in mm/page_alloc.c.',
    check(pre, post, _actor, from, to) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        const freed = pageByte(pre, pfn, F_TYPE) !== TYPE_BUDDY && pageByte(post, pfn, F_TYPE) === TYPE_BUDDY;
        if (freed && pageByte(pre, pfn, F_FLAGS) & PG_isolated) return `pfn ${pfn} was freed with PG_isolated set`;
      }
      return null;
    },
  };

  const noDoubleIsolation: StateInvariant = {
    name: 'no-double-isolation',
    watches: pageFields(F_ISOLATORS),
    kind: 'invariant',
    scope: 'state',
    rule: 'No page is isolated by two CPUs: isolate_movable_page() tests PageIsolated under the page lock.',
    source: 'mm/migrate.c isolate_movable_page(): "if (!PageMovable(page) || PageIsolated(page)) goto out_no_isolated"; the seed: "VM marks the page as PG_isolated so concurrent isolation in several CPUs skip the page".',
    check(m, from = 0, to = m.length) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        const claims = pageByte(m, pfn, F_ISOLATORS);
        if (popcount(claims) > 1) return `pfn ${pfn} is isolated by CPUs ${[...Array(lay.cpus).keys()].filter((c) => claims & (1 << c)).join(' and ')}`;
      }
      return null;
    },
  };

  const lruOwner: StepInvariant = {
    name: 'isolated-lru-untouched',
    watches: pageFields(...LRU_BYTES),
    kind: 'invariant',
    scope: 'step',
    rule: 'While the VM has a page isolated, page->lru is the VM\'s: only the isolating CPU links or unlinks it (the driver must not touch page.lru while PG_isolated).',
    source: 'Documentation/vm/page_migration (seed patch 02): "Once page is successfully isolated, VM uses page.lru fields so driver shouldn\'t expect to preserve values in that fields" and "if driver sees PG_isolated page ... it shouldn\'t touch page.lru field".',
    check(pre, post, actor, from, to) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        if (pageByte(pre, pfn, F_LRU) === pageByte(post, pfn, F_LRU) && pageByte(pre, pfn, F_LRU + 1) === pageByte(post, pfn, F_LRU + 1)) continue;
        const a = listOf(pre, pfn);
        const b = listOf(post, pfn);
        if (a === b) continue;
        for (let k = 0; k < 2; k++) {
          const owner = cpuOwning(k === 0 ? a : b);
          if (owner >= 0 && owner !== actor) return `pfn ${pfn}: a list private to cpu${owner} was changed by another actor`;
        }
      }
      return null;
    },
  };

  const isolatedOffDriverList: StateInvariant = {
    name: 'isolated-off-driver-list',
    watches: pageFields(F_FLAGS, ...LRU_BYTES),
    kind: 'invariant',
    scope: 'state',
    rule: 'A page is never both on the driver\'s list and isolated, except inside putback_movable_page() under the page lock, between a_ops->putback_page and __ClearPageIsolated.',
    source: 'mm/migrate.c putback_movable_page(); the seed\'s isolate_page contract: the driver takes the page off its own list when it agrees to isolation.',
    check(m, from = 0, to = m.length) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        const f = pageByte(m, pfn, F_FLAGS);
        if ((f & PG_isolated) && !(f & PG_locked) && listOf(m, pfn) === lay.driverList) {
          return `pfn ${pfn} is on the driver's list while isolated and unlocked`;
        }
      }
      return null;
    },
  };

  const isolatedUnderLock: StepInvariant = {
    name: 'isolated-under-page-lock',
    watches: pageFields(F_FLAGS),
    kind: 'invariant',
    scope: 'step',
    rule: 'PG_isolated is set and cleared only by the holder of the page lock.',
    source: 'The seed: "VM marks isolated page as PG_isolated under lock_page"; mm/migrate.c sets and clears it only between lock_page and unlock_page.',
    check(pre, post, actor, from, to) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        if (((pageByte(pre, pfn, F_FLAGS) ^ pageByte(post, pfn, F_FLAGS)) & PG_isolated) === 0) continue;
        if (pageByte(post, pfn, F_TYPE) === TYPE_BUDDY) continue; // freeing: freed-page-clean's business
        if (pageByte(pre, pfn, F_LOCKER) !== actor + 1) return `pfn ${pfn}: PG_isolated changed by an actor not holding the page lock`;
      }
      return null;
    },
  };

  const unlockOwner: StepInvariant = {
    name: 'unlock-by-owner',
    watches: (at) => pageFields(F_FLAGS)(at) || at === lay.driverLock,
    kind: 'invariant',
    scope: 'step',
    rule: 'Only the holder of a lock releases it: the page lock (PG_locked) and the driver\'s spinlock.',
    source: 'include/linux/pagemap.h lock_page()/unlock_page(); a non-atomic write of page->flags (__SetPageFoo) that races with trylock_page() can drop someone else\'s PG_locked, which is why isolate_movable_page() tests __PageMovable before trylock_page().',
    check(pre, post, actor, from, to) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        const was = pageByte(pre, pfn, F_FLAGS) & PG_locked;
        const is = pageByte(post, pfn, F_FLAGS) & PG_locked;
        if (was && !is && pageByte(pre, pfn, F_LOCKER) !== actor + 1) return `pfn ${pfn}: the page lock was released by an actor that does not hold it`;
      }
      const lk = lay.driverLock;
      if (pre[lk] && !post[lk] && pre[lk] !== actor + 1) return 'the driver\'s spinlock was released by an actor that does not hold it';
      return null;
    },
  };

  const refcountNonNegative: StateInvariant = {
    name: 'refcount-nonnegative',
    watches: pageFields(F_REF),
    kind: 'invariant',
    scope: 'state',
    rule: 'page->_refcount never goes below zero (put_page_testzero() asserts it under CONFIG_DEBUG_VM).',
    source: 'include/linux/mm.h put_page_testzero(): VM_BUG_ON_PAGE(page_ref_count(page) == 0, page).',
    check(m, from = 0, to = m.length) {
      for (let pfn = firstPage(from), end = endPage(to, lay.npages); pfn < end; pfn++) {
        if ((pageByte(m, pfn, F_REF) << 24) >> 24 < 0) return `pfn ${pfn} has a negative refcount`;
      }
      return null;
    },
  };

  const driverMovable = (lay.mapping << 2) | PAGE_MAPPING_MOVABLE;
  const termination: EndProperty = {
    name: 'pages-accounted',
    kind: 'termination',
    scope: 'end',
    rule: 'When everyone has finished, every page is free or owned by the driver (on its list, movable, not isolated, unlocked, one reference: the driver\'s), every migration target likewise, and the driver counts no page as isolated.',
    source: 'The seed: putback_page must "put the isolated page back to the own data structure"; migratepage must "set up fields of struct page newpage"; compaction releases its unused targets (release_freepages()).',
    check(m) {
      const owned = new Set<number>();
      for (let k = 0; k < lay.pages; k++) if (m[lay.slots + k] !== NO_PAGE) owned.add(m[lay.slots + k]);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const flags = pageByte(m, pfn, F_FLAGS);
        if (pfn >= lay.pages && pfn < lay.pages + lay.foreign) {
          // A page of the scan mix is nobody's business here: it ends as it began.
          for (let i = 0; i < PAGE_STRIDE; i++) {
            if (initial && m[pfn * PAGE_STRIDE + i] !== initial[pfn * PAGE_STRIDE + i]) return `pfn ${pfn} (not the driver's) was changed`;
          }
          continue;
        }
        if (owned.has(pfn)) {
          const problems: string[] = [];
          if (listOf(m, pfn) !== lay.driverList) problems.push('not on the driver\'s list');
          if (pageByte(m, pfn, F_MAPPING) !== driverMovable) problems.push('not movable');
          if (flags & PG_isolated) problems.push('still isolated');
          if (flags & PG_locked) problems.push('still locked');
          if (!(flags & PG_private)) problems.push('PG_private lost');
          const ref = (pageByte(m, pfn, F_REF) << 24) >> 24;
          if (ref !== 1) problems.push(`refcount ${ref}, driver expects 1`);
          if (problems.length) return `driver page pfn ${pfn}: ${problems.join(', ')}`;
        } else if (pageByte(m, pfn, F_TYPE) !== TYPE_BUDDY) {
          return `pfn ${pfn} is neither free nor owned by the driver (leaked)`;
        }
      }
      if (m[lay.driverIsolated] !== 0) return `the driver still counts ${m[lay.driverIsolated]} isolated page(s)`;
      return null;
    },
  };

  return [useAfterFree, freedClean, noDoubleIsolation, lruOwner, isolatedOffDriverList, isolatedUnderLock, unlockOwner, refcountNonNegative, termination];
}
