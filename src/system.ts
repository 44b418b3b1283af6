/**
 * The one contract between models and the walker: types only.
 *
 * A System builds a Model from a scope (how many CPUs, pages, ...) and an optional
 * variant (a known bug put back). A Model is a set of XState actors over one packed
 * world plus the properties to check. The walker never looks past these types.
 */
import type { AnyStateMachine } from 'xstate';
import type { MovableOps } from './kernel/migrate.ts';
import type { ProgramBuilder } from './kernel/program.ts';

/** One concurrent actor: an XState machine built from a step program. */
export interface ActorDef {
  /** Unique within the model, e.g. `cpu0`, `driver`. */
  readonly name: string;
  /** Actors of one kind run the same machine and may be symmetric. */
  readonly kind: string;
  readonly machine: AnyStateMachine;
  /** Names of the actor's local slots, in order. */
  readonly locals: readonly string[];
  /** Initial values of the locals. */
  readonly initialLocals: readonly number[];
}

export type ViolationKind = 'kernel-bug' | 'deadlock' | 'invariant' | 'termination';

interface PropertyBase {
  /**
   * Optional, for state and step invariants: the world bytes the property can be
   * broken through. The property promises to hold after any step that changes none
   * of the world bytes `at` for which this returns true (e.g. it reads only some
   * fields of struct page), so the walker may skip it then. Asked once per byte when
   * the model is compiled.
   */
  readonly watches?: (at: number) => boolean;
  /** Kebab-case, stable: tests, traces and docs refer to it. */
  readonly name: string;
  /** The rule, in a sentence a driver author can act on. */
  readonly rule: string;
  /** Where the rule comes from: kernel file and function, seed message. */
  readonly source: string;
}

/**
 * Checked on every reachable state, before it is queued; a function of the world
 * only, so a step that changes no world byte keeps it. Returns null or what is wrong.
 * After a step, the walker passes the byte range [from, to) of the world that holds
 * every change since a state where the invariant held: a property may then look
 * only at what those bytes can break (e.g. the pages in the range); without them it
 * checks the whole world. Either way the answer must be the same.
 */
export interface StateInvariant extends PropertyBase {
  readonly kind: 'invariant';
  readonly scope: 'state';
  check(m: Uint8Array, from?: number, to?: number): string | null;
}

/**
 * Checked on every step that changes the world: the packed state before and after,
 * who stepped, and the byte range [from, to) of the world that holds every change
 * (a property may look only there). A step that changes no world byte is not
 * checked: it cannot break a rule about the world.
 */
export interface StepInvariant extends PropertyBase {
  readonly kind: 'invariant';
  readonly scope: 'step';
  check(pre: Uint8Array, post: Uint8Array, actor: number, from: number, to: number): string | null;
}

/** Checked on every state where all actors have finished. */
export interface EndProperty extends PropertyBase {
  readonly kind: 'termination';
  readonly scope: 'end';
  check(m: Uint8Array): string | null;
}

export type Property = StateInvariant | StepInvariant | EndProperty;

/** Built-in properties the walker checks for every system. */
export const DEADLOCK = {
  name: 'deadlock',
  rule: 'Some actor can always move until every actor has finished.',
  source: 'pagerace walker: a state with no enabled step where not every actor is final.',
} as const;

/** How to show the world in a trace. */
export interface WorldView {
  readonly pages: number;
  /** e.g. `p0 (driver)`, `t1 (cpu0 target)`. */
  pageLabel(pfn: number): string;
  listName(list: number): string;
  /**
   * Optional: the list a page is on, read from the whole world (a page->lru
   * list_head leads to its head). Without it traces show listName of the page's
   * one-byte list id.
   */
  pageList?(m: Uint8Array, pfn: number): string;
  /** Named scalar fields of the world beyond struct page: [name, byte offset, render]. */
  readonly globals: readonly { name: string; at: number; render?: (v: number) => string }[];
  /**
   * Optional fields computed from the whole world (a free list's order, the
   * pageblock migratetypes), shown in traces when their text changes.
   */
  readonly derived?: readonly { name: string; render: (m: Uint8Array) => string }[];
}

/**
 * Interchangeable actors. The walker stores one representative per orbit: the
 * least, byte by byte, of the state's images under every permutation of each group.
 * The permutation must map a state the model can reach to one it can reach, with
 * the same properties holding: tests compare verdicts with and without it.
 */
export interface Symmetry {
  /** Groups of actor indices whose actors run the same program up to renaming. */
  readonly groups: readonly (readonly number[])[];
  /** Write into `dst[0, worldSize)` the world of `src` with every actor a renamed perm[a]. */
  permuteWorld(src: Uint8Array, dst: Uint8Array, perm: Int8Array): void;
  /**
   * How local `local` of an actor of `kind` is renamed (e.g. a pfn in a CPU's own
   * block), or null when its value does not depend on actor identities. Asked once
   * per local when the walker starts.
   */
  localRenaming(kind: string, local: string): ((value: number, perm: Int8Array) => number) | null;
  /**
   * Optional: permuteWorld as a byte gather, which lets the walker compare images
   * byte by byte without writing them: for every i < worldSize,
   * `dst[i] = table[i] === null ? src[source[i]] : table[i][src[source[i]]]`
   * (a table has 256 entries). It must describe exactly what permuteWorld writes;
   * the walker checks the two agree on a few vectors when it starts.
   */
  gather?(perm: Int8Array): { readonly source: ArrayLike<number>; readonly table: readonly (Uint8Array | null)[] };
}

export interface Model {
  readonly actors: readonly ActorDef[];
  readonly symmetry?: Symmetry;
  /** The initial world, excluding actors' program counters and locals. */
  readonly world: Uint8Array;
  readonly properties: readonly Property[];
  readonly view: WorldView;
  /**
   * The model's loops can repeat without end (a retry that waits for something to
   * change): `check` looks for livelocks by default (`--no-liveness` turns it off;
   * `--liveness` turns it on for any model).
   */
  readonly liveness?: boolean;
  /**
   * Optional: the lifecycle of each kind of page the model has, which the
   * `page-lifecycle` monitor (properties/lifecycle.ts) checks on every step and
   * `pagerace contracts` draws with a witness per transition.
   */
  readonly lifecycles?: readonly Lifecycle[];
}

/**
 * What a lifecycle transition says in its XState `meta`: who may take it, under
 * which lock, and the kernel function that takes it.
 */
export interface LifecycleMeta {
  /** Actor kinds that may take it (ActorDef.kind), e.g. ['cpu']. */
  readonly by: readonly string[];
  /**
   * Only the page's holder may take it (Lifecycle.holder before or after the step:
   * e.g. the CPU that isolated the page).
   */
  readonly holder?: boolean;
  /** One of Lifecycle.locks' names, or 'none'. */
  readonly lock: string;
  /** The kernel function that takes it, e.g. `isolate_movable_page`. */
  readonly fn: string;
  /** Why no shortest interleaving reaches it at the default scope, when none does. */
  readonly largerScope?: string;
}

/**
 * The lifecycle of one kind of page: a plain XState machine whose states are the
 * page's lifecycle states and whose transitions (one event each, `meta` a
 * LifecycleMeta) are the moves the protocol allows; and the abstraction function
 * from the packed world to a page's state, the one place that reads the page.
 */
export interface Lifecycle {
  /** Kebab-case, e.g. `nonlru-page`. */
  readonly name: string;
  readonly title: string;
  readonly machine: AnyStateMachine;
  /** The pfns whose lifecycle this is (or, with `bytes`, the ids of its units). */
  readonly pages: readonly number[];
  /**
   * Optional, for a lifecycle over something that is not a struct page (a
   * pageblock, whose migratetype lives in the zone's bytes): the world bytes
   * [from, to) that unit `id` of `pages` is read from. state(m, id) must depend on
   * nothing else. Without it, unit p is the struct page p (bytes p * stride ..).
   */
  bytes?(id: number): readonly [number, number];
  /**
   * The page's state: a state name of `machine`, or null when the page is, at
   * this moment, none of this machine's business (another lifecycle has it).
   * It must depend on nothing that can change without a byte of the page's own
   * struct page changing.
   */
  state(m: Uint8Array, pfn: number): string | null;
  /**
   * Optional fast path for the monitor: true only when the page's state is
   * certainly the same after the step as before (e.g. only its refcount moved
   * between non-zero values), so that state() need not be computed twice.
   */
  unchanged?(pre: Uint8Array, post: Uint8Array, pfn: number): boolean;
  /** The actor that holds the page (e.g. the CPU that isolated it), or -1. */
  holder(m: Uint8Array, pfn: number): number;
  /** Does `actor` hold lock `name` over the page in the step from pre to post? */
  readonly locks: Readonly<Record<string, (pre: Uint8Array, post: Uint8Array, pfn: number, actor: number) => boolean>>;
}

export interface Variant {
  readonly name: string;
  /** The kernel (or driver) function the variant changes, with its file: a variant is data about the code. */
  readonly kernelFunction?: string;
  /** What was put back, in a sentence. */
  readonly description: string;
  /** The commit, patch or review message it comes from. */
  readonly source: string;
  /** What exploration must find (for a fix: the property of the finding it fixes). */
  readonly expect: { readonly kind: ViolationKind; readonly property: string };
  /**
   * A fix (`fix-...`) of a finding in the system's default code: exploration at the
   * variant's scope must pass, where the default violates `expect`.
   */
  readonly fix?: boolean;
  /** The kernel version the variant belongs to, for systems that model several (absent: the default). */
  readonly kernel?: string;
}

export interface ScopeParam {
  readonly min: number;
  /** The most an exhaustive search takes. */
  readonly max: number;
  /** The most `pagerace simulate` (random schedules) takes; absent: 4 * max. */
  readonly simulateMax?: number;
  readonly default: number;
  readonly description: string;
}

export type Scope = Readonly<Record<string, number>>;

/**
 * A rule of a system's contract with drivers, as the seed states it, and what checks
 * it. `pagerace contracts` renders these into docs/driver-contract.md; it fails when
 * a rule names a property or a variant the model does not have.
 */
export interface ContractRule {
  /** Kebab-case, stable. */
  readonly id: string;
  /** The rule in the seed's own words (quoted text), possibly shortened with [...]. */
  readonly text: string;
  /** Where the words come from: document, patch, review message. */
  readonly source: string;
  /** Who must keep it: the driver, the VM on the driver's behalf, or both halves together. */
  readonly party: 'driver' | 'vm' | 'both';
  /**
   * What enforces it: model property names, 'deadlock', or a kernel assertion as the
   * kernel writes it (e.g. `VM_BUG_ON_PAGE(!PageLocked(page))`). Empty: not modelled.
   */
  readonly enforcedBy: readonly string[];
  /** Variants that break it; each must expect one of `enforcedBy`. */
  readonly brokenBy: readonly string[];
  /** Why the model cannot check it, when enforcedBy is empty. */
  readonly note?: string;
}

/**
 * The driver's own thread, as a step program (the easy way: ProgramBuilder and the
 * kernel core's functions) or as a ready XState machine built the way
 * models/common/machine.ts builds one (every guard and action carrying its pure
 * function as `.raw`, context { w, l, self }).
 */
export type DriverThread =
  | { readonly program: ProgramBuilder; readonly initial: string }
  | { readonly machine: AnyStateMachine; readonly locals: readonly string[]; readonly initialLocals?: readonly number[] };

/** a_ops->isolate_page, ->migratepage, ->putback_page; the system supplies the mapping. */
export type DriverOps = Omit<MovableOps, 'mapping'> & { readonly mapping?: number };

/**
 * A driver a user brings with `pagerace check <system> --driver FILE`: the module
 * exports `driver` (or a default export) of this type. `Layout` is the system's
 * description of where the driver's state lives in the packed world (for nonlru:
 * NonlruLayout, its list, spinlock, isolated count and slot table), which the
 * system's properties read.
 */
export interface Driver<Layout = unknown> {
  /** Shown in traces and messages, e.g. `my-balloon`. */
  readonly name: string;
  readonly description?: string;
  /** The callbacks, emitted into each CPU's program (they run in the CPU's context). */
  ops(lay: Layout): DriverOps;
  /** The driver's own thread: allocate, make movable, release, stop. */
  thread(lay: Layout): DriverThread;
}

/** What a system that takes user drivers says about them. */
export interface DriverSlot {
  /** The actor a user's driver replaces, e.g. `driver`. */
  readonly actor: string;
  /** What the layout gives the driver and what the properties expect of it, in a sentence. */
  readonly description: string;
}

export interface System {
  readonly name: string;
  readonly title: string;
  /** The kernel version the system models by default, e.g. `v4.8`. */
  readonly kernel: string;
  /**
   * Every kernel version the system can model (`check --kernel VERSION`), the default
   * (`kernel`) among them. Absent: `kernel` only.
   */
  readonly kernels?: readonly string[];
  readonly description: string;
  /** Scope parameters; each becomes a `--<name> N` flag. */
  readonly scope: Readonly<Record<string, ScopeParam>>;
  /**
   * Optional: why a scope whose every parameter is within its bounds still makes no
   * sense together (e.g. no page at all), or null. The CLI reports it in one line.
   */
  scopeError?(scope: Scope): string | null;
  readonly variants: readonly Variant[];
  /** The contract with drivers, rule by rule; absent: docs list the properties instead. */
  readonly contract?: readonly ContractRule[];
  /** Present when the system can check a user's driver (`--driver FILE`). */
  readonly driverSlot?: DriverSlot;
  /**
   * `driver` replaces the system's own driver (only when `driverSlot` is set); the
   * system checks its shape and throws DriverError (src/driver.ts) when it does not fit.
   * `kernel` is one of `kernels` (the CLI checks it); absent means `kernel`.
   */
  build(scope: Scope, variant: string | null, driver?: Driver<never>, kernel?: string): Model;
}
