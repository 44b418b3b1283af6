/**
 * examples/buggy-driver.ts with its bug fixed: putback_page takes the page out of the
 * isolated count as it puts it back on the list.
 *
 *   npx pagerace check nonlru --driver ./examples/fixed-driver.ts    # pass, exit 0
 */
import { type ActionFn, type NonlruDriver, lruAdd } from 'pagerace/driver';
import { balloonOps, balloonThread } from './buggy-driver.ts';

/** putback_page: spin_lock; list_add(&page->lru, &b->pages); isolated--; spin_unlock. */
const balloonPutbackFixed: ActionFn = (m, L, P) => {
  lruAdd(m, P.ls, m[L + P.page], P.list);
  m[P.isolated]--;
};

export const driver: NonlruDriver = {
  name: 'toy-balloon',
  description: 'inflates its pages and keeps them',
  ops: (lay) => balloonOps(lay, balloonPutbackFixed),
  thread: balloonThread,
};
