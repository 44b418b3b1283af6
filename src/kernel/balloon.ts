/**
 * Balloon page compaction: include/linux/balloon_compaction.h and
 * mm/balloon_compaction.c at kernel v4.8, i.e. after the seed's patch 03 ("mm: balloon:
 * use general non-lru movable page feature"): balloon pages are non-LRU movable pages
 * whose address_space is the balloon inode's mapping, with balloon_aops
 * (balloon_page_isolate / balloon_page_migrate / balloon_page_putback) as its a_ops.
 *
 * The pieces here are the kernel's; the virtio-balloon driver (fill_balloon,
 * leak_balloon, virtballoon_migratepage) lives in models/balloon.
 */
import { BUG_ON, VM_BUG_ON_PAGE } from './bug.ts';
import {
  F_PRIVATE, F_TYPE, PAGE_STRIDE, PageBalloon, PageIsolated, PageLocked, TYPE_BALLOON, TYPE_NONE,
  nodePage, pageNode, spin_lock, spin_unlock, spinIsFree, trylock_page, unlock_page, alloc_page,
} from './page.ts';
import { list_add, list_del, list_empty, list_entry, listNextOf, spaceOf } from './list.ts';
import { __ClearPageMovable, __SetPageMovable } from './movable.ts';
import { type Callback, type MovableOps, isCallbackProgram } from './migrate.ts';
import { type ActionFn, type GuardFn, type ProgramBuilder, STEP, br } from './program.ts';

/**
 * list_del(&page->lru) (include/linux/list.h with CONFIG_DEBUG_LIST, v4.8) in the
 * balloon world's list space: unlinking an entry that list_del() already poisoned is
 * "list_del corruption", which list.ts reports as the kernel does.
 */
export function listDelEntry(m: Uint8Array, ls: number, pfn: number): void {
  list_del(m, spaceOf(ls), pageNode(pfn));
}

/** Where a balloon_dev_info lives in the packed world. */
export interface BalloonDevInfo {
  /** The balloon inode's i_mapping, as an address space id. */
  readonly mapping: number;
  /** b_dev_info->pages, as a list head node id of the world's list space `lists`. */
  readonly list: number;
  readonly lists: number;
  /** Byte offsets of b_dev_info->pages_lock and b_dev_info->isolated_pages. */
  readonly pagesLock: number;
  readonly isolatedPages: number;
  /** Pages in the world, for list walks. */
  readonly npages: number;
}

/** __SetPageBalloon(): include/linux/page-flags.h (v4.8), a page type in _mapcount. */
export function __SetPageBalloon(m: Uint8Array, pfn: number): void {
  VM_BUG_ON_PAGE(m[pfn * PAGE_STRIDE + F_TYPE] !== TYPE_NONE, 'atomic_read(&page->_mapcount) != -1', '__SetPageBalloon', pfn);
  m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_BALLOON;
}

/** __ClearPageBalloon(): include/linux/page-flags.h (v4.8). */
export function __ClearPageBalloon(m: Uint8Array, pfn: number): void {
  VM_BUG_ON_PAGE(!PageBalloon(m, pfn), '!PageBalloon(page)', '__ClearPageBalloon', pfn);
  m[pfn * PAGE_STRIDE + F_TYPE] = TYPE_NONE;
}

/**
 * balloon_page_insert(): include/linux/balloon_compaction.h (v4.8). Called under
 * pages_lock with the page locked (__SetPageMovable asserts the lock). page->private
 * points at the balloon: the model stores 1.
 */
export function balloon_page_insert(m: Uint8Array, dev: BalloonDevInfo, pfn: number): void {
  __SetPageBalloon(m, pfn);
  __SetPageMovable(m, pfn, dev.mapping);
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 1; // set_page_private(page, (unsigned long)balloon)
  list_add(m, spaceOf(dev.lists), pageNode(pfn), dev.list);
}

/**
 * balloon_page_delete(): include/linux/balloon_compaction.h (v4.8, seed patch 03):
 * "No touch page.lru field once @page has been isolated because VM is using the field."
 */
export function balloon_page_delete(m: Uint8Array, ls: number, pfn: number): void {
  __ClearPageBalloon(m, pfn);
  __ClearPageMovable(m, pfn);
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 0; // set_page_private(page, 0)
  if (!PageIsolated(m, pfn)) listDelEntry(m, ls, pfn);
}

// ---------------------------------------------------------------------------
// balloon_aops (mm/balloon_compaction.c, v4.8): run by a compaction CPU, in its context.

export const pagesLockFree: GuardFn = (m, _L, P) => spinIsFree(m, P.lock);

/**
 * balloon_page_isolate(page, mode): spin_lock_irqsave(pages_lock); list_del(&page->lru);
 * b_dev_info->isolated_pages++; spin_unlock; return true. Every access to the list
 * and the counter is under pages_lock, so it is one step (run inside the VM's
 * isolate step, under the page lock).
 */
export const balloonPageIsolate: ActionFn = (m, L, P) => {
  listDelEntry(m, P.ls, m[L + P.page]);
  m[P.isolated]++;
};

/** balloon_page_putback(page): under pages_lock, list_add(&page->lru, &pages); isolated_pages--. */
export const balloonPagePutback: ActionFn = (m, L, P) => {
  list_add(m, spaceOf(P.ls), pageNode(m[L + P.page]), P.list);
  m[P.isolated]--;
};

/** balloon_page_migrate(): the two VM_BUG_ON_PAGE checks, then balloon->migratepage(). */
export const balloonPageMigrateChecks: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  const newpage = m[L + P.newpage];
  VM_BUG_ON_PAGE(!PageLocked(m, page), '!PageLocked(page)', 'balloon_page_migrate', page);
  VM_BUG_ON_PAGE(!PageLocked(m, newpage), '!PageLocked(newpage)', 'balloon_page_migrate', newpage);
};

/** Names the variants patch by. */
export const BALLOON_ISOLATE = 'balloon_page_isolate';
export const BALLOON_DEQUEUE_ENTRY = 'balloon_page_dequeue: trylock_page, PageIsolated?, balloon_page_delete';

/**
 * balloon_aops as MovableOps. `migratepage` is the driver's balloon->migratepage
 * (virtballoon_migratepage for virtio), whose outcomes follow the checks of
 * balloon_page_migrate().
 */
export function balloonAops(
  dev: BalloonDevInfo,
  migratepage: (b: ProgramBuilder, a: { page: number; newpage: number }) => Callback,
): MovableOps {
  const lock = { lock: dev.pagesLock };
  return {
    mapping: dev.mapping,
    isolatePage: (b, page) => [{
      event: STEP,
      guard: b.g('pages_lock free', pagesLockFree, lock),
      actions: [b.a(BALLOON_ISOLATE, balloonPageIsolate, { page, isolated: dev.isolatedPages, ls: dev.lists })],
      value: 1,
    }],
    migratePage: (b, a) => {
      const checks = b.a('balloon_page_migrate checks', balloonPageMigrateChecks, a);
      const cb = migratepage(b, a);
      if (!isCallbackProgram(cb)) return cb.map((o) => ({ ...o, actions: [checks, ...o.actions] }));
      // The checks read only the two PG_locked bits this CPU holds: a local step.
      return {
        program: (pb, at, ret) => {
          pb.localStep(at, 'balloon_page_migrate', 'VM_BUG_ON_PAGE(!PageLocked(page)); VM_BUG_ON_PAGE(!PageLocked(newpage))', [br(`${at}/balloon->migratepage`, [checks])]);
          cb.program(pb, `${at}/balloon->migratepage`, ret);
        },
      };
    },
    putbackPage: (b, page) => [{
      event: STEP,
      guard: b.g('pages_lock free', pagesLockFree, lock),
      actions: [b.a('balloon_page_putback', balloonPagePutback, { page, list: dev.list, isolated: dev.isolatedPages, ls: dev.lists })],
      value: 0,
    }],
  };
}

// ---------------------------------------------------------------------------
// balloon_page_enqueue() and balloon_page_dequeue() as step-program fragments.

const allocSlot: ActionFn = (m, L, P) => alloc_page(m, m[L + P.page]);
/**
 * BUG_ON(!trylock_page(page)); spin_lock_irqsave(pages_lock); balloon_page_insert();
 * spin_unlock_irqrestore(pages_lock). The trylock and the locked insert share a step:
 * the page is not movable yet, so nobody else may lock it (isolate_movable_page tests
 * __PageMovable before trylock_page), and the trylock cannot fail in between.
 */
const lockAndInsert: ActionFn = (m, L, P, A) => {
  const page = m[L + P.page];
  BUG_ON(!trylock_page(m, page, A), '!trylock_page(page)', 'balloon_page_enqueue', page);
  spin_lock(m, P.lock, A);
  balloon_page_insert(m, P as unknown as BalloonDevInfo, page);
  spin_unlock(m, P.lock);
};
const unlockSlot: ActionFn = (m, L, P) => unlock_page(m, m[L + P.page]);

const devParams = (dev: BalloonDevInfo) => ({
  mapping: dev.mapping, list: dev.list, lists: dev.lists, ls: dev.lists, lock: dev.pagesLock, pagesLock: dev.pagesLock,
  isolatedPages: dev.isolatedPages, npages: dev.npages,
});

/**
 * balloon_page_enqueue(b_dev_info): mm/balloon_compaction.c (v4.8). The model's
 * allocator hands out the pfn in local `page`.
 */
export function balloonPageEnqueue(b: ProgramBuilder, at: string, dev: BalloonDevInfo, page: number, next: string): void {
  const fn = 'balloon_page_enqueue';
  const x = (s: string) => `${at}/${s}`;
  b.steps(at, fn, 'page = alloc_page(balloon_mapping_gfp_mask() | ...)', [br(x('insert'), [b.a('alloc_page', allocSlot, { page })])]);
  b.steps(x('insert'), fn, 'BUG_ON(!trylock_page(page)); spin_lock(pages_lock); balloon_page_insert(b_dev_info, page); spin_unlock(pages_lock)', [
    br(x('unlock'), [b.a('trylock_page; balloon_page_insert under pages_lock', lockAndInsert, { page, ...devParams(dev) })],
      b.g('pages_lock free', pagesLockFree, { lock: dev.pagesLock })),
  ]);
  b.steps(x('unlock'), fn, 'unlock_page(page)', [br(next, [b.a('unlock_page(page)', unlockSlot, { page })])]);
}

/** Results of one dequeue step, kept in a local. */
export const DQ_NEXT = 0;
export const DQ_GOT = 1;
export const DQ_NONE = 2;

/**
 * One entry of balloon_page_dequeue()'s list_for_each_entry_safe(), with pages_lock
 * held: trylock_page(page); if it is isolated ("raced with isolation") unlock and go
 * on; else balloon_page_delete(page), unlock_page(page), spin_unlock and return it.
 * At the end of the list pages_lock is dropped and NULL is the answer.
 * `racedWithIsolation` is the test the seed's patch 03 changed (variants pass the
 * old one).
 */
export function dequeueEntry(racedWithIsolation: (m: Uint8Array, pfn: number) => boolean): ActionFn {
  return (m, L, P, A) => {
    const S = spaceOf(P.ls);
    const node = m[L + P.cursor];
    if (node === P.list) {
      spin_unlock(m, P.lock);
      m[L + P.res] = DQ_NONE;
      return;
    }
    // list_for_each_entry_safe: the next entry is read before the body runs.
    const page = nodePage(list_entry(S, node, 'balloon_page_dequeue'));
    const following = listNextOf(m, S, node, 'balloon_page_dequeue');
    m[L + P.cursor] = following;
    if (trylock_page(m, page, A)) {
      if (racedWithIsolation(m, page)) {
        unlock_page(m, page);
      } else {
        balloon_page_delete(m, P.ls, page);
        unlock_page(m, page);
        spin_unlock(m, P.lock);
        m[L + P.page] = page;
        m[L + P.res] = DQ_GOT;
        return;
      }
    }
    if (following === P.list) {
      spin_unlock(m, P.lock);
      m[L + P.res] = DQ_NONE;
    } else {
      m[L + P.res] = DQ_NEXT;
    }
  };
}
const dequeueEntryV48 = dequeueEntry((m, pfn) => PageIsolated(m, pfn));

const lockAndFirst: ActionFn = (m, L, P, A) => {
  spin_lock(m, P.lock, A);
  m[L + P.cursor] = listNextOf(m, spaceOf(P.ls), P.list, 'balloon_page_dequeue');
};
const resIs: GuardFn = (m, L, P) => m[L + P.res] === P.value;
/**
 * The !dequeued_page path: "If we are unable to dequeue a balloon page because the
 * page list is empty and there is no isolated pages, then something went out of
 * track and some balloon pages are lost. BUG() here".
 */
const lostPagesCheck: ActionFn = (m, _L, P, A) => {
  spin_lock(m, P.lock, A);
  BUG_ON(list_empty(m, spaceOf(P.ls), P.list) && m[P.isolatedPages] === 0, 'list_empty(&b_dev_info->pages) && !b_dev_info->isolated_pages', 'balloon_page_dequeue');
  spin_unlock(m, P.lock);
};

/**
 * balloon_page_dequeue(b_dev_info): mm/balloon_compaction.c (v4.8 with patch 03).
 * Goes to onPage with the page in local `page`, or to onNull. `afterEntry` runs at
 * the end of every entry step (the caller's ghost bookkeeping).
 */
export function balloonPageDequeue(
  b: ProgramBuilder, at: string, dev: BalloonDevInfo,
  slot: { readonly cursor: number; readonly res: number; readonly page: number },
  onPage: string, onNull: string, afterEntry: ReturnType<ProgramBuilder['a']>[] = [],
): void {
  const fn = 'balloon_page_dequeue';
  const x = (s: string) => `${at}/${s}`;
  const P = { ...slot, ...devParams(dev) };
  const entry = b.a(BALLOON_DEQUEUE_ENTRY, dequeueEntryV48, P);
  // spin_lock(pages_lock) and the first entry's trylock_page share a step: between
  // them another actor could only lock or unlock that page, which it can do as well
  // before the spin_lock, since page locks are not taken under pages_lock.
  b.steps(at, fn, 'spin_lock(pages_lock); list_for_each_entry_safe: first entry', [
    br(x('res'), [b.a('spin_lock(pages_lock); first entry', lockAndFirst, P), entry, ...afterEntry], b.g('pages_lock free', pagesLockFree, { lock: dev.pagesLock })),
  ]);
  b.localStep(x('res'), fn, 'dequeued_page? next entry? end of list?', [
    br(onPage, [], b.g('dequeued', resIs, { res: slot.res, value: DQ_GOT })),
    br(x('recheck'), [], b.g('end of list', resIs, { res: slot.res, value: DQ_NONE })),
    br(x('entry')),
  ]);
  b.steps(x('entry'), fn, 'trylock_page(page); PageIsolated(page)? balloon_page_delete(page); unlock_page(page)', [
    br(x('res'), [entry, ...afterEntry]),
  ]);
  b.steps(x('recheck'), fn, 'spin_lock(pages_lock); if (list_empty(&pages) && !isolated_pages) BUG(); spin_unlock', [
    br(onNull, [b.a('lost balloon pages check', lostPagesCheck, P)], b.g('pages_lock free', pagesLockFree, { lock: dev.pagesLock })),
  ]);
}


