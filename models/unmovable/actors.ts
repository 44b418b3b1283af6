/**
 * The actors of the unmovable system as step programs:
 * - a compaction CPU (kcompactd: isolate_migratepages_block()'s LRU path, then
 *   migrate_pages()), src/kernel/folio-v6/compaction.ts;
 * - the guest_memfd-like owner (virt/kvm/guest_memfd.c, v6.8): __kvm_gmem_create()
 *   marks its mapping unmovable before any folio exists, kvm_gmem_get_folio() brings
 *   in its folios, and the last fput() of its file evicts the inode;
 * - a truncating task: the ordinary file's last reference goes (unlink and close),
 *   and evict() truncates it and frees the inode.
 */
import { WARN_ON } from '../../src/kernel/bug.ts';
import { storeWord } from '../../src/kernel/bitops.ts';
import { type ActionFn, ProgramBuilder, br } from '../../src/kernel/program.ts';
import { compactSlots, isolateMigratepagesBlock, migratePages } from '../../src/kernel/folio-v6/compaction.ts';
import { filemap_add_folio } from '../../src/kernel/folio-v6/filemap.ts';
import {
  AOPS_NO_MIGRATE_FOLIO, INODE_LIVE, I_AOPS, I_FLAGS, I_STATE, folio_add_lru, folio_put, folio_unlock, mapping_set_unmovable,
  mapping_unevictable,
} from '../../src/kernel/folio-v6/folio.ts';
import { truncateInodeFinal } from '../../src/kernel/folio-v6/truncate.ts';
import { FILE_INODE, GMEM_INODE, type UnmovableLayout } from './layout.ts';

export function cpuProgram(lay: UnmovableLayout, cpu: number): ProgramBuilder {
  const b = new ProgramBuilder('cpu');
  const ctx = { W: lay, cpu, end: lay.scanned, target: (k: number) => lay.target(cpu, k), slot: compactSlots(b) };
  isolateMigratepagesBlock(b, ctx, 'migrate/next');
  migratePages(b, ctx, 'done');
  b.final('done');
  return b;
}

/** The action name of mapping_set_unmovable() in the owner's program, for variants. */
export const SET_UNMOVABLE = 'mapping_set_unmovable(inode->i_mapping)';

export function ownerProgram(lay: UnmovableLayout): ProgramBuilder {
  const b = new ProgramBuilder('owner');
  const inode = lay.inode(GMEM_INODE);
  // __kvm_gmem_create(): a new anonymous inode, kvm_gmem_aops (the model's owner has
  // no ->migrate_folio: AS_UNMOVABLE is all that keeps its folios in place), and
  // mapping_set_unmovable() before the file is installed: nobody else can reach the
  // inode yet, so the whole setup is one step.
  const create = b.a('inode = alloc_anon_inode(); inode->i_mapping->a_ops = &kvm_gmem_aops', (m) => {
    m[inode + I_STATE] = INODE_LIVE;
    m[inode + I_AOPS] = AOPS_NO_MIGRATE_FOLIO;
    storeWord(m, inode + I_FLAGS, 0);
  });
  const warn = b.a('WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping))', (m) => {
    WARN_ON(!mapping_unevictable(m, lay, GMEM_INODE + 1, '__kvm_gmem_create'), '!mapping_unevictable(inode->i_mapping)', '__kvm_gmem_create', -1, true);
  });
  b.steps('create', '__kvm_gmem_create', 'alloc_anon_inode(); mapping_set_unmovable(inode->i_mapping); WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping))', [
    br(lay.gmem > 0 ? 'get0' : 'release/find0', [create, b.a(SET_UNMOVABLE, (m) => mapping_set_unmovable(m, lay, GMEM_INODE)), warn]),
  ]);
  const addFn: ActionFn = (m, _at, P) => filemap_add_folio(m, lay, GMEM_INODE, P.k, P.k, '__filemap_add_folio');
  const lruFn: ActionFn = (m, _at, P) => folio_add_lru(m, lay, P.k, 'filemap_add_folio');
  const unlockFn: ActionFn = (m, _at, P) => folio_unlock(m, lay, P.k, 'kvm_gmem_get_pfn');
  const putFn: ActionFn = (m, _at, P) => { folio_put(m, lay, P.k, 'kvm_release_pfn_clean'); };
  for (let k = 0; k < lay.gmem; k++) {
    const next = k + 1 < lay.gmem ? `get${k + 1}` : 'release/find0';
    // kvm_gmem_get_folio() -> filemap_grab_folio(): filemap_alloc_folio(), __folio_set_locked(),
    // __filemap_add_folio() under the xa_lock.
    b.steps(`get${k}`, 'kvm_gmem_get_folio', `folio = filemap_grab_folio(mapping, ${k}): alloc, lock, __filemap_add_folio()`, [
      br(`lru${k}`, [b.a('__filemap_add_folio(mapping, folio, index)', addFn, { k })]),
    ]);
    // filemap_add_folio() -> folio_add_lru(), drained: lru_add_fn() under lru_lock.
    b.steps(`lru${k}`, 'filemap_add_folio', 'folio_add_lru(folio)', [br(`unlock${k}`, [b.a('filemap_add_folio: folio_add_lru(folio)', lruFn, { k })])]);
    b.steps(`unlock${k}`, 'kvm_gmem_get_pfn', 'folio_unlock(folio)', [br(`put${k}`, [b.a('kvm_gmem_get_pfn: folio_unlock(folio)', unlockFn, { k })])]);
    b.steps(`put${k}`, 'kvm_release_pfn_clean', 'folio_put(folio)', [br(next, [b.a('kvm_release_pfn_clean: folio_put(folio)', putFn, { k })])]);
  }
  // kvm_gmem_release() and the last fput(): iput_final() -> evict().
  truncateInodeFinal(b, lay, 'release', GMEM_INODE, 'done');
  b.final('done');
  return b;
}

export function truncatorProgram(lay: UnmovableLayout): ProgramBuilder {
  const b = new ProgramBuilder('truncate');
  // unlink() and the last close: iput_final() -> evict() -> truncate_inode_pages_final().
  truncateInodeFinal(b, lay, 'evict', FILE_INODE, 'done');
  b.final('done');
  return b;
}
