/**
 * The packed world of the balloon system: pages first (struct page, PAGE_STRIDE bytes
 * each), then the balloon's fields.
 *
 *   pfn [0, P)                 pages the balloon may take, free until fill_balloon allocates them
 *   pfn P + c*P + j, j < P     CPU c's migration targets, already isolated from the
 *                              buddy allocator by the free scanner (cc->freepages)
 *   then: the list heads (models/common/migration-world.ts; b_dev_info->pages is the
 *         driver's list head), b_dev_info->pages_lock, ->isolated_pages, vb->balloon_lock, vb->num_pages
 */
import { DRIVER_HEAD, freeHead, headsBytes, initMigrationPages, migrateHead, migrationLists } from '../common/migration-world.ts';
import { PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { BalloonDevInfo } from '../../src/kernel/balloon.ts';
import type { BalloonLayout } from '../../properties/balloon.ts';

/** The balloon inode's i_mapping (alloc_anon_inode in virtballoon_probe), as an address space id. */
export const BALLOON_MAPPING = 1;

export function balloonLayout(cpus: number, pages: number): BalloonLayout {
  const npages = pages + cpus * pages;
  const heads = npages * PAGE_STRIDE;
  const g = heads + headsBytes(cpus);
  return {
    cpus,
    pages,
    mix: 0,
    foreign: 0,
    npages,
    heads,
    lists: migrationLists(cpus, pages, heads, 'b_dev_info->pages'),
    mapping: BALLOON_MAPPING,
    balloonList: DRIVER_HEAD,
    driverList: DRIVER_HEAD,
    migrateList: migrateHead,
    freeList: freeHead,
    pagesLock: g,
    driverLock: g,
    isolatedPages: g + 1,
    driverIsolated: g + 1,
    balloonLock: g + 2,
    numPages: g + 3,
    // The balloon keeps its pages on its list only: no slot table (nonlru's
    // pages-accounted reads it; the balloon has its own end-state property).
    slots: -1,
    driverActor: cpus,
    worldSize: g + 4,
  };
}

export const balloonDev = (lay: BalloonLayout): BalloonDevInfo => ({
  mapping: lay.mapping,
  list: lay.balloonList,
  lists: lay.lists,
  pagesLock: lay.pagesLock,
  isolatedPages: lay.isolatedPages,
  npages: lay.npages,
});

export { targetPfn } from '../common/migration-world.ts';

export function initialWorld(lay: BalloonLayout): Uint8Array {
  const m = new Uint8Array(lay.worldSize);
  initMigrationPages(m, lay);
  return m;
}
