/**
 * The packed world of the unmovable system (kernel v6.8, struct folio of
 * src/kernel/folio-v6/folio.ts):
 *
 *   folios   pfn [0, G)              the guest_memfd-like owner's folios, free until it
 *                                    allocates them (index k of its inode is pfn k)
 *            pfn [G, G+F)            an ordinary file's folios, in its page cache and on
 *                                    the inactive file LRU from the start
 *            pfn G+F + c*(G+F) + j   compaction CPU c's migration targets, taken by
 *                                    the free scanner (free, the CPU's own)
 *   inodes   0: the owner's, not yet allocated; 1: the ordinary file's
 *   lruvec   the inactive file and unevictable list heads
 *   cc->migratepages of each CPU, then the KASAN report byte and the pageblock's
 *   skip bit (the scanners walk one pageblock).
 *
 * List node ids: folio pfn's lru is pfn + 1; the heads follow the folios.
 */
import { INIT_LIST_HEAD, ListSpace, list_add_tail } from '../../src/kernel/list.ts';
import {
  AOPS_FILEMAP_MIGRATE_FOLIO, FOLIO_BYTES, F_LRU, F_MAPPING, F_REF, type FolioWorld, INODE_LIVE, I_AOPS, I_SLOTS, I_STATE,
  LRU_INACTIVE_FILE, LRU_UNEVICTABLE, PG_lru, poisonLru,
} from '../../src/kernel/folio-v6/folio.ts';
import { set_bit } from '../../src/kernel/bitops.ts';
import { F_FLAGS } from '../../src/kernel/folio-v6/folio.ts';

export const GMEM_INODE = 0;
export const FILE_INODE = 1;

export interface UnmovableLayout extends FolioWorld {
  readonly cpus: number;
  /** The owner's folios (G) and the ordinary file's (F). */
  readonly gmem: number;
  readonly files: number;
  /** Folios the scanners walk: [0, G+F). */
  readonly scanned: number;
  target(cpu: number, k: number): number;
  readonly worldSize: number;
}

export function unmovableLayout(cpus: number, gmem: number, files: number): UnmovableLayout {
  const scanned = gmem + files;
  const nfolios = scanned + cpus * scanned;
  const slotsPerInode = Math.max(gmem, files);
  const inodeBytes = I_SLOTS + slotsPerInode;
  const inodes = nfolios * FOLIO_BYTES;
  const heads = inodes + 2 * inodeBytes;
  const kasan = heads + 2 * (2 + cpus);
  const S = new ListSpace();
  for (let p = 0; p < nfolios; p++) S.node(p + 1, p * FOLIO_BYTES + F_LRU, `f${p}.lru`);
  const lruHead = (lru: number) => nfolios + 1 + lru;
  const migrateHead = (c: number) => nfolios + 3 + c;
  S.node(lruHead(LRU_INACTIVE_FILE), heads, 'lruvec.inactive_file', true);
  S.node(lruHead(LRU_UNEVICTABLE), heads + 2, 'lruvec.unevictable', true);
  for (let c = 0; c < cpus; c++) S.node(migrateHead(c), heads + 4 + 2 * c, `cpu${c}.migratepages`, true);
  return {
    cpus, gmem, files, scanned, nfolios, ninodes: 2, slotsPerInode,
    folio: (pfn) => pfn * FOLIO_BYTES,
    inode: (i) => inodes + i * inodeBytes,
    S,
    lruNode: (pfn) => pfn + 1,
    pfnOfNode: (node) => node - 1,
    lruHead,
    migrateHead,
    kasan,
    pageblockSkip: kasan + 1,
    target: (c, k) => scanned + c * scanned + k,
    worldSize: kasan + 2,
  };
}

export function initialWorld(lay: UnmovableLayout): Uint8Array {
  const m = new Uint8Array(lay.worldSize);
  for (let p = 0; p < lay.nfolios; p++) poisonLru(m, lay, p);
  INIT_LIST_HEAD(m, lay.S, lay.lruHead(LRU_INACTIVE_FILE));
  INIT_LIST_HEAD(m, lay.S, lay.lruHead(LRU_UNEVICTABLE));
  for (let c = 0; c < lay.cpus; c++) INIT_LIST_HEAD(m, lay.S, lay.migrateHead(c));
  // The ordinary file: live, with filemap_migrate_folio, its folios cached and on the LRU
  // (one reference each: the page cache's).
  const file = lay.inode(FILE_INODE);
  m[file + I_STATE] = INODE_LIVE;
  m[file + I_AOPS] = AOPS_FILEMAP_MIGRATE_FOLIO;
  for (let j = 0; j < lay.files; j++) {
    const pfn = lay.gmem + j;
    m[file + I_SLOTS + j] = pfn + 1;
    m[lay.folio(pfn) + F_REF] = 1;
    m[lay.folio(pfn) + F_MAPPING] = FILE_INODE + 1;
    list_add_tail(m, lay.S, lay.lruNode(pfn), lay.lruHead(LRU_INACTIVE_FILE));
    set_bit(m, lay.folio(pfn) + F_FLAGS, PG_lru);
  }
  return m;
}
