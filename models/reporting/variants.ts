/**
 * Known bugs of free page aeration (seed 003), each put back into otherwise correct
 * programs: the seed's own safeguards taken out one at a time.
 */
import { type ActionFn, type ProgramBuilder, br } from '../../src/kernel/program.ts';
import {
  AERATION_HOOKS, PG_aerated, __aerator_notify, aerator_raw_pages, aeratorMinOrder, hwmAt, onFreedWith, put_aeration_page_merged_aerated,
  refcntAt, requested, set_page_aerated,
} from '../../src/kernel/aeration.ts';
import { nrFreeAeratedAt, type FreeHooks } from '../../src/kernel/buddy.ts';
import { F_FLAGS, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { Variant } from '../../src/system.ts';
import { __isolate_free_page } from '../../src/kernel/buddy.ts';
import { PAGE_REPORTING_IDLE, PG_reported, inPassAt, stateAt } from '../../src/kernel/page_reporting.ts';
import type { V57Code } from './v57.ts';
import { ACT, aeratorActions } from './actions.ts';

export interface ReportingVariant extends Variant {
  readonly patch: { cpu?: (b: ProgramBuilder) => void; worker?: (b: ProgramBuilder) => void };
  /** The kernel version the variant belongs to (absent: the aeration series, the default). */
  readonly kernel?: string;
  /** For v5.7 variants: the replaced kernel code. */
  readonly v57?: Partial<V57Code>;
}

/** __isolate_free_page()'s failure ignored (mutation-isolate-failure-ignored): the page goes into the scatterlist while it stays on its free list. */
const isolateIgnoringFailure: V57Code['isolate'] = (m, z, pfn, order, hooks) => {
  const n = __isolate_free_page(m, z, pfn, order, hooks);
  return n || 1 << order;
};
/**
 * page_reporting_cycle()'s isolation replaced by flagging the page PG_reported where
 * it lies (mutation-report-in-place): no __isolate_free_page(), no report, and 0
 * returned so that the walk stops there as after a failed isolation.
 */
const reportInPlace: V57Code['isolate'] = (m, _z, pfn) => {
  m[pfn * PAGE_STRIDE + F_FLAGS] |= PG_reported;
  return 0;
};
/** The end of a pass with atomic_set(&prdev->state, IDLE) (mutation-idle-with-atomic-set): a request made during the pass is lost. */
const finishWithSet: V57Code['finish'] = (m, _L, P) => {
  m[stateAt(m, P.z)] = PAGE_REPORTING_IDLE;
  m[inPassAt(m, P.z)] = 0;
};

/** clear_page_aerated() without aerator_del_from_boundary(): the boundary may keep pointing at a page that left the list. */
export function clearAeratedNoPush(m: Uint8Array, z: number, pfn: number, order: number): void {
  if (!(m[pfn * PAGE_STRIDE + F_FLAGS] & PG_aerated)) return;
  m[pfn * PAGE_STRIDE + F_FLAGS] &= ~PG_aerated;
  m[nrFreeAeratedAt(m, z, order)]--;
}

const DANGLING_HOOKS: FreeHooks = { ...AERATION_HOOKS, onDel: clearAeratedNoPush };

/** aerator_notify_free() without the ZONE_AERATION_REQUESTED test, wherever __free_one_page() notifies. */
const NO_REQUESTED_TEST_HOOKS: FreeHooks = { ...AERATION_HOOKS, onFreed: onFreedWith(false) };

/** Going idle with a read and a plain store instead of atomic_try_cmpxchg(). */
const setIdleUnconditionally: ActionFn = (m, _L, P) => { m[refcntAt(m, P.z)] = 0; m[P.atIdle] = 0; };

/** aerator_notify_free() with "<= AERATOR_HWM" for "< AERATOR_HWM" (mutation-hwm-off-by-one). */
const onFreedHwmOffByOne = (m: Uint8Array, z: number, pfn: number, order: number, mt: number, fullyAerated: boolean): void => {
  if (fullyAerated) { set_page_aerated(m, z, pfn, order, mt); return; }
  if (order < aeratorMinOrder(m, z) || requested(m, z)) return;
  if (aerator_raw_pages(m, z, order) <= m[hwmAt(m, z)]) return;
  __aerator_notify(m, z);
};
const HWM_OFF_BY_ONE_HOOKS: FreeHooks = { ...AERATION_HOOKS, onFreed: onFreedHwmOffByOne };

/** The end of a scrub without clear_bit(ZONE_AERATION_ACTIVE) (mutation-active-left-set). */
const endScrubKeepActive = (m: Uint8Array, P: Readonly<Record<string, number>>): void => { m[P.atIdle] = 1; };

/** Replace the worker's and the CPUs' zone->lock sections with those built over `alt`. */
const everywhere = (alt: ReturnType<typeof aeratorActions>): ReportingVariant['patch'] => ({
  cpu(b) {
    b.replaceAction(ACT.cpuAlloc, alt.cpuAlloc);
    b.replaceAction(ACT.cpuFree, alt.cpuFree);
  },
  worker(b) {
    b.replaceAction(ACT.fill, alt.fill);
    b.replaceAction(ACT.drain, alt.drain);
  },
});

export const REPORTING_VARIANTS: readonly ReportingVariant[] = [
  {
    name: 'mutation-hwm-off-by-one',
    description: 'Seeded mutation (no kernel commit): aerator_notify_free() returns while the raw pages of the order are at most AERATOR_HWM, not below it, so a free that brings an order exactly to the high-water mark requests nothing.',
    source: 'Seeded mutation of seed 003 aerator_notify_free(): "if (aerator_raw_pages(&zone->free_area[order]) < AERATOR_HWM) return;".',
    expect: { kind: 'invariant', property: 'raw-list-requested' },
    patch: everywhere(aeratorActions(HWM_OFF_BY_ONE_HOOKS)),
  },
  {
    name: 'mutation-active-left-set',
    description: 'Seeded mutation (no kernel commit): aerator_scrub_zone() ends without clear_bit(ZONE_AERATION_ACTIVE), so the zone stays "being aerated" after the worker goes idle (and the boundaries stay in use).',
    source: 'Seeded mutation of seed 003 aerator_scrub_zone(): "clear_bit(ZONE_AERATION_ACTIVE, &zone->flags);" left out.',
    expect: { kind: 'termination', property: 'end-quiet' },
    patch: everywhere(aeratorActions(AERATION_HOOKS, undefined, endScrubKeepActive)),
  },
  {
    name: 'merged-stays-aerated',
    description: 'put_aeration_page() marks the page that results from merging aerated and does not notify (how this model read the series before following patch 4/6): a raw page a CPU freed merges into an aerated page and is never aerated, and no request is made for it.',
    source: 'Seed 003 patch 4/6 ("mm: Introduce \"aerated\" pages", v1, June 2019), __free_one_page(): "bool fully_aerated = aerated;" ... "/* assume buddy is not aerated */ if (aerated) fully_aerated = false;" ... "if (fully_aerated) set_page_aerated(page, zone, order, migratetype); else aerator_notify_free(zone, order);". A seeded mutation of that path.',
    expect: { kind: 'invariant', property: 'aerated-means-reported' },
    patch: {
      worker(b) {
        const alt = aeratorActions(AERATION_HOOKS, put_aeration_page_merged_aerated);
        b.replaceAction(ACT.fill, alt.fill);
        b.replaceAction(ACT.drain, alt.drain);
      },
    },
  },
  {
    name: 'dangling-boundary',
    description: 'clear_page_aerated() does not push the boundary back: when the page a boundary points to is allocated (or merged), the boundary keeps pointing at a page that is no longer on the list.',
    source: 'Seed 003, clear_page_aerated(): "/* push boundary back if we removed the upper boundary */ aerator_del_from_boundary(page, zone);" and __aerator_del_from_boundary(): "if (*tail == &page->lru) *tail = page->lru.next;".',
    expect: { kind: 'invariant', property: 'boundary-in-own-list' },
    patch: everywhere(aeratorActions(DANGLING_HOOKS)),
  },
  {
    name: 'idle-without-cmpxchg',
    description: 'aerator_cycle() goes idle by reading refcnt == 1 and then storing 0, instead of atomic_try_cmpxchg(): a free that requests aeration in between (set_bit, atomic_fetch_inc 1 -> 2, no new work scheduled) is lost, and its request stands with nobody to serve it.',
    source: 'Seed 003, aerator_cycle(): "refcnt = atomic_read(&a_dev_info->refcnt); if (refcnt != 1) continue; if (atomic_try_cmpxchg(&a_dev_info->refcnt, &refcnt, 0)) break;".',
    expect: { kind: 'invariant', property: 'request-has-worker' },
    patch: {
      worker(b) {
        b.replace('cmpxchg', { step: [br('wait', [b.a('atomic_set(refcnt, 0)', setIdleUnconditionally, b.nodes.cmpxchg.on.step[0].actions[0].params)])] },
          'atomic_set(&a_dev_info->refcnt, 0) (idle)');
      },
    },
  },
  {
    name: 'notify-without-requested-test',
    description: 'aerator_notify_free() does not test ZONE_AERATION_REQUESTED: every free past the high-water mark takes another reference, aerator_fill() drops only one, and the worker spins for ever in aerator_cycle() (refcnt != 1, continue).',
    source: 'Seed 003, aerator_notify_free(): "if (test_bit(ZONE_AERATION_REQUESTED, &zone->flags)) return;" and __aerator_notify(): "We can use separate test and set operations here as there is nothing else that can set or clear this bit while we are holding the zone lock".',
    expect: { kind: 'invariant', property: 'worker-terminates' },
    patch: everywhere(aeratorActions(NO_REQUESTED_TEST_HOOKS)),
  },
  {
    name: 'mutation-idle-with-atomic-set',
    kernel: 'v5.7',
    description: 'Seeded mutation (no kernel commit) of v5.7 page_reporting_process(): the pass ends with atomic_set(&prdev->state, PAGE_REPORTING_IDLE) instead of atomic_cmpxchg(ACTIVE -> IDLE), so a free that requested reporting during the pass (state REQUESTED, no work scheduled since the state was not IDLE) is forgotten.',
    source: 'mm/page_reporting.c (v5.7) page_reporting_process(): "If the state has reverted back to requested then there may be additional pages to be processed ... state = atomic_cmpxchg(&prdev->state, state, PAGE_REPORTING_IDLE); if (state == PAGE_REPORTING_REQUESTED) schedule_delayed_work(&prdev->work, PAGE_REPORTING_DELAY);".',
    expect: { kind: 'invariant', property: 'request-has-worker' },
    patch: {},
    v57: { finish: finishWithSet },
  },
  {
    name: 'mutation-isolate-failure-ignored',
    kernel: 'v5.7',
    description: 'Seeded mutation (no kernel commit) of v5.7 page_reporting_cycle(): the return value of __isolate_free_page() is ignored, so a page that failed the watermark check goes into the scatterlist while it stays on its free list, and a CPU is handed it while it is being reported.',
    source: 'mm/page_reporting.c (v5.7) page_reporting_cycle(): "if (!__isolate_free_page(page, order)) { next = page; break; }"; __isolate_free_page() returns 0 when "!zone_watermark_ok(zone, 0, watermark, 0, ALLOC_CMA)".',
    expect: { kind: 'invariant', property: 'batch-never-allocated' },
    patch: {},
    v57: { isolate: isolateIgnoringFailure },
  },
  {
    name: 'mutation-report-in-place',
    kernel: 'v5.7',
    description: 'Seeded mutation (no kernel commit) of v5.7 page_reporting_cycle(): a free page is flagged PG_reported where it lies on its free list, without __isolate_free_page() taking it off and without the report, so the reporting pass skips it forever after although the host was never told. Found by page-lifecycle at once: a buddy page goes from free to reported, which only page_reporting_drain() may do, and only to a page it isolated.',
    source: 'Seeded mutation of mm/page_reporting.c (v5.7) page_reporting_cycle(): "if (!__isolate_free_page(page, order)) { next = page; break; } ... sg_set_page(&sgl[*offset], page, page_len, 0);" replaced by __SetPageReported(page); page_reporting_drain(): "if (PageBuddy(page) && buddy_order(page) == order) __SetPageReported(page);" is the only place a page becomes reported.',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: {},
    v57: { isolate: reportInPlace },
  },
];
