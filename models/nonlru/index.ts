/**
 * nonlru: non-LRU movable page migration as the seed series introduced it (kernel
 * v4.8, "mm: migrate: support non-lru movable page migration", v6/v6r2): compaction
 * CPUs isolating and migrating a driver's pages while the driver allocates and
 * releases them.
 */
import type { Model, Scope, System } from '../../src/system.ts';
import { NO_PAGE, nonlruProperties } from '../../properties/nonlru.ts';
import { programActor } from '../common/machine.ts';
import { cpuProgram } from './cpu.ts';
import { driverOps, driverProgram } from './driver.ts';
import { initialWorld, nonlruLayout, targetPfn, worldSize } from './layout.ts';
import { nonlruSymmetry } from './symmetry.ts';
import { NONLRU_VARIANTS } from './variants.ts';

export const nonlru: System = {
  name: 'nonlru',
  title: 'Non-LRU movable page migration',
  kernel: 'v4.8',
  description:
    'Compaction CPUs isolate, migrate and put back the pages of a driver that owns non-LRU movable pages ' +
    '(isolate_movable_page, migrate_pages, putback_movable_pages), while the driver allocates its pages, ' +
    'makes them movable and releases them at any time.',
  scope: {
    cpus: { min: 1, max: 4, default: 2, description: 'compaction CPUs' },
    pages: { min: 1, max: 4, default: 2, description: 'driver pages' },
  },
  variants: NONLRU_VARIANTS.map(({ patch: _patch, ...v }) => v),
  build(scope: Scope, variant: string | null): Model {
    const { cpus, pages } = scope;
    const lay = nonlruLayout(cpus, pages);
    const v = variant === null ? null : NONLRU_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    const ops = driverOps(lay);
    const actors = [];
    for (let c = 0; c < cpus; c++) {
      const b = cpuProgram(lay, c, ops);
      v?.patch.cpu?.(b, c, lay);
      actors.push(programActor(b, `cpu${c}`, 'cpu', 'scan', c));
    }
    const d = driverProgram(lay);
    v?.patch.driver?.(d, lay);
    actors.push(programActor(d, 'driver', 'driver', 'alloc', lay.driverActor));

    const listNames = new Map<number, string>([[0, '-'], [1, 'free'], [2, 'lru'], [lay.driverList, 'driver']]);
    for (let c = 0; c < cpus; c++) {
      listNames.set(lay.migrateList(c), `cpu${c}.migratepages`);
      listNames.set(lay.freeList(c), `cpu${c}.freepages`);
    }
    return {
      actors,
      world: initialWorld(lay),
      properties: nonlruProperties(lay),
      symmetry: nonlruSymmetry(lay, worldSize(lay)),
      view: {
        pages: lay.npages,
        pageLabel: (pfn) => {
          if (pfn < pages) return `p${pfn}`;
          const c = Math.floor((pfn - pages) / pages);
          return `t${c}.${pfn - targetPfn(lay, c, 0)}`;
        },
        listName: (l) => listNames.get(l) ?? `list${l}`,
        globals: [
          { name: 'driver.lock', at: lay.driverLock, render: (v) => (v ? `held by actor ${v - 1}` : 'free') },
          { name: 'driver.isolated', at: lay.driverIsolated },
          ...Array.from({ length: pages }, (_, k) => ({
            name: `driver.slot[${k}]`,
            at: lay.slots + k,
            render: (v: number) => (v === NO_PAGE ? 'NULL' : `pfn ${v}`),
          })),
        ],
      },
    };
  },
};

