/**
 * Symmetry reduction: a canonical representative per orbit of interchangeable
 * actors. The representative is the least state, compared byte by byte, among the
 * images of a state under every permutation of each group the model declares; it
 * is a true canonical form, so two states share a representative exactly when one
 * is a renaming of the other.
 */
import type { Symmetry } from '../system.ts';
import { CompileError, type Compiled } from './compile.ts';

/** Every permutation of `items`, in a fixed order (identity first). */
function permutations(items: readonly number[]): number[][] {
  if (items.length <= 1) return [items.slice()];
  const out: number[][] = [];
  items.forEach((x, i) => {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}

export class Canonicalizer {
  /** perms[i][a] = the index actor a is renamed to; perms[0] is the identity. */
  readonly perms: Int8Array[];
  private readonly scratch: Uint8Array;
  /** Per actor: for each local, its renaming or null (copied as is). */
  private readonly renamings: (((value: number, perm: Int8Array) => number) | null)[][];
  private readonly actorsEnd: number;

  constructor(private readonly c: Compiled, private readonly sym: Symmetry) {
    const n = c.actors.length;
    let perms: Int8Array[] = [Int8Array.from({ length: n }, (_, i) => i)];
    for (const group of sym.groups) {
      const first = c.actors[group[0]];
      for (const a of group) {
        const other = c.actors[a];
        const same = other.kind === first.kind && other.states.length === first.states.length &&
          other.states.every((s, i) => s === first.states[i]) && other.branches.length === first.branches.length &&
          other.branches.every((b, i) => b.target === first.branches[i].target && b.event === first.branches[i].event && b.from === first.branches[i].from);
        if (!same) throw new CompileError(`symmetry: ${other.name} and ${first.name} do not run the same program`);
      }
      const next: Int8Array[] = [];
      for (const base of perms) {
        for (const order of permutations(group)) {
          const p = base.slice();
          group.forEach((a, i) => { p[a] = order[i]; });
          next.push(p);
        }
      }
      perms = next;
    }
    this.perms = perms;
    this.scratch = new Uint8Array(c.stateSize);
    this.renamings = c.actors.map((a) => a.locals.map((name) => sym.localRenaming(a.kind, name)));
    const last = c.actors[c.actors.length - 1];
    this.actorsEnd = last ? last.base + 1 + last.locals.length : c.worldSize;
  }

  /** dst = src with every actor a renamed perm[a]. */
  apply(perm: Int8Array, src: Uint8Array, dst: Uint8Array): void {
    const c = this.c;
    this.sym.permuteWorld(src, dst, perm);
    for (let a = 0; a < c.actors.length; a++) {
      const from = c.actors[a].base;
      const to = c.actors[perm[a]].base;
      dst[to] = src[from];
      const ren = this.renamings[a];
      for (let i = 0; i < ren.length; i++) {
        const r = ren[i];
        const v = src[from + 1 + i];
        dst[to + 1 + i] = r === null ? v : r(v, perm);
      }
    }
    for (let i = this.actorsEnd; i < c.stateSize; i++) dst[i] = 0;
  }

  /** Write the representative of `src` into `dst`; returns the index of the permutation used. */
  canonical(src: Uint8Array, dst: Uint8Array): number {
    dst.set(src);
    let best = 0;
    const tmp = this.scratch;
    const n = src.length;
    for (let k = 1; k < this.perms.length; k++) {
      this.apply(this.perms[k], src, tmp);
      let i = 0;
      while (i < n && tmp[i] === dst[i]) i++;
      if (i < n && tmp[i] < dst[i]) {
        dst.set(tmp);
        best = k;
      }
    }
    return best;
  }

  inverse(perm: Int8Array): Int8Array {
    const inv = new Int8Array(perm.length);
    for (let a = 0; a < perm.length; a++) inv[perm[a]] = a;
    return inv;
  }
}
