/**
 * Known bugs of balloon page compaction around the seed's patch 03, each put back
 * into otherwise correct code. A variant changes code only; exploration has to find
 * what it breaks.
 */
import { PagePrivate } from '../../src/kernel/page.ts';
import {
  BALLOON_DEQUEUE_ENTRY, BALLOON_ISOLATE, type BalloonDevInfo, __ClearPageBalloon, balloon_page_insert, dequeueEntry, listDelEntry,
} from '../../src/kernel/balloon.ts';
import { spin_lock } from '../../src/kernel/page.ts';
import { __ClearPageMovable } from '../../src/kernel/movable.ts';
import { F_PRIVATE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { ActionFn, ProgramBuilder } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';
import { VB_DELETE, VB_GET_NEWPAGE, VB_INSERT, VB_PUT_PAGE } from './driver.ts';

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
    kernelFunction: 'balloon_page_dequeue (mm/balloon_compaction.c)',
    description: 'balloon_page_dequeue() still skips pages without PG_private ("raced with isolation"), the test patch 03 replaces with PageIsolated(); balloon_page_insert() no longer sets PG_private, so no page is ever dequeued.',
    source: 'Seed patch 03, mm/balloon_compaction.c balloon_page_dequeue(): "-\\t\\t\\tif (!PagePrivate(page)) {" / "+\\t\\t\\tif (PageIsolated(page)) {", and balloon_page_insert(): "-\\tSetPagePrivate(page);" / "+\\t__SetPageMovable(page, balloon->inode->i_mapping);".',
    expect: { kind: 'deadlock', property: 'deadlock' },
    patch: { deflate: (b) => b.replaceAction(BALLOON_DEQUEUE_ENTRY, dequeueTestsPrivate) },
  },
  {
    name: 'delete-touches-isolated-lru',
    kernelFunction: 'balloon_page_delete (include/linux/balloon_compaction.h)',
    description: 'balloon_page_delete() does list_del(&page->lru) even when the page is isolated, so virtballoon_migratepage() unlinks the page from the compaction CPU\'s migrate list and migration unlinks it a second time.',
    source: 'Seed patch 03, include/linux/balloon_compaction.h balloon_page_delete(): "No touch page.lru field once @page has been isolated because VM is using the field." / "+\\tif (!PageIsolated(page))" / "\\t\\tlist_del(&page->lru);".',
    // Until page->lru became a list_head this was the property 'list-del-once'; now
    // CONFIG_DEBUG_LIST's check fires at the second list_del, two steps earlier.
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: { cpu: (b) => b.replaceAction(VB_DELETE, (m, L, P) => deleteTouchingLru(m, P.lists, m[L + P.page])) },
  },
  {
    name: 'isolate-not-counted',
    kernelFunction: 'balloon_page_isolate (mm/balloon_compaction.c)',
    description: 'balloon_page_isolate() takes the page off the balloon\'s list without counting it in isolated_pages.',
    source: 'Seed patch 03, mm/balloon_compaction.c balloon_page_isolate(): "list_del(&page->lru); b_dev_info->isolated_pages++;" under pages_lock, and balloon_page_dequeue()\'s "some balloon pages are lost. BUG() here".',
    expect: { kind: 'invariant', property: 'balloon-isolated-count' },
    patch: { cpu: (b) => b.replaceAction(BALLOON_ISOLATE, isolateNotCounted) },
  },
  {
    name: 'migrate-without-newpage-ref',
    kernelFunction: 'virtballoon_migratepage (drivers/virtio/virtio_balloon.c)',
    description: 'virtballoon_migratepage() inserts newpage into the balloon without taking the balloon\'s reference on it (get_page(newpage)), so migration\'s put_page(newpage) frees a page the balloon still holds.',
    source: 'drivers/virtio/virtio_balloon.c virtballoon_migratepage() (v4.8): "get_page(newpage); /* balloon reference */", the pair of the "put_page(page); /* balloon reference */" in seed patch 03\'s hunk; seed patch 01 "mm: use put_page to free page instead of putback_lru_page" (migration drops newpage\'s reference with put_page).',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: { cpu: (b) => b.replaceAction(VB_GET_NEWPAGE, () => {}) },
  },
  {
    name: 'migrate-keeps-balloon-ref',
    kernelFunction: 'virtballoon_migratepage (drivers/virtio/virtio_balloon.c)',
    description: 'virtballoon_migratepage() moves the balloon to newpage but never drops the balloon\'s reference on the old page (put_page(page)), which therefore is never freed.',
    source: 'Seeded mutation of the fixed code, named as such, of drivers/virtio/virtio_balloon.c virtballoon_migratepage() (v4.8): "put_page(page); /* balloon reference */" after mutex_unlock(&vb->balloon_lock).',
    expect: { kind: 'termination', property: 'balloon-pages-accounted' },
    patch: { cpu: (b) => b.replaceAction(VB_PUT_PAGE, () => {}) },
  },
  {
    name: 'tell-host-under-pages-lock',
    kernelFunction: 'virtballoon_migratepage (drivers/virtio/virtio_balloon.c)',
    description: 'virtballoon_migratepage() keeps pages_lock held after inserting newpage and calls tell_host(), which sleeps, with the spinlock held.',
    source: 'Seeded mutation of the fixed code, named as such, of drivers/virtio/virtio_balloon.c virtballoon_migratepage() (v4.8): "spin_unlock_irqrestore(&vb_dev_info->pages_lock, flags); ... tell_host(vb, vb->inflate_vq);" (tell_host waits with wait_event(vb->acked, ...)). Found by the core\'s might_sleep() (CONFIG_DEBUG_ATOMIC_SLEEP), which a one-step callback could not reach.',
    expect: { kind: 'kernel-bug', property: 'BUG: sleeping function called from invalid context' },
    patch: {
      cpu: (b) => b.replaceAction(VB_INSERT, (m, L, P, A) => {
        spin_lock(m, P.lock, A);
        balloon_page_insert(m, P as unknown as BalloonDevInfo, m[L + P.newpage]);
        m[P.isolatedPages]--;
      }),
    },
  },
];
