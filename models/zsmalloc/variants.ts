/**
 * Known bugs of zsmalloc page migration from the seed series' history, each put back
 * into otherwise correct code. A variant changes code only; exploration has to find
 * what it breaks.
 */
import { F_PRIVATE, PAGE_STRIDE, PG_private, clearFlag, __ClearPageIsolated } from '../../src/kernel/page.ts';
import {
  ZS_FREE_OBJ, ZS_ISOLATE, ZS_MIGRATE, ZS_RESET_0, ZS_RESET_1, ZSPAGE_BYTES, ZS_ISOLATED, ZS_ONLIST, freeSubpage0,
  freeSubpage1, get_zspage, reset_page, zsFreeLocked, zsMigrate,
} from '../../src/kernel/zsmalloc.ts';
import type { ActionFn, ProgramBuilder } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';

export interface Patch {
  readonly cpu?: (b: ProgramBuilder) => void;
  readonly user?: (b: ProgramBuilder) => void;
  readonly worker?: (b: ProgramBuilder) => void;
}

/** reset_page() as Chulmin Kim found it in v3: PG_isolated cleared, the movable mapping kept. */
function resetClearsIsolated(m: Uint8Array, pfn: number): void {
  __ClearPageIsolated(m, pfn);
  clearFlag(m, pfn, PG_private);
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 0;
}
const v3Reset = (b: ProgramBuilder) => {
  if (b.actions[ZS_MIGRATE]) b.replaceAction(ZS_MIGRATE, zsMigrate(resetClearsIsolated));
  if (b.actions[ZS_RESET_0]) {
    b.replaceAction(ZS_RESET_0, freeSubpage0(resetClearsIsolated));
    b.replaceAction(ZS_RESET_1, freeSubpage1(resetClearsIsolated));
  }
};

/** zs_page_isolate() marking the zspage isolated instead of counting its isolated subpages. */
const isolateAsFlag: ActionFn = (m, L, P) => {
  const zs = P.zs0 + get_zspage(m, P, m[L + P.page]) * ZSPAGE_BYTES;
  if (m[zs + ZS_ONLIST] !== 0 && m[zs + ZS_ISOLATED] === 0) m[zs + ZS_ONLIST] = 0;
  m[zs + ZS_ISOLATED] = 1;
};

export const ZSMALLOC_VARIANTS: readonly (Variant & { patch: Patch })[] = [
  {
    name: 'reset-clears-isolated',
    kernelFunction: 'reset_page (mm/zsmalloc.c)',
    description: 'reset_page() clears PG_isolated and keeps the page movable (page->mapping with PAGE_MAPPING_MOVABLE and the pool\'s address space), as in v3 of the series: a page zsmalloc let go still looks like a non-isolated movable page, and another context isolates it again.',
    source: 'Chulmin Kim\'s report on v3 of "zsmalloc: page migration support" (seed cover letter: "I should mention Chulmin who have tested this patchset heavily"; changelog "From v3: ... race without page_lock - Vlastimil ... use page->mapping lower bits to represent PG_movable"); v4.8 reset_page() starts with __ClearPageMovable(page).',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: { cpu: v3Reset, user: v3Reset, worker: v3Reset },
  },
  {
    name: 'free-isolated-zspage',
    kernelFunction: 'zs_free (mm/zsmalloc.c)',
    description: 'zs_free() frees a zspage that became empty while one of its subpages is isolated for migration, so the VM still holds a page of a zspage that is gone.',
    source: 'Seed cover letter, "From v5: ... zsmalloc dobule free fix - Sergey" (Sergey Senozhatsky); v4.8 zs_free(): "isolated = is_zspage_isolated(zspage); migrate_read_unlock(zspage); if (likely(!isolated)) free_zspage(pool, class, zspage);".',
    expect: { kind: 'kernel-bug', property: 'VM_BUG_ON(list_empty(&zspage->list))' },
    patch: { user: (b) => b.replaceAction(ZS_FREE_OBJ, zsFreeLocked(false)) },
  },
  {
    name: 'isolated-flag-not-count',
    kernelFunction: 'zs_page_isolate (mm/zsmalloc.c)',
    description: 'zs_page_isolate() marks the zspage isolated instead of counting its isolated subpages, so the first subpage to come back puts the zspage back on its class while another subpage is still isolated.',
    source: 'Seed patch 11 "zsmalloc: page migration support": "We could try to isolate a zspage by the number of subpage so subsequent isolation trial of other subpage of the zpsage shouldn\'t fail. For that, we introduce zspage.isolated count."',
    expect: { kind: 'invariant', property: 'zspage-isolated-count' },
    patch: { cpu: (b) => b.replaceAction(ZS_ISOLATE, isolateAsFlag) },
  },
  {
    name: 'migrate-without-record-obj',
    kernelFunction: 'zs_page_migrate (mm/zsmalloc.c)',
    description: 'zs_page_migrate() moves the subpage to newpage without record_obj(): the object\'s handle still points at the old page, which goes back to the allocator.',
    source: 'Seeded mutation of the fixed code, named as such, of mm/zsmalloc.c zs_page_migrate() (v4.8, seed patch 11): "new_obj = (unsigned long)location_to_obj(newpage, obj_idx); new_obj |= BIT(HANDLE_PIN_BIT); record_obj(handle, new_obj);".',
    expect: { kind: 'invariant', property: 'handle-valid' },
    patch: { cpu: (b) => b.replaceAction(ZS_MIGRATE, zsMigrate(reset_page, { recordObj: false })) },
  },
  {
    name: 'migrate-keeps-page-ref',
    kernelFunction: 'zs_page_migrate (mm/zsmalloc.c)',
    description: 'zs_page_migrate() replaces the subpage but never drops zsmalloc\'s reference on the old page, which is then leaked.',
    source: 'Seeded mutation of the fixed code, named as such, of mm/zsmalloc.c zs_page_migrate() (v4.8, seed patch 11): "reset_page(page); put_page(page); page = newpage;".',
    expect: { kind: 'termination', property: 'zspages-accounted' },
    patch: { cpu: (b) => b.replaceAction(ZS_MIGRATE, zsMigrate(reset_page, { putOld: false })) },
  },
];
