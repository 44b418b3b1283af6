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
  const globalsAt = lay.npages * PAGE_STRIDE;
  /** Lookup tables for one renaming, built the first time it is used. */
  interface Tables { pfn: Uint8Array; list: Uint8Array; actor1: Uint8Array; claims: Uint8Array }
  const cache = new WeakMap<Int8Array, Tables>();
  const tablesFor = (perm: Int8Array): Tables => {
    let t = cache.get(perm);
    if (t) return t;
    const pfn = new Uint8Array(256);
    for (let v = 0; v < 256; v++) {
      if (v === NO_PAGE || v < lay.pages || v >= lay.npages) pfn[v] = v;
      else {
        const c = Math.floor((v - lay.pages) / lay.pages);
        pfn[v] = v + (perm[c] - c) * lay.pages;
      }
    }
    const list = Uint8Array.from({ length: 256 }, (_, v) => v);
    for (let c = 0; c < lay.cpus; c++) {
      list[lay.migrateList(c)] = lay.migrateList(perm[c]);
      list[lay.freeList(c)] = lay.freeList(perm[c]);
    }
    const actor1 = Uint8Array.from({ length: 256 }, (_, v) => (v > 0 && v - 1 < lay.cpus ? perm[v - 1] + 1 : v));
    const claims = Uint8Array.from({ length: 256 }, (_, v) => {
      let mapped = 0;
      for (let c = 0; c < lay.cpus; c++) if (v & (1 << c)) mapped |= 1 << perm[c];
      return v >= 1 << lay.cpus ? v : mapped;
    });
    t = { pfn, list, actor1, claims };
    cache.set(perm, t);
    return t;
  };
  const renamePfn = (value: number, perm: Int8Array): number => tablesFor(perm).pfn[value];
  return {
    groups: [cpus],
    permuteWorld(src, dst, perm) {
      const t = tablesFor(perm);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const from = pfn * PAGE_STRIDE;
        const to = t.pfn[pfn] * PAGE_STRIDE;
        for (let i = 0; i < PAGE_STRIDE; i++) dst[to + i] = src[from + i];
        dst[to + F_LIST] = t.list[src[from + F_LIST]];
        dst[to + F_LOCKER] = t.actor1[src[from + F_LOCKER]];
        dst[to + F_ISOLATORS] = t.claims[src[from + F_ISOLATORS]];
      }
      for (let at = globalsAt; at < worldSize; at++) dst[at] = src[at];
      dst[lay.driverLock] = t.actor1[src[lay.driverLock]];
      for (let k = 0; k < lay.pages; k++) dst[lay.slots + k] = t.pfn[src[lay.slots + k]];
    },
    // The same renaming as a byte gather (see Symmetry.gather): page q of the image
    // is page pfn^-1(q) of the source, with its list, locker and claims renamed.
    gather(perm) {
      const t = tablesFor(perm);
      const source = new Int32Array(worldSize);
      const table: (Uint8Array | null)[] = new Array(worldSize).fill(null);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const from = pfn * PAGE_STRIDE;
        const to = t.pfn[pfn] * PAGE_STRIDE;
        for (let i = 0; i < PAGE_STRIDE; i++) source[to + i] = from + i;
        table[to + F_LIST] = t.list;
        table[to + F_LOCKER] = t.actor1;
        table[to + F_ISOLATORS] = t.claims;
      }
      for (let at = globalsAt; at < worldSize; at++) source[at] = at;
      table[lay.driverLock] = t.actor1;
      for (let k = 0; k < lay.pages; k++) table[lay.slots + k] = t.pfn;
      return { source, table };
    },
    localRenaming: (_kind, local) => (local === 'page' || local === 'newpage' ? renamePfn : null),
  };
}
