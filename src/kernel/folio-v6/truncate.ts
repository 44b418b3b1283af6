/**
 * The end of an inode's life (kernel v6.8): the last iput() evicts it, evict() calls
 * truncate_inode_pages_final(&inode->i_data) (mm/truncate.c), which empties the
 * page cache folio by folio, and then clear_inode() and destroy_inode() (fs/inode.c)
 * free it.
 *
 * truncate_inode_pages_range() looks each folio up without locks (find_lock_entries()
 * / find_get_entries(): xas_load() and folio_try_get() under RCU), sleeps in
 * folio_lock(), skips a folio that left the mapping meanwhile ("if (folio->mapping
 * != mapping)": migration moved it), removes it with truncate_inode_folio(),
 * unlocks it and drops its reference, and looks again until the range is empty. The
 * model walks index by index and looks at an index again until its slot is empty:
 * the same folios in the same order for the model's one-folio-per-index files.
 */
import { type ProgramBuilder, br } from '../program.ts';
import {
  type FolioWorld, F_MAPPING, NO_FOLIO, folio_put, folio_trylock, folio_try_get, folio_unlock, folioUnlocked, pageCacheSlot,
} from './folio.ts';
import { I_SLOTS } from './folio.ts';
import { destroy_inode, filemap_remove_folio } from './filemap.ts';

/** Step labels of the truncation of index k, under the caller's prefix. */
export const TRUNC = {
  find: (p: string, k: number) => `${p}/find${k}`,
  lock: (p: string, k: number) => `${p}/lock${k}`,
  remove: (p: string, k: number) => `${p}/remove${k}`,
  unlock: (p: string, k: number) => `${p}/unlock${k}`,
  put: (p: string, k: number) => `${p}/put${k}`,
  destroy: (p: string) => `${p}/destroy`,
} as const;

/**
 * truncate_inode_pages_final(&inode->i_data) and the inode's destruction for inode
 * `inode`, at label prefix `p`, then `next`. `folio` is the local slot holding the
 * folio being truncated.
 */
export function truncateInodeFinal(b: ProgramBuilder, W: FolioWorld, p: string, inode: number, next: string): void {
  const folio = b.local('folio');
  const P = { inode };
  const f = (m: Uint8Array, at: number) => m[at + folio];
  // One function per name: the loop below passes the index as a param.
  const emptyFn = (m: Uint8Array, _at: number, Q: Record<string, number>) => m[W.inode(Q.inode) + I_SLOTS + Q.index] === NO_FOLIO;
  const findFn = (m: Uint8Array, at: number, Q: Record<string, number>) => {
    const pfn = pageCacheSlot(m, W, Q.inode, Q.index);
    if (!folio_try_get(m, W, pfn)) throw new Error('a page cache folio without a reference');
    m[at + folio] = pfn;
  };
  const lockFn = (m: Uint8Array, at: number) => { folio_trylock(m, W, f(m, at)); };
  const canLockFn = (m: Uint8Array, at: number) => folioUnlocked(m, W, f(m, at));
  const stillOursFn = (m: Uint8Array, at: number, Q: Record<string, number>) => m[W.folio(f(m, at)) + F_MAPPING] === Q.inode + 1;
  const removeFn = (m: Uint8Array, at: number, Q: Record<string, number>) => filemap_remove_folio(m, W, Q.inode, Q.index, f(m, at), 'truncate_inode_folio');
  const unlockFn = (m: Uint8Array, at: number) => folio_unlock(m, W, f(m, at), 'truncate_inode_pages_range');
  const putFn = (m: Uint8Array, at: number) => { folio_put(m, W, f(m, at), 'truncate_inode_pages_range'); };
  for (let k = 0; k < W.slotsPerInode; k++) {
    const after = k + 1 < W.slotsPerInode ? TRUNC.find(p, k + 1) : TRUNC.destroy(p);
    const Pk = { ...P, index: k };
    // xas_load() and folio_try_get() with the xas_reload() recheck: one lookup under RCU.
    b.steps(TRUNC.find(p, k), 'truncate_inode_pages_range', 'folio = find_get_entry(&xas): xas_load(); folio_try_get(folio)', [
      br(after, [], b.g('!xas_load(&xas)', emptyFn, Pk)),
      br(TRUNC.lock(p, k), [b.a('folio = xas_load(&xas); folio_try_get(folio)', findFn, Pk)]),
    ]);
    // folio_lock(): sleeps until the lock is free, then one atomic test_and_set_bit_lock().
    b.steps(TRUNC.lock(p, k), 'truncate_inode_pages_range', 'folio_lock(folio)', [
      br(TRUNC.remove(p, k), [b.a('folio_lock(folio)', lockFn)], b.g('folio_lock(folio) can take the lock', canLockFn)),
    ]);
    // Under the folio lock and the xa_lock: truncate_inode_folio() ->
    // filemap_remove_folio() and filemap_free_folio(), unless migration moved the folio
    // out of the mapping while we slept.
    b.steps(TRUNC.remove(p, k), 'truncate_inode_folio', 'if (folio->mapping != mapping) skip; filemap_remove_folio(folio); filemap_free_folio(mapping, folio)', [
      br(TRUNC.unlock(p, k), [b.a('truncate_inode_folio(mapping, folio)', removeFn, Pk)], b.g('folio->mapping == mapping', stillOursFn, P)),
      br(TRUNC.unlock(p, k)),
    ]);
    b.steps(TRUNC.unlock(p, k), 'truncate_inode_pages_range', 'folio_unlock(folio)', [
      br(TRUNC.put(p, k), [b.a('folio_unlock(folio)', unlockFn)]),
    ]);
    // folio_batch_release(): folio_put(), one atomic decrement; then look again.
    b.steps(TRUNC.put(p, k), 'truncate_inode_pages_range', 'folio_put(folio) (folio_batch_release)', [
      br(TRUNC.find(p, k), [b.a('folio_put(folio)', putFn)]),
    ]);
  }
  b.steps(TRUNC.destroy(p), 'evict', 'clear_inode(inode): BUG_ON(inode->i_data.nrpages); destroy_inode(inode)', [
    br(next, [b.a('destroy_inode(inode)', (m, _at, Q) => destroy_inode(m, W, Q.inode), P)]),
  ]);
}
