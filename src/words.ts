/**
 * 32-bit word views of the few state buffers a search reuses, looked up by identity,
 * so that copying, comparing and scanning states can go a word at a time without
 * building a view per call. Shared by the walker (src/explore/check.ts,
 * symmetry.ts) and the page-lifecycle monitor (properties/lifecycle.ts); it knows
 * nothing of either.
 */
export class WordViews {
  private readonly bytes: Uint8Array[] = [];
  private readonly words: (Int32Array | null)[] = [];

  /** v's words, or null when v is not word-aligned in offset and length. */
  of(v: Uint8Array): Int32Array | null {
    const { bytes, words } = this;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === v) return words[i];
    const w = (v.byteOffset & 3) === 0 && (v.length & 3) === 0 ? new Int32Array(v.buffer, v.byteOffset, v.length >>> 2) : null;
    // A search keeps a handful of buffers alive at once: four is enough to hit.
    if (bytes.length === 4) { bytes.shift(); words.shift(); }
    bytes.push(v);
    words.push(w);
    return w;
  }

  /** dst = src (same length), a word at a time where both allow it (TypedArray.set costs more than the copy at a state's size). */
  copy(src: Uint8Array, dst: Uint8Array): void {
    const s = this.of(src);
    const d = this.of(dst);
    if (s === null || d === null || s.length !== d.length) { dst.set(src); return; }
    for (let i = 0; i < s.length; i++) d[i] = s[i];
  }
}
