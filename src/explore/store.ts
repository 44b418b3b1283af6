/**
 * The walker's memory: typed arrays only, no object per state.
 *
 * - FingerprintSet: open addressing over 64-bit fingerprints (two 32-bit halves),
 *   linear probing, load factor at most 1/2; maps a fingerprint to a state id.
 * - ChunkedU32 / ChunkedU8: per-state columns (parent id, step code, preemptions)
 *   grown a chunk at a time, so growth never copies what is stored.
 * - StateQueue: the packed states themselves in BFS order, in chunks that are
 *   dropped once every state in them has been expanded.
 */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

export class ChunkedU32 {
  private chunks: Uint32Array[] = [];
  get(i: number): number {
    return this.chunks[i >>> CHUNK_BITS][i & MASK];
  }
  set(i: number, v: number): void {
    const c = i >>> CHUNK_BITS;
    while (this.chunks.length <= c) this.chunks.push(new Uint32Array(CHUNK));
    this.chunks[c][i & MASK] = v;
  }
  get bytes(): number {
    return this.chunks.length * CHUNK * 4;
  }
}

export class ChunkedU8 {
  private chunks: Uint8Array[] = [];
  get(i: number): number {
    return this.chunks[i >>> CHUNK_BITS][i & MASK];
  }
  set(i: number, v: number): void {
    const c = i >>> CHUNK_BITS;
    while (this.chunks.length <= c) this.chunks.push(new Uint8Array(CHUNK));
    this.chunks[c][i & MASK] = v;
  }
  get bytes(): number {
    return this.chunks.length * CHUNK;
  }
}

export class StateQueue {
  private chunks: (Uint8Array | null)[] = [];
  private readonly perChunk: number;
  constructor(private readonly stateSize: number) {
    this.perChunk = Math.max(1, Math.floor((1 << 20) / stateSize));
  }
  push(id: number, state: Uint8Array): void {
    const c = Math.floor(id / this.perChunk);
    while (this.chunks.length <= c) this.chunks.push(new Uint8Array(this.perChunk * this.stateSize));
    this.chunks[c]!.set(state, (id - c * this.perChunk) * this.stateSize);
  }
  /** Copy state `id` into `into`; drops chunks wholly before it. */
  load(id: number, into: Uint8Array): void {
    const c = Math.floor(id / this.perChunk);
    for (let k = c - 1; k >= 0 && this.chunks[k] !== null; k--) this.chunks[k] = null;
    const at = (id - c * this.perChunk) * this.stateSize;
    into.set(this.chunks[c]!.subarray(at, at + this.stateSize));
  }
  get bytes(): number {
    let n = 0;
    for (const ch of this.chunks) if (ch) n += ch.length;
    return n;
  }
}

export class FingerprintSet {
  private lo: Int32Array;
  private hi: Int32Array;
  private ids: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacityLog2 = 16) {
    const cap = 1 << capacityLog2;
    this.lo = new Int32Array(cap);
    this.hi = new Int32Array(cap);
    this.ids = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  /** Returns the id stored for the fingerprint, or inserts `id` and returns -1. */
  getOrInsert(h1: number, h2: number, id: number): number {
    if (h1 === 0 && h2 === 0) h1 = 1; // (0, 0) marks an empty slot
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & this.mask;
    for (;;) {
      const a = this.lo[i];
      const b = this.hi[i];
      if (a === 0 && b === 0) break;
      if (a === h1 && b === h2) return this.ids[i];
      i = (i + 1) & this.mask;
    }
    this.lo[i] = h1;
    this.hi[i] = h2;
    this.ids[i] = id;
    if (++this.size * 2 > this.mask + 1) this.grow();
    return -1;
  }

  private grow(): void {
    const { lo, hi, ids } = this;
    const cap = (this.mask + 1) * 2;
    this.lo = new Int32Array(cap);
    this.hi = new Int32Array(cap);
    this.ids = new Uint32Array(cap);
    this.mask = cap - 1;
    for (let j = 0; j < lo.length; j++) {
      const a = lo[j];
      const b = hi[j];
      if (a === 0 && b === 0) continue;
      let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
      while (this.lo[i] !== 0 || this.hi[i] !== 0) i = (i + 1) & this.mask;
      this.lo[i] = a;
      this.hi[i] = b;
      this.ids[i] = ids[j];
    }
  }

  get bytes(): number {
    return this.lo.byteLength + this.hi.byteLength + this.ids.byteLength;
  }
}

/** Two independent 32-bit hashes of the state's words (murmur3-style mixing). */
export function fingerprint(words: Int32Array, out: Int32Array): void {
  let h1 = 0x9747b28c;
  let h2 = 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    let k = Math.imul(words[i], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 = Math.imul(h2 ^ words[i], 0x5bd1e995);
    h2 ^= h2 >>> 13;
    h2 = (Math.imul(h2, 0x27d4eb2d) + i) | 0;
  }
  h1 ^= words.length;
  h1 ^= h1 >>> 16; h1 = Math.imul(h1, 0x85ebca6b); h1 ^= h1 >>> 13; h1 = Math.imul(h1, 0xc2b2ae35); h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 15; h2 = Math.imul(h2, 0x2c1b3c6d); h2 ^= h2 >>> 12; h2 = Math.imul(h2, 0x297a2d39); h2 ^= h2 >>> 15;
  out[0] = h1;
  out[1] = h2;
}
