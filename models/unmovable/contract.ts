/**
 * The AS_UNMOVABLE contract between a mapping's owner (guest_memfd) and the VM,
 * rule by rule, in seed 004's words and its review's, each linked to what checks it
 * and to the variants that break it. `pagerace contracts` renders it into
 * docs/driver-contract.md.
 */
import type { ContractRule } from '../../src/system.ts';

const SEED = 'Seed 004, "mm: Add AS_UNMOVABLE to mark mapping as completely unmovable" (Sean Christopherson, 27 Oct 2023)';

export const UNMOVABLE_CONTRACT: readonly ContractRule[] = [
  {
    id: 'unmovable-means-never-migrated',
    party: 'vm',
    text: 'Add an "unmovable" flag for mappings that cannot be migrated under any circumstance. KVM will use the flag for its upcoming GUEST_MEMFD support, which will not support compaction/migration, at least not in the foreseeable future.',
    source: `${SEED}, commit message; mm/migrate.c move_to_new_folio(): "else if (mapping_unmovable(mapping)) rc = -EOPNOTSUPP;"`,
    enforcedBy: ['unmovable-never-migrated'],
    brokenBy: ['no-unmovable-tests'],
  },
  {
    id: 'set-before-folios',
    party: 'driver',
    text: 'mapping_set_unmovable(inode->i_mapping); /* Unmovable mappings are supposed to be marked unevictable as well. */ WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping)); [...] fd_install(fd, file);',
    source: 'virt/kvm/guest_memfd.c __kvm_gmem_create() (v6.8): the owner marks the mapping before the file is installed, so every folio enters the LRU as unevictable (lru_add_fn()\'s folio_evictable())',
    enforcedBy: ['page-lifecycle'],
    brokenBy: ['set-unmovable-after-first-folio'],
    note: 'The model\'s owner marks its mapping before its first folio, as __kvm_gmem_create() does. A folio brought in before the mark is an ordinary movable folio until then: compaction may migrate it, and only its lifecycle sees that (the unmovable folio has no migration; AS_UNMOVABLE is not yet set when it moves, so unmovable-never-migrated cannot). Folios already on the LRU when the mark comes stay evictable (lru_add_fn() decided): the scanner isolates them without the lock test and move_to_new_folio() refuses them (the seed: "not a correctness bug, just potentially wasted cycles").',
  },
  {
    id: 'unmovable-implies-unevictable',
    party: 'both',
    text: 'To avoid having to lock every folio with a mapping, assume/require that unmovable mappings are also unevictable, and have mapping_set_unmovable() also set AS_UNEVICTABLE.',
    source: `${SEED}, commit message and mapping_set_unmovable(); Sean Christopherson's reply to Vlastimil Babka's first fixup (5 Sep 2023): "Rather than expect/assume that unmovable mappings are always unevictable, how about requiring that?"`,
    enforcedBy: ['WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping))'],
    brokenBy: ['set-unmovable-without-unevictable'],
  },
  {
    id: 'test-under-folio-lock',
    party: 'vm',
    text: 'Test AS_UNMOVABLE under folio lock as already done for the async compaction/dirty folio case, as the mapping can be removed by truncation while compaction is running.',
    source: `${SEED}, commit message; Kirill A. Shutemov on RFC v11 10/29 (25 Jul 2023): "The folio has to be locked to dereference mapping safely (given that the mapping is still tied to the folio)."`,
    enforcedBy: ['no-freed-mapping-read'],
    brokenBy: ['unlocked-mapping-test', 'stale-mapping-under-lock', 'test-after-unlock'],
  },
  {
    id: 'truncation-holds-folio-lock',
    party: 'vm',
    text: 'However, we can be racing with truncation, which can free the mapping that we need to check. Truncation holds the folio lock until after the folio is removed from the page so holding it ourselves is sufficient.',
    source: `${SEED}, isolate_migratepages_block() comment (Matthew Wilcox's wording, 25 Jul 2023); mm/truncate.c truncate_inode_folio() runs with the folio locked`,
    enforcedBy: ['no-freed-mapping-read'],
    brokenBy: [],
  },
  {
    id: 'isolation-references-balance',
    party: 'vm',
    text: 'Be careful not to clear PageLRU until after we\'re sure the page is not being freed elsewhere -- the page release code relies on it. [...] folio = folio_get_nontail_page(page); [...] if (!folio_test_clear_lru(folio)) goto isolate_fail_put;',
    source: 'mm/compaction.c isolate_migratepages_block() (v6.8); mm/migrate.c putback_movable_pages() and migrate_folio_done()',
    enforcedBy: ['isolated-holds-reference', 'folios-accounted', 'deadlock', 'page-lifecycle'],
    brokenBy: ['abort-without-set-lru', 'isolate-without-clear-lru', 'putback-without-folio-put'],
  },
];
