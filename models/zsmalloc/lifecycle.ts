/**
 * The lifecycle of a zspage's subpages (kernel v4.8, mm/zsmalloc.c after the seed's
 * patches 11 and 12): allocated by alloc_zspage for zs_malloc, made movable when
 * the zspage is inserted (SetZsPageMovable: __SetPageMovable under the page lock),
 * isolated, migrated (zs_page_migrate) or put back by compaction CPUs, and released
 * by __free_zspage (__ClearPageMovable under the page lock), run by zs_free or by
 * the pool's free_work for a zspage that was isolated when it emptied, so a subpage
 * is never released while isolated, except by zs_page_migrate() itself: its
 * reset_page(page) runs in the middle of its steps (the `deleted` state). zsmalloc links zspages, not pages: a movable
 * subpage is on no page->lru list. The same machine as nonlru's page with
 * zsmalloc's actors, and the same migration-target machine.
 */
import type { Lifecycle } from '../../src/system.ts';
import type { ZsLayout } from '../../properties/zsmalloc.ts';
import { type OwnerKinds, migrationLifecycles } from '../nonlru/lifecycle.ts';

export const ZSMALLOC_OWNER: OwnerKinds = {
  alloc: ['zram'],
  release: ['zram', 'free_work'],
  free: ['zram', 'free_work'],
  listed: false,
  releaseIsolated: false,
  ownerLock: 'page lock in step',
  movable: 'in its zspage (zsmalloc links zspages, not pages)',
  // zs_page_migrate() is a program of steps: reset_page(page) in its middle, then
  // the unpin and unlock steps before move_to_new_page() clears PG_isolated.
  releasedInMigratepage: 'zs_page_migrate',
};

export const zsmallocLifecycles = (lay: ZsLayout): Lifecycle[] =>
  migrationLifecycles(lay, 'zspage-subpage', 'A zspage\'s subpage', ZSMALLOC_OWNER);
