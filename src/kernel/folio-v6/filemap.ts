/**
 * The page cache of kernel v6.8 on the folio world: adding a folio
 * (__filemap_add_folio), removing it (filemap_remove_folio, filemap_free_folio),
 * moving it to a new folio (folio_migrate_mapping), and the inode's end
 * (clear_inode, destroy_inode). mm/filemap.c, mm/migrate.c and fs/inode.c, v6.8.
 *
 * Every function runs inside one step of its caller. Each one changes `i_pages` and
 * folio->mapping under the xa_lock with the folio locked (every writer of both holds
 * the folio lock), so the lock-free readers only ever see a slot and a mapping
 * before or after the whole change.
 */
import { BUG_ON, KernelBug, VM_BUG_ON_PAGE } from '../bug.ts';
import {
  type FolioWorld, F_MAPPING, F_REF, I_SLOTS, I_STATE, INODE_FREED, INODE_LIVE, NO_FOLIO, NO_MAPPING, PG_active,
  PG_locked, PG_unevictable, folio_test, folio_clear_flag, folio_put, touchMapping,
} from './folio.ts';
import { set_bit } from '../bitops.ts';
import { F_FLAGS } from './folio.ts';

/**
 * __filemap_add_folio(mapping, folio, index) (mm/filemap.c, v6.8) for a folio just
 * allocated by filemap_alloc_folio() (one reference) and locked with
 * __folio_set_locked() (FGP_LOCK): folio_ref_add(nr) for the page cache, folio->mapping,
 * and the slot, under the xa_lock. The allocation and the insertion are one step:
 * until the slot is stored the folio is the caller's alone, except for a scanner's
 * speculative reference, which finds a locked folio with no mapping and lets go.
 */
export function filemap_add_folio(m: Uint8Array, W: FolioWorld, i: number, index: number, pfn: number, where = '__filemap_add_folio'): void {
  const f = W.folio(pfn);
  VM_BUG_ON_PAGE(m[f + F_REF] !== 0, 'folio_ref_count(folio) != 0 (not a free folio)', where, pfn);
  BUG_ON(m[W.inode(i) + I_STATE] !== INODE_LIVE, 'inode is not live', where, pfn);
  m[f + F_REF] = 2; // the caller's reference and the page cache's
  set_bit(m, f + F_FLAGS, PG_locked);
  m[f + F_MAPPING] = i + 1;
  m[W.inode(i) + I_SLOTS + index] = pfn + 1;
}

/**
 * filemap_remove_folio(folio) and filemap_free_folio() (mm/filemap.c, v6.8), as
 * truncate_inode_folio() calls them with the folio locked: page_cache_delete()
 * clears the slot and folio->mapping under the xa_lock, then folio_put_refs() drops
 * the page cache's reference. One step: see the README (the reference is dropped
 * after the xa_unlock in the kernel; no decision of the model's actors reads a
 * folio's refcount while it is locked and out of the page cache except the
 * scanner's "!mapping && folio_ref_count(folio) - 1 > folio_mapcount(folio)" skip,
 * which only gives up early).
 */
export function filemap_remove_folio(m: Uint8Array, W: FolioWorld, i: number, index: number, pfn: number, where = 'filemap_remove_folio'): void {
  const f = W.folio(pfn);
  VM_BUG_ON_PAGE(!folio_test(m, W, pfn, PG_locked), '!folio_test_locked(folio)', where, pfn);
  if (m[W.inode(i) + I_SLOTS + index] !== pfn + 1) throw new KernelBug('page_cache_delete(): the slot does not hold the folio', where, pfn);
  m[W.inode(i) + I_SLOTS + index] = NO_FOLIO;
  m[f + F_MAPPING] = NO_MAPPING;
  folio_put(m, W, pfn, 'filemap_free_folio');
}

/** Return codes of migration, kept in a local byte: 0 is MIGRATEPAGE_SUCCESS. */
export const MIGRATEPAGE_SUCCESS = 0;
export const EAGAIN = 11;
export const EOPNOTSUPP = 95;

/**
 * folio_migrate_mapping(mapping, newfolio, folio, 0) with folio_migrate_flags() and the
 * end of move_to_new_folio() (mm/migrate.c, v6.8) for a clean folio without private
 * data, both folios locked by the caller. `mapping` is an inode id + 1, or NO_MAPPING
 * for a folio truncation took out of the page cache: then only the isolation's
 * reference may be left ("if (folio_ref_count(folio) != expected_count) return
 * -EAGAIN"). Otherwise, under the xa_lock, folio_ref_freeze(folio, expected) with
 * expected = 1 (the isolation's) + 1 (the page cache's), else -EAGAIN; the new folio
 * takes the mapping and the page cache's reference and the slot points at it. Then
 * folio_migrate_flags() moves PG_unevictable and PG_active, and "src->mapping must be
 * cleared before src is freed".
 */
export function folio_migrate_mapping(m: Uint8Array, W: FolioWorld, mapping: number, dst: number, src: number, where = 'folio_migrate_mapping'): number {
  const s = W.folio(src);
  const d = W.folio(dst);
  VM_BUG_ON_PAGE(!folio_test(m, W, src, PG_locked), '!folio_test_locked(src)', where, src);
  VM_BUG_ON_PAGE(!folio_test(m, W, dst, PG_locked), '!folio_test_locked(dst)', where, dst);
  if (mapping === NO_MAPPING) {
    if (m[s + F_REF] !== 1) return EAGAIN;
  } else {
    // a_ops->migrate_folio and xa_lock(&mapping->i_pages): through the mapping pointer.
    touchMapping(m, W, mapping, where);
    if (m[s + F_REF] !== 2) return EAGAIN;
    const i = mapping - 1;
    let index = -1;
    for (let k = 0; k < W.slotsPerInode; k++) if (m[W.inode(i) + I_SLOTS + k] === src + 1) index = k;
    if (index < 0) throw new KernelBug('folio_migrate_mapping(): the folio is not in its mapping', where, src);
    m[W.inode(i) + I_SLOTS + index] = dst + 1;
    m[d + F_MAPPING] = mapping;
    m[d + F_REF]++;
    m[s + F_REF]--;
  }
  for (const bit of [PG_unevictable, PG_active]) {
    if (folio_test(m, W, src, bit)) {
      folio_clear_flag(m, W, src, bit);
      set_bit(m, d + F_FLAGS, bit);
    }
  }
  m[s + F_MAPPING] = NO_MAPPING;
  return MIGRATEPAGE_SUCCESS;
}

/**
 * evict() after truncate_inode_pages_final() (fs/inode.c, v6.8): clear_inode()'s
 * "BUG_ON(inode->i_data.nrpages)", then destroy_inode() hands the inode to the slab
 * (through RCU: i_callback() frees it after a grace period; see the README). From
 * here on KASAN reports every read of it.
 */
export function destroy_inode(m: Uint8Array, W: FolioWorld, i: number, where = 'evict'): void {
  let nrpages = 0;
  for (let k = 0; k < W.slotsPerInode; k++) if (m[W.inode(i) + I_SLOTS + k] !== NO_FOLIO) nrpages++;
  BUG_ON(nrpages !== 0, 'inode->i_data.nrpages', 'clear_inode');
  m[W.inode(i) + I_STATE] = INODE_FREED;
}
