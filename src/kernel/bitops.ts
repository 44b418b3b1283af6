/**
 * A word is a word: the kernel's bit operations on one machine word of the packed
 * world (include/asm-generic/bitops/atomic.h, non-atomic.h, lock.h).
 *
 * A model word is WORD_BYTES bytes, little-endian, at a world offset. Which bits a
 * struct's fields use is the struct's business (page->flags, a bitfield word); this
 * module only says how a word is changed:
 * - atomic bitops (`set_bit`, `clear_bit`, `test_and_set_bit`, `test_and_clear_bit`,
 *   `clear_bit_unlock`) are one read-modify-write that no other CPU can split: one
 *   call inside one atomic step;
 * - non-atomic ones (`__set_bit`, `__clear_bit`, a C bitfield store that rewrites the
 *   whole word) are a load and a store. A step program must put `loadWord()` and
 *   `storeWord()` in two steps (the loaded value kept in the actor's locals) wherever
 *   another CPU can write the same word in between, so that its update is lost as it
 *   is in the kernel. `nonAtomicSet`/`nonAtomicClear` give the stored value.
 */

/** Bytes per model word: 16 bits are enough for every flag word the models use. */
export const WORD_BYTES = 2;

/** READ_ONCE(*word). */
export const loadWord = (m: Uint8Array, at: number): number => m[at] | (m[at + 1] << 8);

/** WRITE_ONCE(*word, v). */
export function storeWord(m: Uint8Array, at: number, v: number): void {
  m[at] = v & 0xff;
  m[at + 1] = (v >> 8) & 0xff;
}

/** test_bit(nr, addr). `bit` is a mask (1 << nr), as the models' flag constants are. */
export const test_bit = (m: Uint8Array, at: number, bit: number): boolean => (loadWord(m, at) & bit) !== 0;

/** set_bit(nr, addr): atomic. */
export function set_bit(m: Uint8Array, at: number, bit: number): void {
  storeWord(m, at, loadWord(m, at) | bit);
}

/** clear_bit(nr, addr): atomic. clear_bit_unlock() is the same word operation with release order. */
export function clear_bit(m: Uint8Array, at: number, bit: number): void {
  storeWord(m, at, loadWord(m, at) & ~bit);
}
export const clear_bit_unlock = clear_bit;

/** test_and_set_bit(nr, addr): atomic; returns the old bit. test_and_set_bit_lock() likewise. */
export function test_and_set_bit(m: Uint8Array, at: number, bit: number): boolean {
  const old = loadWord(m, at);
  storeWord(m, at, old | bit);
  return (old & bit) !== 0;
}
export const test_and_set_bit_lock = test_and_set_bit;

/** test_and_clear_bit(nr, addr): atomic; returns the old bit. */
export function test_and_clear_bit(m: Uint8Array, at: number, bit: number): boolean {
  const old = loadWord(m, at);
  storeWord(m, at, old & ~bit);
  return (old & bit) !== 0;
}

/** The value a non-atomic __set_bit() stores, from the word it loaded earlier. */
export const nonAtomicSet = (loaded: number, bit: number): number => loaded | bit;
/** The value a non-atomic __clear_bit() stores, from the word it loaded earlier. */
export const nonAtomicClear = (loaded: number, bit: number): number => loaded & ~bit;

/**
 * A C bitfield of `width` bits at bit `shift` of a word: the value a store of `value`
 * writes back, given the whole word as loaded (the compiler's load-modify-store).
 */
export const bitfieldStore = (loaded: number, shift: number, width: number, value: number): number => {
  const mask = ((1 << width) - 1) << shift;
  return (loaded & ~mask) | ((value << shift) & mask);
};
/** Read a bitfield out of a word. */
export const bitfieldLoad = (word: number, shift: number, width: number): number => (word >> shift) & ((1 << width) - 1);
