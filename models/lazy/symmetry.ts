/**
 * The touching threads of lazy are interchangeable: they run one program on node 1
 * and differ only by their CPU, so renaming thread t to thread p[t] moves t's LRU add
 * pagevec to p[t]'s. Nothing else in the world records a thread (mmap_sem counts its
 * readers; pages and locks record no owner); the one local that does is the mbind
 * task's `drained`, migrate_prep()'s bitmask of the CPUs whose pagevec it has drained.
 */
import { PAGEVEC_SIZE, type MappedLayout } from '../../src/kernel/mapped-v3/layout.ts';
import type { Symmetry } from '../../src/system.ts';

/** Threads are actors [first, first + n) and run on CPUs of the same numbers. */
export function toucherSymmetry(lay: MappedLayout, first: number, n: number): Symmetry {
  const block = 1 + PAGEVEC_SIZE;
  return {
    groups: [Array.from({ length: n }, (_, t) => first + t)],
    permuteWorld(src, dst, perm) {
      dst.set(src.subarray(0, lay.size));
      for (let a = first; a < first + n; a++) dst.set(src.subarray(lay.pv(a), lay.pv(a) + block), lay.pv(perm[a]));
    },
    localRenaming: (kind, local) => (kind === 'mbind' && local === 'drained'
      ? (value, perm) => {
        let out = value;
        for (let a = first; a < first + n; a++) out &= ~(1 << a);
        for (let a = first; a < first + n; a++) if (value & (1 << a)) out |= 1 << perm[a];
        return out;
      }
      : null),
    gather(perm) {
      const source = Array.from({ length: lay.size }, (_, i) => i);
      for (let a = first; a < first + n; a++) for (let k = 0; k < block; k++) source[lay.pv(perm[a]) + k] = lay.pv(a) + k;
      return { source, table: source.map(() => null) };
    },
  };
}
