/**
 * Known bugs of the non-LRU movable page protocol, each put back into otherwise
 * correct code. A variant changes code only; exploration has to find what it breaks.
 */
import { VM_BUG_ON_PAGE } from '../../src/kernel/bug.ts';
import {
  F_MAPPING, F_REF, PAGE_MAPPING_MOVABLE, PAGE_STRIDE, PageIsolated, PageLocked, __SetPageIsolated, mappingWord, pageNode, setMappingWord,
  unlock_page,
} from '../../src/kernel/page.ts';
import { list_add, list_del, list_entry, spaceOf } from '../../src/kernel/list.ts';
import { loadWord, nonAtomicSet, storeWord } from '../../src/kernel/bitops.ts';
import { PG_private, flagsAt, lruNext, nodePage } from '../../src/kernel/page.ts';
import { PageMovable } from '../../src/kernel/movable.ts';
import {
  CLEAR_PAGE_ISOLATED, ISOLATE_REFUSE, ISOLATE_SUCCESS, MIGRATE_COUNT_RETRY, MIGRATE_TAKE_CURSOR, PUTBACK_MOVABLE_CHECKS,
  clearPageIsolated,
  getPageUnlessZero, lockPage, notMovableHint, pageUnlocked, refZero, unlockPage,
} from '../../src/kernel/migrate.ts';
import { type ActionFn, type GuardFn, type ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';
import { CPU_ISOLATE, CPU_MIGRATE_FORCED, CPU_MIGRATE_RESULT, CPU_PUTBACK_LOCKED, CPU_SCAN_NEXT, CPU_UAM_FREED, CPU_UAM_PUTBACK } from './cpu.ts';
import { CLEAR_MOVABLE, DRIVER_FORGET, DRIVER_PUTBACK, DRIVER_RELEASE_PUT, DRIVER_ALLOC, DRIVER_IDLE, DRIVER_SETUP_LOCK, DRIVER_READ_FLAGS, DRIVER_SETUP_UNLOCK, DRIVER_WRITE_FLAGS } from './driver.ts';

export interface Patch {
  /** Which programs to patch: every CPU's, or the driver's. */
  readonly cpu?: (b: ProgramBuilder, cpu: number, lay: NonlruLayout) => void;
  readonly driver?: (b: ProgramBuilder, lay: NonlruLayout) => void;
  /** A change of what the world holds (a struct layout put back), applied to the initial world. */
  readonly world?: (m: Uint8Array, lay: NonlruLayout) => void;
}

const ISO = CPU_ISOLATE;

/** isolate_movable_page() without `|| PageIsolated(page)`. */
const cannotIsolateNoIsolatedTest: GuardFn = (m, L, P) => !PageMovable(m, m[L + P.page]);

/** __ClearPageMovable() clearing every low bit: page->mapping = NULL. */
const clearMovableAllBits: ActionFn = (m, L, P) => {
  const p = m[L + P.page];
  VM_BUG_ON_PAGE(!PageLocked(m, p), '!PageLocked(page)', '__ClearPageMovable', p);
  VM_BUG_ON_PAGE(!PageMovable(m, p), '!PageMovable(page)', '__ClearPageMovable', p);
  setMappingWord(m, p, 0);
};
/** __ClearPageMovable() as Vlastimil Babka read it: `& ~PAGE_MAPPING_MOVABLE`. */
const clearMovableNegated: ActionFn = (m, L, P) => {
  const p = m[L + P.page];
  VM_BUG_ON_PAGE(!PageLocked(m, p), '!PageLocked(page)', '__ClearPageMovable', p);
  VM_BUG_ON_PAGE(!PageMovable(m, p), '!PageMovable(page)', '__ClearPageMovable', p);
  setMappingWord(m, p, mappingWord(m, p) & ~PAGE_MAPPING_MOVABLE);
};

/** The release path's bookkeeping without the PageIsolated test: list_del regardless. */
const forgetPageTouchingLru: ActionFn = (m, L, P) => {
  const p = m[L + P.p];
  m[P.slots + m[L + P.k]] = NO_PAGE;
  if (PageIsolated(m, p)) m[P.isolated]--;
  list_del(m, spaceOf(P.ls), pageNode(p));
};

/** The driver's putback_page without `isolated--`: back on the list, still counted isolated. */
const putbackForgetsCount: ActionFn = (m, L, P) => list_add(m, spaceOf(P.ls), pageNode(m[L + P.page]), P.list);

/**
 * migrate_pages() walking cc->migratepages with list_for_each_entry() instead of
 * list_for_each_entry_safe(): no lookahead, so `page` is taken straight from the
 * cursor (the body's first access of the page dereferences it) ...
 */
const takeCursorUnsafe: ActionFn = (m, L, P) => {
  m[L + P.page] = nodePage(list_entry(spaceOf(P.ls), m[L + P.next], 'migrate_pages'));
};
/** ... and the next entry is read from the page after unmap_and_move() has run: pos = list_next_entry(pos, lru). */
const nextAfterBody: ActionFn = (m, L, P) => { m[L + P.next] = lruNext(m, m[L + P.page]); };

/** The second half of the driver's non-atomic __SetPagePrivate(), now run after the page is movable. */
const readFlagsLate: ActionFn = (m, L, P) => { m[L + P.tmp] = loadWord(m, flagsAt(m[L + P.p])) & 0xff; };
const writeFlagsLate: ActionFn = (m, L, P) => { storeWord(m, flagsAt(m[L + P.p]), nonAtomicSet(m[L + P.tmp], PG_private)); };

/** isolate_success with __SetPageIsolated left out: unlock_page, then list_add to cc->migratepages. */
const isolateSuccessNoFlag: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  unlock_page(m, page);
  list_add(m, spaceOf(P.ls), pageNode(page), P.list);
};
const unlockOnly: ActionFn = (m, L, P) => unlock_page(m, m[L + P.page]);
const isolateSuccessUnlocked: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  __SetPageIsolated(m, page);
  list_add(m, spaceOf(P.ls), pageNode(page), P.list);
};
const setIsolatedLate: ActionFn = (m, L, P) => __SetPageIsolated(m, m[L + P.page]);

/** get_page_unless_zero() without its zero test: a plain page_ref_inc(). */
const pageRefInc: ActionFn = (m, L, P) => { const o = m[L + P.page] * PAGE_STRIDE + F_REF; m[o] = (m[o] + 1) & 0xff; };

/** page_ref_dec(): an atomic decrement without put_page_testzero()'s check or the free at zero. */
const pageRefDec: ActionFn = (m, L, P) => { const o = m[L + P.page] * PAGE_STRIDE + F_REF; m[o] = (m[o] - 1) & 0xff; };

const slotOf = (b: ProgramBuilder, name: string): number => {
  const at = b.locals.indexOf(name);
  if (at < 0) throw new Error(`program ${b.id} has no local '${name}'`);
  return at;
};

/** Swap __ClearPageMovable in every program that calls it. */
const everywhere = (fn: ActionFn): Patch => ({
  cpu: (b) => b.replaceAction(CLEAR_MOVABLE, fn),
  driver: (b) => b.replaceAction(CLEAR_MOVABLE, fn),
});

export const NONLRU_VARIANTS: readonly (Variant & { patch: Patch })[] = [
  {
    name: 'migrate-walk-unsafe',
    kernelFunction: 'migrate_pages (mm/migrate.c)',
    description: 'migrate_pages() walks cc->migratepages with list_for_each_entry() instead of list_for_each_entry_safe(): after unmap_and_move() has list_del()ed and freed a migrated page, the walk reads the page\'s lru.next, which the free path has pointed into the zone\'s free list, and takes that list\'s head for a page.',
    source: 'Seeded mutation of the fixed code (mm/migrate.c migrate_pages(), v4.8: "list_for_each_entry_safe(page, page2, from, lru)"), named as such: no kernel commit put it there. include/linux/list.h: list_del() leaves LIST_POISON1 "so that nobody uses a deleted entry", and __free_pages() relinks page->lru; the core oopses when a walk takes a foreign list head for an entry (src/kernel/list.ts list_entry).',
    expect: { kind: 'kernel-bug', property: 'BUG: unable to handle kernel paging request (list_entry() of the list head free)' },
    patch: {
      cpu(b, _cpu, lay) {
        b.replaceAction(MIGRATE_TAKE_CURSOR, takeCursorUnsafe, { local: true });
        const node = b.nodes[CPU_MIGRATE_RESULT];
        const page = slotOf(b, 'page');
        const next = slotOf(b, 'page2');
        const after = b.a('pos = list_next_entry(pos, lru)', nextAfterBody, { page, next, ls: lay.lists }, { local: true });
        b.replace(CPU_MIGRATE_RESULT, {
          [STEP]: node.on[STEP].map((x) => (x.actions.some((a) => a.type === MIGRATE_COUNT_RETRY) ? { ...x, actions: [...x.actions, after] } : x)),
        }, 'switch (rc); pos = list_next_entry(pos, lru)');
      },
    },
  },
  {
    name: 'migrate-passes-unbounded',
    kernelFunction: 'migrate_pages (mm/migrate.c)',
    description: 'migrate_pages() loops `for (pass = 0; retry; pass++)`, without the bound `pass < 10`: while the driver holds a reference to an isolated page, every pass gets -EAGAIN for it and runs again, and the page lock the CPU takes and drops in each pass is what the driver waits for before it can drop that reference, so a fair scheduler can let the CPU retry for ever.',
    source: 'Seeded mutation of the fixed code, named as such: no kernel commit put it there. v4.8 mm/migrate.c migrate_pages(): "for(pass = 0; pass < 10 && retry; pass++)" (NR_MAX_MIGRATE_PAGES_RETRY in later kernels); after the last pass the pages still busy are given back by putback_movable_pages().',
    expect: { kind: 'termination', property: 'livelock' },
    patch: {
      cpu(b) {
        // Only the RETRY branch is left: the choice to stop (the fair exit) is gone.
        const node = b.nodes[CPU_MIGRATE_FORCED];
        b.replace(CPU_MIGRATE_FORCED, { RETRY: [...node.on.RETRY] }, 'another forced pass while retry (no pass < 10)');
      },
    },
  },
  {
    name: 'owner-sets-flag-after-publish',
    kernelFunction: 'the driver\'s page setup (__SetPagePrivate after __SetPageMovable)',
    description: 'The driver does its non-atomic __SetPagePrivate() (a load and a store of page->flags) after __SetPageMovable() and unlock_page() have published the page: a compaction CPU\'s trylock_page() lands between the load and the store, and the store drops the CPU\'s PG_locked.',
    source: 'Seeded mutation of the generic driver, named as such, of the rule in seed patch 02 isolate_movable_page(): "Check PageMovable before holding a PG_lock because page\'s owner assumes anybody doesn\'t touch PG_lock of newly allocated page so unconditionally grapping the lock ruins page\'s owner side" (changelog v2: "check PageMovable before lock_page - Joonsoo"): the owner may do non-atomic flag updates only while the page is not yet movable.',
    expect: { kind: 'invariant', property: 'unlock-by-owner' },
    patch: {
      driver(b) {
        const p = slotOf(b, 'page');
        const tmp = slotOf(b, 'flags');
        // alloc_page() alone; the load and the store of page->flags after unlock_page().
        const alloc = b.nodes[DRIVER_ALLOC].on[STEP];
        b.replace(DRIVER_ALLOC, {
          [STEP]: alloc.map((x) => (x.target === DRIVER_IDLE ? x : { ...x, target: DRIVER_SETUP_LOCK, actions: x.actions.filter((a) => a.type !== DRIVER_READ_FLAGS) })),
        }, 'page = alloc_page()');
        const unlock = b.nodes[DRIVER_SETUP_UNLOCK].on[STEP];
        b.replace(DRIVER_SETUP_UNLOCK, { [STEP]: unlock.map((x) => ({ ...x, target: 'late/read' })) });
        b.steps('late/read', 'driver alloc', '__SetPagePrivate(page): load page->flags', [br('late/write', [b.a('load page->flags (late)', readFlagsLate, { p, tmp })])]);
        b.steps('late/write', 'driver alloc', '__SetPagePrivate(page): store page->flags | PG_private', [br(DRIVER_ALLOC, [b.a(DRIVER_WRITE_FLAGS + ' (late)', writeFlagsLate, { p, tmp })])]);
      },
    },
  },
  {
    name: 'no-isolated-check',
    kernelFunction: 'isolate_movable_page (mm/migrate.c)',
    description: 'isolate_movable_page() does not test PageIsolated under the page lock, so a second CPU isolates a page that is already isolated.',
    source: 'Seed patch 02, isolate_movable_page(): "if (!PageMovable(page) || PageIsolated(page)) goto out_no_isolated"; changelog v2: "check PageMovable before PageIsolated checking - Joonsoo".',
    expect: { kind: 'invariant', property: 'no-double-isolation' },
    patch: {
      cpu: (b) => b.replaceGuard(ISOLATE_REFUSE, cannotIsolateNoIsolatedTest),
    },
  },
  {
    name: 'clear-movable-all-bits',
    kernelFunction: '__ClearPageMovable (mm/compaction.c)',
    description: '__ClearPageMovable() clears PAGE_MAPPING_MOVABLE too (page->mapping = NULL), so the VM can no longer tell a page the driver released from an LRU page.',
    source: 'Seed patch 02, __ClearPageMovable(): keeps PAGE_MAPPING_MOVABLE "so that VM can catch up released page by driver after isolation" (Minchan Kim\'s v6r2 reply to Vlastimil Babka).',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: everywhere(clearMovableAllBits),
  },
  {
    name: 'clear-movable-negated',
    kernelFunction: '__ClearPageMovable (mm/compaction.c)',
    description: '__ClearPageMovable() does `page->mapping & ~PAGE_MAPPING_MOVABLE`, as review suggested: the address_space stays and the movable bit goes.',
    source: 'Vlastimil Babka on seed v6 02/12: "This should be negated to clear... use ~PAGE_MAPPING_MOVABLE ?"; Minchan Kim kept `& PAGE_MAPPING_MOVABLE` in v6r2.',
    // With the scan mix in the range, the driver's own release is the shorter way in:
    // free_pages_prepare() keeps a mapping without PAGE_MAPPING_FLAGS and
    // free_pages_check() reports it (before the mix: freed-page-clean, 12 steps).
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: everywhere(clearMovableNegated),
  },
  {
    name: 'lock-before-refcount',
    kernelFunction: 'isolate_movable_page (mm/migrate.c)',
    description: 'isolate_movable_page() takes the page lock before get_page_unless_zero() and the __PageMovable() test: it can lock a page it holds no reference to, which is then freed while locked, and it races with an owner that sets flags on a page it has just allocated with a non-atomic read-modify-write.',
    source: 'Seed patch 02, isolate_movable_page(): "Check PageMovable before holding a PG_lock because page\'s owner assumes anybody doesn\'t touch PG_lock of newly allocated page"; changelog v2: "check PageMovable before lock_page - Joonsoo".',
    expect: { kind: 'kernel-bug', property: 'bad_page(): PAGE_FLAGS_CHECK_AT_FREE flag(s) set' },
    patch: {
      cpu(b) {
        const p = { page: slotOf(b, 'low_pfn') };
        // trylock_page first ...
        b.replace(ISO, {
          [STEP]: [
            br(`${ISO}/bug-get`, [b.a('trylock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
            br(CPU_SCAN_NEXT),
          ],
        }, 'trylock_page(page)');
        // ... then get_page_unless_zero and __PageMovable, and on to the checks.
        b.step(`${ISO}/bug-get`, 'isolate_movable_page', 'get_page_unless_zero(page); __PageMovable(page)', {
          [STEP]: [
            br(CPU_SCAN_NEXT, [b.a('unlock_page', unlockPage, p)], b.g('page_ref_count == 0', refZero, p)),
            br(CPU_SCAN_NEXT, [b.a('unlock_page', unlockPage, p)], b.g('!__PageMovable(page)', notMovableHint, p)),
            br(`${ISO}/check`, [b.a('get_page_unless_zero', getPageUnlessZero, p)]),
          ],
        });
      },
    },
  },
  {
    name: 'driver-touches-isolated-lru',
    kernelFunction: 'the driver\'s release path (the balloon_page_delete pattern)',
    description: 'The driver\'s release path does list_del(&page->lru) on a page the VM has isolated, unlinking it from the CPU\'s private migrate list.',
    source: 'Seed patch 03, balloon_page_delete(): "No touch page.lru field once @page has been isolated because VM is using the field. if (!PageIsolated(page)) list_del(&page->lru);"',
    expect: { kind: 'invariant', property: 'isolated-lru-untouched' },
    patch: { driver: (b) => b.replaceAction(DRIVER_FORGET, forgetPageTouchingLru) },
  },
  {
    name: 'putback-forgets-isolated-count',
    kernelFunction: 'the driver\'s a_ops->putback_page',
    description: 'The driver\'s putback_page puts the page back on its list but does not take it out of its isolated count, so the page stays counted as isolated after the VM gave it back.',
    source: 'Seed patch 03, balloon_page_putback(): "list_add(&page->lru, &b_dev_info->pages); b_dev_info->isolated_pages--;" under pages_lock; Documentation/vm/page_migration: "driver should put the isolated page back to the own data structure". A driver-side mistake of the kind the contract warns against, not a kernel commit.',
    expect: { kind: 'termination', property: 'pages-accounted' },
    // putback_page runs in the CPU's context, so it is the CPUs' programs that call it.
    patch: { cpu: (b) => b.replaceAction(DRIVER_PUTBACK, putbackForgetsCount) },
  },
  {
    name: 'putback-without-lock',
    kernelFunction: 'putback_movable_pages, unmap_and_move (mm/migrate.c)',
    description: 'The VM calls the driver\'s putback_page without the page lock, racing with the driver\'s release.',
    source: 'Seed patch 02, putback_movable_pages(): "lock_page(page); if (PageMovable(page)) putback_movable_page(page); ..." and Documentation/filesystems/Locking: "putback_page: yes" (called with the page locked).',
    expect: { kind: 'kernel-bug', property: 'VM_BUG_ON_PAGE(!PageLocked(page))' },
    patch: {
      cpu(b) {
        for (const at of [CPU_PUTBACK_LOCKED, CPU_UAM_PUTBACK]) {
          // Straight to the body, and the body without its lock and unlock.
          b.replace(at, { [STEP]: [br(`${at}/body`)] }, 'no lock_page(page)');
          const body = b.nodes[`${at}/body`];
          const on = Object.fromEntries(Object.entries(body.on).map(([ev, brs]) => [
            ev, brs.map((x) => ({ ...x, actions: x.actions.filter((a) => a.type !== 'unlock_page') })),
          ]));
          b.replace(`${at}/body`, on, 'PageMovable(page) ? putback_movable_page(page) : __ClearPageIsolated(page), no page lock');
        }
      },
    },
  },
  {
    name: 'freed-under-us-stays-isolated',
    kernelFunction: 'unmap_and_move (mm/migrate.c)',
    description: 'unmap_and_move() frees a page the driver released while it was isolated without first clearing PG_isolated.',
    source: 'Seed patch 02, unmap_and_move(): the hunk "if (unlikely(__PageMovable(page))) { lock_page(page); if (!PageMovable(page)) __ClearPageIsolated(page); unlock_page(page); }" in the "page was freed from under us" path.',
    expect: { kind: 'invariant', property: 'freed-page-clean' },
    patch: {
      cpu(b) {
        const at = CPU_UAM_FREED;
        const node = b.nodes[at];
        const [notMovable] = node.on[STEP];
        // Every page takes the "not movable" way out: no lock, no __ClearPageIsolated.
        b.replace(at, { [STEP]: [{ target: notMovable.target, actions: notMovable.actions }] }, 'compaction_free(newpage); rc = MIGRATEPAGE_SUCCESS');
      },
    },
  },
  {
    name: 'isolated-set-after-unlock',
    kernelFunction: 'isolate_movable_page (mm/migrate.c)',
    description: 'isolate_movable_page() sets PG_isolated after unlock_page(), in a step of its own: the flag changes while another CPU may hold the page lock.',
    source: 'Seeded mutation of the fixed code, named as such, of seed patch 02 isolate_movable_page(): "__SetPageIsolated(page); unlock_page(page);" and the cover letter: "VM marks the page as PG_isolated under lock_page".',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: {
      cpu(b) {
        const at = `${ISO}/check`;
        const node = b.nodes[at];
        const page = slotOf(b, 'low_pfn');
        const late = b.a('__SetPageIsolated(page) (after unlock_page)', setIsolatedLate, { page });
        const on = Object.fromEntries(Object.entries(node.on).map(([ev, brs]) => [ev, brs.map((x) => {
          const ok = x.actions.find((a) => a.type === ISOLATE_SUCCESS);
          if (!ok) return x;
          return { ...x, target: `${at}/late-set`, actions: x.actions.map((a) => (a === ok ? b.a('isolate_success without __SetPageIsolated', isolateSuccessNoFlag, a.params) : a)) };
        })]));
        const onTrue = node.on[STEP].find((x) => x.actions.some((a) => a.type === ISOLATE_SUCCESS))?.target ?? Object.values(node.on).flat().find((x) => x.actions.some((a) => a.type === ISOLATE_SUCCESS))!.target;
        b.replace(at, on);
        b.steps(`${at}/late-set`, 'isolate_movable_page', '__SetPageIsolated(page)', [br(onTrue, [late])]);
      },
    },
  },
  {
    name: 'isolate-after-unlock',
    kernelFunction: 'isolate_movable_page (mm/migrate.c)',
    description: 'isolate_movable_page() calls unlock_page() right after its checks and only then, in a step of its own, a_ops->isolate_page(), __SetPageIsolated() and the list_add to cc->migratepages: the whole isolation runs without the page lock.',
    source: 'Seeded mutation of the fixed code, named as such, of seed patch 02 isolate_movable_page() and the cover letter: "VM marks the page as PG_isolated under lock_page".',
    expect: { kind: 'invariant', property: 'isolated-under-page-lock' },
    patch: {
      cpu(b) {
        const at = `${ISO}/check`;
        const node = b.nodes[at];
        const page = slotOf(b, 'low_pfn');
        const unlock = b.a('unlock_page (before the isolation)', unlockOnly, { page });
        let late: { target: string; actions: typeof node.on[string][number]['actions'] } | null = null;
        const on = Object.fromEntries(Object.entries(node.on).map(([ev, brs]) => [ev, brs.map((x) => {
          const ok = x.actions.find((a) => a.type === ISOLATE_SUCCESS);
          if (!ok) return x;
          late = { target: x.target, actions: x.actions.map((a) => (a === ok ? b.a('isolate_success without the page lock', isolateSuccessUnlocked, a.params) : a)) };
          return { ...x, target: `${at}/late-isolate`, actions: [unlock] };
        })]));
        b.replace(at, on);
        const l = late as unknown as { target: string; actions: never[] };
        b.steps(`${at}/late-isolate`, 'isolate_movable_page', 'a_ops->isolate_page(page); __SetPageIsolated(page) (after unlock_page)', [br(l.target, l.actions)]);
      },
    },
  },
  {
    name: 'putback-clears-isolated-unlocked',
    kernelFunction: 'putback_movable_pages, putback_movable_page (mm/migrate.c)',
    description: 'putback_movable_pages() unlocks the page after a_ops->putback_page and only then clears PG_isolated: for a moment the page is back on the driver\'s list, isolated and unlocked.',
    source: 'Seeded mutation of the fixed code, named as such, of seed patch 02 putback_movable_page(): "mapping->a_ops->putback_page(page); __ClearPageIsolated(page);" under lock_page() in putback_movable_pages().',
    expect: { kind: 'invariant', property: 'isolated-off-driver-list' },
    patch: {
      cpu(b) {
        for (const at of [CPU_PUTBACK_LOCKED, CPU_UAM_PUTBACK]) {
          const body = `${at}/body`;
          const node = b.nodes[body];
          let page = -1;
          let next = '';
          const on = Object.fromEntries(Object.entries(node.on).map(([ev, brs]) => [ev, brs.map((x) => {
            if (!x.actions.some((a) => a.type === PUTBACK_MOVABLE_CHECKS)) return x;
            const clear = x.actions.find((a) => a.type === CLEAR_PAGE_ISOLATED)!;
            page = clear.params.page;
            next = x.target;
            return { ...x, target: `${at}/late-clear`, actions: x.actions.filter((a) => a !== clear) };
          })]));
          b.replace(body, on);
          b.steps(`${at}/late-clear`, 'putback_movable_pages', '__ClearPageIsolated(page) (after unlock_page)', [br(next, [b.a(CLEAR_PAGE_ISOLATED, clearPageIsolated, { page })])]);
        }
      },
    },
  },
  {
    name: 'isolate-refs-free-page',
    kernelFunction: 'isolate_movable_page (mm/migrate.c)',
    description: 'isolate_movable_page() takes its reference with a plain page_ref_inc() instead of get_page_unless_zero(): a page the driver freed after the scan\'s peek gets a reference while it sits in the buddy allocator.',
    source: 'Seeded mutation of the fixed code, named as such, of seed patch 02 isolate_movable_page(): "Avoid burning cycles with pages that are yet under __free_pages(), or just got freed under us. ... if (unlikely(!get_page_unless_zero(page))) goto out;".',
    expect: { kind: 'invariant', property: 'use-after-free' },
    patch: {
      cpu(b) {
        const page = slotOf(b, 'low_pfn');
        const p = { page };
        b.replace(ISO, { [STEP]: [br(`${ISO}/bug-movable`, [b.a('page_ref_inc(page)', pageRefInc, p)])] }, 'page_ref_inc(page)');
        b.steps(`${ISO}/bug-movable`, 'isolate_movable_page', '__PageMovable(page)', [
          br(`${ISO}/put`, [], b.g('!__PageMovable(page)', notMovableHint, p)),
          br(`${ISO}/trylock`),
        ]);
      },
    },
  },
  {
    name: 'release-extra-ref-drop',
    kernelFunction: 'the driver\'s release path',
    description: 'The driver\'s release path drops one reference more than it holds, with an unchecked page_ref_dec() after its two put_page() calls (as if it owed the VM\'s isolation reference): the count of a page that is not isolated goes from zero to -1 after the page was freed.',
    source: 'Seeded mutation of the generic driver, named as such. include/linux/page_ref.h page_ref_dec() has no check; put_page_testzero() asserts "VM_BUG_ON_PAGE(page_ref_count(page) == 0, page)" only on the put_page() path, and the seed\'s isolate_movable_page() takes the VM\'s own reference (get_page_unless_zero) that only the VM drops.',
    expect: { kind: 'invariant', property: 'refcount-nonnegative' },
    patch: {
      driver(b) {
        const node = b.nodes[DRIVER_RELEASE_PUT];
        const page = slotOf(b, 'page');
        b.replace(DRIVER_RELEASE_PUT, { [STEP]: node.on[STEP].map((x) => ({ ...x, actions: [...x.actions, b.a('page_ref_dec(page)', pageRefDec, { page })] })) },
          'put_page(page); put_page(page); page_ref_dec(page)');
      },
    },
  },
  {
    name: 'slab-list-aliases-mapping',
    kernelFunction: 'struct slab (mm/slab.h) and isolate_movable_page (mm/migrate.c)',
    description: 'The slab page of the scan mix has SLUB\'s slab_list.prev where page->mapping is, as after v6.1\'s rearrangement of struct slab, without the PageSlab skip that came with it: a slab taken off its list holds LIST_POISON2 (0x122) there, whose bit 1 reads as PAGE_MAPPING_MOVABLE, so isolate_movable_page() takes the slab page for a movable one and follows page->mapping as an address_space.',
    source: 'Kernel history: commit 8b8817630ae8 "mm/migrate: make isolate_movable_page() skip slab pages" (Vlastimil Babka, v6.1; hash as shown by a mirror of the upstream tree): "the page->mapping field will overlap with SLUB\'s struct list_head slab_list, where the value of prev pointer can become LIST_POISON2 ... the bit 1 being set can confuse PageMovable() to be a false positive and cause a GPF as reported by lkp". At v4.8 (the default) page->mapping of a slab page is NULL (SLUB) or s_mem (SLAB), and the scan passes it by.',
    expect: { kind: 'kernel-bug', property: 'general protection fault: page->mapping->a_ops (page->mapping is not an address_space)' },
    patch: {
      world(m, lay) {
        if (lay.mix < 1) return; // no slab page in the scan range
        m[lay.pages * PAGE_STRIDE + F_MAPPING] = 0x22; // (LIST_POISON2 = 0x122) & 0xff
      },
    },
  },
];
