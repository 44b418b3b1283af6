/**
 * Known bugs of lazy migration, each put back into otherwise correct programs: the
 * safeguards of seed 001's migrate_pages_unmap_only() and its rmap.c hunk taken out
 * one at a time. A variant changes code only; exploration has to find what it breaks.
 */
import { type MappedLayout } from '../../src/kernel/mapped-v3/layout.ts';
import { MBIND, lazyUnmap } from '../../src/kernel/mapped-v3/mempolicy.ts';
import { TTU_MIGRATE_DIRECT } from '../../src/kernel/mapped-v3/rmap.ts';
import { type ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';

export interface LazyVariant extends Variant {
  readonly patch: {
    readonly mbind?: (b: ProgramBuilder, lay: MappedLayout) => void;
    readonly toucher?: (b: ProgramBuilder, lay: MappedLayout) => void;
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
    expect: { kind: 'invariant', property: 'no-mapped-free-page' },
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
];
