/**
 * The virtio balloon driver, drivers/virtio/virtio_balloon.c at kernel v4.8 (after
 * the seed's patch 03): fill_balloon() (inflate), leak_balloon() (deflate) and
 * virtballoon_migratepage(), the balloon's migratepage callback.
 *
 * vb->balloon_lock is a mutex held across a whole fill or leak; migration only
 * tries it (mutex_trylock) and answers -EAGAIN when it is taken. vb->num_pages is
 * only read and written under it (and read unlocked by towards_target()).
 */
import {
  F_FLAGS, PAGE_STRIDE, PG_isolated, PG_locked, get_page, might_sleep, pageNode, put_page, spin_lock, spin_unlock,
} from '../../src/kernel/page.ts';
import { headOf, spaceOf } from '../../src/kernel/list.ts';
import {
  type BalloonDevInfo, DQ_NONE, balloonPageDequeue, balloonPageEnqueue, balloon_page_delete, balloon_page_insert,
  pagesLockFree,
} from '../../src/kernel/balloon.ts';
import { type CallbackProgram, EAGAIN, RC_SUCCESS } from '../../src/kernel/migrate.ts';
import { type ActionFn, type GuardFn, ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
import type { BalloonLayout } from '../../properties/balloon.ts';

const mutexFree: GuardFn = (m, _L, P) => m[P.mutex] === 0;
const mutexLock: ActionFn = (m, _L, P, A) => { m[P.mutex] = A + 1; };
const mutexUnlock: ActionFn = (m, _L, P) => { m[P.mutex] = 0; };

/** The action name variants patch: virtballoon_migratepage's body. */
/** Step and action names of virtballoon_migratepage() that variants change. */
export const VB_TRYLOCK = 'mutex_trylock(&vb->balloon_lock)';
export const VB_GET_NEWPAGE = 'get_page(newpage) /* balloon reference */';
export const VB_INSERT = 'spin_lock(pages_lock); balloon_page_insert(newpage); isolated_pages--; spin_unlock(pages_lock)';
export const VB_DELETE = 'balloon_page_delete(page)';
export const VB_PUT_PAGE = 'put_page(page) /* balloon reference */';
export const VB_INSERT_STEP = 'inflate newpage';

const getNewpage: ActionFn = (m, L, P) => get_page(m, m[L + P.newpage]);
/** Under pages_lock (taken and released in this step: every access to the list and the count is under it). */
const insertNewpage: ActionFn = (m, L, P, A) => {
  spin_lock(m, P.lock, A);
  balloon_page_insert(m, P as unknown as BalloonDevInfo, m[L + P.newpage]);
  m[P.isolatedPages]--;
  spin_unlock(m, P.lock);
};
/** tell_host(): virtqueue_kick() and wait_event(vb->acked, ...): it sleeps. */
const tellHost: ActionFn = (m, _L, P, A) => might_sleep(m, A, [P.lock], 'tell_host');
export const deletePage: ActionFn = (m, L, P) => balloon_page_delete(m, P.lists, m[L + P.page]);
const putOldPage: ActionFn = (m, L, P) => put_page(m, m[L + P.page]);

/**
 * virtballoon_migratepage(): drivers/virtio/virtio_balloon.c (v4.8), step by step:
 *   if (!mutex_trylock(&vb->balloon_lock)) return -EAGAIN;
 *   get_page(newpage);                      balloon reference
 *   spin_lock(pages_lock); balloon_page_insert(vb_dev_info, newpage);
 *   vb_dev_info->isolated_pages--; spin_unlock(pages_lock);
 *   tell_host(vb, vb->inflate_vq);          sleeps until the host acks
 *   balloon_page_delete(page);
 *   tell_host(vb, vb->deflate_vq);          sleeps
 *   mutex_unlock(&vb->balloon_lock);
 *   put_page(page);                         balloon reference
 *   return MIGRATEPAGE_SUCCESS;
 * It runs in the compaction CPU's context under both page locks (balloon_page_migrate
 * from move_to_new_page), holding vb->balloon_lock across the steps. A tell_host()
 * starts the step after it: the sleep is the interleaving point. put_page(page) shares
 * the step of mutex_unlock: it cannot free the page (the VM holds its isolation
 * reference), and whoever else reads this page's count is an isolating CPU that stops
 * at trylock_page() while the VM holds the page lock.
 */
export function virtballoonMigratepage(lay: BalloonLayout, dev: BalloonDevInfo) {
  return (_b: ProgramBuilder, a: { page: number; newpage: number }): CallbackProgram => ({
    program: (b, at, ret) => {
      const fn = 'virtballoon_migratepage';
      const mx = { mutex: lay.balloonLock };
      const x = (t: string) => `${at}/${t}`;
      b.steps(at, fn, VB_TRYLOCK, [
        br(x(VB_INSERT_STEP), [b.a('mutex_lock', mutexLock, mx), b.a(VB_GET_NEWPAGE, getNewpage, a)], b.g('balloon_lock free', mutexFree, mx)),
        br(ret(EAGAIN)), // "we just give up the balloon_lock this turn, as it is easier to retry the page migration later"
      ]);
      const dv = { ...a, lock: dev.pagesLock, mapping: dev.mapping, list: dev.list, lists: dev.lists, isolatedPages: dev.isolatedPages };
      b.steps(x(VB_INSERT_STEP), fn, VB_INSERT, [
        br(x('deflate page'), [b.a(VB_INSERT, insertNewpage, dv)], b.g('pages_lock free', pagesLockFree, { lock: dev.pagesLock })),
      ]);
      const tell = b.a('tell_host() sleeps', tellHost, { lock: dev.pagesLock });
      b.steps(x('deflate page'), fn, 'tell_host(vb, vb->inflate_vq); balloon_page_delete(page)', [
        br(x('unlock'), [tell, b.a(VB_DELETE, deletePage, { page: a.page, lists: dev.lists })]),
      ]);
      b.steps(x('unlock'), fn, 'tell_host(vb, vb->deflate_vq); mutex_unlock(&vb->balloon_lock); put_page(page)', [
        br(ret(RC_SUCCESS), [tell, b.a('mutex_unlock', mutexUnlock, mx), b.a(VB_PUT_PAGE, putOldPage, { page: a.page })]),
      ]);
    },
  });
}

// --- fill_balloon(): the inflate thread ------------------------------------------

const setPageK: ActionFn = (m, L, P) => { m[L + P.page] = m[L + P.k]; };
const moreToFill: GuardFn = (m, L, P) => m[L + P.k] + 1 < P.pages;
const nextK: ActionFn = (m, L, P) => { m[L + P.k]++; m[L + P.page] = m[L + P.k]; };
const addPages: ActionFn = (m, _L, P) => { m[P.numPages] += P.pages; };

/**
 * The host asks for `pages` pages: fill_balloon(vb, pages) under vb->balloon_lock,
 * one balloon_page_enqueue() per page (the model's allocator hands out pfn k).
 */
export function inflateProgram(lay: BalloonLayout, dev: BalloonDevInfo): ProgramBuilder {
  const b = new ProgramBuilder('inflate');
  const k = b.local('k');
  const page = b.local('page');
  const mx = { mutex: lay.balloonLock };
  b.steps('fill', 'fill_balloon', 'mutex_lock(&vb->balloon_lock)', [
    br('fill/enq', [b.a('mutex_lock', mutexLock, mx), b.a('page = pfn k', setPageK, { k, page })], b.g('balloon_lock free', mutexFree, mx)),
  ]);
  balloonPageEnqueue(b, 'fill/enq', dev, page, 'fill/next');
  b.localStep('fill/next', 'fill_balloon', 'vb->num_pfns += 1: another page?', [
    br('fill/enq', [b.a('k++', nextK, { k, page })], b.g('k + 1 < pages', moreToFill, { k, pages: lay.pages })),
    br('fill/unlock'),
  ]);
  // vb->num_pages is only read under the mutex (and by the leak's unlocked
  // towards_target() check, which waits for the mutex anyway), so adding the whole
  // batch at mutex_unlock is the same as adding one page at a time.
  b.steps('fill/unlock', 'fill_balloon', 'vb->num_pages += num_pfns; tell_host(inflate_vq); mutex_unlock(&vb->balloon_lock)', [
    br('done', [b.a('vb->num_pages += pages', addPages, { numPages: lay.numPages, pages: lay.pages }), b.a('mutex_unlock', mutexUnlock, mx)]),
  ]);
  b.final('done');
  return b;
}

// --- leak_balloon(): the deflate thread ------------------------------------------

const numPagesZero: GuardFn = (m, _L, P) => m[P.numPages] === 0;
const startLeak: ActionFn = (m, L, P, A) => {
  m[P.mutex] = A + 1;
  m[L + P.want] = m[P.numPages];
  m[L + P.got] = 0;
  m[L + P.snap] = 0;
  m[L + P.snap + 1] = 0;
  m[L + P.snap + 2] = 0;
};
const recordPage: ActionFn = (m, L, P) => { m[L + P.pfns + m[L + P.got]] = m[L + P.page]; m[L + P.got]++; };
const moreToDequeue: GuardFn = (m, L, P) => m[L + P.got] + 1 < m[L + P.want];
const gotLessThanWant: GuardFn = (m, L, P) => m[L + P.got] < m[L + P.want];
const moreToRelease: GuardFn = (m, L, P) => m[L + P.i] < m[L + P.got];
const releaseOne: ActionFn = (m, L, P) => { put_page(m, m[L + P.pfns + m[L + P.i]]); m[L + P.i]++; };
/**
 * vb->num_pages -= num_pfns (one page at a time in leak_balloon(), all at once here:
 * it is read only under the mutex, which this thread holds throughout, and by the
 * unlocked towards_target() of this same thread); mutex_unlock(&vb->balloon_lock).
 */
const endLeak: ActionFn = (m, L, P) => {
  m[P.numPages] -= m[L + P.got];
  m[P.mutex] = 0;
  m[L + P.i] = 0;
};

/**
 * Ghost for the deflate work's retry. When leak_balloon() frees fewer pages than the
 * host asked for, update_balloon_size_func() queues itself again at once and retries
 * for as long as it takes; a retry can only do better once some page's lock,
 * isolation or list membership has changed. The model lets the deflate thread wait
 * for such a change instead of spinning: it records the three masks when
 * balloon_page_dequeue() comes back empty, and moves on when they differ. A balloon
 * that cannot hand pages back although nobody holds them then shows as a deadlock.
 */
function masks(m: Uint8Array, npages: number, list: number, ls: number): [number, number, number] {
  let onList = 0;
  let locked = 0;
  let isolated = 0;
  const S = spaceOf(ls);
  for (let pfn = 0; pfn < npages; pfn++) {
    if (headOf(m, S, pageNode(pfn)) === list) onList |= 1 << pfn;
    if (m[pfn * PAGE_STRIDE + F_FLAGS] & PG_locked) locked |= 1 << pfn;
    if (m[pfn * PAGE_STRIDE + F_FLAGS] & PG_isolated) isolated |= 1 << pfn;
  }
  return [onList, locked, isolated];
}
const snapshotIfEmpty: ActionFn = (m, L, P) => {
  if (m[L + P.res] !== DQ_NONE) return;
  const [a, b, c] = masks(m, P.npages, P.list, P.ls);
  m[L + P.snap] = a;
  m[L + P.snap + 1] = b;
  m[L + P.snap + 2] = c;
};
const balloonChanged: GuardFn = (m, L, P) => {
  const [a, b, c] = masks(m, P.npages, P.list, P.ls);
  return a !== m[L + P.snap] || b !== m[L + P.snap + 1] || c !== m[L + P.snap + 2];
};

/**
 * The host takes every page back: while vb->num_pages > 0, leak_balloon(vb,
 * num_pages) under vb->balloon_lock: balloon_page_dequeue() until it has them all or
 * it comes back empty, tell_host(deflate_vq), release_pages_balloon() (put_page of
 * the balloon reference, which frees the page), mutex_unlock.
 */
export function deflateProgram(lay: BalloonLayout, dev: BalloonDevInfo): ProgramBuilder {
  const b = new ProgramBuilder('deflate');
  const want = b.local('want');
  const got = b.local('got');
  const i = b.local('i');
  const cursor = b.local('cursor');
  const res = b.local('res');
  const page = b.local('page');
  const pfns = b.local('pfns[0]');
  for (let k = 1; k < lay.pages; k++) b.local(`pfns[${k}]`);
  const snap = b.local('snapshot.list');
  b.local('snapshot.locked');
  b.local('snapshot.isolated');
  const mx = { mutex: lay.balloonLock };
  b.step('leak', 'update_balloon_size_func', 'towards_target(vb) < 0? mutex_lock(&vb->balloon_lock)', {
    [STEP]: [
      br('done', [], b.g('vb->num_pages == 0', numPagesZero, { numPages: lay.numPages })),
      br('leak/deq', [b.a('mutex_lock; num = vb->num_pages', startLeak, { ...mx, numPages: lay.numPages, want, got, snap })], b.g('balloon_lock free', mutexFree, mx)),
    ],
  });
  const ghost = b.a('snapshot when empty (ghost)', snapshotIfEmpty, { res, snap, npages: lay.npages, list: dev.list, ls: dev.lists });
  balloonPageDequeue(b, 'leak/deq', dev, { cursor, res, page }, 'leak/got', 'leak/tell', [ghost]);
  b.localStep('leak/got', 'leak_balloon', 'set_page_pfns(vb, vb->pfns + vb->num_pfns, page); another?', [
    br('leak/deq', [b.a('pfns[got++] = page', recordPage, { pfns, got, page })], b.g('got + 1 < num', moreToDequeue, { got, want })),
    br('leak/tell', [b.a('pfns[got++] = page', recordPage, { pfns, got, page })]),
  ]);
  b.localStep('leak/tell', 'release_pages_balloon', 'tell_host(deflate_vq); for each page: put_page(page)', [
    br('leak/put', [], b.g('i < got', moreToRelease, { i, got })),
    br('leak/unlock'),
  ]);
  b.steps('leak/put', 'release_pages_balloon', 'put_page(page) /* balloon reference */', [
    br('leak/tell', [b.a('put_page(pfns[i++])', releaseOne, { pfns, i })]),
  ]);
  const end = b.a('vb->num_pages -= got; mutex_unlock', endLeak, { ...mx, numPages: lay.numPages, got, i });
  b.steps('leak/unlock', 'leak_balloon', 'vb->num_pages -= num_pfns; mutex_unlock(&vb->balloon_lock); update_balloon_size()', [
    br('leak/wait', [end], b.g('got < num', gotLessThanWant, { got, want })),
    br('done', [end]),
  ]);
  b.steps('leak/wait', 'update_balloon_size_func', 'queue_work again: retry once the balloon has changed', [
    br('leak', [], b.g('balloon changed since the empty dequeue', balloonChanged, { snap, npages: lay.npages, list: dev.list, ls: dev.lists })),
  ]);
  b.final('done');
  return b;
}
