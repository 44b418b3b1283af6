/**
 * Symmetry reduction: a canonical representative per orbit of interchangeable
 * actors. The representative is the least state, compared byte by byte, among the
 * images of a state under every permutation of each group the model declares; it
 * is a true canonical form, so two states share a representative exactly when one
 * is a renaming of the other.
 *
 * When the model describes its renaming as a byte gather (Symmetry.gather), the
 * images are not written out: the permutations are compared one image byte at a
 * time, only at the bytes where some two of them can differ, and those that lose
 * at a byte are dropped, so a state whose actors differ early is settled after a
 * few bytes. Only the winner's image is written. The result is the same least
 * image, and among equal images the same (first) permutation.
 */
import type { Symmetry } from '../system.ts';
import { CompileError, type Compiled } from './compile.ts';
import { WordViews } from '../words.ts';

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
    this.cand = new Int32Array(perms.length);
    this.gather = sym.gather ? this.buildGather(sym) : null;
  }

  /** Candidate permutations while comparing images (see canonical). */
  private readonly cand: Int32Array;
  /**
   * The whole renaming of every permutation as a byte gather: image byte i under
   * permutation k is tables[table[k * n + i] + src[source[k * n + i]]]; `varying`
   * lists, in order, the bytes where two permutations' gathers differ.
   */
  private readonly gather: { source: Int32Array; table: Int32Array; tables: Uint8Array; varying: Int32Array } | null;

  private buildGather(sym: Symmetry): { source: Int32Array; table: Int32Array; tables: Uint8Array; varying: Int32Array } {
    const c = this.c;
    const n = c.stateSize;
    const K = this.perms.length;
    const source = new Int32Array(K * n);
    const table = new Int32Array(K * n);
    const offsets = new Map<string, number>();
    const chunks: Uint8Array[] = [];
    const tableAt = (t: Uint8Array): number => {
      const key = t.join(',');
      let at = offsets.get(key);
      if (at === undefined) {
        at = chunks.length * 256;
        offsets.set(key, at);
        chunks.push(t);
      }
      return at;
    };
    const IDENTITY = tableAt(Uint8Array.from({ length: 256 }, (_, v) => v));
    const ZERO = tableAt(new Uint8Array(256));
    for (let k = 0; k < K; k++) {
      const perm = this.perms[k];
      const o = k * n;
      const w = sym.gather!(perm);
      for (let i = 0; i < c.worldSize; i++) {
        source[o + i] = w.source[i];
        const t = w.table[i];
        table[o + i] = t === null ? IDENTITY : tableAt(t);
      }
      for (let a = 0; a < c.actors.length; a++) {
        const from = c.actors[a].base;
        const to = c.actors[perm[a]].base;
        source[o + to] = from;
        table[o + to] = IDENTITY;
        const ren = this.renamings[a];
        for (let i = 0; i < ren.length; i++) {
          const r = ren[i];
          source[o + to + 1 + i] = from + 1 + i;
          table[o + to + 1 + i] = r === null ? IDENTITY : tableAt(Uint8Array.from({ length: 256 }, (_, v) => r(v, perm)));
        }
      }
      for (let i = this.actorsEnd; i < n; i++) table[o + i] = ZERO;
    }
    for (let i = 0; i < this.actorsEnd; i++) {
      if (source[i] !== i || table[i] !== IDENTITY) throw new CompileError(`symmetry: the identity renaming changes byte ${i}`);
    }
    const tables = new Uint8Array(chunks.length * 256);
    chunks.forEach((t, j) => tables.set(t, j * 256));
    const varying: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let k = 1; k < K; k++) {
        if (source[k * n + i] !== source[i] || table[k * n + i] !== table[i]) { varying.push(i); break; }
      }
    }
    const g = { source, table, tables, varying: Int32Array.from(varying) };
    // The gather must say what permuteWorld does: compare the two on a few vectors.
    let seed = 0x2545f491;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) | 0; return (seed >>> 16) & 0xff; };
    const v = new Uint8Array(n);
    const viaApply = new Uint8Array(n);
    for (let trial = 0; trial < 8; trial++) {
      if (trial === 0) v.set(c.initial);
      else for (let i = 0; i < this.actorsEnd; i++) v[i] = rnd();
      for (let k = 0; k < K; k++) {
        this.apply(this.perms[k], v, viaApply);
        for (let i = 0; i < n; i++) {
          const o = k * n + i;
          if (tables[table[o] + v[source[o]]] !== viaApply[i]) {
            throw new CompileError(`symmetry: gather and permuteWorld disagree at byte ${i} under renaming [${[...this.perms[k]].join(',')}]`);
          }
        }
      }
    }
    return g;
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
    const g = this.gather;
    if (g === null) return this.canonicalByImages(src, dst);
    const n = this.c.stateSize;
    const source = g.source;
    const table = g.table;
    const tables = g.tables;
    const varying = g.varying;
    const cand = this.cand;
    let nc = this.perms.length;
    for (let k = 0; k < nc; k++) cand[k] = k;
    // Keep, byte by byte, the permutations whose image is least so far (in order,
    // so that among equal images the first permutation wins).
    // While the identity (always first) is still a candidate its image byte is the
    // state's own: the usual case, a state that is already least, reads one array.
    let x0 = 0;
    for (let j = 0; j < varying.length && nc > 1; j++) {
      const i = varying[j];
      let min = 256;
      let m = 0;
      if (cand[0] === 0) {
        min = src[i];
        m = 1;
        x0 = 1;
      } else x0 = 0;
      for (let x = x0; x < nc; x++) {
        const k = cand[x];
        const o = k * n + i;
        const v = tables[table[o] + src[source[o]]];
        if (v < min) {
          min = v;
          m = 0;
          cand[m++] = k;
        } else if (v === min) cand[m++] = k;
      }
      nc = m;
    }
    const best = cand[0];
    if (best === 0) {
      // The identity's image is the state itself, with the padding zeroed: copied a
      // word at a time (TypedArray.set costs more than the copy at this size).
      this.views.copy(src, dst);
      for (let i = this.actorsEnd; i < n; i++) dst[i] = 0;
    } else {
      for (let i = 0, o = best * n; i < n; i++, o++) dst[i] = tables[table[o] + src[source[o]]];
    }
    return best;
  }

  /** Int32 views of the source and destination buffers (callers reuse theirs; src/words.ts). */
  private readonly views = new WordViews();

  /** canonical() by writing every image (for a symmetry without a gather). */
  private canonicalByImages(src: Uint8Array, dst: Uint8Array): number {
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
