/**
 * The packed world of the balloon system: pages first (struct page, PAGE_STRIDE bytes
 * each), then the balloon's fields.
 *
 *   pfn [0, P)                 pages the balloon may take, free until fill_balloon allocates them
 *   pfn P + c*P + j, j < P     CPU c's migration targets, already isolated from the
 *                              buddy allocator by the free scanner (cc->freepages)
 *   then: b_dev_info->pages_lock, ->isolated_pages, vb->balloon_lock, vb->num_pages
 */
import { initMigrationPages } from '../common/migration-world.ts';
import { LIST_SYSTEM, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { BalloonDevInfo } from '../../src/kernel/balloon.ts';
import type { BalloonLayout } from '../../properties/balloon.ts';

/** The balloon inode's i_mapping (alloc_anon_inode in virtballoon_probe), as an address space id. */
export const BALLOON_MAPPING = 1;

export function balloonLayout(cpus: number, pages: number): BalloonLayout {
  const npages = pages + cpus * pages;
  const g = npages * PAGE_STRIDE;
  return {
    cpus,
    pages,
    npages,
    mapping: BALLOON_MAPPING,
    balloonList: LIST_SYSTEM,
    driverList: LIST_SYSTEM,
    migrateList: (c) => LIST_SYSTEM + 1 + 2 * c,
    freeList: (c) => LIST_SYSTEM + 2 + 2 * c,
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
