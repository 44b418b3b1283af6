/**
 * Known bugs of balloon page compaction around the seed's patch 03, each put back
 * into otherwise correct code. A variant changes code only; exploration has to find
 * what it breaks.
 */
import { PagePrivate } from '../../src/kernel/page.ts';
import {
  BALLOON_DEQUEUE_ENTRY, BALLOON_ISOLATE, __ClearPageBalloon, balloon_page_delete, dequeueEntry, listDelEntry,
} from '../../src/kernel/balloon.ts';
import { __ClearPageMovable } from '../../src/kernel/movable.ts';
import { F_PRIVATE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { ActionFn, ProgramBuilder } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';
import { VIRTBALLOON_MIGRATEPAGE, virtballoonMigrate } from './driver.ts';

export interface Patch {
  readonly cpu?: (b: ProgramBuilder) => void;
  readonly inflate?: (b: ProgramBuilder) => void;
  readonly deflate?: (b: ProgramBuilder) => void;
}

/** balloon_page_dequeue() with the line patch 03 replaced: `if (!PagePrivate(page))`. */
const dequeueTestsPrivate = dequeueEntry((m, pfn) => !PagePrivate(m, pfn));

/** balloon_page_delete() unlinking page->lru whether or not the VM has the page isolated. */
function deleteTouchingLru(m: Uint8Array, ls: number, pfn: number): void {
  __ClearPageBalloon(m, pfn);
  __ClearPageMovable(m, pfn);
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 0;
  listDelEntry(m, ls, pfn);
}

/** balloon_page_isolate() without b_dev_info->isolated_pages++. */
const isolateNotCounted: ActionFn = (m, L, P) => listDelEntry(m, P.ls, m[L + P.page]);


export const BALLOON_VARIANTS: readonly (Variant & { patch: Patch })[] = [
  {
    name: 'dequeue-tests-private',
    description: 'balloon_page_dequeue() still skips pages without PG_private ("raced with isolation"), the test patch 03 replaces with PageIsolated(); balloon_page_insert() no longer sets PG_private, so no page is ever dequeued.',
    source: 'Seed patch 03, mm/balloon_compaction.c balloon_page_dequeue(): "-\\t\\t\\tif (!PagePrivate(page)) {" / "+\\t\\t\\tif (PageIsolated(page)) {", and balloon_page_insert(): "-\\tSetPagePrivate(page);" / "+\\t__SetPageMovable(page, balloon->inode->i_mapping);".',
    expect: { kind: 'deadlock', property: 'deadlock' },
    patch: { deflate: (b) => b.replaceAction(BALLOON_DEQUEUE_ENTRY, dequeueTestsPrivate) },
  },
  {
    name: 'delete-touches-isolated-lru',
    description: 'balloon_page_delete() does list_del(&page->lru) even when the page is isolated, so virtballoon_migratepage() unlinks the page from the compaction CPU\'s migrate list and migration unlinks it a second time.',
    source: 'Seed patch 03, include/linux/balloon_compaction.h balloon_page_delete(): "No touch page.lru field once @page has been isolated because VM is using the field." / "+\\tif (!PageIsolated(page))" / "\\t\\tlist_del(&page->lru);".',
    // Until page->lru became a list_head this was the property 'list-del-once'; now
    // CONFIG_DEBUG_LIST's check fires at the second list_del, two steps earlier.
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: { cpu: (b) => b.replaceAction(VIRTBALLOON_MIGRATEPAGE, virtballoonMigrate(deleteTouchingLru)) },
  },
  {
    name: 'isolate-not-counted',
    description: 'balloon_page_isolate() takes the page off the balloon\'s list without counting it in isolated_pages.',
    source: 'Seed patch 03, mm/balloon_compaction.c balloon_page_isolate(): "list_del(&page->lru); b_dev_info->isolated_pages++;" under pages_lock, and balloon_page_dequeue()\'s "some balloon pages are lost. BUG() here".',
    expect: { kind: 'invariant', property: 'balloon-isolated-count' },
    patch: { cpu: (b) => b.replaceAction(BALLOON_ISOLATE, isolateNotCounted) },
  },
  {
    name: 'migrate-without-newpage-ref',
    description: 'virtballoon_migratepage() inserts newpage into the balloon without taking the balloon\'s reference on it (get_page(newpage)), so migration\'s put_page(newpage) frees a page the balloon still holds.',
    source: 'drivers/virtio/virtio_balloon.c virtballoon_migratepage() (v4.8): "get_page(newpage); /* balloon reference */", the pair of the "put_page(page); /* balloon reference */" in seed patch 03\'s hunk; seed patch 01 "mm: use put_page to free page instead of putback_lru_page" (migration drops newpage\'s reference with put_page).',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: { cpu: (b) => b.replaceAction(VIRTBALLOON_MIGRATEPAGE, virtballoonMigrate(balloon_page_delete, false)) },
  },
];
