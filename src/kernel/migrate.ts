/**
 * mm/migrate.c (v4.8 with the seed's patch 02, v6r2) for non-LRU movable pages,
 * split into atomic steps: isolate_movable_page, putback_movable_page(s),
 * move_to_new_page, __unmap_and_move, unmap_and_move and migrate_pages, plus
 * putback_lru_page (mm/vmscan.c) and migrate_page for the LRU branch that a page the
 * VM takes for an LRU page falls into.
 *
 * Each builder emits a fragment of a step program at a label prefix and wires its
 * exits to the caller's labels, the way the kernel's calls and gotos go. A step is
 * the code between two interleaving points; comments at each step say which
 * accesses it holds and why they may share one step.
 */
import { VM_BUG_ON_PAGE, WARN_ON } from './bug.ts';
import {
  NODE_LRU, PG_lru, PagePrivate, PageIsolated, PageLRU, PageMappingFlags,
  PageLocked, __PageMovable, __SetPageIsolated, canLockPage, get_page_unless_zero,
  mappingWord, nodePage, page_count, page_mapping, pageNode, put_page, setFlag, setLru, setMappingWord, trylock_page, unlock_page,
  MAPPING_NULL,
} from './page.ts';
import { list_add, list_del, list_empty, list_entry, listNextOf, spaceOf } from './list.ts';
import { PageMovable, claimIsolation, clearIsolated, dropIsolationClaim, mappingFault, mappingIsGarbage } from './movable.ts';
import { type ActionFn, type Branch, type GuardFn, type Params, type ProgramBuilder, type Ref, STEP, br, fairExit } from './program.ts';

/** Return codes kept in a local byte: 0 is MIGRATEPAGE_SUCCESS, errnos are positive. */
export const RC_SUCCESS = 0;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
/** migrate_pages(): `for (pass = 0; pass < 10 && retry; pass++)`. */
export const MIGRATE_PASSES = 10;
/**
 * Passes 3 to 9 of migrate_pages() all run with force = 1 and differ only by the
 * counter, so the model keeps passes 0, 1, 2 and 3 as the kernel runs them and then
 * lets the CPU choose, after each further forced pass that still has -EAGAIN pages,
 * to run another one (RETRY) or to stop as the kernel does after pass 9 (GIVE_UP).
 * A pass whose pages all answer -EAGAIN leaves the world as it found it (each page
 * is locked, handed to the driver and unlocked, and its target goes back to
 * cc->freepages), and at most one pass per page can make progress, so with at most
 * four pages seven forced passes leave room for every sequence of world states the
 * abstraction reaches. It keeps the state count from growing tenfold with the passes.
 */
export const FORCED_PASS = 3;

export function describeRc(rc: number): string {
  switch (rc) {
    case RC_SUCCESS: return 'MIGRATEPAGE_SUCCESS';
    case EAGAIN: return '-EAGAIN';
    case ENOMEM: return '-ENOMEM';
    case EBUSY: return '-EBUSY';
    default: return `-${rc}`;
  }
}

/**
 * One way a driver callback can go: taken on `event` (STEP for no choice) when
 * `guard` holds (e.g. the driver's spinlock is free), with the driver's effects and
 * the value it returns. The VM runs the callback inside its own step: the callback
 * runs under the page lock and its own spinlock, so nobody else can see its
 * intermediate states except through lockless hints that are re-checked under the
 * page lock.
 */
export interface Outcome {
  readonly event: string;
  readonly guard?: Ref;
  readonly actions: readonly Ref[];
  /** isolate_page: 1 (true) or 0 (false); migratepage: the rc (RC_SUCCESS or an errno). */
  readonly value: number;
}

/**
 * The driver's half of the contract: struct address_space_operations' isolate_page,
 * migratepage and putback_page, run in the calling CPU's context (`page`, `newpage`
 * are slots of the CPU's locals). `mapping` is the address space id whose a_ops
 * these are.
 */
export interface MovableOps {
  readonly mapping: number;
  /** bool (*isolate_page)(struct page *, isolate_mode_t) */
  isolatePage(b: ProgramBuilder, page: number): Callback;
  /** int (*migratepage)(struct address_space *, struct page *newpage, struct page *page, enum migrate_mode) */
  migratePage(b: ProgramBuilder, a: { page: number; newpage: number }): Callback;
  /** void (*putback_page)(struct page *) */
  putbackPage(b: ProgramBuilder, page: number): Callback;
}

/**
 * A callback that is more than one step (it takes and drops a lock, sleeps, fails
 * half-way): a program fragment run in the calling CPU's context. `program(b, at,
 * ret)` emits its steps from label `at` (labels under `at/`, locals by b.local());
 * every way out is a branch to `ret(value)`, the step where the VM takes the value
 * back (1/0 for isolate_page, the rc for migratepage, anything for putback_page).
 */
export interface CallbackProgram {
  readonly program: (b: ProgramBuilder, at: string, ret: (value: number) => string) => void;
}

/** A callback: its outcomes, each one step inside the VM's own (the easy way), or a program of steps. */
export type Callback = readonly Outcome[] | CallbackProgram;

export const isCallbackProgram = (c: Callback): c is CallbackProgram =>
  !Array.isArray(c) && typeof (c as CallbackProgram).program === 'function';

/**
 * Emit a callback program at `at` and, for each value it returns, the VM's step that
 * takes the value back: `onReturn(value)`'s actions, then its target.
 */
function callProgram(
  b: ProgramBuilder, cb: CallbackProgram, at: string, fn: string,
  onReturn: (value: number) => { actions: Ref[]; target: string },
): void {
  const returns = new Map<number, string>();
  cb.program(b, at, (value) => {
    let label = returns.get(value);
    if (!label) returns.set(value, (label = `${at}/return ${describeRc(value)}`));
    return label;
  });
  for (const [value, label] of returns) {
    const { actions, target } = onReturn(value);
    b.steps(label, fn, `the callback returned ${describeRc(value)}`, [br(target, actions)]);
  }
}

/** Branches of a node for a callback's outcomes, behind the caller's own guard. */
function outcomeBranches(
  b: ProgramBuilder, outcomes: readonly Outcome[], when: Ref | undefined,
  build: (o: Outcome) => { actions: Ref[]; target: string },
): Record<string, Branch[]> {
  const on: Record<string, Branch[]> = {};
  for (const o of outcomes) {
    const guard = when && o.guard ? b.and(when, o.guard) : (when ?? o.guard);
    const { actions, target } = build(o);
    (on[o.event] ??= []).push(guard ? { guard, actions, target } : { actions, target });
  }
  return on;
}

/** The compaction CPU's view: which lists are its own and where its locals live. */
export interface MigrateCtx {
  readonly cpu: number;
  readonly npages: number;
  /** The world's ListSpace id (list.ts internSpace); the lists below are its head node ids. */
  readonly lists: number;
  /** cc->migratepages */
  readonly migrateList: number;
  /** cc->freepages, the targets isolated by the free scanner */
  readonly freeList: number;
  readonly ops: MovableOps;
  readonly slot: {
    readonly page: number; readonly newpage: number; readonly rc: number;
    readonly pass: number; readonly retry: number; readonly mtnpLru: number;
    /** list_for_each_entry_safe()'s lookahead (page2): a node id. */
    readonly next: number;
  };
}

// ---------------------------------------------------------------------------
// Guards and effects shared by the fragments. P.page / P.newpage / P.rc / ... are
// slots of the stepping actor's locals; P.list / P.npages / P.cpu are constants.

const pg = (m: Uint8Array, L: number, P: Params) => m[L + P.page];
const npg = (m: Uint8Array, L: number, P: Params) => m[L + P.newpage];

export const refNonZero: GuardFn = (m, L, P) => page_count(m, pg(m, L, P)) !== 0;
export const refZero: GuardFn = (m, L, P) => page_count(m, pg(m, L, P)) === 0;
export const getPageUnlessZero: ActionFn = (m, L, P) => { get_page_unless_zero(m, pg(m, L, P)); };
export const notMovableHint: GuardFn = (m, L, P) => !__PageMovable(m, pg(m, L, P));
export const movableHint: GuardFn = (m, L, P) => __PageMovable(m, pg(m, L, P));
export const pageUnlocked: GuardFn = (m, L, P) => canLockPage(m, pg(m, L, P));
export const newpageUnlocked: GuardFn = (m, L, P) => canLockPage(m, npg(m, L, P));
export const lockPage: ActionFn = (m, L, P, A) => { trylock_page(m, pg(m, L, P), A); };
export const lockNewpage: ActionFn = (m, L, P, A) => { trylock_page(m, npg(m, L, P), A); };
export const unlockPage: ActionFn = (m, L, P) => unlock_page(m, pg(m, L, P));
export const unlockNewpage: ActionFn = (m, L, P) => unlock_page(m, npg(m, L, P));
export const putPage: ActionFn = (m, L, P) => { put_page(m, pg(m, L, P)); };
export const putNewpage: ActionFn = (m, L, P) => { put_page(m, npg(m, L, P)); };
export const pageMovableLocked: GuardFn = (m, L, P) => PageMovable(m, pg(m, L, P));
export const clearPageIsolated: ActionFn = (m, L, P) => clearIsolated(m, pg(m, L, P));
export const setRc: ActionFn = (m, L, P) => { m[L + P.rc] = P.value; };
export const rcIs: GuardFn = (m, L, P) => m[L + P.rc] === P.value;
/** list_del(&page->lru) in the world's ListSpace P.ls. */
export const listDelPage: ActionFn = (m, L, P) => list_del(m, spaceOf(P.ls), pageNode(pg(m, L, P)));

/** isolate_movable_page(): `if (!PageMovable(page) || PageIsolated(page)) goto out_no_isolated;` */
export const cannotIsolate: GuardFn = (m, L, P) => {
  const page = pg(m, L, P);
  return !PageMovable(m, page) || PageIsolated(m, page);
};
const garbageMapping: GuardFn = (m, L, P) => mappingIsGarbage(m, pg(m, L, P));
const followGarbageMapping: ActionFn = (m, L, P) => mappingFault(pg(m, L, P));
export const claimPage: ActionFn = (m, L, P) => claimIsolation(m, pg(m, L, P), P.cpu);
export const dropClaim: ActionFn = (m, L, P) => dropIsolationClaim(m, pg(m, L, P), P.cpu);

/**
 * isolate_movable_page() after a_ops->isolate_page returned true, then
 * isolate_migratepages_block()'s isolate_success: list_add(&page->lru, &cc->migratepages).
 * __SetPageIsolated is a non-atomic write under the page lock and the list is this
 * CPU's own, so they share the step that ends with the atomic unlock_page.
 */
/** Action names variants change (item 6: names are exported constants). */
export const ISOLATE_SUCCESS = 'isolate_success';
export const ISOLATE_REFUSE = '!PageMovable(page) || PageIsolated(page)';
export const CLEAR_PAGE_ISOLATED = '__ClearPageIsolated';
export const PUTBACK_MOVABLE_CHECKS = 'putback_movable_page checks';
export const isolateSuccess: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  // "Driver shouldn't use PG_isolated bit of page->flags"
  WARN_ON(PageIsolated(m, page), 'PageIsolated(page)', 'isolate_movable_page', page, true);
  __SetPageIsolated(m, page);
  unlock_page(m, page);
  list_add(m, spaceOf(P.ls), pageNode(page), P.list);
};

/**
 * putback_lru_page(): mm/vmscan.c (v4.8). The page goes to the LRU and the isolation
 * reference is dropped. Only a page the VM mistook for an LRU page gets here in
 * these systems, which have no LRU pages of their own.
 */
export function putback_lru_page(m: Uint8Array, pfn: number): void {
  VM_BUG_ON_PAGE(PageLRU(m, pfn), 'PageLRU(page)', 'putback_lru_page', pfn);
  setFlag(m, pfn, PG_lru); // lru_cache_add() -> __pagevec_lru_add_fn(): SetPageLRU
  setLru(m, pfn, NODE_LRU, NODE_LRU); // add_page_to_lru_list(): membership only (NODE_LRU)
  put_page(m, pfn); // "drop ref from isolate"
}

// ---------------------------------------------------------------------------

/**
 * isolate_movable_page(page, mode): mm/migrate.c. Entry `at`; returns to onTrue with
 * the page on cc->migratepages, or to onFalse.
 */
export function isolateMovablePage(
  b: ProgramBuilder, at: string, ctx: MigrateCtx, page: number, onTrue: string, onFalse: string,
): void {
  const fn = 'isolate_movable_page';
  const p = { page };
  const x = (s: string) => `${at}/${s}`;
  // get_page_unless_zero(), then an unlocked read of page->mapping: "Check
  // PageMovable before holding a PG_lock because page's owner assumes anybody doesn't
  // touch PG_lock of newly allocated page". One step: the read is a hint whose every
  // outcome a write before or after the step also gives, and when it says "not
  // movable" the get and the put_page that follows cancel out unseen.
  b.steps(at, fn, 'get_page_unless_zero(page); __PageMovable(page)', [
    br(onFalse, [], b.g('page_ref_count == 0', refZero, p)),
    br(onFalse, [], b.g('!__PageMovable(page)', notMovableHint, p)),
    br(x('trylock'), [b.a('get_page_unless_zero', getPageUnlessZero, p)]),
  ]);
  b.steps(x('trylock'), fn, 'trylock_page(page)', [
    br(x('check'), [b.a('trylock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
    br(x('put')),
  ]);
  // Under the page lock: page->mapping and PG_isolated only change under it, so the
  // checks, the driver's isolate_page (under its own spinlock) and __SetPageIsolated
  // share one step, which ends with the atomic unlock_page.
  const claim = b.a('claim isolation (ghost)', claimPage, { page, cpu: ctx.cpu });
  const success = b.a(ISOLATE_SUCCESS, isolateSuccess, { page, list: ctx.migrateList, ls: ctx.lists });
  const refuse = b.g(ISOLATE_REFUSE, cannotIsolate, p);
  // PageMovable() follows page->mapping to its a_ops: a word that only aliases it faults.
  const fault = br(x('unlock'), [b.a('PageMovable(page): mapping->a_ops', followGarbageMapping, p)], b.g('page->mapping is not an address_space', garbageMapping, p));
  const cb = ctx.ops.isolatePage(b, page);
  let on: Record<string, Branch[]>;
  if (isCallbackProgram(cb)) {
    on = { [STEP]: [fault, br(x('unlock'), [], refuse), br(x('isolate_page'))] };
    callProgram(b, cb, x('isolate_page'), fn, (value) => value
      ? { actions: [claim, success], target: onTrue }
      : { actions: [b.a('unlock_page', unlockPage, p)], target: x('put') });
  } else {
    on = outcomeBranches(b, cb, undefined, (o) => o.value
      ? { actions: [claim, ...o.actions, success], target: onTrue }
      : { actions: [...o.actions, b.a('unlock_page', unlockPage, p)], target: x('put') });
    on[STEP] = [fault, br(x('unlock'), [], refuse), ...(on[STEP] ?? [])];
  }
  b.step(x('check'), fn, 'if (!PageMovable(page) || PageIsolated(page)) goto out_no_isolated; a_ops->isolate_page(page); __SetPageIsolated(page); unlock_page(page)', on);
  // out_no_isolated: unlock_page(page);
  b.steps(x('unlock'), fn, 'unlock_page(page)', [
    br(x('put'), [b.a('drop isolation claim (ghost)', dropClaim, { page, cpu: ctx.cpu }), b.a('unlock_page', unlockPage, p)]),
  ]);
  // out_putpage: put_page(page); may free a page its owner released meanwhile.
  b.steps(x('put'), fn, 'put_page(page)', [br(onFalse, [b.a('put_page', putPage, p)])]);
}

/**
 * The locked put-back shared by putback_movable_pages() and unmap_and_move():
 *   lock_page(page);
 *   if (PageMovable(page)) putback_movable_page(page); else __ClearPageIsolated(page);
 *   unlock_page(page);
 *   put_page(page);
 * putback_movable_page() asserts and calls a_ops->putback_page. `after` runs with the
 * final put_page (compaction_free(newpage) in unmap_and_move).
 */
export function lockedPutback(
  b: ProgramBuilder, at: string, ctx: MigrateCtx, fn: string, next: string, after: Ref[] = [],
): void {
  const page = ctx.slot.page;
  const p = { page };
  const x = (s: string) => `${at}/${s}`;
  b.steps(at, fn, 'lock_page(page)', [
    br(x('body'), [b.a('lock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
  ]);
  // putback_movable_page() runs a_ops->putback_page and __ClearPageIsolated under
  // the page lock; they share the step that ends with unlock_page.
  const movable = b.g('PageMovable(page)', pageMovableLocked, p);
  const checks = b.a(PUTBACK_MOVABLE_CHECKS, putbackMovableChecks, p);
  const afterPutback = [b.a(CLEAR_PAGE_ISOLATED, clearPageIsolated, p), b.a('unlock_page', unlockPage, p)];
  const cb = ctx.ops.putbackPage(b, page);
  let on: Record<string, Branch[]>;
  if (isCallbackProgram(cb)) {
    on = { [STEP]: [br(x('putback_page'), [checks], movable)] };
    callProgram(b, cb, x('putback_page'), 'putback_movable_page', () => ({ actions: afterPutback, target: x('put') }));
  } else {
    on = outcomeBranches(b, cb, movable, (o) => ({ actions: [checks, ...o.actions, ...afterPutback], target: x('put') }));
  }
  // else __ClearPageIsolated(page): only for a page the driver released. Guarded, so
  // that a movable page whose driver's lock is taken waits for putback_page instead.
  (on[STEP] ??= []).push(br(x('put'), [b.a(CLEAR_PAGE_ISOLATED, clearPageIsolated, p), b.a('unlock_page', unlockPage, p)],
    b.g('!PageMovable(page)', notPageMovableLocked, p)));
  b.step(x('body'), fn, 'PageMovable(page) ? putback_movable_page(page) : __ClearPageIsolated(page); unlock_page(page)', on);
  b.steps(x('put'), fn, 'put_page(page)', [br(next, [b.a('put_page', putPage, p), ...after])]);
}

/** putback_movable_page(): the three VM_BUG_ON_PAGE checks before a_ops->putback_page. */
export const putbackMovableChecks: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  VM_BUG_ON_PAGE(!PageLocked(m, page), '!PageLocked(page)', 'putback_movable_page', page);
  VM_BUG_ON_PAGE(!PageMovable(m, page), '!PageMovable(page)', 'putback_movable_page', page);
  VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'putback_movable_page', page);
};

// --- putback_movable_pages(l) ------------------------------------------------

const listIsEmpty: GuardFn = (m, _L, P) => list_empty(m, spaceOf(P.ls), P.list);
const firstIsMovable: GuardFn = (m, _L, P) => __PageMovable(m, nodePage(listNextOf(m, spaceOf(P.ls), P.list)));
/** `list_del(&page->lru)` of the first entry, and the VM_BUG_ON for a movable one. */
const takeFirst: ActionFn = (m, L, P) => {
  const S = spaceOf(P.ls);
  const node = listNextOf(m, S, P.list);
  const page = nodePage(node);
  m[L + P.page] = page;
  list_del(m, S, node);
  if (P.movable) VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'putback_movable_pages', page);
};
const putbackLruPage: ActionFn = (m, L, P) => putback_lru_page(m, pg(m, L, P));

/**
 * putback_movable_pages(&cc->migratepages): mm/migrate.c. Every step touches only
 * this CPU's own list until lock_page.
 */
export function putbackMovablePages(b: ProgramBuilder, at: string, ctx: MigrateCtx, done: string): void {
  const fn = 'putback_movable_pages';
  const page = ctx.slot.page;
  const lst = { list: ctx.migrateList, ls: ctx.lists };
  b.steps(at, fn, 'list_for_each_entry_safe(page, page2, l, lru); list_del(&page->lru)', [
    br(done, [], b.g('list_empty(l)', listIsEmpty, lst)),
    br(`${at}/locked`, [b.a('list_del(first)', takeFirst, { ...lst, page, movable: 1 })], b.g('__PageMovable(first)', firstIsMovable, lst)),
    br(at, [b.a('list_del(first)', takeFirst, { ...lst, page, movable: 0 }), b.a('putback_lru_page', putbackLruPage, { page })]),
  ]);
  lockedPutback(b, `${at}/locked`, ctx, fn, at);
}

// --- migrate_pages(from, compaction_alloc, compaction_free, ...) ---------------

/** compaction_alloc(): take a target from cc->freepages (mm/compaction.c, v4.8). */
const freeListHasPage: GuardFn = (m, _L, P) => !list_empty(m, spaceOf(P.ls), P.freeList);
/** list_entry(cc->freepages.next, struct page, lru); list_del(&freepage->lru). */
const compactionAlloc: ActionFn = (m, L, P) => {
  const S = spaceOf(P.ls);
  const node = listNextOf(m, S, P.freeList);
  list_del(m, S, node);
  m[L + P.newpage] = nodePage(node);
};
/** compaction_free(): list_add(&page->lru, &cc->freepages). */
export const compactionFree: ActionFn = (m, L, P) => list_add(m, spaceOf(P.ls), pageNode(npg(m, L, P)), P.freeList);

const noRetry: GuardFn = (m, L, P) => m[L + P.retry] === 0;
const beforeSaturation: GuardFn = (m, L, P) => m[L + P.pass] <= FORCED_PASS;
/** retry = 0; list_for_each_entry_safe(page, page2, from, lru): the cursor starts at from->next. */
const startPass: ActionFn = (m, L, P) => {
  m[L + P.retry] = 0;
  m[L + P.next] = listNextOf(m, spaceOf(P.ls), P.list, 'migrate_pages');
};
const nextPass: ActionFn = (m, L, P) => { if (m[L + P.pass] <= FORCED_PASS) m[L + P.pass]++; };
/** The cursor is not back at the head: page = cursor; page2 = page->lru.next (read before the body). */
const cursorAtEntry: GuardFn = (m, L, P) => m[L + P.next] !== P.list;
/** Step and action names of migrate_pages() that variants change. */
export const MIGRATE_TAKE_CURSOR = 'page = cursor; page2 = page->lru.next';
export const MIGRATE_COUNT_RETRY = 'if (rc == -EAGAIN) retry++';
const takeCursor: ActionFn = (m, L, P) => {
  const node = list_entry(spaceOf(P.ls), m[L + P.next], 'migrate_pages');
  m[L + P.page] = nodePage(node);
  m[L + P.next] = listNextOf(m, spaceOf(P.ls), node, 'migrate_pages');
};
/** migrate_pages()' switch (rc): -EAGAIN counts a retry. */
const countRetry: ActionFn = (m, L, P) => { if (m[L + P.rc] === EAGAIN) m[L + P.retry]++; };

/**
 * migrate_pages(): mm/migrate.c. Up to ten passes over cc->migratepages while some
 * page answered -EAGAIN; -ENOMEM stops at once. What is left on the list goes back
 * through putback_movable_pages() in compact_zone(), which runs `if (err)`: the list
 * is non-empty exactly when err is non-zero, so `done` may test the list instead.
 */
export function migratePages(b: ProgramBuilder, at: string, ctx: MigrateCtx, done: string): void {
  const fn = 'migrate_pages';
  const s = ctx.slot;
  const lst = { list: ctx.migrateList, ls: ctx.lists };
  const x = (t: string) => `${at}/${t}`;
  // Local steps: only this CPU's list and locals.
  b.localStep(at, fn, 'retry = 1; pass = 0', [br(x('pass'), [b.a('retry = 1', setLocal, { slot: s.retry, value: 1 }), b.a('pass = 0', setLocal, { slot: s.pass, value: 0 })])]);
  const start = b.a('retry = 0; cursor = from->next', startPass, { ...lst, retry: s.retry, next: s.next });
  b.localStep(x('pass'), fn, 'for (pass = 0; pass < 10 && retry; pass++) { retry = 0; list_for_each_entry_safe(...)', [
    br(done, [], b.g('!retry', noRetry, { retry: s.retry })),
    br(x('entry'), [start], b.g('pass <= 3', beforeSaturation, { pass: s.pass })),
    br(x('forced')),
  ]);
  // Passes 4..9 (see FORCED_PASS): another forced pass, or the end of the loop.
  // GIVE_UP is the loop's bounded exit (Branch.fairExit): the kernel's `pass < 10`,
  // which the model does not count, ends every run of RETRYs, so a run that retries
  // for ever is not one the kernel can take (liveness judges it unfair).
  b.step(x('forced'), fn, 'another forced pass (pass < 10), or stop', {
    RETRY: [br(x('entry'), [start])],
    GIVE_UP: [fairExit(br(done))],
  });
  b.localStep(x('entry'), fn, 'page = cursor; page2 = page->lru.next; or, back at the head, the next pass', [
    br(`${at}/uam`, [b.a(MIGRATE_TAKE_CURSOR, takeCursor, { ...lst, page: s.page, next: s.next })],
      b.g('&page->lru != from', cursorAtEntry, { list: ctx.migrateList, next: s.next })),
    br(x('pass'), [b.a('pass++', nextPass, { pass: s.pass })]),
  ]);
  unmapAndMove(b, `${at}/uam`, ctx, x('result'));
  b.localStep(x('result'), fn, 'switch (rc)', [
    br(done, [], b.g('rc == -ENOMEM', rcIs, { rc: s.rc, value: ENOMEM })),
    br(x('entry'), [b.a(MIGRATE_COUNT_RETRY, countRetry, { rc: s.rc, retry: s.retry })]),
  ]);
}

// --- unmap_and_move(), __unmap_and_move(), move_to_new_page() -----------------

const countIsOne: GuardFn = (m, L, P) => page_count(m, pg(m, L, P)) === 1;
const setLocal: ActionFn = (m, L, P) => { m[L + P.slot] = P.value; };
const localIs: GuardFn = (m, L, P) => m[L + P.slot] === P.value;
const forceLock: GuardFn = (m, L, P) => m[L + P.pass] > 2; // force = pass > 2, mode MIGRATE_SYNC_LIGHT

/**
 * move_to_new_page() up to the driver's callback, under both page locks. Returns
 * which way it goes: 'lru' (migrate_page or a_ops->migratepage for a mapping that is
 * not movable), 'released' (the driver let the page go), or 'driver'.
 */
const mtnpEntryChecks: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  const newpage = npg(m, L, P);
  VM_BUG_ON_PAGE(!PageLocked(m, page), '!PageLocked(page)', 'move_to_new_page', page);
  VM_BUG_ON_PAGE(!PageLocked(m, newpage), '!PageLocked(newpage)', 'move_to_new_page', newpage);
  const isLru = !__PageMovable(m, page);
  m[L + P.slot] = isLru ? 1 : 0;
  if (!isLru) VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'move_to_new_page', page);
};
const notPageMovableLocked: GuardFn = (m, L, P) => !PageMovable(m, pg(m, L, P));
const releasedEffects: ActionFn = (m, L, P) => {
  // "In case of non-lru page, it could be released after isolation step. In that
  // case, we shouldn't try migration."
  m[L + P.rc] = RC_SUCCESS;
  clearIsolated(m, pg(m, L, P));
};
const hasDriverMapping: GuardFn = (m, L, P) => page_mapping(m, pg(m, L, P)) === P.mapping;
const otherMapping: GuardFn = (m, L, P) => {
  const id = page_mapping(m, pg(m, L, P));
  return id !== MAPPING_NULL && id !== P.mapping;
};
const noMapping: GuardFn = (m, L, P) => page_mapping(m, pg(m, L, P)) === MAPPING_NULL;
/**
 * migrate_page() with a NULL mapping: migrate_page_move_mapping()'s `!mapping` case
 * (expected count 1 + page_has_private) and migrate_page_copy(). A page that is
 * really a driver's gets here only when the VM mistook it for an LRU page.
 */
const migratePageNoMapping: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  const newpage = npg(m, L, P);
  const expected = 1 + (PagePrivate(m, page) ? 1 : 0);
  if (page_count(m, page) !== expected) {
    m[L + P.rc] = EAGAIN;
    return;
  }
  setMappingWord(m, newpage, mappingWord(m, page));
  m[L + P.rc] = RC_SUCCESS;
};
/** Neither NULL nor a mapping with migratepage: fallback_migrate_page(), out of this model's scope. */
const fallbackMigrate: ActionFn = (m, L, P) => { m[L + P.rc] = EBUSY; };

const mtnpAfter: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  const isLru = m[L + P.slot] === 1;
  const rc = m[L + P.rc];
  if (!isLru) {
    WARN_ON(rc === RC_SUCCESS && !PageIsolated(m, page), 'rc == MIGRATEPAGE_SUCCESS && !PageIsolated(page)', 'move_to_new_page', page, true);
  }
  if (rc === RC_SUCCESS) {
    if (__PageMovable(m, page)) {
      VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'move_to_new_page', page);
      // "We clear PG_movable under page_lock so any compactor cannot try to migrate this page."
      clearIsolated(m, page);
    }
    // "Anonymous and movable page->mapping will be cleard by free_pages_prepare"
    if (!PageMappingFlags(m, page)) setMappingWord(m, page, MAPPING_NULL);
  }
};

/** __unmap_and_move()'s out: the new page's allocation reference goes. */
const uapOut: ActionFn = (m, L, P) => {
  const newpage = npg(m, L, P);
  if (m[L + P.rc] !== RC_SUCCESS || newpage === 0xff) return;
  if (__PageMovable(m, newpage)) put_page(m, newpage);
  else putback_lru_page(m, newpage);
};

/** unmap_and_move()'s out: for a page that is done with (rc != -EAGAIN). */
const listDelAndPut: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  list_del(m, spaceOf(P.ls), pageNode(page));
  put_page(m, page); // "releases reference grabbed during isolation"
};
const rcNotAgainNotMovable: GuardFn = (m, L, P) => m[L + P.rc] !== EAGAIN && !__PageMovable(m, pg(m, L, P));
const freedUnderUs: ActionFn = (m, L, P) => {
  const page = pg(m, L, P);
  if (!PageMovable(m, page)) clearIsolated(m, page);
  unlock_page(m, page);
};

/**
 * unmap_and_move(compaction_alloc, compaction_free, page, force = pass > 2,
 * MIGRATE_SYNC_LIGHT): mm/migrate.c, the non-LRU paths. Sets local rc, then `next`.
 */
export function unmapAndMove(b: ProgramBuilder, at: string, ctx: MigrateCtx, next: string): void {
  const fn = 'unmap_and_move';
  const s = ctx.slot;
  const p = { page: s.page };
  const pl = { page: s.page, ls: ctx.lists };
  const free = { newpage: s.newpage, freeList: ctx.freeList, ls: ctx.lists };
  const x = (t: string) => `${at}/${t}`;
  const rc = (value: number) => b.a(`rc = ${describeRc(value)}`, setRc, { rc: s.rc, value });
  // The freed-under-us path gives newpage back before __unmap_and_move's out could
  // see it; NULL it so that out does nothing with it.
  const forget = b.a('newpage = NULL', setLocal, { slot: s.newpage, value: 0xff });

  // newpage = get_new_page(page, private, &result): compaction_alloc touches only
  // this CPU's cc->freepages.
  b.localStep(at, 'compaction_alloc', 'newpage = compaction_alloc()', [
    br(`${at}/uap`, [b.a('compaction_alloc', compactionAlloc, free)],
      b.g('!list_empty(&cc->freepages)', freeListHasPage, { freeList: ctx.freeList, ls: ctx.lists })),
    br(next, [rc(ENOMEM)]),
  ]);
  // An unlocked read of the refcount: a hint, taken in the same step as the
  // trylock_page() of __unmap_and_move() that follows it (see unmapAndMoveLocked).
  // "page was freed from under us. So we are done." The __PageMovable() read shares
  // the step with the lock_page() that follows it.
  b.steps(x('freed'), fn, 'if (__PageMovable(page)) lock_page(page)', [
    br(x('out'), [b.a('compaction_free(newpage)', compactionFree, free), forget, rc(RC_SUCCESS)], b.g('!__PageMovable(page)', notMovableHint, p)),
    br(x('freed/check'), [b.a('lock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
  ]);
  b.steps(x('freed/check'), fn, 'if (!PageMovable(page)) __ClearPageIsolated(page); unlock_page(page)', [
    br(x('out'), [b.a('if (!PageMovable(page)) __ClearPageIsolated(page); unlock_page(page)', freedUnderUs, p),
      b.a('compaction_free(newpage)', compactionFree, free), forget, rc(RC_SUCCESS)]),
  ]);

  unmapAndMoveLocked(b, `${at}/uap`, ctx, x('out'), x('freed'));

  // out: list_del + put_page for a finished page; the locked put-back for a failure.
  b.steps(x('out'), fn, 'if (rc != -EAGAIN) list_del(&page->lru); put_page / putback', [
    br(next, [
      b.a('__unmap_and_move out: put_page(newpage) or putback_lru_page(newpage)', uapOut, { page: s.page, newpage: s.newpage, rc: s.rc }),
      b.a('list_del(&page->lru); put_page(page)', listDelAndPut, pl),
    ], b.g('rc == MIGRATEPAGE_SUCCESS', rcIs, { rc: s.rc, value: RC_SUCCESS })),
    br(next, [b.a('compaction_free(newpage)', compactionFree, free)], b.g('rc == -EAGAIN', rcIs, { rc: s.rc, value: EAGAIN })),
    br(next, [b.a('list_del(&page->lru)', listDelPage, pl), b.a('putback_lru_page', putbackLruPage, p), b.a('compaction_free(newpage)', compactionFree, free)],
      b.g('rc != -EAGAIN && !__PageMovable(page)', rcNotAgainNotMovable, { ...p, rc: s.rc })),
    br(x('putback'), [b.a('list_del(&page->lru)', listDelPage, pl)]),
  ]);
  lockedPutback(b, x('putback'), ctx, fn, next, [b.a('compaction_free(newpage)', compactionFree, free)]);
}

/** __unmap_and_move(page, newpage, force, mode) and move_to_new_page(): mm/migrate.c. */
function unmapAndMoveLocked(b: ProgramBuilder, at: string, ctx: MigrateCtx, out: string, freed: string): void {
  const fn = '__unmap_and_move';
  const s = ctx.slot;
  const p = { page: s.page };
  const pn = { page: s.page, newpage: s.newpage };
  const x = (t: string) => `${at}/${t}`;
  const rc = (value: number) => b.a(`rc = ${describeRc(value)}`, setRc, { rc: s.rc, value });

  // `bool is_lru = !__PageMovable(page)` at entry only picks between two paths that
  // both reach move_to_new_page(), which reads it again under the page lock, so the
  // model does not keep the early read.
  b.steps(at, fn, 'page_count(page) == 1 (unmap_and_move); trylock_page(page)', [
    br(freed, [], b.g('page_count(page) == 1', countIsOne, p)),
    br(x('trylocknew'), [b.a('trylock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
    br(x('lock'), [], b.g('force && mode != MIGRATE_ASYNC', forceLock, { pass: s.pass })),
    br(out, [rc(EAGAIN)]),
  ]);
  b.steps(x('lock'), fn, 'lock_page(page)', [
    br(x('trylocknew'), [b.a('lock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
  ]);
  // trylock_page(newpage): nobody else can see the target yet, so the attempt is a
  // local step.
  b.localStep(x('trylocknew'), fn, 'trylock_page(newpage)', [
    br(x('mtnp'), [b.a('trylock_page(newpage)', lockNewpage, pn)], b.g('!PageLocked(newpage)', newpageUnlocked, pn)),
    br(x('unlock'), [rc(EAGAIN)]),
  ]);
  // move_to_new_page() under both page locks, through the driver's migratepage (under
  // its spinlock) and the exit checks, up to unlock_page(newpage) and unlock_page(page):
  // one step, as no one else can lock either page meanwhile.
  const entry = b.a('move_to_new_page entry', mtnpEntryChecks, { ...pn, slot: s.mtnpLru });
  const exit = [
    b.a('move_to_new_page exit', mtnpAfter, { ...p, rc: s.rc, slot: s.mtnpLru }),
    b.a('unlock_page(newpage)', unlockNewpage, pn),
    b.a('unlock_page', unlockPage, p),
  ];
  const driver = ctx.ops.migratePage(b, { page: s.page, newpage: s.newpage });
  const rcOf = (value: number) => b.a(`rc = ${describeRc(value)}`, setRc, { rc: s.rc, value });
  const movable = b.g('PageMovable(page)', pageMovableLocked, p);
  // The LRU branch (a page the VM takes for an LRU page): mapping NULL ->
  // migrate_page(); a mapping with migratepage -> that driver's, whatever it says.
  const lru = b.g('!__PageMovable(page)', notMovableHint, p);
  const lruViaDriver = b.and(lru, b.g('page_mapping(page)->a_ops->migratepage', hasDriverMapping, { ...p, mapping: ctx.ops.mapping }));
  let on: Record<string, Branch[]>;
  if (isCallbackProgram(driver)) {
    // The callback's own steps, between move_to_new_page()'s entry checks and its exit.
    const back = (value: number) => ({ actions: [rcOf(value), ...exit], target: out });
    on = { [STEP]: [br(x('migratepage-lru'), [entry], lruViaDriver), br(x('migratepage'), [entry], movable)] };
    callProgram(b, driver, x('migratepage'), 'move_to_new_page', back);
    callProgram(b, driver, x('migratepage-lru'), 'move_to_new_page', back);
  } else {
    on = outcomeBranches(b, driver, movable, (o) => ({ actions: [entry, ...o.actions, rcOf(o.value), ...exit], target: out }));
    const viaDriver = outcomeBranches(b, driver, lruViaDriver, (o) => ({ actions: [entry, ...o.actions, rcOf(o.value), ...exit], target: out }));
    for (const [ev, brs] of Object.entries(viaDriver)) (on[ev] ??= []).unshift(...brs);
  }
  on[STEP] = [
    br(out, [entry, b.a('migrate_page', migratePageNoMapping, { ...pn, rc: s.rc }), ...exit], b.and(lru, b.g('!page_mapping(page)', noMapping, p))),
    br(out, [entry, b.a('fallback_migrate_page', fallbackMigrate, { rc: s.rc }), ...exit], b.and(lru, b.g('page_mapping(page) without migratepage', otherMapping, { ...p, mapping: ctx.ops.mapping }))),
    // "In case of non-lru page, it could be released after isolation step": goto out.
    br(out, [entry, b.a('rc = SUCCESS; __ClearPageIsolated(page)', releasedEffects, { ...p, rc: s.rc }), ...exit.slice(1)],
      b.g('!PageMovable(page)', notPageMovableLocked, p)),
    ...(on[STEP] ?? []),
  ];
  b.step(x('mtnp'), 'move_to_new_page', 'move_to_new_page(): the driver\'s migratepage (or, for a page that looks like LRU, migrate_page); unlock_page(newpage); unlock_page(page)', on);
  b.steps(x('unlock'), fn, 'unlock_page(page)', [br(out, [b.a('unlock_page', unlockPage, p)])]);
}

export { setLocal, localIs };
