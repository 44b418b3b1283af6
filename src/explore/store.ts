/**
 * The walker's memory: typed arrays only, no object per state.
 *
 * - FingerprintSet: open addressing over 64-bit fingerprints (two 32-bit halves),
 *   linear probing, load factor at most 3/4; maps a fingerprint to a state id.
 * - ChunkedU32 / ChunkedU8: per-state columns (parent id, step code, preemptions)
 *   grown a chunk at a time, so growth never copies what is stored.
 * - DepthBuckets: the packed states not yet expanded, by depth, in chunks that
 *   are dropped as they are read.
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

export class ChunkedU16 {
  private chunks: Uint16Array[] = [];
  get(i: number): number {
    return this.chunks[i >>> CHUNK_BITS][i & MASK];
  }
  set(i: number, v: number): void {
    const c = i >>> CHUNK_BITS;
    while (this.chunks.length <= c) this.chunks.push(new Uint16Array(CHUNK));
    this.chunks[c][i & MASK] = v;
  }
  get bytes(): number {
    return this.chunks.length * CHUNK * 2;
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

export class FingerprintSet {
  /** Slots of three words: fingerprint low, high, state id; one cache line per probe. */
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacityLog2 = 16) {
    this.slots = new Int32Array(3 << capacityLog2);
    this.mask = (1 << capacityLog2) - 1;
  }

  /** Returns the id stored for the fingerprint, or inserts `id` and returns -1. */
  getOrInsert(h1: number, h2: number, id: number): number {
    if (h1 === 0 && h2 === 0) h1 = 1; // (0, 0) marks an empty slot
    const t = this.slots;
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & this.mask;
    for (;;) {
      const at = i * 3;
      const a = t[at];
      const b = t[at + 1];
      if (a === 0 && b === 0) {
        t[at] = h1;
        t[at + 1] = h2;
        t[at + 2] = id;
        if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
        return -1;
      }
      if (a === h1 && b === h2) return t[at + 2] >>> 0;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    const t = new Int32Array(cap * 3);
    const mask = cap - 1;
    for (let j = 0; j < old.length; j += 3) {
      const a = old[j];
      const b = old[j + 1];
      if (a === 0 && b === 0) continue;
      let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      while (t[i * 3] !== 0 || t[i * 3 + 1] !== 0) i = (i + 1) & mask;
      t[i * 3] = a;
      t[i * 3 + 1] = b;
      t[i * 3 + 2] = old[j + 2];
    }
    this.slots = t;
    this.mask = mask;
  }

  get bytes(): number {
    return this.slots.byteLength;
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

/**
 * The frontier, by depth: one FIFO of (id, state) per pending depth. Entries are
 * dropped as they are popped, so memory holds only states not yet expanded. A state
 * found again at a smaller depth is pushed again there; the walker skips the stale
 * entry by its recorded depth. Chunks read to the end go to a small pool that the
 * next chunk comes from, so that the walker does not keep asking the system for
 * fresh, zeroed megabytes; the pool is emptied when nothing is pending.
 */
export class DepthBuckets {
  private readonly buckets = new Map<number, ByteFifo>();
  private readonly pool: Chunk[] = [];
  pending = 0;
  /** The bucket last pushed to / popped from (the walker works at one or two depths at a time). */
  private pushDepth = -1;
  private pushBucket: ByteFifo | null = null;
  private popDepth = -1;
  private popBucket: ByteFifo | null = null;
  private readonly pushViews = new WordViews();
  private readonly popViews = new WordViews();
  constructor(private readonly stateSize: number) {}

  push(depth: number, id: number, state: Uint8Array): void {
    let b = depth === this.pushDepth ? this.pushBucket : this.buckets.get(depth);
    if (!b) this.buckets.set(depth, (b = new ByteFifo(this.stateSize, this.pool)));
    this.pushDepth = depth;
    this.pushBucket = b;
    b.push(id, state, this.pushViews.of(state));
    this.pending++;
  }

  /** How many entries wait at `depth` (stale ones included). */
  countAt(depth: number): number {
    return this.buckets.get(depth)?.length ?? 0;
  }

  /** Pop the next state of `depth` into `into`; returns its id, or -1 when the depth is done. */
  pop(depth: number, into: Uint8Array): number {
    const b = depth === this.popDepth ? this.popBucket : this.buckets.get(depth);
    if (!b) return -1;
    const id = b.pop(into, this.popViews.of(into));
    if (id < 0) {
      b.release();
      this.buckets.delete(depth);
      if (this.pushBucket === b) { this.pushDepth = -1; this.pushBucket = null; }
      this.popDepth = -1;
      this.popBucket = null;
      if (this.buckets.size === 0) this.pool.length = 0;
      return -1;
    }
    this.popDepth = depth;
    this.popBucket = b;
    this.pending--;
    return id;
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.bytes;
    for (const c of this.pool) n += c.states.byteLength + c.ids.byteLength;
    return n;
  }
}

/** Chunks handed back and reused, at most this many. */
const POOL = 2;

interface Chunk {
  readonly states: Uint8Array;
  /** The same memory as words, for copying states a word at a time. */
  readonly words: Int32Array;
  readonly ids: Uint32Array;
}

/** A word view of a state vector, cached for the last few vectors seen (the walker reuses its buffers). */
class WordViews {
  private a: Uint8Array | null = null;
  private aw: Int32Array | null = null;
  private b: Uint8Array | null = null;
  private bw: Int32Array | null = null;
  of(v: Uint8Array): Int32Array | null {
    if (v === this.a) return this.aw;
    if (v === this.b) return this.bw;
    const w = (v.byteOffset & 3) === 0 && (v.length & 3) === 0 ? new Int32Array(v.buffer, v.byteOffset, v.length >>> 2) : null;
    this.b = this.a;
    this.bw = this.aw;
    this.a = v;
    this.aw = w;
    return w;
  }
}

/** A FIFO of (id, state) records in 1 MiB chunks, freed as they are read. */
class ByteFifo {
  private readonly chunks: Chunk[] = [];
  private readonly perChunk: number;
  private readonly words: number;
  private head = 0;
  private tail = 0;
  /** Position in the first chunk (head) and in the last (tail). */
  private headAt = 0;
  private tailAt = 0;
  constructor(private readonly stateSize: number, private readonly pool: Chunk[]) {
    this.perChunk = Math.max(1, Math.floor((1 << 20) / stateSize));
    this.words = (stateSize & 3) === 0 ? stateSize >>> 2 : -1;
  }
  private newChunk(): Chunk {
    const reused = this.pool.pop();
    if (reused) return reused;
    const states = new Uint8Array(this.perChunk * this.stateSize);
    const words = new Int32Array(states.buffer, 0, this.words >= 0 ? states.length >>> 2 : 0);
    return { states, words, ids: new Uint32Array(this.perChunk) };
  }
  /** `src`: the state as words, when it can be read so. */
  push(id: number, state: Uint8Array, src: Int32Array | null): void {
    if (this.tailAt === this.perChunk || this.chunks.length === 0) {
      this.chunks.push(this.newChunk());
      this.tailAt = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1];
    const at = this.tailAt;
    const W = this.words;
    if (src !== null && W >= 0) {
      const dst = chunk.words;
      for (let i = 0, j = at * W; i < W; i++, j++) dst[j] = src[i];
    } else {
      chunk.states.set(state, at * this.stateSize);
    }
    chunk.ids[at] = id;
    this.tailAt++;
    this.tail++;
  }
  /** `dst`: `into` as words, when it can be written so. */
  pop(into: Uint8Array, dst: Int32Array | null): number {
    if (this.head === this.tail) return -1;
    const chunk = this.chunks[0];
    const at = this.headAt;
    // A plain copy: a subarray view per pop costs an allocation in the hot loop.
    const W = this.words;
    if (dst !== null && W >= 0) {
      const src = chunk.words;
      for (let i = 0, j = at * W; i < W; i++, j++) dst[i] = src[j];
    } else {
      const S = this.stateSize;
      const bytes = chunk.states;
      for (let i = 0, j = at * S; i < S; i++, j++) into[i] = bytes[j];
    }
    const id = chunk.ids[at];
    this.head++;
    if (++this.headAt === this.perChunk) {
      this.chunks.shift();
      if (this.pool.length < POOL) this.pool.push(chunk);
      this.headAt = 0;
      if (this.chunks.length === 0) this.tailAt = 0;
    }
    return id;
  }
  /** Hand the chunks back (the FIFO is empty and dropped). */
  release(): void {
    for (const c of this.chunks) if (this.pool.length < POOL) this.pool.push(c);
    this.chunks.length = 0;
  }
  get length(): number {
    return this.tail - this.head;
  }
  get bytes(): number {
    return this.chunks.length * this.perChunk * (this.stateSize + 4);
  }
}
