/**
 * The lazy migration contract (seed 001), for the fault path and the policy: rule by
 * rule in the seed's words, each linked to what checks it and the variants that break
 * it. `pagerace contracts` renders it into docs/driver-contract.md.
 */
import type { ContractRule } from '../../src/system.ts';

const SEED = 'Seed 001, "[RFC][PATCH 03/26] mm, mpol: add MPOL_MF_LAZY" (Lee Schermerhorn, posted by Peter Zijlstra, 16 Mar 2012)';

export const LAZY_CONTRACT: readonly ContractRule[] = [
  {
    id: 'unmap-under-page-lock',
    party: 'vm',
    text: 'if (!trylock_page(page)) goto next; [...] ret = try_to_unmap(page, TTU_MIGRATE_DEFERRED|TTU_IGNORE_MLOCK|TTU_IGNORE_ACCESS); [...] unlock: unlock_page(page);',
    source: `${SEED}, migrate_pages_unmap_only()`,
    enforcedBy: ['VM_BUG_ON(!PageLocked(page))', 'BUG_ON(!PageLocked(page))', 'pte-maps-the-data'],
    brokenBy: ['unmap-only-without-trylock'],
  },
  {
    id: 'anon-pages-through-swap-cache',
    party: 'vm',
    text: 'Anon pages will first be added to the swap [or migration?] cache, if necessary. [...] if (PageAnon(page)) { if (!PageSwapCache(page) && !add_to_swap(page)) { nr_failed++; goto unlock; } }',
    source: `${SEED}, changelog and migrate_pages_unmap_only()`,
    enforcedBy: ['BUG_ON(TTU_ACTION(flags) != TTU_MIGRATE_DIRECT)', 'BUG_ON(!PageLocked(p))', 'no-mapped-free-page', 'page-lifecycle'],
    brokenBy: ['lazy-without-swap-cache', 'lazy-with-migration-entries'],
  },
  {
    id: 'deferred-mode-leaves-swap-entries',
    party: 'vm',
    text: 'TTU_MIGRATE_DIRECT = 1, /* direct migration mode */ TTU_MIGRATE_DEFERRED = 2, /* deferred [lazy] migration mode */ [...] BUG_ON(TTU_ACTION(flags) != TTU_MIGRATE_DIRECT); entry = make_migration_entry(page, pte_write(pteval));',
    source: `${SEED}, include/linux/rmap.h and mm/rmap.c try_to_unmap_one()`,
    enforcedBy: ['no-mapped-free-page', 'BUG_ON(!PageLocked(p))', 'pages-accounted', 'page-lifecycle'],
    brokenBy: ['lazy-with-migration-entries'],
  },
  {
    id: 'fault-path-finds-pages-on-lru',
    party: 'vm',
    text: 'Drain local per cpu pagevecs so fault path can find the the pages on the lru. If we got migrated during the loop above, we may have left pages cached on other cpus. But, we\'ll live with that here to avoid lru_add_drain_all().',
    source: `${SEED}, migrate_pages_unmap_only()`,
    enforcedBy: ['lazy-pages-findable'],
    brokenBy: ['no-lru-drain'],
  },
  {
    id: 'migrate-on-first-touch',
    party: 'both',
    text: 'The pages will be migrated in the fault path on "first touch", if the policy dictates at that time. [...] After unmap, the pages in regions assigned to the worker threads will be automatically migrated local to the threads on 1st touch.',
    source: `${SEED}, changelog`,
    enforcedBy: ['touched-page-placed', 'pte-maps-the-data', 'mapcount-matches-ptes'],
    brokenBy: [],
  },
  {
    id: 'pages-put-back',
    party: 'vm',
    text: 'Pages are placed back on the lru whether or not they were successfully unmapped. Like migrate_pages().',
    source: `${SEED}, migrate_pages_unmap_only()`,
    enforcedBy: ['pages-accounted', 'refcounts-balance', 'deadlock'],
    brokenBy: [],
  },
  {
    id: 'unmap-own-pages-under-mmap-sem',
    party: 'vm',
    text: 'Unline migrate_pages(), this function is only called in the context of a task that is unmapping it\'s own pages while holding its map semaphore for write.',
    source: `${SEED}, migrate_pages_unmap_only()`,
    enforcedBy: ['no-mapped-free-page', 'deadlock'],
    brokenBy: [],
  },
  {
    id: 'pages-under-migration-skipped',
    party: 'vm',
    text: 'check_pte_range(): if (!pte_present(*pte)) continue; [...] Also allows applications to specify that only subsequently touched pages be migrated to obey new policy, instead of all pages in range.',
    source: `mm/mempolicy.c check_pte_range() (v3.3) as the seed's do_mbind() calls it; ${SEED}, changelog`,
    enforcedBy: ['touched-page-placed'],
    brokenBy: [],
    note: 'Not kept at v3.3: a page under migration (a migration entry) when mbind() walks the range is skipped silently and stays where compaction puts it; see docs/findings.md, "lazy", and counterexamples/lazy/findings/skipped-under-migration.json (--compaction 1).',
  },
];
