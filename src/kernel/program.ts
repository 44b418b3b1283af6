/**
 * Kernel functions split into atomic steps, as plain data.
 *
 * A program is a small control-flow graph: each node is an interleaving point (a
 * lock taken or released, an atomic operation, an unlocked access to a shared field)
 * and each branch out of it is one atomic step: an optional guard, the effects, and
 * the next node. Guards and effects are named pure functions over the packed vector
 * `m`, the stepping actor's locals base `L`, static params `P`, and the actor index
 * `A`. Params hold numbers only: slots of the actor's locals, list ids, constants.
 *
 * The kernel core writes its functions as program fragments; models/ assemble the
 * fragments into one program per actor and turn it into an XState machine. This
 * file knows nothing of XState or of the walker.
 */
export type Params = Readonly<Record<string, number>>;
export type GuardFn = (m: Uint8Array, L: number, P: Params, A: number) => boolean;
export type ActionFn = (m: Uint8Array, L: number, P: Params, A: number) => void;

export interface Ref {
  readonly type: string;
  readonly params: Params;
}
export interface Branch {
  readonly guard?: Ref;
  readonly actions: readonly Ref[];
  readonly target: string;
  /**
   * The branch is the bounded exit of a loop that the model does not count (a
   * retry whose counter the kernel keeps and the model abstracts away): a run that
   * comes to this choice infinitely often, the branch enabled, takes it infinitely
   * often (strong fairness on the branch; see src/explore/liveness.ts). Safety
   * search ignores it.
   */
  readonly fairExit?: true;
}
export interface StepNode {
  /** The kernel (or driver) function this step belongs to, for traces. */
  readonly fn: string;
  /** What the step does, in the kernel's words, for traces and diagrams. */
  readonly desc: string;
  /**
   * Event type -> branches. Within one event the first branch whose guard holds is
   * taken (the kernel's if/else); several events at one node are a nondeterministic
   * choice (a driver's answer, an owner's decision).
   */
  readonly on: Readonly<Record<string, readonly Branch[]>>;
  readonly final?: boolean;
  /**
   * The step reads and writes only what no other actor and no property looks at
   * (the actor's locals, its private lists and pages), is always enabled and takes
   * no choice: the walker may run it right after the actor's previous step.
   */
  readonly local?: boolean;
}

/** The event of a step that involves no choice. */
export const STEP = 'step';

export class ProgramBuilder {
  readonly nodes: Record<string, StepNode> = {};
  readonly guards: Record<string, GuardFn> = {};
  readonly actions: Record<string, ActionFn> = {};
  readonly locals: string[] = [];
  /**
   * Actions declared local: they read and write only what a local step may (the
   * actor's locals, its private lists and pages). Every action of a step built with
   * localStep() is local by that declaration; b.a(..., { local: true }) declares one.
   */
  readonly localActions = new Set<string>();
  /** Guards built by and(): name -> the names of its parts, resolved at validate(). */
  readonly composites = new Map<string, readonly [string, string]>();
  private readonly initial: number[] = [];

  constructor(readonly id: string) {}

  /** Allocate (or find) a slot in the actor's locals. */
  local(name: string, init = 0): number {
    const at = this.locals.indexOf(name);
    if (at >= 0) return at;
    this.locals.push(name);
    this.initial.push(init);
    return this.locals.length - 1;
  }

  initialLocals(): number[] {
    return [...this.initial];
  }

  /** A guard reference; the function is registered under its name once. */
  g(name: string, fn: GuardFn, params: Params = {}): Ref {
    register(this.guards, name, fn);
    return { type: name, params };
  }

  /** An effect reference; the function is registered under its name once. */
  a(name: string, fn: ActionFn, params: Params = {}, opts?: { readonly local?: boolean }): Ref {
    register(this.actions, name, fn);
    if (opts?.local) this.localActions.add(name);
    return { type: name, params };
  }

  step(label: string, fn: string, desc: string, on: Record<string, Branch[]>, local = false): void {
    if (this.nodes[label]) throw new Error(`program ${this.id}: step '${label}' defined twice`);
    this.nodes[label] = local ? { fn, desc, on, local } : { fn, desc, on };
  }

  /** A step with one event and a single list of if/else branches. */
  steps(label: string, fn: string, desc: string, branches: Branch[]): void {
    this.step(label, fn, desc, { [STEP]: branches });
  }

  /** A local step (see StepNode.local): its last branch must be unguarded. */
  localStep(label: string, fn: string, desc: string, branches: Branch[]): void {
    if (branches[branches.length - 1].guard) throw new Error(`program ${this.id}: local step '${label}' may block`);
    for (const br of branches) for (const a of br.actions) this.localActions.add(a.type);
    this.step(label, fn, desc, { [STEP]: branches }, true);
  }

  /**
   * A guard that holds when both do, registered under "a && b". Params are merged;
   * the two guards must agree on any param they share.
   */
  and(x: Ref, y: Ref): Ref {
    for (const k of Object.keys(y.params)) {
      if (k in x.params && x.params[k] !== y.params[k]) throw new Error(`guards '${x.type}' and '${y.type}' disagree on param '${k}'`);
    }
    const name = `${x.type} && ${y.type}`;
    // The parts are resolved by name when the program is validated (compiled), so a
    // variant that replaces one part with replaceGuard() changes every guard built on it.
    this.composites.set(name, [x.type, y.type]);
    if (!this.guards[name]) this.resolveComposite(name);
    return { type: name, params: { ...x.params, ...y.params } };
  }

  private resolveComposite(name: string): void {
    const [x, y] = this.composites.get(name)!;
    const f: GuardFn | undefined = this.guards[x];
    const g: GuardFn | undefined = this.guards[y];
    if (!f || !g) throw new Error(`program ${this.id}: guard '${name}' combines unknown guard '${f === undefined ? x : y}'`);
    this.guards[name] = (m, L, P, A) => f(m, L, P, A) && g(m, L, P, A);
  }

  /** Put a known bug back: swap the function registered under a guard's name. */
  replaceGuard(name: string, fn: GuardFn): void {
    if (!this.guards[name]) throw new Error(`program ${this.id}: no guard '${name}' to replace`);
    if (this.composites.has(name)) throw new Error(`program ${this.id}: guard '${name}' is built by and(); replace one of its parts`);
    this.guards[name] = fn;
  }

  /**
   * Put a known bug back: replace one step's branches. Variants use this so that the
   * correct code stays the only code in the kernel core.
   */
  replace(label: string, on: Record<string, Branch[]>, desc?: string): void {
    const node = this.nodes[label];
    if (!node) throw new Error(`program ${this.id}: no step '${label}' to replace`);
    if (node.local) this.checkLocal(label, on);
    this.nodes[label] = { ...node, on, desc: desc ?? node.desc };
  }

  /**
   * A local step's contract (StepNode.local): one event, its last branch unguarded,
   * and only actions declared local. A replacement that breaks it is refused, with
   * one line, when the model is built.
   */
  private checkLocal(label: string, on: Record<string, Branch[]>): void {
    const events = Object.keys(on);
    const branches = on[STEP] ?? [];
    if (events.length !== 1 || events[0] !== STEP || branches.length === 0 || branches[branches.length - 1].guard) {
      throw new Error(`program ${this.id}: step '${label}' is local; a replacement may not block or take a choice`);
    }
    for (const br of branches) {
      for (const a of br.actions) {
        if (!this.localActions.has(a.type)) {
          throw new Error(`program ${this.id}: step '${label}' is local; action '${a.type}' is not declared local (b.a(name, fn, params, { local: true }))`);
        }
      }
    }
  }

  /**
   * Put a known bug back: swap the function registered under an action's name. An
   * action of a local step may only be replaced by one declared local too.
   */
  replaceAction(name: string, fn: ActionFn, opts?: { readonly local?: boolean }): void {
    if (!this.actions[name]) throw new Error(`program ${this.id}: no action '${name}' to replace`);
    if (this.localActions.has(name) && !opts?.local) {
      throw new Error(`program ${this.id}: action '${name}' runs in a local step; its replacement must be declared local (replaceAction(name, fn, { local: true }))`);
    }
    this.actions[name] = fn;
  }

  final(label: string, desc = 'done'): void {
    this.nodes[label] = { fn: '-', desc, on: {}, final: true };
  }

  /** Check that every target exists, so a typo fails at build time; resolve and() guards by name. */
  validate(): void {
    for (const name of this.composites.keys()) this.resolveComposite(name);
    for (const [label, node] of Object.entries(this.nodes)) {
      for (const branches of Object.values(node.on)) {
        for (const br of branches) {
          if (!this.nodes[br.target]) {
            throw new Error(`program ${this.id}: step '${label}' goes to unknown step '${br.target}'`);
          }
        }
      }
    }
  }
}

function register<F>(table: Record<string, F>, name: string, fn: F): void {
  const have = table[name];
  if (have && have !== fn) throw new Error(`two different functions registered as '${name}'`);
  table[name] = fn;
}

/**
 * A branch marked as its choice's bounded exit (Branch.fairExit): the kernel's
 * counter, which the model does not keep, makes the loop take it in the end.
 */
export function fairExit(b: Branch): Branch {
  return { ...b, fairExit: true };
}

/** Branch helper: `br(target, actions?, guard?)`. */
export function br(target: string, actions: Ref[] = [], guard?: Ref): Branch {
  return guard ? { guard, actions, target } : { actions, target };
}
