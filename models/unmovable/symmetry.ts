/**
 * The compaction CPUs of the unmovable system are interchangeable: renaming CPU c to
 * CPU p[c] moves c's migration targets to p[c]'s block of pfns and renames c's
 * cc->migratepages, wherever the world or a local records them: the folios' own
 * structs, every list pointer (a folio's lru or a head's next/prev, as list node
 * ids), the page cache slots (pfn + 1) and the locals that hold a pfn.
 */
import { FOLIO_BYTES, F_LRU, I_SLOTS } from '../../src/kernel/folio-v6/folio.ts';
import type { Symmetry } from '../../src/system.ts';
import type { UnmovableLayout } from './layout.ts';

/** Locals that hold a folio pfn: the CPU's target (`dst`) and the truncations' `folio`. */
const PFN_LOCALS = new Set(['folio', 'src', 'dst']);

export function unmovableSymmetry(lay: UnmovableLayout): Symmetry {
  const cpus = Array.from({ length: lay.cpus }, (_, c) => c);
  const headsAt = lay.S.at[lay.lruHead(0)];
  interface Tables { pfn: Uint8Array; slot: Uint8Array; node: Uint8Array; headAt: Int32Array }
  const cache = new WeakMap<Int8Array, Tables>();
  const tablesFor = (perm: Int8Array): Tables => {
    let t = cache.get(perm);
    if (t) return t;
    const pfn = Uint8Array.from({ length: 256 }, (_, v) => v);
    for (let c = 0; c < lay.cpus; c++) for (let k = 0; k < lay.scanned; k++) pfn[lay.target(c, k)] = lay.target(perm[c], k);
    // A slot holds pfn + 1 (0 is empty); a folio's list node is pfn + 1 too.
    const slot = Uint8Array.from({ length: 256 }, (_, v) => (v === 0 ? 0 : pfn[v - 1] + 1));
    const node = Uint8Array.from({ length: 256 }, (_, v) => v);
    for (let p = 0; p < lay.nfolios; p++) node[lay.lruNode(p)] = lay.lruNode(pfn[p]);
    for (let c = 0; c < lay.cpus; c++) node[lay.migrateHead(c)] = lay.migrateHead(perm[c]);
    // Where CPU c's cc->migratepages head goes.
    const headAt = Int32Array.from(cpus, (c) => lay.S.at[lay.migrateHead(perm[c])]);
    t = { pfn, slot, node, headAt };
    cache.set(perm, t);
    return t;
  };
  /** The byte gather: dst[i] = table[i] ? table[i][src[source[i]]] : src[source[i]]. */
  const gathers = new WeakMap<Int8Array, { source: Int32Array; table: (Uint8Array | null)[] }>();
  const gather = (perm: Int8Array) => {
    const have = gathers.get(perm);
    if (have) return have;
    const t = tablesFor(perm);
    const source = Int32Array.from({ length: lay.worldSize }, (_, i) => i);
    const table: (Uint8Array | null)[] = new Array(lay.worldSize).fill(null);
    for (let p = 0; p < lay.nfolios; p++) {
      const from = lay.folio(p);
      const to = lay.folio(t.pfn[p]);
      for (let i = 0; i < FOLIO_BYTES; i++) source[to + i] = from + i;
      table[to + F_LRU] = t.node;
      table[to + F_LRU + 1] = t.node;
    }
    for (let i = 0; i < lay.ninodes; i++) for (let k = 0; k < lay.slotsPerInode; k++) table[lay.inode(i) + I_SLOTS + k] = t.slot;
    // The lruvec's heads stay where they are; their pointers are renamed.
    for (let at = headsAt; at < headsAt + 4; at++) table[at] = t.node;
    for (let c = 0; c < lay.cpus; c++) {
      const from = lay.S.at[lay.migrateHead(c)];
      source[t.headAt[c]] = from;
      source[t.headAt[c] + 1] = from + 1;
      table[t.headAt[c]] = t.node;
      table[t.headAt[c] + 1] = t.node;
    }
    gathers.set(perm, { source, table });
    return { source, table };
  };
  return {
    groups: [cpus],
    permuteWorld(src, dst, perm) {
      const { source, table } = gather(perm);
      for (let i = 0; i < lay.worldSize; i++) {
        const tb = table[i];
        dst[i] = tb === null ? src[source[i]] : tb[src[source[i]]];
      }
    },
    gather,
    localRenaming: (_kind, local) => (PFN_LOCALS.has(local) ? (value, perm) => tablesFor(perm).pfn[value] : null),
  };
}
