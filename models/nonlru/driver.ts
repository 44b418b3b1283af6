/**
 * A driver that owns non-LRU movable pages, in the manner of zsmalloc and the
 * virtio balloon after the seed series (v4.8): it allocates pages, makes them movable
 * under the page lock, keeps them on its own list under its own spinlock and in a
 * table of slots, implements isolate_page / migratepage / putback_page, and may
 * release any page at any time.
 *
 * Its spinlock protects the list, the slot table and the isolated count, and every
 * access to those is under it, so each of its critical sections is one atomic step
 * (DESIGN.md: "A critical section under a spinlock may be one step only when every
 * access to the data it protects is under that same lock").
 */
import {
  PG_private, PageIsolated, alloc_page, clearFlag, flagsAt, get_page, pageNode, setFlag, spinIsFree, unlock_page,
} from '../../src/kernel/page.ts';
import { loadWord, nonAtomicSet, storeWord } from '../../src/kernel/bitops.ts';
import { list_add, list_del, spaceOf } from '../../src/kernel/list.ts';
import { BUG_ON, VM_BUG_ON_PAGE } from '../../src/kernel/bug.ts';
import { PageMovable, __ClearPageMovable, __SetPageMovable } from '../../src/kernel/movable.ts';
import { EAGAIN, EBUSY, RC_SUCCESS, type MovableOps, lockPage, pageUnlocked, putPage, unlockPage } from '../../src/kernel/migrate.ts';
import { type ActionFn, type GuardFn, ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';
import type { Driver } from '../../src/system.ts';

// --- a_ops, run in the calling CPU's context -----------------------------------

const lockFree: GuardFn = (m, _L, P) => spinIsFree(m, P.lock);

/** isolate_page: take the page off the driver's list and count it isolated. */
const driverIsolate: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  list_del(m, spaceOf(P.ls), pageNode(page));
  m[P.isolated]++;
};

/** putback_page: back onto the driver's list. */
const driverPutback: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  list_add(m, spaceOf(P.ls), pageNode(page), P.list);
  m[P.isolated]--;
};

/**
 * migratepage answering 0: move the page's contents and the driver's bookkeeping to
 * newpage and make newpage movable and the driver's (reference, list, slot). The old
 * page is let go by the actions that follow in the same step: __ClearPageMovable and
 * __ClearPagePrivate under the page lock, then put_page of the driver's reference.
 * The checks are zs_page_migrate()'s (mm/zsmalloc.c, seed patch 11). Old page and
 * newpage are both locked by the VM; the rest is under the spinlock; put_page(page)
 * cannot free the page (the VM holds the isolation reference).
 */
const driverMigrate: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  const newpage = m[L + P.newpage];
  VM_BUG_ON_PAGE(!PageMovable(m, page), '!PageMovable(page)', 'driver migratepage', page);
  VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'driver migratepage', page);
  let k = 0;
  while (k < P.pages && m[P.slots + k] !== page) k++;
  BUG_ON(k === P.pages, 'page not in the driver\'s table', 'driver migratepage', page);
  m[P.slots + k] = newpage;
  __SetPageMovable(m, newpage, P.mapping);
  setFlag(m, newpage, PG_private);
  get_page(m, newpage);
  list_add(m, spaceOf(P.ls), pageNode(newpage), P.list);
  m[P.isolated]--;
};
/** __ClearPageMovable(page): a kernel function the driver calls; variants swap it by this name. */
export const CLEAR_MOVABLE = '__ClearPageMovable(page)';
const clearMovable: ActionFn = (m, L, P) => __ClearPageMovable(m, m[L + P.page]);
const clearPrivate: ActionFn = (m, L, P) => clearFlag(m, m[L + P.page], PG_private);

export function driverOps(lay: NonlruLayout): MovableOps {
  const lock = { lock: lay.driverLock };
  return {
    mapping: lay.mapping,
    // spin_lock; list_del(&page->lru); isolated++; spin_unlock; return true
    isolatePage: (b, page) => [{
      event: STEP,
      guard: b.g('spin_lock free', lockFree, lock),
      actions: [b.a('driver isolate_page', driverIsolate, { page, isolated: lay.driverIsolated, ls: lay.lists })],
      value: 1,
    }],
    // The driver answers 0, -EAGAIN or -EBUSY: an explicit choice.
    migratePage: (b, a) => [
      {
        event: 'MIGRATE_OK',
        guard: b.g('spin_lock free', lockFree, lock),
        actions: [
          b.a('driver migratepage', driverMigrate, {
            ...a, slots: lay.slots, pages: lay.pages, mapping: lay.mapping, list: lay.driverList, isolated: lay.driverIsolated, ls: lay.lists,
          }),
          b.a(CLEAR_MOVABLE, clearMovable, { page: a.page }),
          b.a('__ClearPagePrivate(page)', clearPrivate, { page: a.page }),
          b.a('put_page', putPage, { page: a.page }),
        ],
        value: RC_SUCCESS,
      },
      { event: 'MIGRATE_EAGAIN', actions: [], value: EAGAIN },
      { event: 'MIGRATE_EBUSY', actions: [], value: EBUSY },
    ],
    // spin_lock; list_add(&page->lru, &driver->pages); isolated--; spin_unlock
    putbackPage: (b, page) => [{
      event: STEP,
      guard: b.g('spin_lock free', lockFree, lock),
      actions: [b.a(DRIVER_PUTBACK, driverPutback, { page, list: lay.driverList, isolated: lay.driverIsolated, ls: lay.lists })],
      value: 0,
    }],
  };
}

// --- the driver's own thread ----------------------------------------------------

const moreToAlloc: GuardFn = (m, L, P) => m[L + P.k] < P.pages;
const allocNext: ActionFn = (m, L, P) => {
  const pfn = m[L + P.k]; // the model's allocator hands out pfn k
  alloc_page(m, pfn);
  m[L + P.p] = pfn;
};
/**
 * First half of a non-atomic __SetPagePrivate(): load page->flags. The model's flags
 * fit in the word's low byte, which is all the local keeps; the store writes the
 * whole word back with the high byte as loaded (zero: no modelled flag lives there).
 */
const readFlags: ActionFn = (m, L, P) => { m[L + P.tmp] = loadWord(m, flagsAt(m[L + P.p])) & 0xff; };
/** Second half: store back what was loaded, with PG_private set (__set_bit). */
const writeFlagsPrivate: ActionFn = (m, L, P) => { storeWord(m, flagsAt(m[L + P.p]), nonAtomicSet(m[L + P.tmp], PG_private)); };
/** spin_lock; __SetPageMovable(page, mapping); slot[k] = page; list_add; spin_unlock. */
const insertPage: ActionFn = (m, L, P) => {
  const p = m[L + P.p];
  __SetPageMovable(m, p, P.mapping);
  m[P.slots + m[L + P.k]] = p;
  list_add(m, spaceOf(P.ls), pageNode(p), P.list);
};
const unlockPAndNext: ActionFn = (m, L, P) => {
  unlock_page(m, m[L + P.p]);
  m[L + P.k]++;
};
const slotInUse: GuardFn = (m, _L, P) => m[P.slots + P.slot] !== NO_PAGE && spinIsFree(m, P.lock);
/** spin_lock; p = slot[k]; get_page(p); spin_unlock: the reference keeps p from being freed under lock_page. */
const pickSlot: ActionFn = (m, L, P) => {
  m[L + P.k] = P.slot;
  const p = m[P.slots + P.slot];
  m[L + P.p] = p;
  get_page(m, p);
};
const slotMoved: GuardFn = (m, L, P) => spinIsFree(m, P.lock) && m[P.slots + m[L + P.k]] !== m[L + P.p];
/** spin_lock; slot[k] = NULL; if (!PageIsolated(page)) list_del(&page->lru) else isolated--; spin_unlock. */
const forgetPage: ActionFn = (m, L, P) => {
  const p = m[L + P.p];
  m[P.slots + m[L + P.k]] = NO_PAGE;
  // "No touch page.lru field once @page has been isolated because VM is using the field."
  if (!PageIsolated(m, p)) list_del(m, spaceOf(P.ls), pageNode(p));
  else m[P.isolated]--;
};

/** Step and action names of the driver's thread that variants change. */
export const DRIVER_ALLOC = 'alloc';
export const DRIVER_SETUP_LOCK = 'setup/lock';
export const DRIVER_SETUP_UNLOCK = 'setup/unlock';
export const DRIVER_IDLE = 'idle';
export const DRIVER_READ_FLAGS = 'read page->flags';
export const DRIVER_WRITE_FLAGS = 'write page->flags | PG_private';
export const DRIVER_RELEASE_PUT = 'release/put';
export const DRIVER_FORGET = 'forget page';
export const DRIVER_PUTBACK = 'driver putback_page';

export function driverProgram(lay: NonlruLayout): ProgramBuilder {
  const b = new ProgramBuilder('driver');
  const k = b.local('k');
  const p = b.local('page');
  const tmp = b.local('flags');
  const lock = lay.driverLock;
  const kp = { k, p };
  const pg = { page: p };
  // alloc_page() and the read half of a non-atomic __SetPagePrivate(): nobody can
  // write the new page's flags before the owner reads them, as nobody knows the page.
  b.steps('alloc', 'driver alloc', 'page = alloc_page(); __SetPagePrivate(page): read page->flags', [
    br('private/write', [b.a('alloc_page', allocNext, kp), b.a(DRIVER_READ_FLAGS, readFlags, { p, tmp })], b.g('k < pages', moreToAlloc, { k, pages: lay.pages })),
    br('idle'),
  ]);
  b.steps('private/write', 'driver alloc', '__SetPagePrivate(page): write page->flags', [br('setup/lock', [b.a(DRIVER_WRITE_FLAGS, writeFlagsPrivate, { p, tmp })])]);
  // lock_page(), then under it and the spinlock: __SetPageMovable, slot, list_add.
  // Others can only peek at the locked page, and a peek's every outcome is reachable
  // with the peek before the lock or after the insert.
  b.steps('setup/lock', 'driver alloc', 'lock_page(page); spin_lock; __SetPageMovable(page, mapping); slot[k] = page; list_add; spin_unlock', [
    br('setup/unlock', [b.a('lock_page', lockPage, pg), b.a('insert page', insertPage, { ...kp, mapping: lay.mapping, slots: lay.slots, list: lay.driverList, ls: lay.lists })],
      b.and(b.g('!PageLocked(page)', pageUnlocked, pg), b.g('spin_lock free', lockFree, { lock }))),
  ]);
  b.steps('setup/unlock', 'driver alloc', 'unlock_page(page)', [br('alloc', [b.a('unlock_page; k++', unlockPAndNext, kp)])]);

  // The owner's decisions: release one of its pages, or stop.
  const idle: Record<string, ReturnType<typeof br>[]> = {};
  for (let slot = 0; slot < lay.pages; slot++) {
    idle[`RELEASE_${slot}`] = [br('release/lock', [b.a('pick slot', pickSlot, { ...kp, slot, slots: lay.slots })],
      b.g('slot in use', slotInUse, { slot, slots: lay.slots, lock }))];
  }
  idle.STOP = [br('done')];
  b.step('idle', 'driver', 'release a page, or stop', idle);
  // lock_page(), then the recheck under the spinlock: the slot can only change by a
  // migration of the page, which needs the page lock we now hold.
  const locked = b.g('!PageLocked(page)', pageUnlocked, pg);
  b.steps('release/lock', 'driver release', 'lock_page(page); spin_lock; if (slot[k] != page) retry; slot[k] = NULL; list_del unless isolated; spin_unlock', [
    br('release/retry-unlock', [b.a('lock_page', lockPage, pg)], b.and(locked, b.g('slot[k] != page', slotMoved, { ...kp, slots: lay.slots, lock }))),
    br('release/clear', [b.a('lock_page', lockPage, pg), b.a(DRIVER_FORGET, forgetPage, { ...kp, slots: lay.slots, isolated: lay.driverIsolated, ls: lay.lists })],
      b.and(locked, b.g('spin_lock free', lockFree, { lock }))),
  ]);
  b.steps('release/retry-unlock', 'driver release', 'unlock_page(page)', [br('release/retry-put', [b.a('unlock_page', unlockPage, pg)])]);
  b.steps('release/retry-put', 'driver release', 'put_page(page)', [br('release/reread', [b.a('put_page', putPage, pg)])]);
  b.steps('release/reread', 'driver release', 'spin_lock; page = slot[k]; get_page(page); spin_unlock', [
    br('release/lock', [b.a('reread slot', rereadSlot, { ...kp, slots: lay.slots })], b.g('spin_lock free', lockFree, { lock })),
  ]);
  b.steps('release/clear', 'driver release', '__ClearPageMovable(page); __ClearPagePrivate(page); unlock_page(page)', [
    br('release/put', [
      b.a(CLEAR_MOVABLE, clearMovable, pg),
      b.a('__ClearPagePrivate(page)', clearPrivate, pg),
      b.a('unlock_page', unlockPage, pg),
    ]),
  ]);
  // Two put_page() calls by one actor with nothing of its own between them.
  b.steps(DRIVER_RELEASE_PUT, 'driver release', 'put_page(page) (the reference taken to lock it); put_page(page) (the driver\'s own)', [
    br('idle', [b.a('put_page', putPage, pg), b.a('put_page', putPage, pg)]),
  ]);
  b.final('done');
  return b;
}

const rereadSlot: ActionFn = (m, L, P) => {
  const p = m[P.slots + m[L + P.k]];
  m[L + P.p] = p;
  get_page(m, p);
};

/** The generic driver as a Driver, the one `pagerace check nonlru` uses without --driver. */
export const genericDriver: Driver<NonlruLayout> = {
  name: 'generic',
  description: 'zsmalloc- and balloon-like: allocates, sets PG_private non-atomically, makes movable, releases at any time',
  ops: driverOps,
  thread: (lay) => ({ program: driverProgram(lay), initial: 'alloc' }),
};
