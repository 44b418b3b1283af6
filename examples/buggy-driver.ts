/**
 * A toy balloon driver with one bug, to show how to check your own driver:
 *
 *   npx pagerace check nonlru --driver ./examples/buggy-driver.ts
 *
 * It inflates: it allocates its pages one by one, makes each movable under the page
 * lock and puts it on its list, and implements isolate_page, migratepage and
 * putback_page. Its putback_page forgets to take the page out of its isolated
 * count, so a page the VM gives back stays counted as isolated for ever (think of a
 * balloon that then refuses to deflate, or a zsmalloc class whose isolated count
 * keeps the pool from being destroyed). examples/fixed-driver.ts is the fix.
 *
 * Where things live (NonlruLayout, `lay`): the driver's spinlock is the byte
 * lay.driverLock, its list is list id lay.driverList, its isolated count the byte
 * lay.driverIsolated, and slot k of its page table the byte lay.slots + k. The
 * properties read those, so the driver keeps its state there.
 */
import {
  type ActionFn, type GuardFn, type NonlruDriver, type NonlruLayout, type Outcome, type ProgramBuilder as Builder,
  BUG_ON, EAGAIN, EBUSY, PG_private, ProgramBuilder, RC_SUCCESS, STEP, __ClearPageMovable, __SetPageMovable,
  alloc_page, br, clearFlag, get_page, lockPage, lruAdd, lruDel, pageUnlocked, put_page, setFlag, spinLockFree,
  unlock_page,
} from 'pagerace/driver';

// --- address_space_operations --------------------------------------------------
// These run in the calling CPU's context, inside the VM's step and under the page
// lock: P.page and P.newpage are slots of the CPU's locals (the pfn is m[L + P.page]);
// the other params are byte offsets and ids from the layout.

/** isolate_page: spin_lock; list_del(&page->lru); isolated++; spin_unlock; return true. */
export const balloonIsolate: ActionFn = (m, L, P) => {
  lruDel(m, P.ls, m[L + P.page]);
  m[P.isolated]++;
};

/**
 * putback_page: spin_lock; list_add(&page->lru, &b->pages); spin_unlock.
 * BUG: the page is back on the list, but `isolated--` is missing (the seed's
 * balloon_page_putback(), patch 03, does `b_dev_info->isolated_pages--` here).
 */
const balloonPutback: ActionFn = (m, L, P) => {
  lruAdd(m, P.ls, m[L + P.page], P.list);
};

/**
 * migratepage answering MIGRATEPAGE_SUCCESS: under the spinlock, the slot that held
 * page now holds newpage, newpage becomes movable and ours (PG_private, a reference,
 * our list), and page is let go: __ClearPageMovable under the page lock (the VM holds
 * it), __ClearPagePrivate, and put_page of our reference (the VM's isolation reference
 * keeps it alive until the VM is done with it).
 */
export const balloonMigrate: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  const newpage = m[L + P.newpage];
  let k = 0;
  while (k < P.pages && m[P.slots + k] !== page) k++;
  BUG_ON(k === P.pages, 'page not in the balloon', 'balloon_page_migrate', page);
  m[P.slots + k] = newpage;
  __SetPageMovable(m, newpage, P.mapping);
  setFlag(m, newpage, PG_private);
  get_page(m, newpage);
  lruAdd(m, P.ls, newpage, P.list);
  m[P.isolated]--;
  __ClearPageMovable(m, page);
  clearFlag(m, page, PG_private);
  put_page(m, page);
};

/** The three callbacks as Outcomes; `putback` is the one the fixed driver swaps. */
export function balloonOps(lay: NonlruLayout, putback: ActionFn = balloonPutback) {
  const lock = { lock: lay.driverLock };
  return {
    isolatePage: (b: Builder, page: number): Outcome[] => [{
      event: STEP,
      guard: b.g('balloon lock free', spinLockFree, lock),
      actions: [b.a('balloon isolate_page', balloonIsolate, { page, isolated: lay.driverIsolated, ls: lay.lists })],
      value: 1,
    }],
    // An explicit choice: the page migrates, or the driver answers -EAGAIN (busy for
    // now: the VM retries) or -EBUSY (the VM gives up and calls putback_page).
    migratePage: (b: Builder, a: { page: number; newpage: number }): Outcome[] => [
      {
        event: 'MIGRATE_OK',
        guard: b.g('balloon lock free', spinLockFree, lock),
        actions: [b.a('balloon migratepage', balloonMigrate, {
          ...a, slots: lay.slots, pages: lay.pages, mapping: lay.mapping, list: lay.driverList, isolated: lay.driverIsolated, ls: lay.lists,
        })],
        value: RC_SUCCESS,
      },
      { event: 'MIGRATE_EAGAIN', actions: [], value: EAGAIN },
      { event: 'MIGRATE_EBUSY', actions: [], value: EBUSY },
    ],
    putbackPage: (b: Builder, page: number): Outcome[] => [{
      event: STEP,
      guard: b.g('balloon lock free', spinLockFree, lock),
      actions: [b.a('balloon putback_page', putback, { page, list: lay.driverList, isolated: lay.driverIsolated, ls: lay.lists })],
      value: 0,
    }],
  };
}

// --- the driver's own thread: inflate ----------------------------------------------

const moreToAlloc: GuardFn = (m, L, P) => m[L + P.k] < P.pages;
/** page = alloc_page(): the model's allocator hands out pfn k for the k-th allocation. */
const allocPage: ActionFn = (m, L, P) => {
  alloc_page(m, m[L + P.k]);
  m[L + P.page] = m[L + P.k];
};
/** Under the page lock and the spinlock: __SetPagePrivate, __SetPageMovable, slot, list. */
const insertPage: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  setFlag(m, page, PG_private);
  __SetPageMovable(m, page, P.mapping);
  m[P.slots + m[L + P.k]] = page;
  lruAdd(m, P.ls, page, P.list);
};
const unlockAndNext: ActionFn = (m, L, P) => {
  unlock_page(m, m[L + P.page]);
  m[L + P.k]++;
};

export function balloonThread(lay: NonlruLayout) {
  const b = new ProgramBuilder('balloon');
  const k = b.local('k');
  const page = b.local('page');
  // The owner's decision: inflate by one more page (while it has pages to take), or
  // stop. Nobody else knows a page before it is movable, so allocating it is one step.
  b.step('inflate', 'balloon_inflate', 'page = alloc_page(), or stop inflating', {
    INFLATE: [br('insert', [b.a('alloc_page', allocPage, { k, page })], b.g('k < pages', moreToAlloc, { k, pages: lay.pages }))],
    STOP: [br('done')],
  });
  // lock_page(page); spin_lock(&b->lock); ...; spin_unlock: the spinlock covers every
  // access to the list, the slots and the count, so the critical section is one step.
  b.steps('insert', 'balloon_inflate', 'lock_page(page); __SetPagePrivate(page); spin_lock; __SetPageMovable(page, mapping); slot[k] = page; list_add(&page->lru, &b->pages); spin_unlock', [
    br('unlock', [b.a('lock_page', lockPage, { page }), b.a('balloon insert', insertPage, { k, page, mapping: lay.mapping, slots: lay.slots, list: lay.driverList, ls: lay.lists })],
      b.and(b.g('!PageLocked(page)', pageUnlocked, { page }), b.g('balloon lock free', spinLockFree, { lock: lay.driverLock }))),
  ]);
  b.steps('unlock', 'balloon_inflate', 'unlock_page(page); k++', [br('inflate', [b.a('unlock_page; k++', unlockAndNext, { k, page })])]);
  b.final('done');
  return { program: b, initial: 'inflate' };
}

export const driver: NonlruDriver = {
  name: 'toy-balloon (buggy putback)',
  description: 'inflates its pages and keeps them; putback_page forgets isolated--',
  ops: (lay) => balloonOps(lay),
  thread: balloonThread,
};
