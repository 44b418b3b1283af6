/**
 * Known bugs around AS_UNMOVABLE, from seed 004, its earlier versions and its review,
 * each put back into otherwise correct v6.8 code. A variant changes code only;
 * exploration has to find what it breaks.
 */
import { set_bit } from '../../src/kernel/bitops.ts';
import {
  ABORT_SET_LRU, type CompactCtx, MIGRATE, MOVE_TO_NEW_FOLIO, SCAN, UNMOVABLE_UNDER_LOCK, moveToNewFolio,
} from '../../src/kernel/folio-v6/compaction.ts';
import { AS_UNMOVABLE, I_FLAGS, NO_MAPPING, folioMappingWord, mapping_unmovable } from '../../src/kernel/folio-v6/folio.ts';
import { type ActionFn, type ProgramBuilder, br } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';
import { SET_UNMOVABLE } from './actors.ts';
import { GMEM_INODE, type UnmovableLayout } from './layout.ts';

export interface Patch {
  readonly cpu?: (b: ProgramBuilder, cpu: number, lay: UnmovableLayout) => void;
  readonly owner?: (b: ProgramBuilder, lay: UnmovableLayout) => void;
}

const slotOf = (b: ProgramBuilder, name: string): number => {
  const at = b.locals.indexOf(name);
  if (at < 0) throw new Error(`program ${b.id} has no local '${name}'`);
  return at;
};

/** The CPU's locals and world, as the kernel core's builders took them. */
function ctxOf(b: ProgramBuilder, cpu: number, lay: UnmovableLayout): CompactCtx {
  const s = (n: string) => slotOf(b, n);
  return {
    W: lay, cpu, end: lay.scanned, target: (k) => lay.target(cpu, k),
    slot: {
      lowPfn: s('low_pfn'), folio: s('folio'), mapping: s('mapping'), unevictable: s('is_unevictable'), unmovable: s('is_unmovable'),
      src: s('src'), dst: s('dst'), rc: s('rc'), used: s('targets_used'), skipUpdated: s('skip_updated'),
    },
  };
}

/**
 * `is_unmovable = mapping && mapping_unmovable(mapping)` through the mapping pointer the
 * scanner holds in its locals, at `label`, then a local branch: unmovable folios go to
 * isolate_fail_put, the others to `onward`.
 */
function unmovableTestAt(b: ProgramBuilder, c: CompactCtx, label: string, desc: string, onward: string): void {
  const L = c.slot;
  const test: ActionFn = (m, at) => {
    const mapping = m[at + L.mapping];
    m[at + L.unmovable] = mapping !== NO_MAPPING && mapping_unmovable(m, c.W, mapping, 'isolate_migratepages_block') ? 1 : 0;
  };
  b.steps(label, 'isolate_migratepages_block', desc, [br(`${label}/branch`, [b.a(`${desc} [${label}]`, test)])]);
  b.localStep(`${label}/branch`, 'isolate_migratepages_block', 'if (is_unmovable) goto isolate_fail_put', [
    br(SCAN.put, [], b.g('is_unmovable (tested here)', (m, at) => m[at + L.unmovable] !== 0)),
    br(onward),
  ]);
}

/** isolate_migratepages_block() of v6.7 in kcompactd's mode: no lock for unevictable folios. */
function v67Scanner(b: ProgramBuilder): void {
  const node = b.nodes[SCAN.unevictable];
  const branches = node.on.step;
  // Keep the ISOLATE_UNEVICTABLE and writeback skips, drop "mapping && is_unevictable".
  b.replace(SCAN.unevictable, { step: [branches[0], branches[1], { ...branches[3] }] },
    'if (!(mode & ISOLATE_UNEVICTABLE) && folio_test_unevictable(folio)) goto isolate_fail_put; writeback and (async) dirty tests');
}

/** move_to_new_folio() without the seed's `else if (mapping_unmovable(mapping)) rc = -EOPNOTSUPP;`. */
function noMoveToNewFolioTest(b: ProgramBuilder, cpu: number, lay: UnmovableLayout): void {
  b.replaceAction(MOVE_TO_NEW_FOLIO, moveToNewFolio(ctxOf(b, cpu, lay), false));
}

/**
 * The seed with one of its two hunks taken out: not known bugs (the model passes with
 * either), but what shows that each hunk alone keeps the owner's folios in place.
 */
export const SEED_WITHOUT: { readonly compactionHunk: Patch; readonly migrateHunk: Patch } = {
  compactionHunk: { cpu: (b) => v67Scanner(b) },
  migrateHunk: { cpu: noMoveToNewFolioTest },
};

export const UNMOVABLE_VARIANTS: readonly (Variant & { patch: Patch })[] = [
  {
    name: 'unlocked-mapping-test',
    description: 'isolate_migratepages_block() tests mapping_unmovable(mapping) right after reading folio->mapping, without the folio lock, as RFC v11 of the series did ("/* The mapping truly isn\'t movable. */ if (mapping && mapping_unmovable(mapping)) goto isolate_fail_put;"): truncation can free the inode in between.',
    source: '"[RFC PATCH v11 10/29] mm: Add AS_UNMOVABLE to mark mapping as completely unmovable" (Sean Christopherson, 18 Jul 2023); Kirill A. Shutemov\'s review (25 Jul 2023): "I doubt that it is safe to dereference mapping here. I believe the folio can be truncated from under us and the mapping freed with the inode."',
    expect: { kind: 'invariant', property: 'no-freed-mapping-read' },
    patch: {
      cpu(b, cpu, lay) {
        const c = ctxOf(b, cpu, lay);
        const node = b.nodes[SCAN.mapping];
        const [withMapping, without] = node.on.step;
        b.replace(SCAN.mapping, { step: [{ ...withMapping, target: 'scan/rfc_unmovable' }, without] });
        unmovableTestAt(b, c, 'scan/rfc_unmovable', 'if (mapping && mapping_unmovable(mapping)) goto isolate_fail_put', SCAN.lru);
        v67Scanner(b);
      },
    },
  },
  {
    name: 'stale-mapping-under-lock',
    description: 'Under the folio lock, isolate_migratepages_block() tests the mapping it read before folio_trylock() instead of reading folio->mapping again: the lock keeps the folio in its mapping only if it still is in it, and truncation may have removed it and freed the inode before the lock was taken.',
    source: 'Seed 004: "if (!folio_trylock(folio)) goto isolate_fail_put; mapping = folio_mapping(folio);" and its comment "we can be racing with truncation, which can free the mapping that we need to check. Truncation holds the folio lock until after the folio is removed from the page so holding it ourselves is sufficient" (Matthew Wilcox\'s wording, 25 Jul 2023).',
    expect: { kind: 'invariant', property: 'no-freed-mapping-read' },
    patch: {
      cpu(b, cpu, lay) {
        const c = ctxOf(b, cpu, lay);
        const L = c.slot;
        b.replaceAction(UNMOVABLE_UNDER_LOCK, (m, at) => {
          const mapping = m[at + L.mapping];
          m[at + L.unmovable] = mapping !== NO_MAPPING && mapping_unmovable(m, lay, mapping, 'isolate_migratepages_block') ? 1 : 0;
        });
      },
    },
  },
  {
    name: 'test-after-unlock',
    description: 'isolate_migratepages_block() re-reads folio->mapping under the folio lock but tests mapping_unmovable() after folio_unlock(): once the lock is dropped, truncation can remove the folio and free the inode before the test.',
    source: 'Seed 004: "is_unmovable = mapping && mapping_unmovable(mapping); folio_unlock(folio);" with the test before the unlock, under the comment "holding it [the folio lock] ourselves is sufficient"; Vlastimil Babka\'s "[PATCH gmem FIXUP] mm, compaction: make testing mapping_unmovable() safe" (1 Sep 2023): "Test it under folio lock".',
    expect: { kind: 'invariant', property: 'no-freed-mapping-read' },
    patch: {
      cpu(b, cpu, lay) {
        const c = ctxOf(b, cpu, lay);
        const L = c.slot;
        b.replaceAction(UNMOVABLE_UNDER_LOCK, (m, at) => { m[at + L.mapping] = folioMappingWord(m, lay, m[at + L.folio]); });
        const [, onward] = b.nodes[SCAN.unlock].on.step;
        b.replace(SCAN.unlock, { step: [{ ...onward, target: 'scan/late_unmovable' }] }, 'mapping = folio_mapping(folio); folio_unlock(folio)');
        unmovableTestAt(b, c, 'scan/late_unmovable', 'is_unmovable = mapping && mapping_unmovable(mapping) (after folio_unlock)', SCAN.clearLru);
      },
    },
  },
  {
    name: 'set-unmovable-without-unevictable',
    description: 'mapping_set_unmovable() sets AS_UNMOVABLE only, as in Vlastimil Babka\'s first fixup, which only expected unmovable mappings to be unevictable: the scanner then skips the lock test for the owner\'s folios. guest_memfd\'s own WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping)) in __kvm_gmem_create() fires.',
    source: '"[PATCH gmem FIXUP] mm, compaction: make testing mapping_unmovable() safe" (Vlastimil Babka, 1 Sep 2023): "we can expect the unmovable mapping folios are also unevictable"; Sean Christopherson\'s reply (5 Sep 2023): "Rather than expect/assume that unmovable mappings are always unevictable, how about requiring that? E.g. either through a VM_WARN_ON in mapping_set_unmovable(), or by simply having that helper forcefully set AS_UNEVICTABLE as well."',
    expect: { kind: 'kernel-bug', property: 'WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping))' },
    patch: {
      owner(b, lay) {
        b.replaceAction(SET_UNMOVABLE, (m) => set_bit(m, lay.inode(GMEM_INODE) + I_FLAGS, AS_UNMOVABLE));
      },
    },
  },
  {
    name: 'no-unmovable-tests',
    description: 'The owner sets AS_UNMOVABLE but neither isolate_migratepages_block() nor move_to_new_folio() tests it (the v6.7 code paths, before the seed): compaction isolates the owner\'s folio and migrates it through fallback_migrate_folio().',
    source: 'Seed 004\'s two hunks, mm/compaction.c ("Folios from unmovable mappings are not migratable") and mm/migrate.c ("else if (mapping_unmovable(mapping)) rc = -EOPNOTSUPP;"), both taken out; either one alone keeps the folio in place in the model.',
    expect: { kind: 'invariant', property: 'unmovable-never-migrated' },
    patch: {
      cpu(b, cpu, lay) {
        v67Scanner(b);
        noMoveToNewFolioTest(b, cpu, lay);
      },
    },
  },
  {
    name: 'set-unmovable-after-first-folio',
    description: 'The guest_memfd-like owner marks its mapping with mapping_set_unmovable() only after kvm_gmem_get_folio() has brought its first folio in (the folio is in the page cache, on the evictable LRU, unlocked and released) instead of in __kvm_gmem_create() before the file exists: in between, compaction isolates the owner\'s folio as an ordinary one and migrates it, since move_to_new_folio() finds no AS_UNMOVABLE yet. No property about AS_UNMOVABLE can see it (the flag is not set when the folio moves); the folio\'s lifecycle has no migration. A seeded mutation of the fixed code, named as such.',
    source: 'Seeded mutation of v6.8 virt/kvm/guest_memfd.c __kvm_gmem_create(): "mapping_set_unmovable(inode->i_mapping); /* Unmovable mappings are supposed to be marked unevictable as well. */ WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping));" runs before fd_install(), so no folio exists yet; seed 004 (0003e2a41468, "mm: Add AS_UNMOVABLE to mark mapping as completely unmovable"): a flag "for mappings that cannot be migrated under any circumstance", which the compaction and migration hunks read at the time they test a folio.',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: {
      owner(b, lay) {
        if (lay.gmem === 0) return;
        const create = b.nodes.create.on.step[0];
        const [alloc, ...markAndWarn] = create.actions;
        b.replace('create', { step: [{ ...create, actions: [alloc] }] }, 'alloc_anon_inode(); the file is installed (mapping_set_unmovable() comes later)');
        const put = b.nodes.put0.on.step[0];
        b.replace('put0', { step: [{ ...put, target: 'late_unmovable' }] });
        b.steps('late_unmovable', '__kvm_gmem_create', 'mapping_set_unmovable(inode->i_mapping); WARN_ON_ONCE(!mapping_unevictable(inode->i_mapping)), after the first folio is in', [
          br(put.target, markAndWarn),
        ]);
      },
    },
  },
  {
    name: 'abort-without-set-lru',
    kernelFunction: 'isolate_migratepages_block (mm/compaction.c)',
    description: 'When test_and_set_skip() finds the pageblock already marked by another scanner, isolate_migratepages_block() aborts without folio_set_lru(): the folio whose PG_lru it has just cleared stays on the LRU list with PG_lru clear, and the scanner drops its reference. Nobody can isolate it again, and its last folio_put() (truncation\'s) frees it without taking it off the LRU: a free folio on the lruvec\'s list.',
    source: 'An early version of "mm/compaction: do page isolation first in compaction" (Alex Shi\'s per-memcg lru_lock series; v19 16/20, 24 Sep 2020, merged for v5.11), whose commit message records Hugh Dickins\'s fix: "isolate_migratepages_block() must clean up appropriately when rejecting a page, setting PageLRU again if it had been cleared"; the patch adds "isolate_abort: [...] if (page) { SetPageLRU(page); put_page(page); }", which v6.8 has as "if (folio) { folio_set_lru(folio); folio_put(folio); }" under the comment "Be careful not to clear PageLRU until after we\'re sure the page is not being freed elsewhere -- the page release code relies on it."',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: {
      cpu(b) {
        b.replaceAction(ABORT_SET_LRU, () => { /* no folio_set_lru(folio): PG_lru stays clear */ });
      },
    },
  },
  {
    name: 'isolate-without-clear-lru',
    description: 'isolate_migratepages_block() tests PG_lru with folio_test_lru() instead of clearing it with folio_test_clear_lru() before lruvec_del_folio(): the isolated folio sits on cc->migratepages with PG_lru still set, so anyone who trusts PG_lru (folio_isolate_lru(), the release in folio_put()) takes it off "the LRU" again. A seeded mutation of the fixed code, named as such.',
    source: 'Seeded mutation of v6.8 mm/compaction.c isolate_migratepages_block(): "/* Try isolate the folio */ if (!folio_test_clear_lru(folio)) goto isolate_fail_put;"; the atomic test-and-clear dates from commit d25b5bd8a8f4 ("mm/lru: introduce TestClearPageLRU()", v5.11), which made clearing PG_lru the isolation itself.',
    expect: { kind: 'invariant', property: 'isolated-holds-reference' },
    patch: {
      cpu(b) {
        b.replaceAction('folio_test_clear_lru(folio)', () => { /* folio_test_lru(folio) only: PG_lru stays set */ });
      },
    },
  },
  {
    name: 'putback-without-folio-put',
    description: 'folio_putback_lru() in putback_movable_pages() adds the folio back to the LRU but drops no reference: the isolation reference taken by folio_get_nontail_page() is never given back, so the folio outlives its truncation and is never freed. A seeded mutation of the fixed code (a dropped put), named as such.',
    source: 'Seeded mutation of v6.8 mm/vmscan.c folio_putback_lru(): "folio_add_lru(folio); folio_put(folio); /* drop ref from isolate */", called by mm/migrate.c putback_movable_pages() for a folio move_to_new_folio() refused (-EOPNOTSUPP for an unmovable mapping, -EAGAIN).',
    expect: { kind: 'termination', property: 'folios-accounted' },
    patch: {
      cpu(b) {
        b.replace(MIGRATE.putbackPut, { step: [{ ...b.nodes[MIGRATE.putbackPut].on.step[0], actions: [] }] }, '(no folio_put(folio): the isolation reference is kept)');
      },
    },
  },
];
