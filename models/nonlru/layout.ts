/**
 * The packed world of the nonlru system: pages first (struct page, PAGE_STRIDE bytes
 * each), then the driver's own fields.
 *
 *   pfn [0, P)                 the driver's pages, free until the driver allocates them
 *   pfn P + c*P + j, j < P     CPU c's migration targets, already isolated from the
 *                              buddy allocator by the free scanner (cc->freepages)
 */
import {
  F_LIST, F_REF, F_TYPE, LIST_FREE, LIST_SYSTEM, PAGE_STRIDE, TYPE_BUDDY,
} from '../../src/kernel/page.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';

/** The driver's address_space id (anything non-zero). */
export const DRIVER_MAPPING = 1;

export function nonlruLayout(cpus: number, pages: number): NonlruLayout {
  const npages = pages + cpus * pages;
  const globals = npages * PAGE_STRIDE;
  return {
    cpus,
    pages,
    npages,
    mapping: DRIVER_MAPPING,
    driverList: LIST_SYSTEM,
    migrateList: (c) => LIST_SYSTEM + 1 + 2 * c,
    freeList: (c) => LIST_SYSTEM + 2 + 2 * c,
    driverLock: globals,
    driverIsolated: globals + 1,
    slots: globals + 2,
    driverActor: cpus,
  };
}

export const worldSize = (lay: NonlruLayout): number => lay.slots + lay.pages;

export const targetPfn = (lay: NonlruLayout, cpu: number, j: number): number => lay.pages + cpu * lay.pages + j;

export function initialWorld(lay: NonlruLayout): Uint8Array {
  const m = new Uint8Array(worldSize(lay));
  for (let pfn = 0; pfn < lay.pages; pfn++) {
    m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_BUDDY;
    m[pfn * PAGE_STRIDE + F_LIST] = LIST_FREE;
  }
  for (let c = 0; c < lay.cpus; c++) {
    for (let j = 0; j < lay.pages; j++) {
      const pfn = targetPfn(lay, c, j);
      m[pfn * PAGE_STRIDE + F_REF] = 1; // isolate_freepages_block() + map_pages(): allocated, refcount 1
      m[pfn * PAGE_STRIDE + F_LIST] = lay.freeList(c);
    }
  }
  for (let k = 0; k < lay.pages; k++) m[lay.slots + k] = NO_PAGE;
  return m;
}
