/**
 * Known bugs of lazy migration, each put back into otherwise correct programs: the
 * safeguards of seed 001's migrate_pages_unmap_only() and its rmap.c hunk taken out
 * one at a time. A variant changes code only; exploration has to find what it breaks.
 */
import { FAULT } from '../../src/kernel/mapped-v3/fault.ts';
import { NO_PAGE, type MappedLayout } from '../../src/kernel/mapped-v3/layout.ts';
import { lru_cache_add, putback_lru_page } from '../../src/kernel/mapped-v3/lru.ts';
import { F_DATA, PageLocked, pageAt, unlock_page } from '../../src/kernel/mapped-v3/page.ts';
import { remove_migration_ptes } from '../../src/kernel/mapped-v3/compaction.ts';
import { MBIND, lazyUnmap } from '../../src/kernel/mapped-v3/mempolicy.ts';
import { TTU_MIGRATE_DIRECT } from '../../src/kernel/mapped-v3/rmap.ts';
import { type ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';

export interface LazyVariant extends Variant {
  readonly patch: {
    readonly mbind?: (b: ProgramBuilder, lay: MappedLayout) => void;
    readonly toucher?: (b: ProgramBuilder, lay: MappedLayout, cpu: number) => void;
    readonly compaction?: (b: ProgramBuilder, lay: MappedLayout) => void;
  };
}

const slot = (b: ProgramBuilder, name: string): number => {
  const at = b.locals.indexOf(name);
  if (at < 0) throw new Error(`program ${b.id} has no local '${name}'`);
  return at;
};

/** The checks step with anon pages sent straight to try_to_unmap(), as if add_to_swap() were not there. */
function skipAddToSwap(b: ProgramBuilder): void {
  const node = b.nodes[MBIND.checks];
  const branches = node.on[STEP].map((x) => (x.target === 'unmap/add_to_swap' ? { ...x, target: MBIND.ttu } : x));
  b.replace(MBIND.checks, { [STEP]: branches }, 'if (PageKsm(page) || PageWriteback(page)) goto unlock; if (!page->mapping) goto unlock; (no add_to_swap)');
}

/** The labels of one fault-path step for every virtual page (`label@v`). */
const perPage = (b: ProgramBuilder, label: string): string[] => Object.keys(b.nodes).filter((l) => l.startsWith(`${label}@`));

export const LAZY_VARIANTS: readonly LazyVariant[] = [
  {
    name: 'unmap-only-without-trylock',
    description: 'migrate_pages_unmap_only() does not take the page lock (no trylock_page/unlock_page): add_to_swap() and try_to_unmap() run on an unlocked page, racing with the fault path and reclaim that hold it.',
    source: 'Seed 001, migrate_pages_unmap_only(): "if (!trylock_page(page)) goto next;" ... "unlock: unlock_page(page);"; issue 14 names the variant.',
    expect: { kind: 'kernel-bug', property: 'VM_BUG_ON(!PageLocked(page))' },
    patch: {
      mbind(b) {
        b.replace(MBIND.trylock, { [STEP]: [br(MBIND.checks)] }, '(no trylock_page(page))');
        b.replace(MBIND.unlock, { [STEP]: [br('unmap/next')] }, '(no unlock_page(page))');
      },
    },
  },
  {
    name: 'lazy-without-swap-cache',
    description: 'migrate_pages_unmap_only() unmaps an anon page with TTU_MIGRATE_DEFERRED without first adding it to the swap cache: try_to_unmap_one() has no swap entry to leave, and only TTU_MIGRATE_DIRECT may leave a migration entry.',
    source: 'Seed 001: "Anon pages will first be added to the swap [or migration?] cache, if necessary", and its mm/rmap.c hunk: "BUG_ON(TTU_ACTION(flags) != TTU_MIGRATE_DIRECT); entry = make_migration_entry(page, pte_write(pteval));".',
    expect: { kind: 'kernel-bug', property: 'BUG_ON(TTU_ACTION(flags) != TTU_MIGRATE_DIRECT)' },
    patch: { mbind: skipAddToSwap },
  },
  {
    name: 'lazy-with-migration-entries',
    description: 'The lazy path unmaps with TTU_MIGRATE_DIRECT (the pre-seed TTU_MIGRATION) instead of adding the page to the swap cache: it leaves a migration entry, which holds no reference, and nobody migrates the page and removes it; putback_lru_page() and the pagevec drain drop the last references and free the page under the entry (a later fault would hit migration_entry_to_page()\'s BUG_ON(!PageLocked(p))).',
    source: 'Seed 001 splits TTU_MIGRATION into TTU_MIGRATE_DIRECT and TTU_MIGRATE_DEFERRED; try_to_unmap_one(): "do_swap_page() will wait until the migration pte is removed"; include/linux/swapops.h migration_entry_to_page(): "Any use of migration entries may only occur while the corresponding page is locked" BUG_ON(!PageLocked(p)).',
    // page-lifecycle finds it first, at the unmap itself: only compaction, which keeps the page locked until
    // remove_migration_ptes(), may turn a mapped anon page into an unmapped one behind a migration entry; the
    // freed page under the entry (no-mapped-free-page) is the later symptom.
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: {
      mbind(b, lay) {
        skipAddToSwap(b);
        b.replaceAction(MBIND.ttuAction, lazyUnmap(lay, { page: slot(b, 'page'), slot: slot(b, 'slot'), unmapped: slot(b, 'nr_unmapped') }, TTU_MIGRATE_DIRECT));
      },
    },
  },
  {
    name: 'no-lru-drain',
    description: 'migrate_pages_unmap_only() returns without lru_add_drain(): the pages it put back wait in its CPU\'s LRU add pagevec, off the LRU, where the fault path\'s isolate_lru_page() cannot take them.',
    source: 'Seed 001, migrate_pages_unmap_only(): "Drain local per cpu pagevecs so fault path can find the the pages on the lru. ... if (nr_unmapped) lru_add_drain();"; the seed\'s own alternative, lru_add_drain_all(), is named there too.',
    expect: { kind: 'invariant', property: 'lazy-pages-findable' },
    patch: {
      mbind(b) {
        b.replace(MBIND.drain, { [STEP]: [br('up_write')] }, '(no lru_add_drain())');
      },
    },
  },
  {
    name: 'swap-fault-without-pte-same',
    description: 'do_swap_page() maps the swap cache page without rechecking pte_same(*page_table, orig_pte) under the page table lock: a thread that read the swap entry before another thread faulted the same page in maps it a second time over the present PTE, and the page\'s mapcount counts two PTEs where one maps it. A seeded mutation of the fixed code, named as such.',
    source: 'Seeded mutation of v3.3 mm/memory.c do_swap_page(): "page_table = pte_offset_map_lock(mm, pmd, address, &ptl); if (unlikely(!pte_same(*page_table, orig_pte))) goto out_nomap;" ("Back out if somebody else already faulted in this pte"); found with threads that read before they write (--reads 1).',
    expect: { kind: 'invariant', property: 'mapcount-matches-ptes' },
    patch: {
      toucher(b) {
        for (const l of perPage(b, FAULT.map)) {
          const [mapIt] = b.nodes[l].on[STEP];
          b.replace(l, { [STEP]: [{ ...mapIt, guard: undefined }] }, 'pte_offset_map_lock(); (no pte_same() recheck) reuse_swap_page(); set_pte_at(); page_add_anon_rmap(); swap_free(entry); unlock_page(page); pte_unmap_unlock()');
        }
      },
    },
  },
  {
    name: 'migrate-on-fault-keeps-reference',
    description: 'migrate_misplaced_page() puts the old page back on the LRU but does not drop the reference the fault took on it (lookup_swap_cache()): the old page ends on node 0\'s LRU with one reference no PTE, swap cache or pagevec holds, and is never freed. A seeded mutation of the fixed code (a dropped put_page), named as such.',
    source: 'Seeded mutation of seed 001\'s series, mm/mempolicy.c migrate_misplaced_page() (v3.3 with the sched/numa RFC): "putback_lru_page(page); put_page(page); /* drop the fault path ref */".',
    expect: { kind: 'termination', property: 'refcounts-balance' },
    patch: {
      toucher(b, lay, cpu) {
        const page = slot(b, 'page');
        const newpage = slot(b, 'newpage');
        b.replaceAction('putback_lru_page; put_page; lru_cache_add_anon(newpage)', (m, L) => {
          putback_lru_page(m, lay, cpu, m[L + page]); // the isolation reference; the fault's is kept
          lru_cache_add(m, lay, cpu, m[L + newpage]);
          m[L + page] = m[L + newpage];
          m[L + newpage] = NO_PAGE;
        });
      },
    },
  },
  {
    name: 'fault-without-migrate-on-fault',
    description: 'do_swap_page() without the seed\'s check_migrate_misplaced_page() hunk: the page mbind() lazily unmapped is faulted back in from the swap cache where it is, on node 0, though the VMA policy names node 1 and nothing gave up on it. A seeded mutation of the fixed code, named as such.',
    source: 'Seeded mutation: seed 001\'s series, mm/memory.c do_swap_page(): "page = check_migrate_misplaced_page(page, vma, address)" (the migrate-on-fault hook; "The pages will be migrated in the fault path on \'first touch\', if the policy dictates at that time") taken out.',
    expect: { kind: 'termination', property: 'touched-page-placed' },
    patch: {
      toucher(b) {
        for (const l of perPage(b, FAULT.recheck)) {
          const [notOurs, , map] = b.nodes[l].on[STEP];
          b.replace(l, { [STEP]: [notOurs, map] }, 'if (!PageSwapCache(page) || page_private(page) != entry.val) goto out_page; (no check_migrate_misplaced_page())');
        }
      },
    },
  },
  {
    name: 'copy-before-unmap',
    description: 'Compaction copies the page\'s data into the new page before try_to_unmap() replaces its PTE with a migration entry (migrate_page_copy() hoisted above the unmap): a thread writes through the still-present PTE after the copy, remove_migration_ptes() maps the new page, and the write is lost. A seeded mutation of the fixed code, named as such; found at --compaction 1.',
    source: 'Seeded mutation of v3.3 mm/migrate.c __unmap_and_move(): "try_to_unmap(page, TTU_MIGRATION|TTU_IGNORE_MLOCK|TTU_IGNORE_ACCESS); skip_unmap: if (!page_mapped(page)) rc = move_to_new_page(newpage, page, remap_swapcache);", where migrate_page() copies only a page no PTE maps.',
    expect: { kind: 'invariant', property: 'pte-maps-the-data' },
    patch: {
      compaction(b) {
        const page = slot(b, 'page');
        const newpage = slot(b, 'newpage');
        const rc = slot(b, 'rc');
        const early = b.local('early_copy'); // the data as it was when copied
        const unmap = b.nodes.unmap.on[STEP][0];
        b.replace('unmap', { [STEP]: [br('unmap/late', [b.a('copy the data early', (m, L) => { m[L + early] = m[pageAt(m[L + page], F_DATA)]; })])] },
          'copy the page data now (migrate_page_copy() hoisted above try_to_unmap())');
        b.steps('unmap/late', '__unmap_and_move', 'try_to_unmap(page, TTU_MIGRATE_DIRECT|TTU_IGNORE_MLOCK|TTU_IGNORE_ACCESS)', [unmap]);
        const move = b.actions['move_to_new_page'];
        b.replaceAction('move_to_new_page', (m, L, P, A) => {
          const data = m[L + early];
          move(m, L, P, A);
          if (m[L + rc] === 0) m[pageAt(m[L + newpage], F_DATA)] = data; // the copy is the early one
        });
      },
    },
  },
  {
    name: 'failed-migration-keeps-entry',
    description: 'When move_to_new_page() fails (-EAGAIN: an extra reference, or the swap cache slot changed), __unmap_and_move() does not restore the PTEs with remove_migration_ptes(page, page): the migration entry stays, holds no reference, and once the page is put back and its last reference dropped the entry points at a free page. A seeded mutation of the fixed code, named as such; found at --compaction 1.',
    source: 'Seeded mutation of v3.3 mm/migrate.c __unmap_and_move(): "if (rc && remap_swapcache) remove_migration_ptes(page, page);".',
    expect: { kind: 'invariant', property: 'no-mapped-free-page' },
    patch: {
      compaction(b, lay) {
        const page = slot(b, 'page');
        const newpage = slot(b, 'newpage');
        const rc = slot(b, 'rc');
        const remap = slot(b, 'remap_swapcache');
        b.replaceAction('remove_migration_ptes', (m, L) => {
          if (m[L + rc] === 0 && m[L + remap]) remove_migration_ptes(m, lay, m[L + page], m[L + newpage]);
          if (PageLocked(m, m[L + newpage])) unlock_page(m, m[L + newpage], 'move_to_new_page');
        });
      },
    },
  },
];