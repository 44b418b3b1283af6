/**
 * The packed world of the nonlru system: pages first (struct page, PAGE_STRIDE bytes
 * each), then the driver's own fields.
 *
 *   pfn [0, P)                 the driver's pages, free until the driver allocates them
 *   pfn [P, P + F)             the scan mix (--mix): slab, free, compound, LRU pages
 *   pfn P + F + c*P + j, j < P CPU c's migration targets, already isolated from the
 *                              buddy allocator by the free scanner (cc->freepages)
 *   then                       the list heads (models/common/migration-world.ts), the
 *                              driver's spinlock, its isolated count, its slot table
 */
import { DRIVER_HEAD, freeHead, headsBytes, initMigrationPages, migrateHead, migrationLists, mixPages } from '../common/migration-world.ts';
import { PAGE_STRIDE } from '../../src/kernel/page.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';

/** The driver's address_space id (anything non-zero). */
export const DRIVER_MAPPING = 1;

export function nonlruLayout(cpus: number, pages: number, mix = 0): NonlruLayout {
  const foreign = mixPages(mix);
  const npages = pages + foreign + cpus * pages;
  const heads = npages * PAGE_STRIDE;
  const globals = heads + headsBytes(cpus);
  return {
    cpus,
    pages,
    mix,
    foreign,
    npages,
    heads,
    lists: migrationLists(cpus, pages, heads, 'driver', foreign),
    mapping: DRIVER_MAPPING,
    driverList: DRIVER_HEAD,
    migrateList: migrateHead,
    freeList: freeHead,
    driverLock: globals,
    driverIsolated: globals + 1,
    slots: globals + 2,
    driverActor: cpus,
  };
}

export const worldSize = (lay: NonlruLayout): number => lay.slots + lay.pages;

export { targetPfn } from '../common/migration-world.ts';

export function initialWorld(lay: NonlruLayout): Uint8Array {
  const m = new Uint8Array(worldSize(lay));
  initMigrationPages(m, lay);
  for (let k = 0; k < lay.pages; k++) m[lay.slots + k] = NO_PAGE;
  return m;
}
