/**
 * The pages every migration system (nonlru, balloon, zsmalloc) starts from:
 *
 *   pfn [0, pages)                the driver's pages, free until it allocates them
 *   pfn pages + c*pages + j       CPU c's migration targets, already taken from the
 *                                 buddy allocator by the free scanner
 *                                 (isolate_freepages_block() + map_pages(): refcount 1)
 *                                 and waiting on CPU c's cc->freepages
 */
import { F_LIST, F_REF, F_TYPE, LIST_FREE, PAGE_STRIDE, TYPE_BUDDY } from '../../src/kernel/page.ts';

export interface MigrationPages {
  readonly cpus: number;
  readonly pages: number;
  freeList(cpu: number): number;
}

export const targetPfn = (lay: MigrationPages, cpu: number, j: number): number => lay.pages + cpu * lay.pages + j;

/** Write the initial driver pages and targets into `m`. */
export function initMigrationPages(m: Uint8Array, lay: MigrationPages): void {
  for (let pfn = 0; pfn < lay.pages; pfn++) {
    m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_BUDDY;
    m[pfn * PAGE_STRIDE + F_LIST] = LIST_FREE;
  }
  for (let c = 0; c < lay.cpus; c++) {
    for (let j = 0; j < lay.pages; j++) {
      const pfn = targetPfn(lay, c, j);
      m[pfn * PAGE_STRIDE + F_REF] = 1;
      m[pfn * PAGE_STRIDE + F_LIST] = lay.freeList(c);
    }
  }
}

/** `p0` for a driver page, `t1.0` for CPU 1's first target: trace labels. */
export function migrationPageLabel(lay: MigrationPages, pfn: number): string {
  if (pfn < lay.pages) return `p${pfn}`;
  const c = Math.floor((pfn - lay.pages) / lay.pages);
  return `t${c}.${pfn - targetPfn(lay, c, 0)}`;
}
