/**
 * The packed world of the zsmalloc system: pages first (struct page, PAGE_STRIDE
 * bytes each), then the size class, the zspages and the handles.
 *
 *   pfn [0, 2Z)                  the subpages zspage z may take: 2z and 2z + 1, free
 *                                until zs_malloc allocates them
 *   pfn 2Z + c*2Z + j, j < 2Z    CPU c's migration targets (cc->freepages)
 *   then: the list heads (models/common/migration-world.ts), class->lock, pool->free_work queued, the running ghost,
 *         Z zspages (ZSPAGE_BYTES each), O handles (HANDLE_BYTES each)
 */
import { DRIVER_HEAD, freeHead, headsBytes, initMigrationPages, migrateHead, migrationLists } from '../common/migration-world.ts';
import { PAGE_STRIDE } from '../../src/kernel/page.ts';
import { HANDLE_BYTES, H_LOC, NO_PFN, ZS_PAGE0, ZS_PAGES, ZSPAGE_BYTES } from '../../src/kernel/zsmalloc.ts';
import type { ZsLayout } from '../../properties/zsmalloc.ts';

/** The pool inode's i_mapping (zs_register_migration), as an address space id. */
export const ZS_MAPPING = 1;

export function zsLayout(cpus: number, zspages: number, objects: number, perPage = 1): ZsLayout {
  const pages = zspages * ZS_PAGES;
  const npages = pages + cpus * pages;
  const heads = npages * PAGE_STRIDE;
  const g = heads + headsBytes(cpus);
  const zspage0 = g + 3;
  const handle0 = zspage0 + zspages * ZSPAGE_BYTES;
  return {
    cpus,
    pages,
    mix: 0,
    foreign: 0,
    npages,
    zspages,
    objects,
    mapping: ZS_MAPPING,
    heads,
    lists: migrationLists(cpus, pages, heads, 'zs (no page list)'),
    // zsmalloc links zspages, not pages: its page->lru list head stays empty.
    driverList: DRIVER_HEAD,
    migrateList: migrateHead,
    freeList: freeHead,
    driverLock: g,
    // nonlru's isolated counter: zsmalloc counts per zspage (zspage->isolated); only
    // nonlru's own end-state property reads this field, and zsmalloc has its own.
    driverIsolated: zspage0 + 1,
    slots: -1,
    driverActor: cpus,
    running: g + 2,
    pool: { mapping: ZS_MAPPING, classLock: g, workPending: g + 1, zspage0, nzspages: zspages, handle0, nobjects: objects, perPage, npages },
    worldSize: handle0 + objects * HANDLE_BYTES,
  };
}

export { targetPfn } from '../common/migration-world.ts';

export function initialWorld(lay: ZsLayout): Uint8Array {
  const m = new Uint8Array(lay.worldSize);
  initMigrationPages(m, lay);
  for (let z = 0; z < lay.zspages; z++) {
    for (let i = 0; i < ZS_PAGES; i++) m[lay.pool.zspage0 + z * ZSPAGE_BYTES + ZS_PAGE0 + i] = NO_PFN;
  }
  for (let o = 0; o < lay.objects; o++) m[lay.pool.handle0 + o * HANDLE_BYTES + H_LOC] = NO_PFN;
  m[lay.running] = lay.cpus + 1;
  return m;
}
