/**
 * pagerace/driver: everything a driver author needs, from one import.
 *
 *   import { type NonlruDriver, ProgramBuilder, br, ... } from 'pagerace/driver';
 *   export const driver: NonlruDriver = { name, ops(lay) { ... }, thread(lay) { ... } };
 *
 * then `pagerace check nonlru --driver ./my-driver.ts` checks it against the VM side
 * of the non-LRU movable page contract (README, "Checking your own driver").
 *
 * A driver is two things, both built from the kernel core's step programs:
 * - `ops(lay)`: its address_space_operations. isolate_page, migratepage and
 *   putback_page each return Outcomes (src/kernel/migrate.ts): the ways the callback
 *   can go (a guard such as "my spinlock is free", the effects, the value it returns).
 *   The VM runs them inside its own step, under the page lock, in the calling CPU's
 *   context: `page` and `newpage` are slots of the CPU's locals (`m[L + page]`).
 *   A callback that takes and drops locks or sleeps returns `{ program(b, at, ret) }`
 *   instead: its own steps from label `at`, each way out a branch to `ret(value)`.
 * - `thread(lay)`: the driver's own thread, a ProgramBuilder (or an XState machine)
 *   that allocates its pages, makes them movable, and may release them.
 *
 * `lay` (NonlruLayout) says where the driver's state lives in the packed world: its
 * spinlock byte, its list head (a node id of the world's list space `lay.lists`:
 * link pages with lruAdd/lruDel), its isolated count and its slot table (slot[k] = pfn
 * of its k-th page, NO_PAGE when empty). The properties read exactly these, so a
 * driver keeps its pages there; the model's allocator hands out pfn k as the
 * driver's k-th page (`alloc_page(m, k)`).
 *
 * This module also checks that a loaded module fits (DriverError, one line).
 * Layer: like models/, it may import src/kernel, properties and models/common; the
 * walker never sees it.
 */
import type { Callback, CallbackProgram, MovableOps, Outcome } from './kernel/migrate.ts';
import type { Driver, DriverOps, DriverThread } from './system.ts';
import type { NonlruLayout } from '../properties/nonlru.ts';
import type { GuardFn, ProgramBuilder } from './kernel/program.ts';
import { pageNode, spinIsFree } from './kernel/page.ts';
import { list_add, list_del, spaceOf } from './kernel/list.ts';

export type { Driver, DriverOps, DriverThread } from './system.ts';
export { NO_PAGE, type NonlruLayout } from '../properties/nonlru.ts';
export * from './kernel/page.ts';
export * from './kernel/bug.ts';
export * from './kernel/list.ts';
export * from './kernel/bitops.ts';
export {
  PageMovable, __SetPageMovable, __ClearPageMovable, describeMapping,
} from './kernel/movable.ts';
export {
  ProgramBuilder, STEP, br, type ActionFn, type GuardFn, type Params, type Ref, type Branch, type StepNode,
} from './kernel/program.ts';
/** A step program as an XState machine, the way pagerace builds every actor's (for `thread: () => ({ machine, locals })`). */
export { programMachine } from '../models/common/machine.ts';
export {
  RC_SUCCESS, EAGAIN, EBUSY, ENOMEM, describeRc, type Outcome, type MovableOps, type Callback, type CallbackProgram,
  lockPage, unlockPage, putPage, pageUnlocked, refNonZero, refZero,
} from './kernel/migrate.ts';

/** A driver for the nonlru system. */
export type NonlruDriver = Driver<NonlruLayout>;

/** Identity, for type inference: `export const driver = defineDriver({ ... })`. */
export const defineDriver = (d: NonlruDriver): NonlruDriver => d;

/**
 * list_add(&page->lru, head) and list_del(&page->lru) for a page of the world: `ls`
 * is the world's list space (`lay.lists`, pass it in the step's params), `head` a
 * list head node id such as `lay.driverList`.
 */
export const lruAdd = (m: Uint8Array, ls: number, pfn: number, head: number): void => list_add(m, spaceOf(ls), pageNode(pfn), head);
export const lruDel = (m: Uint8Array, ls: number, pfn: number): void => list_del(m, spaceOf(ls), pageNode(pfn));

/** Guard: the spinlock at byte `P.lock` is free (spin_lock() can proceed). */
export const spinLockFree: GuardFn = (m, _L, P) => spinIsFree(m, P.lock);

// --- checking a user's module ---------------------------------------------------

/** A driver module that does not fit: the CLI prints the one-line message and exits 2. */
export class DriverError extends Error {
  override name = 'DriverError';
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * The Driver a loaded module exports as `driver` (or as its default export), or a
 * DriverError naming what is missing. `where` names the file in messages.
 */
export function driverFromModule(mod: Record<string, unknown>, where: string): Driver<never> {
  const d = mod.driver ?? mod.default;
  if (d === undefined) {
    const names = Object.keys(mod).filter((k) => k !== 'default');
    throw new DriverError(`${where} exports no 'driver' (write \`export const driver: NonlruDriver = { name, ops, thread }\` with types from 'pagerace/driver'; it exports ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'nothing'})`);
  }
  if (typeof d !== 'object' || d === null) throw new DriverError(`${where}: 'driver' must be an object { name, ops, thread }, not ${kindOf(d)}`);
  const o = d as Record<string, unknown>;
  const missing = [
    typeof o.name === 'string' && o.name !== '' ? null : 'name (a string)',
    typeof o.ops === 'function' ? null : 'ops(lay) (a function returning { isolatePage, migratePage, putbackPage })',
    typeof o.thread === 'function' ? null : 'thread(lay) (a function returning { program, initial })',
  ].filter((x) => x !== null);
  if (missing.length) throw new DriverError(`${where}: 'driver' has no ${missing.join(', no ')}`);
  return d as Driver<never>;
}

function checkOutcomes(outs: unknown, where: string, what: string): Callback {
  if (outs !== null && typeof outs === 'object' && !Array.isArray(outs) && 'program' in outs) {
    if (typeof (outs as CallbackProgram).program !== 'function') throw new DriverError(`${where}: ${what} returned { program } that is not a function (b, at, ret) => void`);
    return outs as CallbackProgram;
  }
  if (!Array.isArray(outs) || outs.length === 0) throw new DriverError(`${where}: ${what} must return a non-empty array of Outcomes { event, actions, value }, not ${kindOf(outs)}`);
  outs.forEach((o: unknown, i) => {
    const x = o as Record<string, unknown> | null;
    const bad = x === null || typeof x !== 'object' ? 'is not an object'
      : typeof x.event !== 'string' ? 'has no event (a string; STEP for no choice)'
        : !Array.isArray(x.actions) ? 'has no actions (an array of refs from b.a(...))'
          : typeof x.value !== 'number' ? 'has no value (a number: 1/0 for isolate_page, the rc for migratepage)'
            : x.guard !== undefined && (typeof x.guard !== 'object' || typeof (x.guard as { type?: unknown }).type !== 'string') ? 'has a guard that is not a ref from b.g(...)'
              : null;
    if (bad) throw new DriverError(`${where}: ${what} outcome ${i} ${bad}`);
  });
  return outs as readonly Outcome[];
}

/** The driver's callbacks, with their results checked as the VM's programs call them. */
export function checkedOps(d: Driver<never>, lay: unknown, mapping: number, where: string): MovableOps {
  const ops = (d.ops as (l: unknown) => unknown)(lay) as DriverOps | null;
  if (ops === null || typeof ops !== 'object') throw new DriverError(`${where}: driver.ops(lay) must return { isolatePage, migratePage, putbackPage }, not ${kindOf(ops)}`);
  const missing = (['isolatePage', 'migratePage', 'putbackPage'] as const).filter((k) => typeof ops[k] !== 'function');
  if (missing.length) throw new DriverError(`${where}: driver.ops(lay) has no ${missing.join(', no ')} (each (b, ...) => Outcome[])`);
  return {
    mapping,
    isolatePage: (b, page) => checkOutcomes(ops.isolatePage(b, page), where, 'isolatePage(b, page)'),
    migratePage: (b, a) => checkOutcomes(ops.migratePage(b, a), where, 'migratePage(b, { page, newpage })'),
    putbackPage: (b, page) => checkOutcomes(ops.putbackPage(b, page), where, 'putbackPage(b, page)'),
  };
}

/** The driver's thread, checked: a program with its initial step, or a machine with its locals. */
export function checkedThread(d: Driver<never>, lay: unknown, where: string): DriverThread {
  const t = (d.thread as (l: unknown) => unknown)(lay) as Record<string, unknown> | null;
  if (t === null || typeof t !== 'object') throw new DriverError(`${where}: driver.thread(lay) must return { program, initial } or { machine, locals }, not ${kindOf(t)}`);
  if ('program' in t) {
    const p = t.program as ProgramBuilder | null;
    const like = p !== null && typeof p === 'object' && typeof p.nodes === 'object' && typeof p.guards === 'object' &&
      typeof p.actions === 'object' && Array.isArray(p.locals) && typeof p.initialLocals === 'function';
    if (!like) throw new DriverError(`${where}: driver.thread(lay).program must be a ProgramBuilder from 'pagerace/driver'`);
    if (typeof t.initial !== 'string') throw new DriverError(`${where}: driver.thread(lay) has no initial (the label of its first step)`);
    if (!p.nodes[t.initial]) throw new DriverError(`${where}: driver.thread(lay).initial '${t.initial}' is not a step of its program (steps: ${Object.keys(p.nodes).slice(0, 6).join(', ')}${Object.keys(p.nodes).length > 6 ? ', ...' : ''})`);
    if (!Object.values(p.nodes).some((n) => n.final)) throw new DriverError(`${where}: driver.thread(lay).program has no final step (b.final('done')): the thread could never finish`);
    return t as DriverThread;
  }
  if ('machine' in t) {
    const m = t.machine as { root?: unknown } | null;
    if (m === null || typeof m !== 'object' || !m.root) throw new DriverError(`${where}: driver.thread(lay).machine must be an XState machine (setup({ guards, actions }).createMachine(...))`);
    if (!Array.isArray(t.locals)) throw new DriverError(`${where}: driver.thread(lay) has a machine but no locals (the names of its local slots)`);
    return t as DriverThread;
  }
  throw new DriverError(`${where}: driver.thread(lay) must return { program, initial } or { machine, locals }, it has ${Object.keys(t).map((k) => `'${k}'`).join(', ') || 'no fields'}`);
}
