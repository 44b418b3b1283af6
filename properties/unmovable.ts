/**
 * Properties of AS_UNMOVABLE mappings (kernel v6.8, seed 004: "mm: Add AS_UNMOVABLE to
 * mark mapping as completely unmovable" and its review), each with its rule and
 * source. They read the packed world through the layout and know nothing of the
 * machines, so a variant is caught only by what it does.
 */
import type { EndProperty, Property, StateInvariant } from '../src/system.ts';
import {
  AS_UNMOVABLE, FOLIO_BYTES, F_FLAGS, F_MAPPING, F_REF, INODE_FREED, INODE_LIVE, I_FLAGS, I_SLOTS, I_STATE, NO_MAPPING, PG_lru,
  describeFolioFlags, folioListHead,
} from '../src/kernel/folio-v6/folio.ts';
import { loadWord } from '../src/kernel/bitops.ts';
import { list_empty } from '../src/kernel/list.ts';
import type { UnmovableLayout } from '../models/unmovable/layout.ts';

export function unmovableProperties(lay: UnmovableLayout): Property[] {
  const inodeName = (i: number) => (i === 0 ? 'the owner\'s inode' : 'the file\'s inode');
  const unmovableInode = (m: Uint8Array, i: number) =>
    m[lay.inode(i) + I_STATE] === INODE_LIVE && (loadWord(m, lay.inode(i) + I_FLAGS) & AS_UNMOVABLE) !== 0;
  const folioBytes = (at: number) => at < lay.nfolios * FOLIO_BYTES;
  const inodeBytes = (at: number) => at >= lay.inode(0) && at < lay.inode(lay.ninodes);
  const migrateHeads = Array.from({ length: lay.cpus }, (_, c) => lay.migrateHead(c));

  const freedMappingRead: StateInvariant = {
    name: 'no-freed-mapping-read',
    watches: (at) => at === lay.kasan,
    kind: 'invariant',
    scope: 'state',
    rule: 'A mapping is never read through a folio after its inode is freed: test mapping->flags only with the folio locked and still in that mapping.',
    source: 'Seed 004: "Test AS_UNMOVABLE under folio lock [...] as the mapping can be removed by truncation while compaction is running"; Kirill Shutemov on RFC v11 10/29 (25 Jul 2023): "I believe the folio can be truncated from under us and the mapping freed with the inode. The folio has to be locked to dereference mapping safely".',
    check(m) {
      const i = m[lay.kasan];
      return i === 0 ? null : `BUG: KASAN: slab-use-after-free: ${inodeName(i - 1)} (mapping->flags) read after destroy_inode()`;
    },
  };

  const neverMigrated: StateInvariant = {
    name: 'unmovable-never-migrated',
    watches: inodeBytes,
    kind: 'invariant',
    scope: 'state',
    rule: 'A folio of an unmovable mapping is never migrated: its page cache slot never comes to hold a migration target.',
    source: 'Seed 004: "Add an \\"unmovable\\" flag for mappings that cannot be migrated under any circumstance"; mm/migrate.c move_to_new_folio(): "else if (mapping_unmovable(mapping)) rc = -EOPNOTSUPP".',
    check(m) {
      for (let i = 0; i < lay.ninodes; i++) {
        if (!unmovableInode(m, i)) continue;
        for (let k = 0; k < lay.slotsPerInode; k++) {
          const pfn = m[lay.inode(i) + I_SLOTS + k] - 1;
          if (pfn >= lay.scanned) return `${inodeName(i)} is unmovable, yet index ${k} was migrated to f${pfn}`;
        }
      }
      return null;
    },
  };

  const isolatedHoldsRef: StateInvariant = {
    name: 'isolated-holds-reference',
    watches: folioBytes,
    kind: 'invariant',
    scope: 'state',
    rule: 'A folio isolated for migration is off the LRU (PG_lru clear) and holds the isolating CPU\'s reference until it is put back or freed.',
    source: 'mm/compaction.c isolate_migratepages_block(): folio_get_nontail_page(), folio_test_clear_lru(), lruvec_del_folio(), list_add(&folio->lru, &cc->migratepages); mm/migrate.c putback_movable_pages() and migrate_folio_done().',
    check(m) {
      for (let p = 0; p < lay.nfolios; p++) {
        const head = folioListHead(m, lay, p);
        if (!migrateHeads.includes(head)) continue;
        const f = lay.folio(p);
        if (m[f + F_REF] === 0) return `f${p} is on ${lay.S.name(head)} with no reference`;
        if (loadWord(m, f + F_FLAGS) & PG_lru) return `f${p} is on ${lay.S.name(head)} with PG_lru set`;
      }
      return null;
    },
  };

  const accounted: EndProperty = {
    name: 'folios-accounted',
    kind: 'termination',
    scope: 'end',
    rule: 'When every task is done and both inodes are gone, every folio is free: no reference, no flag, no mapping, on no list; every list is empty and both inodes are freed.',
    source: 'mm/truncate.c truncate_inode_pages_final() and fs/inode.c clear_inode(): "BUG_ON(inode->i_data.nrpages)"; the isolation reference balance of isolate_migratepages_block() against putback_movable_pages() and migrate_folio_done().',
    check(m) {
      for (let i = 0; i < lay.ninodes; i++) if (m[lay.inode(i) + I_STATE] !== INODE_FREED) return `${inodeName(i)} was never freed`;
      for (let p = 0; p < lay.nfolios; p++) {
        const f = lay.folio(p);
        if (m[f + F_REF] !== 0) return `f${p} keeps ${m[f + F_REF]} reference(s)`;
        const flags = loadWord(m, f + F_FLAGS);
        if (flags !== 0) return `f${p} is free with flags ${describeFolioFlags(flags).join('|')}`;
        if (m[f + F_MAPPING] !== NO_MAPPING) return `f${p} is free with a mapping`;
        if (folioListHead(m, lay, p) !== 0) return `f${p} is free on ${lay.S.name(folioListHead(m, lay, p))}`;
      }
      for (const h of [lay.lruHead(0), lay.lruHead(1), ...migrateHeads]) if (!list_empty(m, lay.S, h)) return `${lay.S.name(h)} is not empty`;
      return null;
    },
  };

  return [freedMappingRead, neverMigrated, isolatedHoldsRef, accounted];
}
