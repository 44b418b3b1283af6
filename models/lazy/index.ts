/**
 * lazy: mbind(MPOL_MF_MOVE | MPOL_MF_LAZY) and migrate-on-fault, as seed 001 has them
 * ("[RFC][PATCH 03/26] mm, mpol: add MPOL_MF_LAZY ...", Lee Schermerhorn's patch posted
 * by Peter Zijlstra on 16 March 2012 with the sched/numa RFC, against v3.3): a task
 * lazily unmaps a shared range that the initial thread faulted in on node 0, threads
 * on node 1 touch it and migrate each page on first touch, and kswapd reclaims node 0.
 */
import { describeMappedPage, describeSwap } from './view.ts';
import { headOf } from '../../src/kernel/list.ts';
import { fromLayout, type MappedLayout } from './world.ts';
import { endIoProgram, kswapdProgram } from '../../src/kernel/mapped-v3/vmscan.ts';
import { mbindProgram } from '../../src/kernel/mapped-v3/mempolicy.ts';
import { toucherProgram, toucherStart } from '../../src/kernel/mapped-v3/fault.ts';
import { compactionProgram } from '../../src/kernel/mapped-v3/compaction.ts';
import { lazyProperties } from '../../properties/lazy.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';
import { lazyLifecycles } from './lifecycle.ts';
import type { ActorDef, Model, Scope, System } from '../../src/system.ts';
import { programActor } from '../common/machine.ts';
import { LAZY_CONTRACT } from './contract.ts';
import { LAZY_VARIANTS } from './variants.ts';
import { toucherSymmetry } from './symmetry.ts';

/** The node the touching threads run on. */
const TOUCHER_NODE = 1;

export const lazy: System = {
  name: 'lazy',
  title: 'Lazy migration: mbind(MPOL_MF_LAZY) and migrate-on-fault',
  kernel: 'v3.3',
  description:
    'A task calls mbind(MPOL_MF_MOVE | MPOL_MF_LAZY) over a range its initial thread faulted in on node 0 ' +
    '(check_range, mbind_range, migrate_pages_unmap_only: add_to_swap, try_to_unmap(TTU_MIGRATE_DEFERRED)), ' +
    'threads on node 1 write the range and migrate each page on first touch in do_swap_page, and kswapd ' +
    'reclaims node 0 (shrink_page_list: add_to_swap, try_to_unmap, pageout, __remove_mapping).',
  scope: {
    pages: { min: 1, max: 2, default: 1, description: 'virtual pages of the range (one swap slot each)' },
    touchers: { min: 1, max: 2, default: 2, description: 'threads on node 1 writing every page of the range' },
    reclaim: { min: 0, max: 2, default: 1, description: 'kswapd passes over node 0\'s LRU (0: no reclaim)' },
    compaction: { min: 0, max: 1, default: 0, description: 'compaction of node 0 migrating one page (1; 0: none)' },
    reads: { min: 0, max: 1, default: 0, description: 'threads read each page before writing it (1: read faults map pages read-only in the swap cache; 0: writes only)' },
  },
  variants: LAZY_VARIANTS.map(({ patch: _p, ...v }) => v),
  contract: LAZY_CONTRACT,
  build(scope: Scope, variant: string | null): Model {
    const { pages, touchers, reclaim, compaction, reads } = scope;
    const lay = fromLayout(pages, touchers, compaction);
    const v = variant === null ? null : LAZY_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    const actors: ActorDef[] = [];
    const mb = mbindProgram(lay.lay, 0);
    v?.patch.mbind?.(mb.b, lay.lay);
    actors.push(programActor(mb.b, 'mbind', 'mbind', 'migrate_prep', 0));
    for (let t = 0; t < touchers; t++) {
      const tp = toucherProgram(lay.lay, 1 + t, TOUCHER_NODE, reads === 1);
      v?.patch.toucher?.(tp.b, lay.lay, 1 + t);
      actors.push(programActor(tp.b, `thread${t}`, 'toucher', toucherStart(reads === 1), 1 + t));
    }
    if (reclaim > 0) {
      actors.push(programActor(kswapdProgram(lay.lay, reclaim), 'kswapd0', 'kswapd', 'isolate', actors.length));
      actors.push(programActor(endIoProgram(lay.lay), 'swap-io', 'swap-io', 'wait', actors.length));
    }
    if (compaction > 0) {
      const cp = compactionProgram(lay.lay, 1 + touchers);
      v?.patch.compaction?.(cp, lay.lay);
      actors.push(programActor(cp, 'compact', 'compaction', 'freepages', actors.length));
    }
    const lifecycles = lazyLifecycles(lay.lay);
    return {
      actors,
      world: lay.world,
      properties: [...lazyProperties(lay.lay), lifecycleMonitor(lifecycles, actors, lay.world.length)],
      lifecycles,
      // Its actors' programs have loops that can repeat (a retry is a marked bounded exit): liveness by default.
      liveness: true,
      ...(touchers > 1 ? { symmetry: toucherSymmetry(lay.lay, 1, touchers) } : {}),
      view: view(lay.lay),
    };
  },
};

function view(lay: MappedLayout): Model['view'] {
  const globals: { name: string; at: number; render?: (v: number) => string }[] = [
    { name: 'mmap_sem', at: lay.mmapSem, render: (x) => (x & 0x80 ? 'write-locked' : x ? `${x} reader(s)` : 'free') },
    { name: 'vma policy', at: lay.policy, render: (x) => (x & 0x80 ? `MPOL_BIND {${x & 0xf}} | MPOL_F_MOF` : 'default') },
  ];
  for (let v = 0; v < lay.vpages; v++) {
    globals.push({ name: `pte[${v}]`, at: lay.pte(v), render: (x) => ['none', `swap slot ${x & 0x1f}`, `pfn ${x & 0x1f}${x & 0x20 ? ' (read-only)' : ''}`, `migration pfn ${x & 0x1f}`][x >> 6] });
  }
  return {
    pages: 0,
    pageLabel: (pfn) => `p${pfn}`,
    listName: (l) => lay.S.name(l),
    globals,
    derived: [
      ...Array.from({ length: lay.npages }, (_, p) => ({ name: `p${p} (node ${lay.nid(p)})`, render: (m: Uint8Array) => describeMappedPage(m, lay, p, headOf) })),
      { name: 'swap', render: (m: Uint8Array) => describeSwap(m, lay) },
    ],
  };
}
