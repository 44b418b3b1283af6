/**
 * The one contract between models and the walker: types only.
 *
 * A System builds a Model from a scope (how many CPUs, pages, ...) and an optional
 * variant (a known bug put back). A Model is a set of XState actors over one packed
 * world plus the properties to check. The walker never looks past these types.
 */
import type { AnyStateMachine } from 'xstate';

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
  /** Kebab-case, stable: tests, traces and docs refer to it. */
  readonly name: string;
  /** The rule, in a sentence a driver author can act on. */
  readonly rule: string;
  /** Where the rule comes from: kernel file and function, seed message. */
  readonly source: string;
}

/** Checked on every reachable state, before it is queued. Returns null or what is wrong. */
export interface StateInvariant extends PropertyBase {
  readonly kind: 'invariant';
  readonly scope: 'state';
  check(m: Uint8Array): string | null;
}

/** Checked on every step: the packed state before and after, and who stepped. */
export interface StepInvariant extends PropertyBase {
  readonly kind: 'invariant';
  readonly scope: 'step';
  check(pre: Uint8Array, post: Uint8Array, actor: number): string | null;
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
  /** Named scalar fields of the world beyond struct page: [name, byte offset, render]. */
  readonly globals: readonly { name: string; at: number; render?: (v: number) => string }[];
  /**
   * Optional fields computed from the whole world (a free list's order, the
   * pageblock migratetypes), shown in traces when their text changes.
   */
  readonly derived?: readonly { name: string; render: (m: Uint8Array) => string }[];
}

export interface Model {
  readonly actors: readonly ActorDef[];
  /** The initial world, excluding actors' program counters and locals. */
  readonly world: Uint8Array;
  readonly properties: readonly Property[];
  readonly view: WorldView;
}

export interface Variant {
  readonly name: string;
  /** What was put back, in a sentence. */
  readonly description: string;
  /** The commit, patch or review message it comes from. */
  readonly source: string;
  /** What exploration must find. */
  readonly expect: { readonly kind: ViolationKind; readonly property: string };
}

export interface ScopeParam {
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly description: string;
}

export type Scope = Readonly<Record<string, number>>;

export interface System {
  readonly name: string;
  readonly title: string;
  /** The kernel version the system models, e.g. `v4.8`. */
  readonly kernel: string;
  readonly description: string;
  /** Scope parameters; each becomes a `--<name> N` flag. */
  readonly scope: Readonly<Record<string, ScopeParam>>;
  readonly variants: readonly Variant[];
  build(scope: Scope, variant: string | null): Model;
}
