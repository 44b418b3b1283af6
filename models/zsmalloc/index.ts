/**
 * zsmalloc: zspage-level page migration (kernel v4.8, the seed's patches 04-12,
 * "zsmalloc: page migration support"): compaction CPUs isolate, migrate and put back
 * the subpages of zspages through the pool inode's a_ops while a zram-like user
 * allocates and frees objects and the pool's free worker frees empty zspages.
 */
import type { Model, Scope, System } from '../../src/system.ts';
import { NO_PFN, ZS_INUSE, ZS_ISOLATED, ZS_ONLIST, ZS_READERS, ZS_WRITER, ZSPAGE_BYTES, HANDLE_BYTES, H_LOC, H_PIN, zsmallocAops } from '../../src/kernel/zsmalloc.ts';
import { zsmallocProperties } from '../../properties/zsmalloc.ts';
import { programActor } from '../common/machine.ts';
import { zsmallocLifecycles } from './lifecycle.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';
import { migrationPageLabel, migrationView } from '../common/migration-world.ts';
import { cpuProgram } from '../nonlru/cpu.ts';
import { initialWorld, zsLayout } from './layout.ts';
import { cpuLeaves, userProgram, workerProgram } from './user.ts';
import { ZSMALLOC_VARIANTS } from './variants.ts';

export const zsmalloc: System = {
  name: 'zsmalloc',
  title: 'zsmalloc zspage migration',
  kernel: 'v4.8',
  description:
    'Compaction CPUs isolate, migrate and put back zspage subpages (zs_page_isolate, zs_page_migrate, ' +
    'zs_page_putback) while a zram-like user allocates and frees objects (zs_malloc, zs_free -> free_zspage -> ' +
    'reset_page) and the pool\'s free worker (async_free_zspage) frees empty zspages.',
  scope: {
    cpus: { min: 1, max: 2, default: 2, description: 'compaction CPUs' },
    zspages: { min: 1, max: 2, default: 1, description: 'zspages of 2 pages each the size class may allocate' },
    objects: { min: 1, max: 2, default: 2, description: 'objects the user allocates, then frees, the last allocated first' },
    perpage: { min: 1, max: 2, default: 1, description: 'objects per page (2: zs_page_migrate pins two handles and can fail after the first)' },
  },
  variants: ZSMALLOC_VARIANTS.map(({ patch: _patch, ...v }) => v),
  build(scope: Scope, variant: string | null): Model {
    const { cpus, zspages, objects } = scope;
    // Traces committed before --perpage existed name no perpage: one object per page.
    const lay = zsLayout(cpus, zspages, objects, scope.perpage ?? 1);
    const v = variant === null ? null : ZSMALLOC_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    const ops = zsmallocAops(lay.pool);
    const actors = [];
    for (let c = 0; c < cpus; c++) {
      const b = cpuProgram(lay, c, ops);
      cpuLeaves(b, lay);
      v?.patch.cpu?.(b);
      actors.push(programActor(b, `cpu${c}`, 'cpu', 'scan', c));
    }
    const u = userProgram(lay);
    v?.patch.user?.(u);
    actors.push(programActor(u, 'zram', 'zram', 'malloc0', cpus));
    const w = workerProgram(lay);
    v?.patch.worker?.(w);
    actors.push(programActor(w, 'free_work', 'free_work', 'idle', cpus + 1));

    const pfnName = (v: number) => (v === NO_PFN ? 'NULL' : `pfn ${v}`);
    const globals: { name: string; at: number; render?: (v: number) => string }[] = [
      { name: 'class->lock', at: lay.pool.classLock, render: (v) => (v ? `held by actor ${v - 1}` : 'free') },
      { name: 'free_work', at: lay.pool.workPending, render: (v) => (v ? 'queued' : 'idle') },
    ];
    for (let z = 0; z < zspages; z++) {
      const at = lay.pool.zspage0 + z * ZSPAGE_BYTES;
      globals.push({ name: `zspage${z}.inuse`, at: at + ZS_INUSE }, { name: `zspage${z}.isolated`, at: at + ZS_ISOLATED },
        { name: `zspage${z}.list`, at: at + ZS_ONLIST, render: (v) => ['-', 'class', 'free_pages'][v] ?? String(v) },
        { name: `zspage${z}.readers`, at: at + ZS_READERS },
        { name: `zspage${z}.writer`, at: at + ZS_WRITER, render: (v) => (v ? `actor ${v - 1}` : 'none') });
    }
    for (let o = 0; o < objects; o++) {
      const at = lay.pool.handle0 + o * HANDLE_BYTES;
      globals.push({ name: `obj${o}`, at: at + H_LOC, render: pfnName }, { name: `obj${o}.pin`, at: at + H_PIN });
    }
    const lifecycles = zsmallocLifecycles(lay);
    return {
      actors,
      world: initialWorld(lay),
      properties: [...zsmallocProperties(lay), lifecycleMonitor(lifecycles, actors, lay.worldSize)],
      lifecycles,
      // Its actors' programs have loops that can repeat (migrate_pages' passes among them): liveness by default.
      liveness: true,
      view: {
        pages: lay.npages,
        // zspage z's pages are z<z>.<i>; targets as in every migration system.
        pageLabel: (pfn) => (pfn < lay.pages ? `z${Math.floor(pfn / 2)}.${pfn % 2}` : migrationPageLabel(lay, pfn)),
        ...migrationView(lay),
        globals,
      },
    };
  },
};
