/**
 * The non-LRU movable page contract, rule by rule, in the seed's words
 * (../shared/seeds/000-nonlru-movable-page-migration.txt: Documentation/vm/page_migration
 * of patch 02, the Documentation/filesystems/Locking table, and the review thread),
 * each linked to what checks it and to the variants that break it.
 * `pagerace contracts` renders this into docs/driver-contract.md and refuses a rule
 * that names a property or variant the model does not have.
 */
import type { ContractRule } from '../../src/system.ts';

const DOC = 'Documentation/vm/page_migration, "C. Non-LRU page migration" (seed patch 02)';

export const NONLRU_CONTRACT: readonly ContractRule[] = [
  {
    id: 'isolate-page-marks-isolated',
    party: 'both',
    text: 'What VM expects on isolate_page function of driver is to return *true* if driver isolates page successfully. On returing true, VM marks the page as PG_isolated so concurrent isolation in several CPUs skip the page for isolation. If a driver cannot isolate the page, it should return *false*.',
    source: `${DOC}, 1. isolate_page`,
    enforcedBy: ['no-double-isolation', 'isolated-off-driver-list'],
    brokenBy: ['no-isolated-check'],
  },
  {
    id: 'isolated-page-lru-is-vms',
    party: 'driver',
    text: 'Once page is successfully isolated, VM uses page.lru fields so driver shouldn\'t expect to preserve values in that fields. [...] Keep in mind that if driver sees PG_isolated page, it means the page have been isolated by VM so it shouldn\'t touch page.lru field.',
    source: `${DOC}, 1. isolate_page and 4. PG_isolated`,
    enforcedBy: ['isolated-lru-untouched'],
    brokenBy: ['driver-touches-isolated-lru'],
  },
  {
    id: 'migratepage-moves-and-clears-movable',
    party: 'driver',
    text: 'The function of migratepage is to move content of the old page to new page and set up fields of struct page newpage. Keep in mind that you should clear PG_movable of oldpage via __ClearPageMovable under page_lock if you migrated the oldpage successfully and returns 0.',
    source: `${DOC}, 2. migratepage`,
    enforcedBy: ['pages-accounted', 'WARN_ON_ONCE(rc == MIGRATEPAGE_SUCCESS && !PageIsolated(page))', 'VM_BUG_ON_PAGE(!PageLocked(page))'],
    brokenBy: [],
  },
  {
    id: 'migratepage-eagain-retries',
    party: 'driver',
    text: 'If driver cannot migrate the page at the moment, driver can return -EAGAIN. On -EAGAIN, VM will retry page migration in a short time because VM interprets -EAGAIN as "temporal migration failure". On returning any error except -EAGAIN, VM will give up the page migration without retrying in this time.',
    source: `${DOC}, 2. migratepage`,
    enforcedBy: ['pages-accounted', 'deadlock'],
    brokenBy: [],
  },
  {
    id: 'putback-page-restores',
    party: 'driver',
    text: 'If migration fails on isolated page, VM should return the isolated page to the driver so VM calls driver\'s putback_page with migration failed page. In this function, driver should put the isolated page back to the own data structure.',
    source: `${DOC}, 3. putback_page`,
    enforcedBy: ['pages-accounted', 'isolated-off-driver-list'],
    brokenBy: ['putback-forgets-isolated-count'],
  },
  {
    id: 'callbacks-under-page-lock',
    party: 'vm',
    text: 'isolate_page: yes / migratepage: yes (both) / putback_page: yes (the page lock is held when a_ops->isolate_page, ->migratepage and ->putback_page are called; both pages for migratepage)',
    source: 'Documentation/filesystems/Locking, the address_space_operations locking table (seed patch 02)',
    enforcedBy: ['VM_BUG_ON_PAGE(!PageLocked(page))', 'unlock-by-owner'],
    brokenBy: ['putback-without-lock'],
  },
  {
    id: 'set-movable-under-page-lock',
    party: 'driver',
    text: 'Driver should use the below function to make page movable under page_lock. void __SetPageMovable(struct page *page, struct address_space *mapping)',
    source: `${DOC}, 4. PG_movable`,
    enforcedBy: ['VM_BUG_ON_PAGE(!PageLocked(page))'],
    brokenBy: [],
  },
  {
    id: 'no-direct-mapping-access',
    party: 'driver',
    text: 'so driver shouldn\'t access page->mapping directly. Instead, driver should use page_mapping which mask off the low two bits of page->mapping so it can get right struct address_space.',
    source: `${DOC}, 4. PG_movable`,
    enforcedBy: [],
    brokenBy: [],
    note: 'The model stores page->mapping as an address space id with the low bits beside it and gives drivers page_mapping(); a driver that reads the word itself is not distinguished.',
  },
  {
    id: 'lock-only-movable-pages',
    party: 'vm',
    text: 'Check PageMovable before holding a PG_lock because page\'s owner assumes anybody doesn\'t touch PG_lock of newly allocated page so unconditionally grapping the lock ruins page\'s owner side. [...] __PageMovable [...] is also good for just peeking to test non-lru movable pages before more expensive checking with lock_page in pfn scanning to select victim.',
    source: 'mm/migrate.c isolate_movable_page() (seed patch 02, v2 changelog: "check PageMovable before lock_page - Joonsoo"); Documentation/vm/page_migration, 4. PG_movable',
    enforcedBy: ['bad_page(): PAGE_FLAGS_CHECK_AT_FREE flag(s) set', 'unlock-by-owner', 'use-after-free'],
    brokenBy: ['lock-before-refcount'],
  },
  {
    id: 'clear-movable-before-release',
    party: 'both',
    text: 'Driver using __SetPageMovable should clear the flag via __ClearMovablePage under page_lock before the releasing the page. [...] if driver releases the page after isolation by VM, page->mapping doesn\'t have stable value although it has PAGE_MAPPING_MOVABLE (Look at __ClearPageMovable).',
    source: `${DOC}, 4. PG_movable; __ClearPageMovable() keeps PAGE_MAPPING_MOVABLE, as Minchan Kim kept it in v6r2 after Vlastimil Babka asked "This should be negated to clear... use ~PAGE_MAPPING_MOVABLE ?"`,
    enforcedBy: ['freed-page-clean', 'VM_BUG_ON_PAGE(!PageLocked(page))', 'bad_page(): non-NULL mapping', 'page-lifecycle'],
    brokenBy: ['clear-movable-all-bits', 'clear-movable-negated'],
  },
  {
    id: 'released-while-isolated',
    party: 'vm',
    text: 'In case of non-lru page, it could be released after isolation step. In that case, we shouldn\'t try migration. [...] if (unlikely(__PageMovable(page))) { lock_page(page); if (!PageMovable(page)) __ClearPageIsolated(page); unlock_page(page); }',
    source: 'mm/migrate.c move_to_new_page() and unmap_and_move(), "page was freed from under us" (seed patch 02, v6r2)',
    enforcedBy: ['freed-page-clean'],
    brokenBy: ['freed-under-us-stays-isolated'],
  },
  {
    id: 'pg-isolated-is-the-vms',
    party: 'driver',
    text: 'To prevent concurrent isolation among several CPUs, VM marks isolated page as PG_isolated under lock_page. [...] Driver doesn\'t need to manipulate the flag because VM will set/clear it automatically. [...] PG_isolated is alias with PG_reclaim flag so driver shouldn\'t use the flag for own purpose.',
    source: `${DOC}, 4. PG_isolated; mm/migrate.c isolate_movable_page(): "Driver shouldn't use PG_isolated bit of page->flags"`,
    enforcedBy: ['isolated-under-page-lock', 'WARN_ON_ONCE(PageIsolated(page))'],
    brokenBy: [],
  },
];
