/**
 * Properties of balloon page compaction (kernel v4.8, mm/balloon_compaction.c after
 * the seed's patch 03, with drivers/virtio/virtio_balloon.c as the driver). The
 * generic non-LRU movable page rules are nonlru's, over the balloon's list and
 * pages_lock; the balloon adds its own accounting and end state.
 */
import {
  F_FLAGS, F_LIST, F_MAPPING, F_REF, F_TYPE, LIST_NONE, PAGE_MAPPING_MOVABLE, PAGE_STRIDE, PG_isolated, PG_locked,
  TYPE_BALLOON, TYPE_BUDDY,
} from '../src/kernel/page.ts';
import { LIST_POISON } from '../src/kernel/balloon.ts';
import type { EndProperty, Property, StateInvariant, StepInvariant } from '../src/system.ts';
import { type NonlruLayout, nonlruProperties } from './nonlru.ts';

/** Where things are in a balloon world; the nonlru fields name the balloon's own. */
export interface BalloonLayout extends NonlruLayout {
  /** b_dev_info->pages (also driverList), pages_lock (driverLock), isolated_pages (driverIsolated). */
  readonly balloonList: number;
  readonly pagesLock: number;
  readonly isolatedPages: number;
  /** vb->balloon_lock (a mutex: holder's actor index + 1) and vb->num_pages. */
  readonly balloonLock: number;
  readonly numPages: number;
  readonly worldSize: number;
}

const pageByte = (m: Uint8Array, pfn: number, f: number) => m[pfn * PAGE_STRIDE + f];

export function balloonProperties(lay: BalloonLayout): Property[] {
  // The generic rules of the non-LRU contract; the balloon's end state replaces nonlru's.
  const generic = nonlruProperties(lay).filter((p) => p.name !== 'pages-accounted');

  const listDel: StepInvariant = {
    name: 'list-del-once',
    kind: 'invariant',
    scope: 'step',
    rule: 'page->lru is unlinked once: list_del() leaves the entry poisoned, and unlinking it again is a crash (a fault on LIST_POISON1, or "list_del corruption" with CONFIG_DEBUG_LIST).',
    source: 'include/linux/list.h list_del() and lib/list_debug.c __list_del_entry() (v4.8); seed patch 03 balloon_page_delete(): "No touch page.lru field once @page has been isolated because VM is using the field."',
    check(pre, post) {
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (pageByte(pre, pfn, F_LIST) === LIST_POISON && pageByte(post, pfn, F_LIST) === LIST_NONE) {
          return `pfn ${pfn}: page->lru was unlinked again after list_del() had poisoned it`;
        }
      }
      return null;
    },
  };

  const isolatedCount: StateInvariant = {
    name: 'balloon-isolated-count',
    kind: 'invariant',
    scope: 'state',
    rule: 'b_dev_info->isolated_pages counts exactly the balloon\'s pages the VM holds isolated: balloon_page_dequeue() relies on it to tell an empty balloon from one whose pages are all under migration.',
    source: 'mm/balloon_compaction.c (v4.8): balloon_page_isolate() isolated_pages++, balloon_page_putback() and virtballoon_migratepage() isolated_pages--; balloon_page_dequeue()\'s BUG() when the list is empty and nothing is isolated.',
    check(m) {
      let n = 0;
      for (let pfn = 0; pfn < lay.npages; pfn++) if (pageByte(m, pfn, F_FLAGS) & PG_isolated) n++;
      if (m[lay.isolatedPages] !== n) return `isolated_pages is ${m[lay.isolatedPages]} but ${n} page(s) are isolated`;
      return null;
    },
  };

  const balloonMovable = (lay.mapping << 2) | PAGE_MAPPING_MOVABLE;
  const accounted: EndProperty = {
    name: 'balloon-pages-accounted',
    kind: 'termination',
    scope: 'end',
    rule: 'When everyone has finished, every page is free or in the balloon (on b_dev_info->pages, PageBalloon, movable with the balloon mapping, not isolated, unlocked, one reference: the balloon\'s), vb->num_pages counts the balloon\'s pages, nothing is counted isolated and no lock is held.',
    source: 'mm/balloon_compaction.c and drivers/virtio/virtio_balloon.c (v4.8): balloon_page_enqueue/dequeue, virtballoon_migratepage ("balloon reference"), release_pages_balloon; compaction releases its unused targets.',
    check(m) {
      let inBalloon = 0;
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const type = pageByte(m, pfn, F_TYPE);
        if (type === TYPE_BUDDY) continue;
        const problems: string[] = [];
        if (type !== TYPE_BALLOON) problems.push('neither free nor PageBalloon (leaked)');
        else {
          inBalloon++;
          const flags = pageByte(m, pfn, F_FLAGS);
          if (pageByte(m, pfn, F_LIST) !== lay.balloonList) problems.push('not on the balloon\'s list');
          if (pageByte(m, pfn, F_MAPPING) !== balloonMovable) problems.push('not movable');
          if (flags & PG_isolated) problems.push('still isolated');
          if (flags & PG_locked) problems.push('still locked');
          const ref = (pageByte(m, pfn, F_REF) << 24) >> 24;
          if (ref !== 1) problems.push(`refcount ${ref}, the balloon expects 1`);
        }
        if (problems.length) return `pfn ${pfn}: ${problems.join(', ')}`;
      }
      if (m[lay.numPages] !== inBalloon) return `vb->num_pages is ${m[lay.numPages]} but the balloon holds ${inBalloon} page(s)`;
      if (m[lay.isolatedPages] !== 0) return `isolated_pages is ${m[lay.isolatedPages]} at the end`;
      if (m[lay.pagesLock] !== 0 || m[lay.balloonLock] !== 0) return 'a balloon lock is still held at the end';
      return null;
    },
  };

  return [...generic, listDel, isolatedCount, accounted];
}
