/**
 * The balloon page's lifecycle (kernel v4.8, mm/balloon_compaction.c and
 * drivers/virtio/virtio_balloon.c after the seed's patch 04): allocated by the
 * inflating thread (balloon_page_alloc), enqueued on b_dev_info->pages
 * (balloon_page_enqueue: __SetPageBalloon, __SetPageMovable under the page lock),
 * isolated, migrated or put back by compaction CPUs (balloon_page_isolate,
 * balloon_page_migrate, balloon_page_putback), dequeued by the deflating thread
 * (balloon_page_dequeue: __ClearPageMovable under the page lock; it skips isolated
 * pages, so a balloon page is never released while isolated) and freed
 * (release_pages_balloon). virtballoon_migratepage() is a program of steps that
 * releases the old page (balloon_page_delete) after inserting newpage and sleeps in
 * tell_host() before returning: the old page's `deleted` state lies between (it is
 * released, still isolated and locked by the migrating CPU). The same machine as nonlru's page with the balloon's
 * actors, and the same migration-target machine.
 */
import type { Lifecycle } from '../../src/system.ts';
import type { BalloonLayout } from '../../properties/balloon.ts';
import { type OwnerKinds, migrationLifecycles } from '../nonlru/lifecycle.ts';

export const BALLOON_OWNER: OwnerKinds = {
  alloc: ['inflate'],
  release: ['deflate'],
  free: ['deflate'],
  listed: true,
  releaseIsolated: false,
  ownerLock: 'page lock in step',
  movable: 'in the balloon, on b_dev_info->pages',
  release1: 'one-step',
  releasedInMigratepage: 'virtballoon_migratepage: balloon_page_delete(page)',
};

export const balloonLifecycles = (lay: BalloonLayout): Lifecycle[] =>
  migrationLifecycles(lay, 'balloon-page', 'A balloon page', BALLOON_OWNER);
