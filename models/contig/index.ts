/**
 * contig: alloc_contig_range() at pageblock granularity (kernel v5.19, seed 002,
 * "mm: make alloc_contig_range work at pageblock granularity", Zi Yan 2022) racing
 * with CPUs that allocate and free pages and with a second alloc_contig_range() on
 * an overlapping range.
 *
 * The zone: 8 pages, MAX_ORDER 3 (orders 0..2), pageblock_order 1, so a max-order
 * page is two pageblocks and the zone holds two of them: pfns [0, 4) and [4, 8),
 * every pageblock MIGRATE_MOVABLE, every page free at the start.
 *
 *   contig0: [2, 6) (--range 0: both ends cut a max-order page in two) or [5, 6)
 *            (--range 1: one pageblock, the first and last pageblock are the same)
 *   contig1: [4, 8), overlapping contig0 in pageblock [4, 6)
 *   cpu0, cpu1: allocate an order-0 or order-2 movable page, then free or keep it
 */
import {
  MIGRATE_MOVABLE, MIGRATE_TYPES, MT_NAMES, describeFreeArea, freeListOf, get_pageblock_migratetype, initZone,
  FPI_NONE, __free_one_page, nrPageblocks, zoneSize, F_OWNER, type ZoneGeometry,
} from '../../src/kernel/buddy.ts';
import { allocContigRange, type ContigCtx } from '../../src/kernel/contig.ts';
import { PAGE_STRIDE } from '../../src/kernel/page.ts';
import { ProgramBuilder } from '../../src/kernel/program.ts';
import type { Model, Scope, System } from '../../src/system.ts';
import { NO_PAGE, contigProperties, type ContigLayout } from '../../properties/contig.ts';
import { programActor } from '../common/machine.ts';
import { cpuProgram, kworkerProgram } from './cpu.ts';
import { CONTIG_VARIANTS } from './variants.ts';
import { buddyLifecycles, contigBuddyPageMachine, pageblockLifecycle } from './lifecycle.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';

/** The zone, with a per-cpu page list set for each CPU actor. */
export const contigGeometry = (cpus: number): ZoneGeometry => ({ npages: 8, maxOrder: 3, pageblockOrder: 1, nmt: MIGRATE_TYPES, extraLists: 0, pcpCpus: cpus });
const RANGES: readonly (readonly [number, number])[][] = [
  [[2, 6], [4, 8]],
  [[5, 6], [4, 8]],
];
/**
 * The orders a CPU may allocate: --orders 0 gives a single page or a max-order page
 * that spans two pageblocks; --orders 1 adds order 1 (one pageblock), which reaches
 * the v5.19 window described in the README ("findings").
 */
const CPU_ORDERS = [[0, 2], [0, 1, 2]];

export function contigLayout(cpus: number, contigs: number, range: number): ContigLayout & { drainMutex: number } {
  const g = contigGeometry(cpus);
  const z = g.npages * PAGE_STRIDE;
  const after = z + zoneSize(g);
  return {
    npages: g.npages,
    z,
    cpus,
    contigs,
    contigActor: (k) => cpus + k,
    range: (k) => RANGES[range][k],
    result: (k) => after + cpus + k,
    slots: after,
    quiet: after + cpus + contigs,
    drainMutex: after + cpus + contigs + 1,
    migratetype: MIGRATE_MOVABLE,
  };
}

function initialWorld(lay: ReturnType<typeof contigLayout>): Uint8Array {
  const m = new Uint8Array(lay.drainMutex + 1);
  initZone(m, lay.z, contigGeometry(lay.cpus), lay.migratetype);
  for (let pfn = 0; pfn < lay.npages; pfn += 4) __free_one_page(m, lay.z, pfn, 2, lay.migratetype, FPI_NONE);
  for (let c = 0; c < lay.cpus; c++) m[lay.slots + c] = NO_PAGE;
  m[lay.quiet] = lay.cpus === 0 && lay.contigs === 1 ? 1 : 0;
  return m;
}

export const contig: System = {
  name: 'contig',
  title: 'alloc_contig_range() at pageblock granularity',
  kernel: 'v5.19',
  description:
    'alloc_contig_range() isolates the pageblocks of a range (isolate_single_pageblock() at both ends splits a free page ' +
    'and migrates an in-use page that straddles a boundary), migrates, tests and takes the free pages and undoes the ' +
    'isolation, while CPUs allocate and free movable pages and a second alloc_contig_range() works on an overlapping range.',
  scope: {
    cpus: { min: 0, max: 3, default: 2, description: 'CPUs allocating and freeing movable pages' },
    contigs: { min: 1, max: 2, default: 2, description: 'alloc_contig_range() callers: contig0, then contig1 on [4, 8)' },
    range: { min: 0, max: 1, default: 0, description: 'contig0\'s range: 0 = [2, 6) across both max-order pages, 1 = [5, 6) in one pageblock' },
    orders: { min: 0, max: 1, default: 0, description: 'orders a CPU may allocate: 0 = {0, 2}, 1 = {0, 1, 2}' },
    exact: { min: 0, max: 1, default: 0, description: '1 also checks NR_FREE_PAGES exactly (nr-free-pages-exact), which v5.19 breaks' },
    steal: { min: 0, max: 1, default: 0, description: '1: a CPU may also allocate an Unmovable order-0 page, which falls back to (and may steal) a Movable pageblock' },
  },
  variants: CONTIG_VARIANTS.map(({ patch: _p, cpuPatch: _c, kworkerPatch: _k, scope: _s, ...v }) => v),
  build(scope: Scope, variant: string | null): Model {
    const { cpus, contigs, range, exact, orders, steal } = scope;
    const lay = { ...contigLayout(cpus, contigs, range), steal: steal === 1 };
    const v = variant === null ? null : CONTIG_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    const g = contigGeometry(cpus);
    const actors = [];
    for (let c = 0; c < cpus; c++) {
      const b = cpuProgram(lay.z, lay.slots, CPU_ORDERS[orders], steal === 1);
      v?.cpuPatch?.(b);
      actors.push(programActor(b, `cpu${c}`, 'cpu', 'alloc', c));
    }
    for (let k = 0; k < contigs; k++) {
      const b = new ProgramBuilder('contig');
      const [start, end] = lay.range(k);
      const ctx: ContigCtx = {
        z: lay.z, npages: g.npages, maxOrder: g.maxOrder, pageblockNr: 1 << g.pageblockOrder, maxOrderNr: 1 << (g.maxOrder - 1),
        start, end, migratetype: lay.migratetype, ncpus: cpus, slots: lay.slots, result: lay.result(k), drainMutex: lay.drainMutex,
        slot: { pfn: b.local('pfn'), order: b.local('order'), head: b.local('head'), saved: b.local('saved_mt'), ret: b.local('ret'),
          outerStart: b.local('outer_start'), tail: b.local('tail_pfn'), pageMt: b.local('page_mt'), isolatePage: b.local('isolate_page'), newpage: b.local('newpage'), lowPfn: b.local('low_pfn'), migEnd: b.local('mig_end'),
        },
      };
      allocContigRange(b, 'acr', ctx, 'done');
      b.final('done');
      v?.patch(b, k, ctx);
      actors.push(programActor(b, `contig${k}`, 'contig', 'acr/isb-start', lay.contigActor(k)));
    }
    for (let c = 0; c < cpus; c++) {
      const b = kworkerProgram(lay.z, c, contigs, lay.result(0));
      v?.kworkerPatch?.(b);
      actors.push(programActor(b, `kworker${c}`, 'kworker', 'wait', cpus + contigs + c));
    }
    const actorName = (a: number) => (a < cpus ? `cpu${a}` : a < cpus + contigs ? `contig${a - cpus}` : `kworker${a - cpus - contigs}`);
    const world = initialWorld(lay);
    // A CPU's per-cpu list is touched by the CPU and by its drain work.
    const pcpCpu = (a: number) => (a < cpus ? a : a >= cpus + contigs ? a - cpus - contigs : -1);
    const lifecycles = [...buddyLifecycles(world, lay.z, contigBuddyPageMachine, 'pcp', pcpCpu), pageblockLifecycle(world, lay.z)];
    return {
      actors,
      world,
      properties: [...contigProperties(lay, exact === 1), lifecycleMonitor(lifecycles, actors, world.length)],
      lifecycles,
      // Its actors' programs have loops that can repeat: liveness by default.
      liveness: true,
      view: {
        pages: lay.npages,
        pageLabel: (pfn) => `p${pfn}`,
        listName: (l) => {
          if (l === 0) return '-';
          const f = freeListOf(initialWorld(lay), lay.z, l);
          return f ? `free[${f.order}][${MT_NAMES[f.mt]}]` : `pcp-list${l}`;
        },
        globals: [
          ...Array.from({ length: cpus }, (_, c) => ({ name: `cpu${c}.page`, at: lay.slots + c, render: (x: number) => (x === NO_PAGE ? 'NULL' : `pfn ${x}`) })),
          ...Array.from({ length: contigs }, (_, k) => ({ name: `contig${k}.result`, at: lay.result(k), render: (x: number) => ['running', '0', '-EBUSY'][x] ?? String(x) })),
        ],
        derived: [
          { name: 'free_area', render: (m) => describeFreeArea(m, lay.z) },
          {
            name: 'pageblocks',
            render: (m) => Array.from({ length: nrPageblocks(m, lay.z) }, (_, b) => MT_NAMES[get_pageblock_migratetype(m, lay.z, b << g.pageblockOrder)]).join(','),
          },
          {
            name: 'owners',
            render: (m) => Array.from({ length: lay.npages }, (_, p) => { const o = m[p * PAGE_STRIDE + F_OWNER]; return o ? actorName(o - 1) : '.'; }).join(' '),
          },
        ],
      },
    };
  },
};
