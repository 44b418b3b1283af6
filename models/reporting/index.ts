/**
 * reporting: free page aeration as seed 003 has it ("mm: Add logic for separating
 * "aerated" pages from "raw" pages", Alexander Duyck, v1 5/6, May 2019, the series
 * that became free page reporting in v5.7): the aerator worker pulls raw pages of
 * order >= AERATOR_MIN_ORDER off the free lists into its batch, "reacts" on them with
 * zone->lock dropped, and puts them back behind a per-list boundary, while CPUs
 * allocate from and free to the same lists.
 *
 * The zone: 8 pages, MAX_ORDER 3, pageblock_order 1 = AERATOR_MIN_ORDER (orders 1
 * and 2 are aerated), two max-order pages, every pageblock MIGRATE_MOVABLE; the
 * aerator has been started (aerator_startup(): a request is pending, refcnt 1).
 */
import {
  AERATION_HOOKS, ZONE_AERATION_REQUESTED, aeratorSize, hwmAt, rawGhostAt, batchHead, boundaryAt, cpusDoneAt, pendingAt, refcntAt, requested,
} from '../../src/kernel/aeration.ts';
import {
  F_OWNER, FPI_NONE, MIGRATE_MOVABLE, MT_NAMES, Z_FLAGS, __free_one_page, describeFreeArea, freeListHead, freeListOf,
  initZone, zoneSize, type ZoneGeometry,
} from '../../src/kernel/buddy.ts';
import { PAGE_STRIDE } from '../../src/kernel/page.ts';
import { type ActionFn, type Branch, type GuardFn, ProgramBuilder, br } from '../../src/kernel/program.ts';
import type { Model, Scope, System } from '../../src/system.ts';
import { reportingProperties, type ReportingLayout } from '../../properties/reporting.ts';
import { programActor } from '../common/machine.ts';
import { REPORTING_VARIANTS } from './variants.ts';
import { ACT, NO_PAGE, SEED, batchEmpty } from './actions.ts';
import { V57, buildV57 } from './v57.ts';
import { aerationBuddyPageMachine, buddyLifecycles, reportingBuddyPageMachine } from '../contig/lifecycle.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';

/** The aeration RFC (seed 003, v1, 2019) on the v5.2 allocator: the default version. */
export const AERATION_KERNEL = 'v5.2+aeration-v1';
export const REPORTING_GEOMETRY: ZoneGeometry = { npages: 8, maxOrder: 3, pageblockOrder: 1, nmt: 2, extraLists: 1 };
const CPU_ORDERS = [1, 2];

// --- the worker: aerator_cycle() and aerator_scrub_zone() -------------------------

const pending: GuardFn = (m, _L, P) => m[pendingAt(m, P.z)] !== 0;
const allDone: GuardFn = (m, _L, P) => m[cpusDoneAt(m, P.z)] === P.cpus;
/** The work runs: aerator_cycle()'s atomic_inc(&a_dev_info->refcnt). */
const startWork: ActionFn = (m, _L, P) => { m[pendingAt(m, P.z)] = 0; m[refcntAt(m, P.z)]++; };
const notRequested: GuardFn = (m, _L, P) => !requested(m, P.z);
const enterIdle: ActionFn = (m, _L, P) => { m[P.atIdle] = 1; };
const leaveIdle: ActionFn = (m, _L, P) => { m[P.atIdle] = 0; };
const batchIsEmpty: GuardFn = (m, _L, P) => batchEmpty(m, P.z);
const refcntNotOne: GuardFn = (m, _L, P) => m[refcntAt(m, P.z)] !== 1;
/** atomic_try_cmpxchg(&a_dev_info->refcnt, &refcnt, 0) with refcnt == 1. */
const cmpxchgIdle: GuardFn = (m, _L, P) => m[refcntAt(m, P.z)] === 1;
const setIdle: ActionFn = (m, _L, P) => { m[refcntAt(m, P.z)] = 0; m[P.atIdle] = 0; };

export function workerProgram(z: number, cpus: number, capacity: number, atIdle: number): ProgramBuilder {
  const b = new ProgramBuilder('aerator');
  const P = { z, cpus, capacity, atIdle };
  b.steps('wait', 'aerator_cycle', 'the delayed work runs: atomic_inc(&a_dev_info->refcnt) (or, with nothing pending and every CPU done, stop)', [
    br('scrub', [b.a('atomic_inc(refcnt)', startWork, P)], b.g('work pending', pending, P)),
    br('done', [], b.g('every CPU done', allDone, P)),
  ]);
  b.steps('scrub', 'aerator_scrub_zone', 'if (!test_bit(ZONE_AERATION_REQUESTED, &zone->flags)) return', [
    br('idle', [b.a('at idle check', enterIdle, P)], b.g('!REQUESTED', notRequested, P)),
    br('fill'),
  ]);
  b.steps('fill', 'aerator_scrub_zone', 'spin_lock(&zone->lock); aerator_fill(zone); if (list_empty(&batch)) clear ACTIVE; spin_unlock', [
    br('filled', [b.a(ACT.fill, SEED.fill, P)]),
  ]);
  b.localStep('filled', 'aerator_scrub_zone', 'if (list_empty(&a_dev_info->batch)) break; else a_dev_info->react(a_dev_info) (zone->lock dropped)', [
    br('idle', [], b.g('list_empty(batch)', batchIsEmpty, P)),
    br('drain'),
  ]);
  b.steps('drain', 'aerator_scrub_zone', 'spin_lock; aerator_populate_boundaries(); aerator_drain(); while (REQUESTED) aerator_fill(); if the batch is empty clear ACTIVE; spin_unlock', [
    br('filled', [b.a(ACT.drain, SEED.drain, P)]),
  ]);
  b.steps('idle', 'aerator_cycle', 'refcnt = atomic_read(&a_dev_info->refcnt); if (refcnt != 1) continue', [
    br('scrub', [b.a('continue', leaveIdle, P)], b.g('refcnt != 1', refcntNotOne, P)),
    br('cmpxchg'),
  ]);
  b.steps('cmpxchg', 'aerator_cycle', 'if (atomic_try_cmpxchg(&a_dev_info->refcnt, &refcnt, 0)) break (idle)', [
    br('wait', [b.a('refcnt = 0 (idle)', setIdle, P)], b.g('refcnt == 1', cmpxchgIdle, P)),
    br('scrub', [b.a('continue', leaveIdle, P)]),
  ]);
  b.final('done');
  return b;
}

// --- the CPUs -----------------------------------------------------------------------

const holds: GuardFn = (m, L, P) => m[L + P.page] !== NO_PAGE;
const cpuDone: ActionFn = (m, _L, P) => { m[cpusDoneAt(m, P.z)]++; };

/** What a CPU's program runs: its allocation, its free and its last step, with the free's description. */
export interface CpuActions {
  readonly alloc: ActionFn;
  readonly free: ActionFn;
  readonly done: ActionFn;
  readonly freeDesc: string;
}
const AERATION_CPU: CpuActions = {
  alloc: SEED.cpuAlloc, free: SEED.cpuFree, done: cpuDone,
  freeDesc: 'spin_lock; __free_one_page(); aerator_notify_free(zone, order); spin_unlock',
};

/** A CPU that allocates an order-1 or order-2 Movable page and frees it, `rounds` times. */
export function cpuProgram(z: number, rounds: number, acts: CpuActions = AERATION_CPU): ProgramBuilder {
  const b = new ProgramBuilder('cpu');
  const page = b.local('page', NO_PAGE);
  for (let r = 0; r < rounds; r++) {
    const last = r + 1 === rounds;
    const next = last ? 'done' : `alloc${r + 1}`;
    const on: Record<string, Branch[]> = {};
    for (const order of CPU_ORDERS) on[`ALLOC_ORDER_${order}`] = [br(`free${r}`, [b.a(ACT.cpuAlloc, acts.alloc, { z, order, page })])];
    b.step(`alloc${r}`, 'rmqueue', 'spin_lock(&zone->lock); __rmqueue_smallest(zone, order, MIGRATE_MOVABLE); spin_unlock', on);
    const fin = last ? [b.a('CPU done', acts.done, { z })] : [];
    b.steps(`free${r}`, '__free_pages', acts.freeDesc, [
      br(next, [b.a(ACT.cpuFree, acts.free, { z, page }), ...fin], b.g('page != NULL', holds, { page })),
      br(next, fin),
    ]);
  }
  b.final('done');
  return b;
}

export function reportingLayout(cpus: number, hwm: number): ReportingLayout & { aeratorEnd: number } {
  const g = REPORTING_GEOMETRY;
  const z = g.npages * PAGE_STRIDE;
  const aeratorEnd = z + zoneSize(g) + aeratorSize(g.maxOrder, g.pageblockOrder, g.nmt, g.npages);
  return { npages: g.npages, z, cpus, worker: cpus, workerAtIdleCheck: aeratorEnd, hwm, aeratorEnd };
}

function initialWorld(lay: ReturnType<typeof reportingLayout>): Uint8Array {
  const m = new Uint8Array(lay.aeratorEnd + 1);
  const g = REPORTING_GEOMETRY;
  initZone(m, lay.z, g, MIGRATE_MOVABLE);
  for (let pfn = 0; pfn < g.npages; pfn += 4) __free_one_page(m, lay.z, pfn, 2, MIGRATE_MOVABLE, FPI_NONE, AERATION_HOOKS);
  for (let order = g.pageblockOrder; order < g.maxOrder; order++) {
    for (let mt = 0; mt < g.nmt; mt++) m[boundaryAt(m, lay.z, order, mt)] = freeListHead(m, lay.z, order, mt);
  }
  // aerator_startup(): aerator_schedule_initial_aeration() -> __aerator_notify(zone).
  m[lay.z + Z_FLAGS] = ZONE_AERATION_REQUESTED;
  m[refcntAt(m, lay.z)] = 1;
  m[pendingAt(m, lay.z)] = 1;
  m[hwmAt(m, lay.z)] = lay.hwm;
  for (let pfn = 0; pfn < g.npages; pfn++) m[rawGhostAt(m, lay.z, pfn)] = 1;
  return m;
}

export const reporting: System = {
  name: 'reporting',
  title: 'Free page aeration (the boundary between raw and aerated pages)',
  kernel: AERATION_KERNEL,
  kernels: [AERATION_KERNEL, 'v5.7'],
  description:
    'The aerator worker pulls raw high-order free pages into its batch, reacts with zone->lock dropped and puts them back ' +
    'behind a per-list boundary (aerator_fill / aerator_drain / aerator_cycle), while CPUs allocate from and free to the ' +
    'same free lists and notify it past a high-water mark.',
  scope: {
    cpus: { min: 1, max: 3, default: 2, description: 'CPUs allocating order-1 or order-2 pages and freeing them' },
    rounds: { min: 1, max: 3, default: 2, description: 'allocate-then-free rounds per CPU' },
    hwm: { min: 1, max: 4, default: 1, description: 'AERATOR_HWM: raw pages of one order that request aeration (32 in the seed)' },
    capacity: { min: 1, max: 4, default: 1, description: 'a_dev_info->capacity: pages per batch' },
  },
  variants: REPORTING_VARIANTS.map(({ patch: _p, v57: _c, ...v }) => v),
  build(scope: Scope, variant: string | null, _driver?: unknown, kernel?: string): Model {
    const { cpus, rounds, hwm, capacity } = scope;
    const v = variant === null ? null : REPORTING_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    // A variant belongs to one version; --kernel may name it or be left out.
    const k = v ? v.kernel ?? AERATION_KERNEL : kernel ?? AERATION_KERNEL;
    if (kernel !== undefined && k !== kernel) throw new Error(`variant '${variant}' is of kernel ${k}, not ${kernel}`);
    if (k === 'v5.7') {
      const m57 = buildV57(scope, v?.patch, { ...V57, ...v?.v57 });
      const lc57 = buddyLifecycles(m57.world, REPORTING_GEOMETRY.npages * PAGE_STRIDE, reportingBuddyPageMachine, 'batch');
      return { ...m57, properties: [...m57.properties, lifecycleMonitor(lc57, m57.actors, m57.world.length)], lifecycles: lc57, liveness: true };
    }
    if (k !== AERATION_KERNEL) throw new Error(`reporting models kernels ${AERATION_KERNEL} and v5.7, not ${k}`);
    const lay = reportingLayout(cpus, hwm);
    const actors = [];
    for (let c = 0; c < cpus; c++) {
      const b = cpuProgram(lay.z, rounds);
      v?.patch.cpu?.(b);
      actors.push(programActor(b, `cpu${c}`, 'cpu', 'alloc0', c));
    }
    const w = workerProgram(lay.z, cpus, capacity, lay.workerAtIdleCheck);
    v?.patch.worker?.(w);
    actors.push(programActor(w, 'aerator', 'aerator', 'wait', cpus));
    const world = initialWorld(lay);
    const z = lay.z;
    const g = REPORTING_GEOMETRY;
    const nodeName = (n: number) => (n < g.npages ? `p${n}` : n === batchHead(world, z) ? 'batch' : (() => { const f = freeListOf(world, z, n - g.npages + 16); return f ? `head[${f.order}][${MT_NAMES[f.mt]}]` : `node${n}`; })());
    const lifecycles = buddyLifecycles(world, z, aerationBuddyPageMachine, 'batch');
    return {
      actors,
      world,
      properties: [...reportingProperties(lay), lifecycleMonitor(lifecycles, actors, world.length)],
      lifecycles,
      // Its actors' programs have loops that can repeat: liveness by default.
      liveness: true,
      view: {
        pages: g.npages,
        pageLabel: (pfn) => `p${pfn}`,
        listName: (l) => {
          if (l === 0) return '-';
          const f = freeListOf(world, z, l);
          return f ? `free[${f.order}][${MT_NAMES[f.mt]}]` : 'batch';
        },
        globals: [
          { name: 'zone->flags', at: z + Z_FLAGS, render: (x) => [x & 1 ? 'REQUESTED' : '', x & 2 ? 'ACTIVE' : ''].filter(Boolean).join('|') || '0' },
          { name: 'refcnt', at: refcntAt(world, z) },
          { name: 'work pending', at: pendingAt(world, z) },
          ...[1, 2].map((order) => ({ name: `boundary[${order}][Movable]`, at: boundaryAt(world, z, order, MIGRATE_MOVABLE), render: nodeName })),
        ],
        derived: [
          { name: 'free_area', render: (m) => describeFreeArea(m, z) + aeratedMarks(m) },
          { name: 'owners', render: (m) => Array.from({ length: g.npages }, (_, p) => { const o = m[p * PAGE_STRIDE + F_OWNER]; return o ? `cpu${o - 1}` : '.'; }).join(' ') },
        ],
      },
    };
  },
};

function aeratedMarks(m: Uint8Array): string {
  const out: number[] = [];
  for (let p = 0; p < REPORTING_GEOMETRY.npages; p++) if (m[p * PAGE_STRIDE] & 0x10) out.push(p);
  return out.length ? ` aerated{${out.join(',')}}` : '';
}
