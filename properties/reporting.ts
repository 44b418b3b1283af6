/**
 * Properties of free page aeration (seed 003, "mm: Add logic for separating
 * "aerated" pages from "raw" pages", Alexander Duyck, v1 5/6, 2019) racing with CPUs
 * that allocate from and free to the same free lists.
 */
import {
  PageAerated, ZONE_AERATION_ACTIVE, rawGhostAt, ZONE_AERATION_REQUESTED, aerator_raw_pages, aeratorMinOrder, batchHead, checkBoundary,
  cpusDoneAt, refcntAt,
} from '../src/kernel/aeration.ts';
import { F_OWNER, PageBuddy, Z_FLAGS, buddy_order, checkFreeLists, listIdOf, maxOrderOf, nmtOf, nrFreeAeratedAt } from '../src/kernel/buddy.ts';
import { F_LIST, PAGE_STRIDE } from '../src/kernel/page.ts';
import type { EndProperty, Property, StateInvariant, StepInvariant } from '../src/system.ts';
import {
  PAGE_REPORTING_IDLE, PAGE_REPORTING_REQUESTED, PageReported, STATE_NAMES, inPassAt, pendingAt, reportingMinOrder, requestGhostAt, sgPages, stateAt,
} from '../src/kernel/page_reporting.ts';

export interface ReportingLayout {
  readonly npages: number;
  readonly z: number;
  readonly cpus: number;
  /** Actor index of the aerator worker. */
  readonly worker: number;
  /** The worker's program counter byte in a packed state is not visible to properties; its idle-check is marked here. */
  readonly workerAtIdleCheck: number;
  readonly hwm: number;
}

export function reportingProperties(lay: ReportingLayout): Property[] {
  const z = lay.z;
  const batchId = (m: Uint8Array) => listIdOf(m, z, batchHead(m, z));

  const freeLists: StateInvariant = {
    name: 'free-lists-consistent',
    kind: 'invariant',
    scope: 'state',
    rule: 'The free lists, nr_free, NR_FREE_PAGES and nr_free_aerated agree: every listed page is PageBuddy of its list\'s order, free pages are disjoint, and nr_free_aerated[order] counts the aerated pages of that order.',
    source: 'mm/page_alloc.c del_page_from_free_area() / __free_one_page() with patch 4/6 (nr_free_aerated in set_page_aerated() / clear_page_aerated()).',
    check(m) {
      const why = checkFreeLists(m, z, true);
      if (why) return why;
      for (let order = 0; order < maxOrderOf(m, z); order++) {
        let n = 0;
        for (let pfn = 0; pfn < lay.npages; pfn++) if (PageBuddy(m, pfn) && buddy_order(m, pfn) === order && PageAerated(m, pfn)) n++;
        if (m[nrFreeAeratedAt(m, z, order)] !== n) return `free_area[${order}].nr_free_aerated is ${m[nrFreeAeratedAt(m, z, order)]} but ${n} free page(s) of that order are aerated`;
      }
      return null;
    },
  };

  const boundaries: StateInvariant = {
    name: 'boundary-in-own-list',
    kind: 'invariant',
    scope: 'state',
    rule: 'While the zone is being aerated (ZONE_AERATION_ACTIVE), each boundary[order][mt] points to its own free list\'s head or to a page on that list, and every page from it to the list\'s tail is aerated.',
    source: 'Seed 003: "we keep the aerated pages as one contiguous block on the end of each free list"; __aerator_del_from_boundary(): "push boundary back if we removed the upper boundary".',
    check(m) {
      if (!(m[z + Z_FLAGS] & ZONE_AERATION_ACTIVE)) return null;
      for (let order = aeratorMinOrder(m, z); order < maxOrderOf(m, z); order++) {
        for (let mt = 0; mt < nmtOf(m, z); mt++) {
          const why = checkBoundary(m, z, order, mt);
          if (why) return why;
        }
      }
      return null;
    },
  };

  const aeratedReported: StateInvariant = {
    name: 'aerated-means-reported',
    kind: 'invariant',
    scope: 'state',
    rule: 'A free page marked aerated holds only pages that went through the aerator\'s batch since a CPU last freed them: a raw page that merges with an aerated one makes the result raw (and notifies), so no freed content hides behind the aerated mark.',
    source: 'Seed 003 patch 4/6, __free_one_page(): "/* assume buddy is not aerated */ if (aerated) fully_aerated = false;" ... "if (fully_aerated) set_page_aerated(...); else aerator_notify_free(zone, order);".',
    check(m) {
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (!PageBuddy(m, pfn) || !PageAerated(m, pfn)) continue;
        for (let i = 0; i < 1 << buddy_order(m, pfn); i++) {
          if (m[rawGhostAt(m, z, pfn + i)]) return `pfn ${pfn} of order ${buddy_order(m, pfn)} is aerated but pfn ${pfn + i} was freed raw and never went through the batch`;
        }
      }
      return null;
    },
  };

  const batchUntouched: StepInvariant = {
    name: 'batch-never-allocated',
    kind: 'invariant',
    scope: 'step',
    rule: 'A page in the aerator\'s batch is never handed out: only the worker takes it off the batch, back to a free list.',
    source: 'Seed 003 aerator_fill() / aerator_drain(): pages pulled with get_aeration_page() are off the free lists while a_dev_info->react() works on them, with zone->lock dropped.',
    check(pre, post, actor) {
      const batch = batchId(pre);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (pre[pfn * PAGE_STRIDE + F_LIST] !== batch) continue;
        if (post[pfn * PAGE_STRIDE + F_OWNER] !== 0) return `pfn ${pfn} was handed out while in the aerator's batch`;
        if (post[pfn * PAGE_STRIDE + F_LIST] !== batch && actor !== lay.worker) return `pfn ${pfn} left the batch by another actor's hand`;
      }
      return null;
    },
  };

  const requestHasWorker: StateInvariant = {
    name: 'request-has-worker',
    kind: 'invariant',
    scope: 'state',
    rule: 'ZONE_AERATION_REQUESTED never stands without a reference on a_dev_info->refcnt: a request always has a worker that will serve it (a free that finds the bit set does not notify again).',
    source: 'Seed 003 __aerator_notify() (set_bit, then atomic_fetch_inc; the first reference schedules the work) and aerator_cycle(): "atomic_try_cmpxchg(&a_dev_info->refcnt, &refcnt, 0)".',
    check(m) {
      if ((m[z + Z_FLAGS] & ZONE_AERATION_REQUESTED) && m[refcntAt(m, z)] === 0) return 'ZONE_AERATION_REQUESTED is set but a_dev_info->refcnt is 0: nobody will aerate';
      return null;
    },
  };

  const rawListRequested: StepInvariant = {
    name: 'raw-list-requested',
    kind: 'invariant',
    scope: 'step',
    rule: 'A free that leaves an order at or above AERATOR_MIN_ORDER with AERATOR_HWM raw pages or more leaves aeration requested with a worker reference held; with request-has-worker this means no list goes without a request while it holds enough raw pages when the worker goes idle.',
    source: 'Seed 003 aerator_notify_free(): "if (aerator_raw_pages(&zone->free_area[order]) < AERATOR_HWM) return; __aerator_notify(zone);", called from __free_one_page() for raw pages. (Pages split off by expand() are raw too but do not notify, by design: only frees do.)',
    check(pre, post) {
      let freed = false;
      for (let pfn = 0; pfn < lay.npages && !freed; pfn++) freed = pre[pfn * PAGE_STRIDE + F_OWNER] !== 0 && post[pfn * PAGE_STRIDE + F_OWNER] === 0;
      if (!freed) return null;
      for (let order = aeratorMinOrder(post, z); order < maxOrderOf(post, z); order++) {
        const raw = aerator_raw_pages(post, z, order);
        if (raw < lay.hwm || raw <= aerator_raw_pages(pre, z, order)) continue;
        if (!(post[z + Z_FLAGS] & ZONE_AERATION_REQUESTED) || post[refcntAt(post, z)] === 0) {
          return `a free left ${raw} raw page(s) of order ${order} without a pending aeration request`;
        }
      }
      return null;
    },
  };

  const terminates: StateInvariant = {
    name: 'worker-terminates',
    kind: 'invariant',
    scope: 'state',
    rule: 'The worker terminates: once every CPU has finished, it never sits at its idle check with no request while a reference other than its own is held (it would spin for ever).',
    source: 'Seed 003 aerator_cycle(): "if (refcnt != 1) continue;" relies on every reference being dropped by aerator_fill() when it clears ZONE_AERATION_REQUESTED.',
    check(m) {
      if (!m[lay.workerAtIdleCheck] || m[cpusDoneAt(m, z)] !== lay.cpus) return null;
      if (!(m[z + Z_FLAGS] & ZONE_AERATION_REQUESTED) && m[refcntAt(m, z)] > 1) {
        return `every CPU has finished, no aeration is requested, yet a_dev_info->refcnt is ${m[refcntAt(m, z)]}: the worker loops for ever`;
      }
      return null;
    },
  };

  const end: EndProperty = {
    name: 'end-quiet',
    kind: 'termination',
    scope: 'end',
    rule: 'At the end the batch is empty, the reference count is 0 and nothing is requested or active.',
    source: 'Seed 003 aerator_cycle() / aerator_scrub_zone(): "clear_bit(ZONE_AERATION_ACTIVE)"; aerator_shutdown(): "WARN_ON(!list_empty(&a_dev_info->batch))".',
    check(m) {
      for (let pfn = 0; pfn < lay.npages; pfn++) if (m[pfn * PAGE_STRIDE + F_LIST] === batchId(m)) return `pfn ${pfn} is left in the batch`;
      if (m[refcntAt(m, z)] !== 0) return `a_dev_info->refcnt is ${m[refcntAt(m, z)]}`;
      if (m[z + Z_FLAGS]) return `zone->flags still has ${m[z + Z_FLAGS] & ZONE_AERATION_REQUESTED ? 'ZONE_AERATION_REQUESTED' : 'ZONE_AERATION_ACTIVE'}`;
      return null;
    },
  };

  return [freeLists, boundaries, aeratedReported, batchUntouched, requestHasWorker, rawListRequested, terminates, end];
}

// --- reporting --kernel v5.7: free page reporting as merged ----------------------

export interface ReportingV57Layout {
  readonly npages: number;
  readonly z: number;
  readonly cpus: number;
  /** Actor index of the page_reporting worker. */
  readonly worker: number;
  readonly capacity: number;
}

/**
 * Properties of v5.7 free page reporting (mm/page_reporting.c): the same names as the
 * aeration series' where the rule is the same (the scatterlist is v5.7's batch).
 */
export function reportingV57Properties(lay: ReportingV57Layout): Property[] {
  const z = lay.z;
  const inSg = (m: Uint8Array): Set<number> => new Set(sgPages(m, z));

  const freeLists: StateInvariant = {
    name: 'free-lists-consistent',
    kind: 'invariant',
    scope: 'state',
    rule: 'The free lists, nr_free and NR_FREE_PAGES agree (every listed page is PageBuddy of its list\'s order, free pages are disjoint), and only a free page is PageReported.',
    source: 'mm/page_alloc.c (v5.7) del_page_from_free_list(): "if (page_reported(page)) __ClearPageReported(page);"; __isolate_free_page() / __putback_isolated_page().',
    check(m) {
      const why = checkFreeLists(m, z, true);
      if (why) return why;
      for (let pfn = 0; pfn < lay.npages; pfn++) if (PageReported(m, pfn) && !PageBuddy(m, pfn)) return `pfn ${pfn} is PageReported but not a free page`;
      return null;
    },
  };

  const sgUntouched: StepInvariant = {
    name: 'batch-never-allocated',
    kind: 'invariant',
    scope: 'step',
    rule: 'A page in the reporting scatterlist is never handed out: it was taken off the free lists by __isolate_free_page(), and only the worker puts it back.',
    source: 'mm/page_reporting.c (v5.7) page_reporting_cycle(): "if (!__isolate_free_page(page, order)) { next = page; break; } ... sg_set_page(&sgl[*offset], page, page_len, 0);" and page_reporting_drain().',
    check(pre, post, actor) {
      for (const pfn of inSg(pre)) {
        if (post[pfn * PAGE_STRIDE + F_OWNER] !== 0) return `pfn ${pfn} was handed out while in the reporting scatterlist`;
        if (actor !== lay.worker && PageBuddy(post, pfn) && !PageBuddy(pre, pfn)) return `pfn ${pfn} went back to the free lists by another actor's hand`;
      }
      return null;
    },
  };

  const requested: StepInvariant = {
    name: 'raw-list-requested',
    kind: 'invariant',
    scope: 'step',
    rule: 'A CPU\'s free that leaves an unreported free page of order >= PAGE_REPORTING_MIN_ORDER leaves the reporting state REQUESTED.',
    source: 'mm/page_reporting.h (v5.7) page_reporting_notify_free(): "if (order < PAGE_REPORTING_MIN_ORDER) return; __page_reporting_notify();", called at the end of __free_one_page(..., report = true).',
    check(pre, post, actor) {
      if (actor >= lay.cpus) return null;
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (pre[pfn * PAGE_STRIDE + F_OWNER] === 0 || post[pfn * PAGE_STRIDE + F_OWNER] !== 0) continue;
        let head = -1;
        for (let o = 0; o < maxOrderOf(post, z) && head < 0; o++) {
          const h = pfn & ~((1 << o) - 1);
          if (PageBuddy(post, h) && h + (1 << buddy_order(post, h)) > pfn) head = h;
        }
        if (head < 0 || buddy_order(post, head) < reportingMinOrder(post, z) || PageReported(post, head)) continue;
        if (post[stateAt(post, z)] !== PAGE_REPORTING_REQUESTED) return `a free left unreported pfn ${head} of order ${buddy_order(post, head)} with the reporting state ${STATE_NAMES[post[stateAt(post, z)]]}`;
      }
      return null;
    },
  };

  const hasWorker: StateInvariant = {
    name: 'request-has-worker',
    kind: 'invariant',
    scope: 'state',
    rule: 'A request always has a worker that will serve it: while the state is REQUESTED, or a free has requested reporting since the last pass started, the delayed work is pending or a pass is running (which reschedules itself when its atomic_cmpxchg(ACTIVE -> IDLE) finds REQUESTED).',
    source: 'mm/page_reporting.c (v5.7) __page_reporting_request() ("state = atomic_xchg(&prdev->state, PAGE_REPORTING_REQUESTED); if (state != PAGE_REPORTING_IDLE) return; schedule_delayed_work()") and page_reporting_process() ("state = atomic_cmpxchg(&prdev->state, state, PAGE_REPORTING_IDLE); if (state == PAGE_REPORTING_REQUESTED) schedule_delayed_work()").',
    check(m) {
      if (m[pendingAt(m, z)] || m[inPassAt(m, z)]) return null;
      if (m[stateAt(m, z)] === PAGE_REPORTING_REQUESTED) return 'the reporting state is REQUESTED but no work is pending or running: the request is lost';
      if (m[requestGhostAt(m, z)]) return `a free requested reporting after the last pass started, yet the state is ${STATE_NAMES[m[stateAt(m, z)]]} and no work is pending or running: the request is lost`;
      return null;
    },
  };

  const end: EndProperty = {
    name: 'end-quiet',
    kind: 'termination',
    scope: 'end',
    rule: 'At the end the reporting state is IDLE, no work is pending and the scatterlist is empty.',
    source: 'mm/page_reporting.c (v5.7) page_reporting_process(): "atomic_cmpxchg(&prdev->state, state, PAGE_REPORTING_IDLE)"; page_reporting_drain(): "sg_init_table(sgl, nents)".',
    check(m) {
      if (sgPages(m, z).length) return `pfn ${sgPages(m, z)[0]} is left in the scatterlist`;
      if (m[pendingAt(m, z)]) return 'the reporting work is still pending';
      if (m[stateAt(m, z)] !== PAGE_REPORTING_IDLE) return `the reporting state is ${STATE_NAMES[m[stateAt(m, z)]]}`;
      return null;
    },
  };

  return [freeLists, sgUntouched, requested, hasWorker, end];
}
