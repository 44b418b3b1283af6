/**
 * Properties of balloon page compaction (kernel v4.8, mm/balloon_compaction.c after
 * the seed's patch 03, with drivers/virtio/virtio_balloon.c as the driver). The
 * generic non-LRU movable page rules are nonlru's, over the balloon's list and
 * pages_lock; the balloon adds its own accounting and end state.
 */
import {
  F_FLAGS, F_MAPPING, F_REF, F_TYPE, PAGE_MAPPING_MOVABLE, PAGE_STRIDE, PG_isolated, PG_locked,
  TYPE_BALLOON, TYPE_BUDDY, pageNode,
} from '../src/kernel/page.ts';
import { headOf, spaceOf } from '../src/kernel/list.ts';
import type { EndProperty, Property, StateInvariant } from '../src/system.ts';
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
  // (A second list_del of page->lru was the property 'list-del-once' until page->lru
  // became a list_head: list.ts now reports it as CONFIG_DEBUG_LIST's "list_del
  // corruption" before any property could look.)
  const generic = nonlruProperties(lay).filter((p) => p.name !== 'pages-accounted');

  const isolatedCount: StateInvariant = {
    name: 'balloon-isolated-count',
    kind: 'invariant',
    scope: 'state',
    rule: 'b_dev_info->isolated_pages counts exactly the balloon\'s (PageBalloon) pages the VM holds isolated, whenever no compaction CPU holds vb->balloon_lock: balloon_page_dequeue() relies on it, under balloon_lock, to tell an empty balloon from one whose pages are all under migration.',
    source: 'mm/balloon_compaction.c (v4.8): balloon_page_isolate() isolated_pages++, balloon_page_putback() and virtballoon_migratepage() isolated_pages--; balloon_page_dequeue()\'s BUG() when the list is empty and nothing is isolated. virtballoon_migratepage() decrements the count before balloon_page_delete(page) while holding balloon_lock, which leak_balloon() holds around balloon_page_dequeue(): docs/findings.md.',
    check(m) {
      const holder = m[lay.balloonLock];
      if (holder !== 0 && holder - 1 < lay.cpus) return null; // inside virtballoon_migratepage()
      let n = 0;
      for (let pfn = 0; pfn < lay.npages; pfn++) if ((pageByte(m, pfn, F_FLAGS) & PG_isolated) && pageByte(m, pfn, F_TYPE) === TYPE_BALLOON) n++;
      if (m[lay.isolatedPages] !== n) return `isolated_pages is ${m[lay.isolatedPages]} but ${n} balloon page(s) are isolated`;
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
          if (headOf(m, spaceOf(lay.lists), pageNode(pfn)) !== lay.balloonList) problems.push('not on the balloon\'s list');
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

  return [...generic, isolatedCount, accounted];
}
