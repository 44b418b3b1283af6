/**
 * balloon: virtio-balloon pages as non-LRU movable pages (kernel v4.8, the seed's
 * patch 03 "mm: balloon: use general non-lru movable page feature"): compaction CPUs
 * isolate, migrate and put back balloon pages through balloon_aops while the balloon
 * inflates (fill_balloon) and deflates (leak_balloon).
 */
import type { Model, Scope, System } from '../../src/system.ts';
import { balloonAops } from '../../src/kernel/balloon.ts';
import { balloonProperties } from '../../properties/balloon.ts';
import { programActor } from '../common/machine.ts';
import { balloonLifecycles } from './lifecycle.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';
import { migrationPageLabel, migrationView } from '../common/migration-world.ts';
import { cpuProgram } from '../nonlru/cpu.ts';
import { deflateProgram, inflateProgram, virtballoonMigratepage } from './driver.ts';
import { balloonDev, balloonLayout, initialWorld } from './layout.ts';
import { BALLOON_VARIANTS } from './variants.ts';

export const balloon: System = {
  name: 'balloon',
  title: 'Balloon page compaction (virtio-balloon)',
  kernel: 'v4.8',
  description:
    'Compaction CPUs isolate, migrate and put back balloon pages through balloon_aops (balloon_page_isolate, ' +
    'balloon_page_migrate -> virtballoon_migratepage, balloon_page_putback) while the virtio balloon inflates ' +
    '(fill_balloon -> balloon_page_enqueue) and deflates (leak_balloon -> balloon_page_dequeue).',
  scope: {
    cpus: { min: 1, max: 3, default: 2, description: 'compaction CPUs' },
    pages: { min: 1, max: 2, default: 2, description: 'pages the host asks the balloon to take, then to give back' },
  },
  variants: BALLOON_VARIANTS.map(({ patch: _patch, ...v }) => v),
  build(scope: Scope, variant: string | null): Model {
    const { cpus, pages } = scope;
    const lay = balloonLayout(cpus, pages);
    const dev = balloonDev(lay);
    const v = variant === null ? null : BALLOON_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    const ops = balloonAops(dev, virtballoonMigratepage(lay, dev));
    const actors = [];
    for (let c = 0; c < cpus; c++) {
      const b = cpuProgram(lay, c, ops);
      v?.patch.cpu?.(b);
      actors.push(programActor(b, `cpu${c}`, 'cpu', 'scan', c));
    }
    const inf = inflateProgram(lay, dev);
    v?.patch.inflate?.(inf);
    actors.push(programActor(inf, 'inflate', 'inflate', 'fill', cpus));
    const def = deflateProgram(lay, dev);
    v?.patch.deflate?.(def);
    actors.push(programActor(def, 'deflate', 'deflate', 'leak', cpus + 1));

    const holder = (v: number) => (v ? `held by actor ${v - 1}` : 'free');
    const lifecycles = balloonLifecycles(lay);
    return {
      actors,
      world: initialWorld(lay),
      properties: [...balloonProperties(lay), lifecycleMonitor(lifecycles, actors, lay.worldSize)],
      lifecycles,
      // migrate_pages() retries -EAGAIN pages (its bounded exit is marked in
      // src/kernel/migrate.ts) and the deflate work queues itself again while the
      // balloon is off target: liveness is checked by default.
      liveness: true,
      view: {
        pages: lay.npages,
        pageLabel: (pfn) => migrationPageLabel(lay, pfn),
        ...migrationView(lay),
        globals: [
          { name: 'pages_lock', at: lay.pagesLock, render: holder },
          { name: 'isolated_pages', at: lay.isolatedPages },
          { name: 'balloon_lock', at: lay.balloonLock, render: holder },
          { name: 'num_pages', at: lay.numPages },
        ],
      },
    };
  },
};
