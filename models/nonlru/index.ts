/**
 * nonlru: non-LRU movable page migration as the seed series introduced it (kernel
 * v4.8, "mm: migrate: support non-lru movable page migration", v6/v6r2): compaction
 * CPUs isolating and migrating a driver's pages while the driver allocates and
 * releases them.
 */
import type { ActorDef, Driver, Model, Scope, System } from '../../src/system.ts';
import { DriverError, checkedOps, checkedThread } from '../../src/driver.ts';
import type { NonlruLayout } from '../../properties/nonlru.ts';
import { NO_PAGE, nonlruProperties } from '../../properties/nonlru.ts';
import { programActor } from '../common/machine.ts';
import { migrationPageLabel, migrationView } from '../common/migration-world.ts';
import { cpuProgram } from './cpu.ts';
import { driverOps, driverProgram } from './driver.ts';
import { NONLRU_CONTRACT } from './contract.ts';
import { initialWorld, nonlruLayout, worldSize } from './layout.ts';
import { nonlruSymmetry } from './symmetry.ts';
import { migrationLifecycles } from './lifecycle.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';
import { NONLRU_VARIANTS } from './variants.ts';

/** The default scan mix (see README, "What the world holds", for the figures of each). */
export const MIX_DEFAULT = 4;

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
    mix: { min: 0, max: 4, default: MIX_DEFAULT, description: 'kinds of other pages in the scan range, in this order: slab, free order-1 buddy block, order-1 THP (head and tail), LRU page' },
  },
  variants: NONLRU_VARIANTS.map(({ patch: _patch, ...v }) => v),
  contract: NONLRU_CONTRACT,
  driverSlot: {
    actor: 'driver',
    description:
      'The driver owns pfns [0, pages) (its k-th allocation is pfn k). It keeps its pages in lay.slots[k], on list ' +
      'lay.driverList, counts the pages the VM holds isolated in lay.driverIsolated and guards all three with the ' +
      'spinlock byte lay.driverLock. At the end every page it still owns must be on its list, movable with ' +
      'lay.mapping, PG_private set, unlocked, not isolated, with its one reference; every other page free.',
  },
  build(scope: Scope, variant: string | null, userDriver?: Driver<never>): Model {
    const { cpus, pages } = scope;
    const lay = nonlruLayout(cpus, pages, scope.mix ?? MIX_DEFAULT);
    const v = variant === null ? null : NONLRU_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    if (userDriver && v) throw new DriverError(`--variant puts a known bug back into the VM or the generic driver; check your driver (${userDriver.name}) without it`);
    const actors: ActorDef[] = [];
    const where = userDriver ? `driver '${userDriver.name}'` : '';
    // A user's driver can fail anywhere in its code, and its names can clash with the
    // kernel's: every such error is about the driver, in one line.
    const guarded = <T>(f: () => T): T => {
      if (!userDriver) return f();
      try {
        return f();
      } catch (e) {
        if (e instanceof DriverError) throw e;
        throw new DriverError(`${where}: ${(e as Error).message.split('\n')[0]}`);
      }
    };
    const ops = userDriver ? guarded(() => checkedOps(userDriver, lay, lay.mapping, where)) : driverOps(lay);
    for (let c = 0; c < cpus; c++) {
      const b = guarded(() => cpuProgram(lay, c, ops));
      v?.patch.cpu?.(b, c, lay);
      actors.push(guarded(() => programActor(b, `cpu${c}`, 'cpu', 'scan', c)));
    }
    if (userDriver) {
      actors.push(guarded(() => userActor(checkedThread(userDriver, lay, where), lay)));
    } else {
      const d = driverProgram(lay);
      v?.patch.driver?.(d, lay);
      actors.push(programActor(d, 'driver', 'driver', 'alloc', lay.driverActor));
    }

    const world = initialWorld(lay);
    v?.patch.world?.(world, lay);
    const lifecycles = migrationLifecycles(lay);
    return {
      actors,
      world,
      properties: [...nonlruProperties(lay, world), lifecycleMonitor(lifecycles, actors, worldSize(lay))],
      lifecycles,
      // migrate_pages() retries -EAGAIN pages and the driver's lock waits can repeat:
      // liveness is checked by default (its bounded exit is marked in migrate.ts).
      liveness: true,
      // A user's driver may keep pfns in locals and fields the renaming does not
      // know of, so symmetry is declared for the generic driver only.
      ...(userDriver ? {} : { symmetry: nonlruSymmetry(lay, worldSize(lay)) }),
      view: {
        pages: lay.npages,
        pageLabel: (pfn) => migrationPageLabel(lay, pfn),
        ...migrationView(lay),
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


/** The actor for a user's driver thread: a program, or a machine built like programMachine's. */
function userActor(t: ReturnType<typeof checkedThread>, lay: NonlruLayout): ActorDef {
  if ('program' in t) return programActor(t.program, 'driver', 'driver', t.initial, lay.driverActor);
  return {
    name: 'driver',
    kind: 'driver',
    machine: t.machine,
    locals: [...t.locals],
    initialLocals: t.initialLocals ? [...t.initialLocals] : t.locals.map(() => 0),
  };
}
