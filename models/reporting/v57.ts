/**
 * reporting --kernel v5.7: free page reporting as merged (mm/page_reporting.c, v5.7;
 * src/kernel/page_reporting.ts), on the same buddy core and zone as the aeration
 * series: the delayed work page_reporting_process() walks the free lists of order >=
 * PAGE_REPORTING_MIN_ORDER (= pageblock_order), isolates unreported pages into its
 * scatterlist with __isolate_free_page(), reports them with zone->lock dropped
 * (virtio_balloon's report callback, which may fail), puts them back with
 * __putback_isolated_page() and flags them PageReported, while CPUs allocate and free
 * pages, each free of order >= PAGE_REPORTING_MIN_ORDER requesting a pass.
 *
 * The world: the zone, then prdev's bytes (src/kernel/page_reporting.ts). At the start
 * the device has registered: page_reporting_register() made its initial request
 * (state REQUESTED, the work pending).
 */
import {
  CYCLE_REPORT, NO_PAGE, PAGE_REPORTING_ACTIVE, PAGE_REPORTING_IDLE, PAGE_REPORTING_REQUESTED, PG_reported, REPORTING_HOOKS,
  STATE_NAMES, capacityAt, cpusDoneAt, cycleBudget, freeListEmpty, free_pages_reporting, inPassAt, page_reporting_cycle_section,
  page_reporting_drain, pendingAt, reportingLists, requestGhostAt, reportingSize, reportingWatermarkOk, sgOrderAt, sgPfnAt, stateAt, type CycleLocals,
} from '../../src/kernel/page_reporting.ts';
import {
  F_OWNER, FPI_NONE, MIGRATE_MOVABLE, MT_NAMES, __free_one_page, __isolate_free_page, describeFreeArea, freeListOf, initZone,
  rmqueue, zoneSize,
} from '../../src/kernel/buddy.ts';
import { F_PRIVATE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import { type ActionFn, type GuardFn, ProgramBuilder, br } from '../../src/kernel/program.ts';
import type { Model, Scope } from '../../src/system.ts';
import { reportingV57Properties, type ReportingV57Layout } from '../../properties/reporting.ts';
import { programActor } from '../common/machine.ts';
import { REPORTING_GEOMETRY, cpuProgram, type CpuActions } from './index.ts';

/** Budget is kept + BUDGET_BIAS in a local byte: it goes down to -1. */
const BUDGET_BIAS = 8;
const RES_DONE = 0;
const RES_REPORT = 1;
const RES_ERR = 2;

/** What the variants of v5.7 may replace. */
export interface V57Code {
  /** __isolate_free_page() as page_reporting_cycle() calls it. */
  readonly isolate: typeof __isolate_free_page;
  /** The end of a pass: atomic_cmpxchg(&prdev->state, ACTIVE, IDLE), rescheduling on REQUESTED. */
  readonly finish: ActionFn;
}

const loc = (m: Uint8Array, L: number, P: Readonly<Record<string, number>>): CycleLocals => ({ offset: m[L + P.offset], budget: m[L + P.budget] - BUDGET_BIAS });
const store = (m: Uint8Array, L: number, P: Readonly<Record<string, number>>, c: CycleLocals): void => {
  m[L + P.offset] = c.offset;
  m[L + P.budget] = c.budget + BUDGET_BIAS;
};

/** The delayed work runs: atomic_set(&prdev->state, PAGE_REPORTING_ACTIVE); offset = PAGE_REPORTING_CAPACITY. */
const startPass: ActionFn = (m, L, P) => {
  m[pendingAt(m, P.z)] = 0;
  m[stateAt(m, P.z)] = PAGE_REPORTING_ACTIVE;
  m[inPassAt(m, P.z)] = 1;
  m[requestGhostAt(m, P.z)] = 0;
  m[L + P.offset] = m[capacityAt(m, P.z)];
};
const pending: GuardFn = (m, _L, P) => m[pendingAt(m, P.z)] !== 0;
const allDone: GuardFn = (m, _L, P) => m[cpusDoneAt(m, P.z)] === P.cpus && m[pendingAt(m, P.z)] === 0;
const wmarkLow: GuardFn = (m, _L, P) => !reportingWatermarkOk(m, P.z);
const listEmpty: GuardFn = (m, _L, P) => freeListEmpty(m, P.z, P.order, P.mt);
const resIs: GuardFn = (m, L, P) => m[L + P.res] === P.value;
const offsetFull: GuardFn = (m, L, P) => m[L + P.offset] === m[capacityAt(m, P.z)];
/** The report callback: err = 0 or -EIO; *offset = PAGE_REPORTING_CAPACITY; budget--. */
const reported: ActionFn = (m, L, P) => {
  m[L + P.err] = P.value;
  m[L + P.offset] = m[capacityAt(m, P.z)];
  m[L + P.budget]--;
};
const leftoverReported: ActionFn = (m, L, P) => { m[L + P.err] = P.value; };
const leftoverDrain: ActionFn = (m, L, P) => page_reporting_drain(m, P.z, m[L + P.offset], m[L + P.err] === 0);

/** atomic_cmpxchg(&prdev->state, ACTIVE, IDLE); if it was REQUESTED, schedule_delayed_work(). */
const finishPass: ActionFn = (m, _L, P) => {
  const old = m[stateAt(m, P.z)];
  if (old === PAGE_REPORTING_ACTIVE) m[stateAt(m, P.z)] = PAGE_REPORTING_IDLE;
  if (old === PAGE_REPORTING_REQUESTED) m[pendingAt(m, P.z)] = 1;
  m[inPassAt(m, P.z)] = 0;
};
export const V57: V57Code = { isolate: __isolate_free_page, finish: finishPass };
export const ACT_FINISH = 'atomic_cmpxchg(&prdev->state, ACTIVE, IDLE)';

/** The worker: page_reporting_process() -> page_reporting_process_zone() -> page_reporting_cycle(). */
export function workerV57(z: number, cpus: number, all: readonly { order: number; mt: number }[], code: V57Code = V57): ProgramBuilder {
  const b = new ProgramBuilder('page_reporting');
  const S = { offset: b.local('offset'), budget: b.local('budget'), err: b.local('err'), res: b.local('res') };
  const P = { z, cpus, ...S };
  /** spin_lock; budget = ...; page_reporting_cycle_section(); spin_unlock: res = DONE or REPORT. */
  const cycle: ActionFn = (m, L, Q) => {
    const c: CycleLocals = { offset: m[L + Q.offset], budget: cycleBudget(m, Q.z, Q.order) };
    m[L + Q.res] = page_reporting_cycle_section(m, Q.z, Q.order, Q.mt, c, code.isolate) === CYCLE_REPORT ? RES_REPORT : RES_DONE;
    store(m, L, Q, c);
  };
  /** spin_lock; page_reporting_drain(sgl, CAPACITY, !err); next = list_first_entry(); if (err) break; ...the walk goes on; spin_unlock. */
  const drainThenCycle: ActionFn = (m, L, Q) => {
    const err = m[L + Q.err] !== 0;
    page_reporting_drain(m, Q.z, 0, !err);
    if (err) { m[L + Q.res] = RES_ERR; return; }
    const c = loc(m, L, Q);
    m[L + Q.res] = page_reporting_cycle_section(m, Q.z, Q.order, Q.mt, c, code.isolate) === CYCLE_REPORT ? RES_REPORT : RES_DONE;
    store(m, L, Q, c);
  };
  b.steps('wait', 'page_reporting_process', 'the delayed work runs: atomic_set(&prdev->state, PAGE_REPORTING_ACTIVE) (or, with nothing pending and every CPU done, stop)', [
    br('wmark', [b.a('atomic_set(state, ACTIVE)', startPass, P)], b.g('work pending', pending, P)),
    br('done', [], b.g('every CPU done, nothing pending', allDone, P)),
  ]);
  const first = all.length ? 'l0-empty' : 'leftover';
  b.steps('wmark', 'page_reporting_process_zone', 'if (!zone_watermark_ok(zone, 0, low_wmark + (CAPACITY << MIN_ORDER), 0, ALLOC_CMA)) return', [
    br('finish', [], b.g('below the reporting watermark', wmarkLow, P)),
    br(first),
  ]);
  all.forEach(({ order, mt }, k) => {
    const next = k + 1 < all.length ? `l${k + 1}-empty` : 'leftover';
    const Q = { ...P, order, mt };
    const name = `free_area[${order}].free_list[${MT_NAMES[mt]}]`;
    b.steps(`l${k}-empty`, 'page_reporting_cycle', `if (list_empty(${name})) return (unlocked)`, [
      br(next, [], b.g('list_empty(list)', listEmpty, Q)),
      br(`l${k}-cycle`),
    ]);
    b.steps(`l${k}-cycle`, 'page_reporting_cycle', `spin_lock; budget = DIV_ROUND_UP(nr_free, CAPACITY * 16); walk ${name}: skip reported, __isolate_free_page() into sgl, rotate; spin_unlock`, [
      br(`l${k}-res`, [b.a(`page_reporting_cycle(${order}, ${mt})`, cycle, Q)]),
    ]);
    b.localStep(`l${k}-res`, 'page_reporting_cycle', 'sgl full with more to report: report; else the next list', [
      br(`l${k}-report`, [], b.g('res == REPORT', resIs, { ...Q, value: RES_REPORT })),
      br('finish', [], b.g('res == ERR', resIs, { ...Q, value: RES_ERR })),
      br(next),
    ]);
    b.step(`l${k}-report`, 'page_reporting_cycle', 'err = prdev->report(prdev, sgl, PAGE_REPORTING_CAPACITY) (zone->lock dropped); offset = CAPACITY; budget--', {
      REPORT_OK: [br(`l${k}-drain`, [b.a('report: 0', reported, { ...Q, value: 0 })])],
      REPORT_ERR: [br(`l${k}-drain`, [b.a('report: -EIO', reported, { ...Q, value: 1 })])],
    });
    b.steps(`l${k}-drain`, 'page_reporting_drain', 'spin_lock; page_reporting_drain(sgl, CAPACITY, !err); next = list_first_entry(list); if (err) break; the walk goes on; spin_unlock', [
      br(`l${k}-res`, [b.a(`page_reporting_drain and walk on (${order}, ${mt})`, drainThenCycle, Q)]),
    ]);
  });
  b.localStep('leftover', 'page_reporting_process_zone', 'leftover = PAGE_REPORTING_CAPACITY - offset; if (leftover) report them', [
    br('finish', [], b.g('offset == CAPACITY', offsetFull, P)),
    br('leftover-report'),
  ]);
  b.step('leftover-report', 'page_reporting_process_zone', 'err = prdev->report(prdev, &sgl[offset], leftover) (zone->lock dropped)', {
    REPORT_OK: [br('leftover-drain', [b.a('leftover report: 0', leftoverReported, { ...P, value: 0 })])],
    REPORT_ERR: [br('leftover-drain', [b.a('leftover report: -EIO', leftoverReported, { ...P, value: 1 })])],
  });
  b.steps('leftover-drain', 'page_reporting_drain', 'spin_lock; page_reporting_drain(&sgl[offset], leftover, !err); spin_unlock', [
    br('finish', [b.a('page_reporting_drain(leftover)', leftoverDrain, P)]),
  ]);
  b.steps('finish', 'page_reporting_process', 'state = atomic_cmpxchg(&prdev->state, ACTIVE, IDLE); if (state == REQUESTED) schedule_delayed_work()', [
    br('wait', [b.a(ACT_FINISH, code.finish, P)]),
  ]);
  b.final('done');
  return b;
}

/** The CPUs' zone->lock sections with v5.7's hooks. */
const cpuAlloc: ActionFn = (m, L, P, A) => {
  const pfn = rmqueue(m, P.z, P.order, MIGRATE_MOVABLE, A, REPORTING_HOOKS);
  m[L + P.page] = pfn < 0 ? NO_PAGE : pfn;
};
const cpuFree: ActionFn = (m, L, P) => {
  const pfn = m[L + P.page];
  free_pages_reporting(m, P.z, pfn, m[pfn * PAGE_STRIDE + F_PRIVATE]);
  m[L + P.page] = NO_PAGE;
};
const cpuDone: ActionFn = (m, _L, P) => { m[cpusDoneAt(m, P.z)]++; };
export const V57_CPU: CpuActions = {
  alloc: cpuAlloc, free: cpuFree, done: cpuDone,
  freeDesc: 'spin_lock; __free_one_page(..., report = true): page_reporting_notify_free(order); spin_unlock',
};

export function reportingV57Layout(cpus: number, capacity: number): ReportingV57Layout & { end: number } {
  const g = REPORTING_GEOMETRY;
  const z = g.npages * PAGE_STRIDE;
  return { npages: g.npages, z, cpus, worker: cpus, end: z + zoneSize(g) + reportingSize(capacity), capacity };
}

function initialWorld(lay: ReturnType<typeof reportingV57Layout>): Uint8Array {
  const g = REPORTING_GEOMETRY;
  const m = new Uint8Array(lay.end);
  initZone(m, lay.z, g, MIGRATE_MOVABLE);
  m[capacityAt(m, lay.z)] = lay.capacity;
  for (let i = 0; i < lay.capacity; i++) m[sgPfnAt(m, lay.z, i)] = NO_PAGE;
  for (let pfn = 0; pfn < g.npages; pfn += 4) __free_one_page(m, lay.z, pfn, 2, MIGRATE_MOVABLE, FPI_NONE);
  // page_reporting_register(): atomic_set(IDLE); __page_reporting_request() -> REQUESTED, work scheduled.
  m[stateAt(m, lay.z)] = PAGE_REPORTING_REQUESTED;
  m[pendingAt(m, lay.z)] = 1;
  m[requestGhostAt(m, lay.z)] = 1;
  return m;
}

/** The v5.7 model at a scope (`--cpus --rounds --capacity`; `--hwm` has no meaning in v5.7). */
export function buildV57(scope: Scope, patch?: { cpu?: (b: ProgramBuilder) => void; worker?: (b: ProgramBuilder) => void }, code: V57Code = V57): Model {
  const { cpus, rounds, capacity } = scope;
  const lay = reportingV57Layout(cpus, capacity);
  const actors = [];
  for (let c = 0; c < cpus; c++) {
    const b = cpuProgram(lay.z, rounds, V57_CPU);
    patch?.cpu?.(b);
    actors.push(programActor(b, `cpu${c}`, 'cpu', 'alloc0', c));
  }
  const world = initialWorld(lay);
  const w = workerV57(lay.z, cpus, reportingLists(world, lay.z), code);
  patch?.worker?.(w);
  actors.push(programActor(w, 'page_reporting', 'page_reporting', 'wait', cpus));
  const z = lay.z;
  const g = REPORTING_GEOMETRY;
  return {
    actors,
    world,
    properties: reportingV57Properties(lay),
    view: {
      pages: g.npages,
      pageLabel: (pfn) => `p${pfn}`,
      listName: (l) => {
        if (l === 0) return '-';
        const f = freeListOf(world, z, l);
        return f ? `free[${f.order}][${MT_NAMES[f.mt]}]` : `list${l}`;
      },
      globals: [
        { name: 'prdev->state', at: stateAt(world, z), render: (x) => STATE_NAMES[x] ?? String(x) },
        { name: 'work pending', at: pendingAt(world, z) },
        ...Array.from({ length: capacity }, (_, i) => ({ name: `sgl[${i}]`, at: sgPfnAt(world, z, i), render: (x: number) => (x === NO_PAGE ? '-' : `p${x}`) })),
      ],
      derived: [
        { name: 'free_area', render: (m) => describeFreeArea(m, z) + reportedMarks(m) },
        { name: 'owners', render: (m) => Array.from({ length: g.npages }, (_, p) => { const o = m[p * PAGE_STRIDE + F_OWNER]; return o ? `cpu${o - 1}` : '.'; }).join(' ') },
      ],
    },
  };
}

function reportedMarks(m: Uint8Array): string {
  const out: number[] = [];
  for (let p = 0; p < REPORTING_GEOMETRY.npages; p++) if (m[p * PAGE_STRIDE] & PG_reported) out.push(p);
  return out.length ? ` reported{${out.join(',')}}` : '';
}

export { sgOrderAt };
