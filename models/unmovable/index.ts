/**
 * unmovable: AS_UNMOVABLE mappings (kernel v6.8, seed 004, "mm: Add AS_UNMOVABLE to
 * mark mapping as completely unmovable"): compaction CPUs on the LRU path of
 * isolate_migratepages_block() and in migrate_pages(), a guest_memfd-like owner that
 * marks its mapping unmovable and brings in folios, an ordinary file beside it, and
 * truncation that frees both inodes.
 */
import type { ActorDef, Model, Scope, System } from '../../src/system.ts';
import { loadWord } from '../../src/kernel/bitops.ts';
import {
  F_MAPPING, F_REF, INODE_FREED, INODE_LIVE, I_FLAGS, I_STATE, AS_UNEVICTABLE, AS_UNMOVABLE, describeFolioFlags, flagsOf,
  folioListHead, pageCacheSlot,
} from '../../src/kernel/folio-v6/folio.ts';
import { unmovableProperties } from '../../properties/unmovable.ts';
import { lifecycleMonitor } from '../../properties/lifecycle.ts';
import { FOLIO_BYTES } from '../../src/kernel/folio-v6/folio.ts';
import { unmovableLifecycles } from './lifecycle.ts';
import { programActor } from '../common/machine.ts';
import { cpuProgram, ownerProgram, truncatorProgram } from './actors.ts';
import { UNMOVABLE_CONTRACT } from './contract.ts';
import { FILE_INODE, GMEM_INODE, type UnmovableLayout, initialWorld, unmovableLayout } from './layout.ts';
import { unmovableSymmetry } from './symmetry.ts';
import { type Patch, UNMOVABLE_VARIANTS } from './variants.ts';

export const unmovable: System = {
  name: 'unmovable',
  title: 'AS_UNMOVABLE mappings and compaction',
  kernel: 'v6.8',
  description:
    'Compaction CPUs (kcompactd) isolate LRU folios in isolate_migratepages_block(), testing AS_UNMOVABLE under ' +
    'folio_trylock() for unevictable folios with a mapping, and migrate them (move_to_new_folio() refuses unmovable ' +
    'mappings), while a guest_memfd-like owner marks its mapping unmovable (mapping_set_unmovable() also sets ' +
    'AS_UNEVICTABLE), brings in folios and closes its file, and a task truncates an ordinary file: both inodes are ' +
    'freed at the end of their truncation.',
  scope: {
    cpus: { min: 1, max: 2, default: 2, description: 'compaction CPUs' },
    gmem: { min: 0, max: 2, default: 1, description: 'folios of the unmovable (guest_memfd-like) mapping' },
    files: { min: 0, max: 2, default: 1, description: 'folios of the ordinary file' },
  },
  scopeError: (scope) => (scope.gmem + scope.files === 0 ? 'give it at least one folio (--gmem or --files)' : null),
  variants: UNMOVABLE_VARIANTS.map(({ patch: _patch, ...v }) => v),
  contract: UNMOVABLE_CONTRACT,
  build(scope: Scope, variant: string | null): Model {
    const v = variant === null ? null : UNMOVABLE_VARIANTS.find((x) => x.name === variant);
    if (v === undefined) throw new Error(`unknown variant '${variant}'`);
    return buildUnmovable(scope, v?.patch ?? {});
  },
};

/** The model at `scope` with `patch` applied to the programs (a variant's, or none). */
export function buildUnmovable(scope: Scope, patch: Patch): Model {
  const { cpus, gmem, files } = scope;
  const lay = unmovableLayout(cpus, gmem, files);
  const actors: ActorDef[] = [];
  for (let c = 0; c < cpus; c++) {
    const b = cpuProgram(lay, c);
    patch.cpu?.(b, c, lay);
    actors.push(programActor(b, `cpu${c}`, 'cpu', 'scan/get', c));
  }
  const o = ownerProgram(lay);
  patch.owner?.(o, lay);
  actors.push(programActor(o, 'owner', 'owner', 'create', cpus));
  actors.push(programActor(truncatorProgram(lay), 'truncate', 'truncate', 'evict/find0', cpus + 1));
  const world = initialWorld(lay);
  const lifecycles = unmovableLifecycles(lay);
  return {
    actors,
    world,
    properties: [...unmovableProperties(lay), lifecycleMonitor(lifecycles, actors, world.length, FOLIO_BYTES)],
    lifecycles,
    // Its actors' programs have loops that can repeat (a retry is a marked bounded exit): liveness by default.
    liveness: true,
    symmetry: unmovableSymmetry(lay),
    view: {
      pages: 0,
      pageLabel: (pfn) => folioLabel(lay, pfn),
      listName: (l) => lay.S.name(l),
      globals: [{ name: 'KASAN', at: lay.kasan, render: (x) => (x === 0 ? '-' : `read of freed inode ${x - 1}`) }],
      derived: [
        ...Array.from({ length: lay.nfolios }, (_, p) => ({ name: folioLabel(lay, p), render: (m: Uint8Array) => renderFolio(m, lay, p) })),
        ...[GMEM_INODE, FILE_INODE].map((i) => ({ name: i === GMEM_INODE ? 'gmem inode' : 'file inode', render: (m: Uint8Array) => renderInode(m, lay, i) })),
      ],
    },
  };
}

function folioLabel(lay: UnmovableLayout, pfn: number): string {
  if (pfn < lay.gmem) return `f${pfn} (gmem ${pfn})`;
  if (pfn < lay.scanned) return `f${pfn} (file ${pfn - lay.gmem})`;
  const c = Math.floor((pfn - lay.scanned) / lay.scanned);
  return `f${pfn} (cpu${c} target)`;
}

function renderFolio(m: Uint8Array, lay: UnmovableLayout, p: number): string {
  const f = lay.folio(p);
  const mapping = m[f + F_MAPPING];
  const head = folioListHead(m, lay, p);
  return [
    `ref ${m[f + F_REF]}`,
    describeFolioFlags(flagsOf(m, lay, p)).join('|') || '-',
    mapping ? `mapping ${mapping - 1 === GMEM_INODE ? 'gmem' : 'file'}` : 'mapping NULL',
    head ? `on ${lay.S.name(head)}` : '',
  ].filter(Boolean).join(', ');
}

function renderInode(m: Uint8Array, lay: UnmovableLayout, i: number): string {
  const at = lay.inode(i);
  const state = m[at + I_STATE];
  if (state !== INODE_LIVE) return state === INODE_FREED ? 'freed' : 'not allocated';
  const flags = loadWord(m, at + I_FLAGS);
  const as = [[AS_UNEVICTABLE, 'AS_UNEVICTABLE'], [AS_UNMOVABLE, 'AS_UNMOVABLE']].filter(([bit]) => flags & (bit as number)).map(([, n]) => n);
  const slots = Array.from({ length: lay.slotsPerInode }, (_, k) => pageCacheSlot(m, lay, i, k)).map((p) => (p < 0 ? '-' : `f${p}`));
  return `live, ${as.join('|') || 'no AS flags'}, i_pages [${slots.join(' ')}]`;
}
