/**
 * Known bugs of zsmalloc page migration from the seed series' history, each put back
 * into otherwise correct code. A variant changes code only; exploration has to find
 * what it breaks.
 */
import { F_PRIVATE, PAGE_STRIDE, PG_private, clearFlag, __ClearPageIsolated } from '../../src/kernel/page.ts';
import {
  ZS_EMPTY_ZSPAGE, ZS_FREE_OBJ, ZS_ISOLATE, ZS_MIGRATE, ZS_RESET_0, ZS_RESET_1, ZS_STEP_CLASS_LOCK, ZS_TRYPIN,
  ZS_TRYPIN_FAILS, ZS_UNPIN, ZS_UNPIN_UNLOCK, ZSPAGE_BYTES, ZS_ISOLATED, ZS_ONLIST, freeSubpage0, freeSubpage1,
  get_zspage, reset_page, trypinStep, unpinStep, unpinUnlockStep, zsFreeLocked, zsMigrate,
} from '../../src/kernel/zsmalloc.ts';
import { type ActionFn, type ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
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

/**
 * zs_page_migrate() without its trypin_tag() loop (and so without unpin_objects and
 * the testpin_tag() BUG()s): it moves the objects of the page while a zs_free() may
 * hold one's handle pinned and have read its old location.
 */
const migrateWithoutTrypin = (b: ProgramBuilder) => {
  b.replaceGuard(ZS_TRYPIN_FAILS, () => false);
  b.replaceAction(ZS_TRYPIN, trypinStep(false));
  b.replaceAction(ZS_MIGRATE, zsMigrate(reset_page, { pinned: false }));
  b.replaceAction(ZS_UNPIN, unpinStep(false));
  b.replaceAction(ZS_UNPIN_UNLOCK, unpinUnlockStep(false));
};

/**
 * zs_page_migrate() taking class->lock first and migrate_write_lock(zspage) second:
 * each call site's first two steps rebuilt in that order from the same guards and
 * actions (the -EBUSY exit now tests the write lock with the class lock held).
 */
const classLockFirst = (b: ProgramBuilder) => {
  const suffix = `/${ZS_STEP_CLASS_LOCK}`;
  for (const label of Object.keys(b.nodes)) {
    if (!label.endsWith(suffix)) continue;
    const entry = label.slice(0, -suffix.length);
    const [write] = b.nodes[entry].on[STEP];
    const [ebusy, go] = b.nodes[label].on[STEP];
    const [classLock, ebusyUnlock] = ebusy.actions;
    const empty = b.composites.get(ebusy.guard!.type)![1];
    b.replace(entry, { [STEP]: [br(label, [classLock], go.guard)] }, 'get_zspage(page); spin_lock(&class->lock)');
    b.replace(label, {
      [STEP]: [
        br(ebusy.target, [write.actions[0], ebusyUnlock], b.and(write.guard!, { type: empty, params: ebusy.guard!.params })),
        br(go.target, [write.actions[0]], write.guard),
      ],
    }, 'migrate_write_lock(zspage) with class->lock held; if (!get_zspage_inuse(zspage)) goto unlock_class (-EBUSY)');
  }
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
  {
    name: 'migrate-without-trypin',
    kernelFunction: 'zs_page_migrate (mm/zsmalloc.c)',
    description: 'zs_page_migrate() moves the objects of the page without trypin_tag()ing their handles first: a zs_free() that pinned a handle and read the object\'s location keeps the old page, which migration resets and gives back.',
    source: 'Seed patch 11 "zsmalloc: page migration support" (changelog, on zs_page_migrate): "The reason we should lock all objects in the page is due to race between zs_map_object and zs_page_migrate. ... If zs_page_migrate doesn\'t do trypin_tag, zs_map_object\'s page can be stale so go crash." zs_free() reads the location the same way (pin_tag, handle_to_obj, get_zspage, migrate_read_lock) before obj_free() uses it. Found through the split of zs_free() and zs_page_migrate() into steps.',
    expect: { kind: 'kernel-bug', property: 'BUG_ON(zspage->magic != ZSPAGE_MAGIC)' },
    patch: { cpu: migrateWithoutTrypin },
  },
  {
    name: 'migrate-class-lock-first',
    kernelFunction: 'zs_page_migrate (mm/zsmalloc.c)',
    description: 'zs_page_migrate() takes class->lock before migrate_write_lock(zspage), the reverse of zs_free(), which holds the zspage\'s read lock while it waits for class->lock.',
    source: 'Seeded mutation of the fixed code, named as such, of mm/zsmalloc.c zs_page_migrate() (v4.8): "migrate_write_lock(zspage); ... spin_lock(&class->lock);" swapped. The swapped order is what zs_page_migrate() has after Minchan Kim\'s v5.17 rework (the series of c4549b871102 "zsmalloc: remove zspage isolation for migration"; its lock-ordering comment: page_lock, pool->migrate_lock, class->lock, zspage->lock), where zs_free() no longer takes the zspage lock; in v4.8\'s world it is an ABBA deadlock, found through the write lock now held across steps.',
    expect: { kind: 'deadlock', property: 'deadlock' },
    patch: { cpu: classLockFirst },
  },
  {
    name: 'migrate-empty-zspage',
    kernelFunction: 'zs_page_migrate (mm/zsmalloc.c)',
    description: 'zs_page_migrate() migrates a page of a zspage that emptied while the page was isolated, instead of returning -EBUSY, and puts the empty zspage back on its class without scheduling the free work: nobody frees it.',
    source: 'Kernel history: 77ff465799c6 ("zsmalloc: zs_page_migrate: skip unnecessary loops but not return -EBUSY if zspage is not inuse", Hui Zhu, v4.13) replaced v4.8\'s "if (!get_zspage_inuse(zspage)) { ret = -EBUSY; goto unlock_class; }"; fixed by 1a87aa03597e ("mm/zsmalloc.c: migration can leave pages in ZS_EMPTY indefinitely", Henry Burns, v5.3: "If a zs_free() races in between zs_page_isolate() and zs_page_migrate(), freeing the last object in the zspage, putback_zspage() will leave the page in ZS_EMPTY for potentially an unbounded amount of time"). Hui Zhu reported the same in review of the first (Aug 2017).',
    expect: { kind: 'termination', property: 'zspages-accounted' },
    patch: { cpu: (b) => b.replaceGuard(ZS_EMPTY_ZSPAGE, () => false) },
  },
];
