/**
 * The compaction CPUs of nonlru are interchangeable: renaming CPU c to CPU p[c]
 * moves c's migration targets to p[c]'s pfn block and c's list heads
 * (cc->migratepages, cc->freepages) to p[c]'s, renames every list pointer (a node id:
 * a page's lru or a list head) accordingly, and renames c wherever the world records
 * an actor (page lock holder, isolation claims, the driver's spinlock holder, pfns in
 * slots and locals).
 */
import { F_ISOLATORS, F_LOCKER, F_LRU, PAGE_STRIDE, pageNode } from '../../src/kernel/page.ts';
import { headAt, headsBytes } from '../common/migration-world.ts';
import type { Symmetry } from '../../src/system.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';

export function nonlruSymmetry(lay: NonlruLayout, worldSize: number): Symmetry {
  const cpus = Array.from({ length: lay.cpus }, (_, c) => c);
  const headsEnd = lay.heads + headsBytes(lay.cpus);
  /** Lookup tables for one renaming, built the first time it is used. */
  interface Tables {
    pfn: Uint8Array; node: Uint8Array; actor1: Uint8Array; claims: Uint8Array;
    /** world offset of a list head -> offset of its image */
    headTo: Map<number, number>;
  }
  const cache = new WeakMap<Int8Array, Tables>();
  const tablesFor = (perm: Int8Array): Tables => {
    let t = cache.get(perm);
    if (t) return t;
    const pfn = new Uint8Array(256);
    for (let v = 0; v < 256; v++) {
      if (v === NO_PAGE || v < lay.pages + lay.foreign || v >= lay.npages) pfn[v] = v;
      else {
        const c = Math.floor((v - lay.pages - lay.foreign) / lay.pages);
        pfn[v] = v + (perm[c] - c) * lay.pages;
      }
    }
    // Node ids: a page's lru follows its pfn; a CPU's heads follow the CPU; NULL,
    // poison and the shared heads stay.
    const node = Uint8Array.from({ length: 256 }, (_, v) => v);
    for (let p = 0; p < lay.npages; p++) node[pageNode(p)] = pageNode(pfn[p]);
    const headTo = new Map<number, number>();
    for (let at = lay.heads; at < headsEnd; at += 2) headTo.set(at, at);
    for (let c = 0; c < lay.cpus; c++) {
      node[lay.migrateList(c)] = lay.migrateList(perm[c]);
      node[lay.freeList(c)] = lay.freeList(perm[c]);
      headTo.set(headAt(lay.heads, lay.migrateList(c)), headAt(lay.heads, lay.migrateList(perm[c])));
      headTo.set(headAt(lay.heads, lay.freeList(c)), headAt(lay.heads, lay.freeList(perm[c])));
    }
    const actor1 = Uint8Array.from({ length: 256 }, (_, v) => (v > 0 && v - 1 < lay.cpus ? perm[v - 1] + 1 : v));
    const claims = Uint8Array.from({ length: 256 }, (_, v) => {
      let mapped = 0;
      for (let c = 0; c < lay.cpus; c++) if (v & (1 << c)) mapped |= 1 << perm[c];
      return v >= 1 << lay.cpus ? v : mapped;
    });
    t = { pfn, node, actor1, claims, headTo };
    cache.set(perm, t);
    return t;
  };
  const renamePfn = (value: number, perm: Int8Array): number => tablesFor(perm).pfn[value];
  const renameNode = (value: number, perm: Int8Array): number => tablesFor(perm).node[value];
  return {
    groups: [cpus],
    permuteWorld(src, dst, perm) {
      const t = tablesFor(perm);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const from = pfn * PAGE_STRIDE;
        const to = t.pfn[pfn] * PAGE_STRIDE;
        for (let i = 0; i < PAGE_STRIDE; i++) dst[to + i] = src[from + i];
        dst[to + F_LRU] = t.node[src[from + F_LRU]];
        dst[to + F_LRU + 1] = t.node[src[from + F_LRU + 1]];
        dst[to + F_LOCKER] = t.actor1[src[from + F_LOCKER]];
        dst[to + F_ISOLATORS] = t.claims[src[from + F_ISOLATORS]];
      }
      for (const [from, to] of t.headTo) {
        dst[to] = t.node[src[from]];
        dst[to + 1] = t.node[src[from + 1]];
      }
      for (let at = headsEnd; at < worldSize; at++) dst[at] = src[at];
      dst[lay.driverLock] = t.actor1[src[lay.driverLock]];
      for (let k = 0; k < lay.pages; k++) dst[lay.slots + k] = t.pfn[src[lay.slots + k]];
    },
    // The same renaming as a byte gather (see Symmetry.gather): page q of the image
    // is page pfn^-1(q) of the source, with its lru pointers, locker and claims
    // renamed; a CPU's list heads likewise.
    gather(perm) {
      const t = tablesFor(perm);
      const source = new Int32Array(worldSize);
      const table: (Uint8Array | null)[] = new Array(worldSize).fill(null);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const from = pfn * PAGE_STRIDE;
        const to = t.pfn[pfn] * PAGE_STRIDE;
        for (let i = 0; i < PAGE_STRIDE; i++) source[to + i] = from + i;
        table[to + F_LRU] = t.node;
        table[to + F_LRU + 1] = t.node;
        table[to + F_LOCKER] = t.actor1;
        table[to + F_ISOLATORS] = t.claims;
      }
      for (const [from, to] of t.headTo) {
        source[to] = from;
        source[to + 1] = from + 1;
        table[to] = t.node;
        table[to + 1] = t.node;
      }
      for (let at = headsEnd; at < worldSize; at++) source[at] = at;
      table[lay.driverLock] = t.actor1;
      for (let k = 0; k < lay.pages; k++) table[lay.slots + k] = t.pfn;
      return { source, table };
    },
    localRenaming: (_kind, local) => {
      if (local === 'page' || local === 'newpage') return renamePfn;
      if (local === 'page2') return renameNode;
      return null;
    },
  };
}

