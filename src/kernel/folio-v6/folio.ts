/**
 * struct folio, struct address_space (in its inode) and the lruvec of kernel v6.8, for
 * the systems that model the folio-era LRU path (seed 004, AS_UNMOVABLE). Its own
 * layout, independent of the v4.8 struct page in ../page.ts.
 *
 * The world holds, at offsets a FolioWorld names:
 * - folios, FOLIO_BYTES each: `flags` (one model word, bitops.ts), `_refcount`,
 *   `mapping` (an inode id + 1; 0 is NULL) and `lru` (a list_head, list.ts);
 * - inodes, each embedding its address_space (`i_data`): the slab object's state
 *   (never allocated, live, or freed: KASAN's shadow), `mapping->flags` (AS_*, one
 *   model word), which `a_ops` it has, and the page cache `i_pages` as one slot per
 *   index (a folio pfn + 1, or 0 for an empty slot);
 * - the lruvec's list heads (one node, one memcg: one lruvec);
 * - a ghost byte where KASAN reports a read of a freed inode.
 *
 * A read through a pointer to a freed inode is what KASAN reports as a
 * slab-use-after-free: the accessors below record it in the ghost byte (KASAN
 * reports and lets the kernel run on, reading the freed bytes) and a property
 * turns the report into a violation. Variants never write this check.
 *
 * lruvec->lru_lock has no byte: every critical section under it is one step of
 * the model (lruvec_add_folio/lruvec_del_folio with the list and PG_lru updates
 * the kernel makes under it), so no step can find it held. Where the kernel holds
 * it longer (compaction keeps it across pfns) the model releases it earlier, which
 * only adds interleavings.
 */
import { KernelBug, VM_BUG_ON_PAGE } from '../bug.ts';
import { clear_bit, clear_bit_unlock, loadWord, set_bit, storeWord, test_and_clear_bit, test_and_set_bit_lock, test_bit } from '../bitops.ts';
import { type ListSpace, LIST_POISON1, LIST_POISON2, list_add, list_del, headOf } from '../list.ts';

// --- struct folio ------------------------------------------------------------------
/** Byte offsets in a folio. */
export const F_FLAGS = 0; // 2 bytes: one model word
export const F_REF = 2;
export const F_MAPPING = 3;
export const F_LRU = 4; // next, prev
export const FOLIO_BYTES = 6;

/** enum pageflags (include/linux/page-flags.h, v6.8), as masks of the flags word. */
export const PG_locked = 1 << 0;
export const PG_writeback = 1 << 1;
export const PG_dirty = 1 << 4;
export const PG_lru = 1 << 5;
export const PG_waiters = 1 << 7;
export const PG_active = 1 << 8;
export const PG_unevictable = 1 << 13;
const FLAG_NAMES: [number, string][] = [
  [PG_locked, 'locked'], [PG_writeback, 'writeback'], [PG_dirty, 'dirty'], [PG_lru, 'lru'], [PG_waiters, 'waiters'],
  [PG_active, 'active'], [PG_unevictable, 'unevictable'],
];
/** PAGE_FLAGS_CHECK_AT_FREE (the bits of it the model has). */
const FLAGS_CHECK_AT_FREE = PG_locked | PG_lru | PG_writeback | PG_active | PG_unevictable;

/** NULL folio->mapping; an inode id i is stored as i + 1. */
export const NO_MAPPING = 0;
/** An empty page cache slot / no folio in a local; a pfn p is stored as p + 1. */
export const NO_FOLIO = 0;

// --- struct address_space (in struct inode) ----------------------------------------
export const I_STATE = 0;
export const I_FLAGS = 1; // 2 bytes: one model word
export const I_AOPS = 3;
export const I_SLOTS = 4;
/** The inode's slab object: never allocated, live, or freed (KASAN: poisoned). */
export const INODE_NONE = 0;
export const INODE_LIVE = 1;
export const INODE_FREED = 2;
/** a_ops kinds: no ->migrate_folio (fallback_migrate_folio) or filemap_migrate_folio. */
export const AOPS_NO_MIGRATE_FOLIO = 0;
export const AOPS_FILEMAP_MIGRATE_FOLIO = 1;

/**
 * enum mapping_flags (include/linux/pagemap.h, v6.8). The seed numbered AS_UNMOVABLE 8;
 * it was merged for v6.8 next to AS_STABLE_WRITES, which took 8. Only the masks
 * matter to the model.
 */
export const AS_UNEVICTABLE = 1 << 3;
export const AS_EXITING = 1 << 4;
export const AS_UNMOVABLE = 1 << 9;

/** LRU list heads of the lruvec (enum lru_list: the ones the model's folios use). */
export const LRU_INACTIVE_FILE = 0;
export const LRU_UNEVICTABLE = 1;

/** Where everything is. Built by a model from its scope. */
export interface FolioWorld {
  readonly nfolios: number;
  readonly ninodes: number;
  readonly slotsPerInode: number;
  /** Byte offset of folio pfn's struct. */
  folio(pfn: number): number;
  /** Byte offset of inode i's struct. */
  inode(i: number): number;
  /** list_head node ids: folio pfn's lru, the lruvec's lists, CPU c's cc->migratepages. */
  readonly S: ListSpace;
  lruNode(pfn: number): number;
  /** The folio whose lru is list node `node`. */
  pfnOfNode(node: number): number;
  lruHead(lru: number): number;
  migrateHead(cpu: number): number;
  /** Ghost byte: 0, or 1 + the inode KASAN saw read after it was freed. */
  readonly kasan: number;
  /**
   * The scanned pageblock's PB_migrate_skip bit (one byte: the scanners walk one
   * pageblock), which test_and_set_skip() and the end of the scan set.
   */
  readonly pageblockSkip: number;
}

export const flagsOf = (m: Uint8Array, W: FolioWorld, pfn: number): number => loadWord(m, W.folio(pfn) + F_FLAGS);
export const folio_test = (m: Uint8Array, W: FolioWorld, pfn: number, bit: number): boolean => test_bit(m, W.folio(pfn) + F_FLAGS, bit);
export const folio_ref_count = (m: Uint8Array, W: FolioWorld, pfn: number): number => m[W.folio(pfn) + F_REF];
/** folio->mapping as stored: an inode id + 1, or NO_MAPPING. */
export const folioMappingWord = (m: Uint8Array, W: FolioWorld, pfn: number): number => m[W.folio(pfn) + F_MAPPING];
/** The pfn in page cache slot `index` of inode i, or -1. */
export const pageCacheSlot = (m: Uint8Array, W: FolioWorld, i: number, index: number): number => m[W.inode(i) + I_SLOTS + index] - 1;

export function describeFolioFlags(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
}

// --- KASAN: reads through an inode pointer ---------------------------------------
/**
 * Read `mapping->flags` through a pointer (an inode id + 1). A freed inode's bytes
 * are still there (the slab keeps them until reuse) but KASAN has poisoned them: it
 * reports "BUG: KASAN: slab-use-after-free in `where`" and the kernel reads on.
 * NULL is a NULL pointer dereference.
 */
export function readMappingFlags(m: Uint8Array, W: FolioWorld, mapping: number, where: string): number {
  return loadWord(m, touchMapping(m, W, mapping, where) + I_FLAGS);
}

/**
 * Any other access through a mapping pointer (xa_lock(&mapping->i_pages), a slot,
 * mapping->a_ops): KASAN reports it as readMappingFlags() does.
 */
export function touchMapping(m: Uint8Array, W: FolioWorld, mapping: number, where: string): number {
  if (mapping === NO_MAPPING) throw new KernelBug('BUG: kernel NULL pointer dereference', where, -1);
  const at = W.inode(mapping - 1);
  if (m[at + I_STATE] !== INODE_LIVE && m[W.kasan] === 0) m[W.kasan] = mapping;
  return at;
}

/** mapping_unmovable(mapping): test_bit(AS_UNMOVABLE, &mapping->flags) (include/linux/pagemap.h, v6.8). */
export const mapping_unmovable = (m: Uint8Array, W: FolioWorld, mapping: number, where = 'mapping_unmovable'): boolean =>
  (readMappingFlags(m, W, mapping, where) & AS_UNMOVABLE) !== 0;

/** mapping_unevictable(mapping): `mapping && test_bit(AS_UNEVICTABLE, &mapping->flags)` (v6.8). */
export const mapping_unevictable = (m: Uint8Array, W: FolioWorld, mapping: number, where = 'mapping_unevictable'): boolean =>
  mapping !== NO_MAPPING && (readMappingFlags(m, W, mapping, where) & AS_UNEVICTABLE) !== 0;

/**
 * mapping_set_unmovable(mapping) as the seed writes it (include/linux/pagemap.h,
 * v6.8): "It's expected unmovable mappings are also unevictable. Compaction migrate
 * scanner (isolate_migratepages_block()) relies on this to reduce page locking."
 * Two atomic set_bit()s on a mapping its owner has not published yet.
 */
export function mapping_set_unmovable(m: Uint8Array, W: FolioWorld, i: number): void {
  set_bit(m, W.inode(i) + I_FLAGS, AS_UNEVICTABLE);
  set_bit(m, W.inode(i) + I_FLAGS, AS_UNMOVABLE);
}

// --- references --------------------------------------------------------------------
/** folio_try_get() / get_page_unless_zero(): atomic_add_unless(&folio->_refcount, 1, 0). */
export function folio_try_get(m: Uint8Array, W: FolioWorld, pfn: number): boolean {
  const at = W.folio(pfn) + F_REF;
  if (m[at] === 0) return false;
  m[at]++;
  return true;
}

/**
 * folio_put(folio) (include/linux/mm.h, v6.8): folio_put_testzero() then __folio_put():
 * __page_cache_release() takes the folio off its LRU list under lru_lock if PG_lru is
 * set, and free_unref_page() checks PAGE_FLAGS_CHECK_AT_FREE and a NULL mapping
 * (bad_page()). One step: the decrement is the atomic operation, and everything
 * after it touches a folio nobody else holds a reference to, or the LRU under
 * lru_lock. Returns true when the folio was freed.
 */
export function folio_put(m: Uint8Array, W: FolioWorld, pfn: number, where = 'folio_put'): boolean {
  const f = W.folio(pfn);
  VM_BUG_ON_PAGE(m[f + F_REF] === 0, 'folio_ref_count(folio) == 0', where, pfn);
  if (--m[f + F_REF] !== 0) return false;
  if (test_and_clear_bit(m, f + F_FLAGS, PG_lru)) {
    // __page_cache_release(): lruvec_del_folio() and __folio_clear_lru_flags().
    lruvec_del_folio(m, W, pfn, where);
    clear_bit(m, f + F_FLAGS, PG_active | PG_unevictable);
  }
  const flags = loadWord(m, f + F_FLAGS);
  if (flags & FLAGS_CHECK_AT_FREE) {
    throw new KernelBug(`bad_page(): PAGE_FLAGS_CHECK_AT_FREE flag(s) set (${describeFolioFlags(flags & FLAGS_CHECK_AT_FREE).join('|')})`, where, pfn);
  }
  if (m[f + F_MAPPING] !== NO_MAPPING) throw new KernelBug('bad_page(): non-NULL mapping', where, pfn);
  storeWord(m, f + F_FLAGS, 0);
  return true;
}

// --- the folio lock ------------------------------------------------------------------
/** folio_trylock(): !test_and_set_bit_lock(PG_locked, folio_flags(folio, 0)). */
export const folio_trylock = (m: Uint8Array, W: FolioWorld, pfn: number): boolean =>
  !test_and_set_bit_lock(m, W.folio(pfn) + F_FLAGS, PG_locked);

/** A sleeping folio_lock() can go on: the lock is free (the model's wait is a guard). */
export const folioUnlocked = (m: Uint8Array, W: FolioWorld, pfn: number): boolean => !folio_test(m, W, pfn, PG_locked);

/**
 * folio_unlock() (mm/filemap.c, v6.8): clear_bit_unlock_is_negative_byte(PG_locked)
 * and wake the waiters if PG_waiters was set. The model's sleepers wait on a guard,
 * so PG_waiters is never set and the wake-up is implicit.
 */
export function folio_unlock(m: Uint8Array, W: FolioWorld, pfn: number, where = 'folio_unlock'): void {
  VM_BUG_ON_PAGE(!folio_test(m, W, pfn, PG_locked), '!folio_test_locked(folio)', where, pfn);
  clear_bit_unlock(m, W.folio(pfn) + F_FLAGS, PG_locked);
}

/** folio_test_clear_lru(): test_and_clear_bit(PG_lru). */
export const folio_test_clear_lru = (m: Uint8Array, W: FolioWorld, pfn: number): boolean =>
  test_and_clear_bit(m, W.folio(pfn) + F_FLAGS, PG_lru);

export const folio_clear_flag = (m: Uint8Array, W: FolioWorld, pfn: number, bit: number): void => clear_bit(m, W.folio(pfn) + F_FLAGS, bit);

// --- the LRU -------------------------------------------------------------------------
/** The LRU list a folio on the LRU is on: folio_lru_list() (include/linux/mm_inline.h). */
const folioLru = (m: Uint8Array, W: FolioWorld, pfn: number): number =>
  folio_test(m, W, pfn, PG_unevictable) ? LRU_UNEVICTABLE : LRU_INACTIVE_FILE;

/** lruvec_del_folio(lruvec, folio): list_del(&folio->lru), under lru_lock. */
export function lruvec_del_folio(m: Uint8Array, W: FolioWorld, pfn: number, where = 'lruvec_del_folio'): void {
  list_del(m, W.S, W.lruNode(pfn), where);
}

/**
 * folio_evictable(folio) (mm/internal.h, v6.8): `!mapping_unevictable(folio_mapping(folio))
 * && !folio_test_mlocked(folio)` under rcu_read_lock(), which keeps the inode from
 * being freed (inodes are freed by RCU): the pointer load and the flags read are in
 * one step, so a free can only come before the load (which then reads NULL, the
 * folio having left the page cache) or after the read.
 */
const folio_evictable = (m: Uint8Array, W: FolioWorld, pfn: number): boolean =>
  !mapping_unevictable(m, W, folioMappingWord(m, W, pfn), 'folio_evictable');

/**
 * folio_add_lru(folio) and the lru_add_drain() that empties the per-CPU batch, with
 * lru_add_fn() (mm/swap.c, v6.8) under lru_lock: clear PG_unevictable, test
 * folio_evictable(), set PG_unevictable (and clear PG_active) if not, add to the
 * lruvec's list, folio_set_lru(). The batch's reference is taken and dropped in the
 * same step (see the README's abstractions: the batch is drained at once).
 */
export function folio_add_lru(m: Uint8Array, W: FolioWorld, pfn: number, where = 'folio_add_lru'): void {
  const f = W.folio(pfn) + F_FLAGS;
  VM_BUG_ON_PAGE(test_bit(m, f, PG_lru), 'folio_test_lru(folio)', where, pfn);
  test_and_clear_bit(m, f, PG_unevictable);
  if (!folio_evictable(m, W, pfn)) {
    clear_bit(m, f, PG_active);
    set_bit(m, f, PG_unevictable);
  }
  list_add(m, W.S, W.lruNode(pfn), W.lruHead(folioLru(m, W, pfn)), where);
  set_bit(m, f, PG_lru);
}

/** Which list the folio's lru links it into: a head's node id, or 0 (poisoned, unlinked). */
export const folioListHead = (m: Uint8Array, W: FolioWorld, pfn: number): number => headOf(m, W.S, W.lruNode(pfn));

/** Poison a folio's lru as list_del() leaves it (a folio that was never on a list). */
export function poisonLru(m: Uint8Array, W: FolioWorld, pfn: number): void {
  m[W.folio(pfn) + F_LRU] = LIST_POISON1;
  m[W.folio(pfn) + F_LRU + 1] = LIST_POISON2;
}
