/**
 * The compaction CPUs of nonlru are interchangeable: renaming CPU c to CPU p[c]
 * moves c's migration targets to p[c]'s pfn block, renames c's private lists, and
 * renames c wherever the world records an actor (page lock holder, isolation
 * claims, the driver's spinlock holder, pfns in slots and locals).
 */
import { F_ISOLATORS, F_LIST, F_LOCKER, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { Symmetry } from '../../src/system.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';

export function nonlruSymmetry(lay: NonlruLayout, worldSize: number): Symmetry {
  const cpus = Array.from({ length: lay.cpus }, (_, c) => c);
  const mapPfn = (pfn: number, perm: Int8Array): number => {
    if (pfn === NO_PAGE || pfn < lay.pages) return pfn;
    const c = Math.floor((pfn - lay.pages) / lay.pages);
    return pfn + (perm[c] - c) * lay.pages;
  };
  const mapList = (list: number, perm: Int8Array): number => {
    for (let c = 0; c < lay.cpus; c++) {
      if (list === lay.migrateList(c)) return lay.migrateList(perm[c]);
      if (list === lay.freeList(c)) return lay.freeList(perm[c]);
    }
    return list;
  };
  const mapActor1 = (v: number, perm: Int8Array): number => (v > 0 && v - 1 < lay.cpus ? perm[v - 1] + 1 : v);
  return {
    groups: [cpus],
    permuteWorld(src, dst, perm) {
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const from = pfn * PAGE_STRIDE;
        const to = mapPfn(pfn, perm) * PAGE_STRIDE;
        for (let i = 0; i < PAGE_STRIDE; i++) dst[to + i] = src[from + i];
        dst[to + F_LIST] = mapList(src[from + F_LIST], perm);
        dst[to + F_LOCKER] = mapActor1(src[from + F_LOCKER], perm);
        const claims = src[from + F_ISOLATORS];
        let mapped = 0;
        for (let c = 0; c < lay.cpus; c++) if (claims & (1 << c)) mapped |= 1 << perm[c];
        dst[to + F_ISOLATORS] = mapped;
      }
      for (let at = lay.npages * PAGE_STRIDE; at < worldSize; at++) dst[at] = src[at];
      dst[lay.driverLock] = mapActor1(src[lay.driverLock], perm);
      for (let k = 0; k < lay.pages; k++) dst[lay.slots + k] = mapPfn(src[lay.slots + k], perm);
    },
    permuteLocal(_kind, local, value, perm) {
      return local === 'page' || local === 'newpage' ? mapPfn(value, perm) : value;
    },
  };
}
