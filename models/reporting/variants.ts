/**
 * Known bugs of free page aeration (seed 003), each put back into otherwise correct
 * programs: the seed's own safeguards taken out one at a time.
 */
import { type ActionFn, type ProgramBuilder, br } from '../../src/kernel/program.ts';
import { PG_aerated, aerator_get_tail, free_pages_aerated_zone, refcntAt } from '../../src/kernel/aeration.ts';
import { nrFreeAeratedAt, type FreeHooks } from '../../src/kernel/buddy.ts';
import { F_FLAGS, F_PRIVATE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { Variant } from '../../src/system.ts';
import { ACT, aeratorActions } from './actions.ts';

export interface ReportingVariant extends Variant {
  readonly patch: { cpu?: (b: ProgramBuilder) => void; worker?: (b: ProgramBuilder) => void };
}

/** clear_page_aerated() without aerator_del_from_boundary(): the boundary may keep pointing at a page that left the list. */
export function clearAeratedNoPush(m: Uint8Array, z: number, pfn: number, order: number): void {
  if (!(m[pfn * PAGE_STRIDE + F_FLAGS] & PG_aerated)) return;
  m[pfn * PAGE_STRIDE + F_FLAGS] &= ~PG_aerated;
  m[nrFreeAeratedAt(m, z, order)]--;
}

const DANGLING_HOOKS: FreeHooks = { tail: aerator_get_tail, onDel: clearAeratedNoPush };

/** aerator_notify_free() without the ZONE_AERATION_REQUESTED test. */
const cpuFreeNoRequestedTest: ActionFn = (m, L, P) => {
  const pfn = m[L + P.page];
  free_pages_aerated_zone(m, P.z, pfn, m[pfn * PAGE_STRIDE + F_PRIVATE], P.hwm, false);
  m[L + P.page] = 0xff;
};

/** Going idle with a read and a plain store instead of atomic_try_cmpxchg(). */
const setIdleUnconditionally: ActionFn = (m, _L, P) => { m[refcntAt(m, P.z)] = 0; m[P.atIdle] = 0; };

export const REPORTING_VARIANTS: readonly ReportingVariant[] = [
  {
    name: 'dangling-boundary',
    description: 'clear_page_aerated() does not push the boundary back: when the page a boundary points to is allocated (or merged), the boundary keeps pointing at a page that is no longer on the list.',
    source: 'Seed 003, clear_page_aerated(): "/* push boundary back if we removed the upper boundary */ aerator_del_from_boundary(page, zone);" and __aerator_del_from_boundary(): "if (*tail == &page->lru) *tail = page->lru.next;".',
    expect: { kind: 'invariant', property: 'boundary-in-own-list' },
    patch: {
      cpu(b) {
        const alt = aeratorActions(DANGLING_HOOKS);
        b.replaceAction(ACT.cpuAlloc, alt.cpuAlloc);
        b.replaceAction(ACT.cpuFree, alt.cpuFree);
      },
      worker(b) {
        const alt = aeratorActions(DANGLING_HOOKS);
        b.replaceAction(ACT.fill, alt.fill);
        b.replaceAction(ACT.drain, alt.drain);
      },
    },
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
    patch: { cpu: (b) => b.replaceAction(ACT.cpuFree, cpuFreeNoRequestedTest) },
  },
];
