/**
 * Compile a model's XState machines into flat transition tables over one packed
 * state vector:
 *
 *   [ world (model.world.length bytes) | actor 0: pc, locals... | actor 1: ... | pad ]
 *
 * The walker reads each machine's definition once (flat states, event -> ordered
 * transitions, named guards and actions with static params) and looks up the pure
 * function each named guard or action carries as `.raw`. Anything it cannot run
 * exactly as XState would is rejected with a CompileError naming the culprit.
 */
import type { AnyStateMachine } from 'xstate';
import type { ActionFn, GuardFn, Params } from '../kernel/program.ts';
import type { EndProperty, Model, StateInvariant, StepInvariant } from '../system.ts';

export class CompileError extends Error {
  override name = 'CompileError';
}

export interface CompiledBranch {
  /** Index in the actor's `branches`. */
  readonly id: number;
  readonly from: number;
  readonly event: string;
  readonly guard: GuardFn | null;
  readonly guardName: string | null;
  readonly guardParams: Params;
  readonly actions: readonly ActionFn[];
  readonly actionNames: readonly string[];
  readonly actionParams: readonly Params[];
  readonly target: number;
  /** The bounded exit of an uncounted loop (the transition's meta.fairExit; Branch.fairExit in program.ts). */
  readonly fairExit: boolean;
}

export interface CompiledActor {
  readonly name: string;
  readonly kind: string;
  /** Offset of the program counter in the state vector; locals follow it. */
  readonly base: number;
  readonly states: readonly string[];
  readonly fnOf: readonly string[];
  readonly descOf: readonly string[];
  readonly final: Uint8Array;
  /** pc -> 1 when the state is a local step (StepNode.local): see check.ts runLocalChain. */
  readonly local: Uint8Array;
  /** pc -> event groups -> branches in document order (the first enabled one is taken). */
  readonly groups: readonly (readonly (readonly CompiledBranch[])[])[];
  readonly branches: readonly CompiledBranch[];
  readonly locals: readonly string[];
}

export interface Compiled {
  readonly model: Model;
  readonly actors: readonly CompiledActor[];
  readonly worldSize: number;
  /** Bytes per state, a multiple of 4 so that hashing can read words. */
  readonly stateSize: number;
  readonly initial: Uint8Array;
  readonly stateInvariants: readonly StateInvariant[];
  readonly stepInvariants: readonly StepInvariant[];
  readonly endProperties: readonly EndProperty[];
  /**
   * Per world byte: bit k set when state invariant k (stepWatch: step invariant k)
   * can be broken by a change to that byte (Property.watches; all bytes when it
   * does not say). Invariants past the 31st are always checked.
   */
  readonly stateWatch: Int32Array;
  readonly stepWatch: Int32Array;
}

/** See Compiled.stateWatch. */
function watchMasks(props: readonly (StateInvariant | StepInvariant)[], worldSize: number): Int32Array {
  const mask = new Int32Array(worldSize);
  props.forEach((p, k) => {
    if (k >= 31) return;
    for (let at = 0; at < worldSize; at++) if (!p.watches || p.watches(at)) mask[at] |= 1 << k;
  });
  return mask;
}

type RawCarrier = { raw?: unknown };

function compileActor(machine: AnyStateMachine, name: string, kind: string, base: number, locals: readonly string[]): CompiledActor {
  const root = machine.root;
  if (root.type !== 'compound') throw new CompileError(`${name}: the machine's root must have child states`);
  const keys = Object.keys(root.states);
  if (keys.length > 255) throw new CompileError(`${name}: ${keys.length} states; a program counter holds at most 255`);
  const index = new Map(keys.map((k, i) => [k, i]));
  const initialKey = root.initial?.target?.[0]?.key;
  if (initialKey === undefined) throw new CompileError(`${name}: no initial state`);
  // The initial state must be pc 0 so that a zeroed pc means "at the start".
  if (index.get(initialKey) !== 0) {
    keys.splice(keys.indexOf(initialKey), 1);
    keys.unshift(initialKey);
    keys.forEach((k, i) => index.set(k, i));
  }
  const guards = machine.implementations.guards as Record<string, RawCarrier>;
  const actions = machine.implementations.actions as Record<string, RawCarrier>;
  const branches: CompiledBranch[] = [];
  const groups: CompiledBranch[][][] = [];
  const final = new Uint8Array(keys.length);
  const local = new Uint8Array(keys.length);
  const fnOf: string[] = [];
  const descOf: string[] = [];
  keys.forEach((key, pc) => {
    const node = root.states[key];
    if (node.type === 'final') final[pc] = 1;
    else if (node.type !== 'atomic') throw new CompileError(`${name}: state '${key}' is ${node.type}; only flat machines compile`);
    if (node.always?.length) throw new CompileError(`${name}: state '${key}' has eventless transitions; every step must be an event`);
    if (node.entry.length || node.exit.length) throw new CompileError(`${name}: state '${key}' has entry/exit actions; put effects on transitions`);
    const meta = node.meta as { fn?: string; local?: boolean } | undefined;
    fnOf.push(String(meta?.fn ?? '-'));
    if (meta?.local) {
      if (node.transitions.size !== 1) throw new CompileError(`${name}: local state '${key}' must have exactly one event`);
      local[pc] = 1;
    }
    descOf.push(node.description ?? key);
    const perEvent: CompiledBranch[][] = [];
    for (const [event, defs] of node.transitions) {
      const group: CompiledBranch[] = [];
      for (const def of defs) {
        const targets = def.target ?? [];
        if (targets.length !== 1) throw new CompileError(`${name}: '${key}' on ${event}: exactly one target is needed`);
        const target = index.get(targets[0].key);
        if (target === undefined || targets[0].parent !== root) throw new CompileError(`${name}: '${key}' on ${event}: target is not a sibling state`);
        let guard: GuardFn | null = null;
        let guardName: string | null = null;
        let guardParams: Params = {};
        if (def.guard) {
          const g = def.guard as { type?: string; params?: Params };
          if (typeof g !== 'object' || typeof g.type !== 'string') throw new CompileError(`${name}: '${key}' on ${event}: guards must be named`);
          const raw = guards[g.type]?.raw;
          if (typeof raw !== 'function') throw new CompileError(`${name}: guard '${g.type}' has no pure step function (.raw)`);
          guard = raw as GuardFn;
          guardName = g.type;
          guardParams = g.params ?? {};
        }
        const acts: ActionFn[] = [];
        const actNames: string[] = [];
        const actParams: Params[] = [];
        for (const a of def.actions as { type?: string; params?: Params }[]) {
          if (typeof a !== 'object' || typeof a.type !== 'string') throw new CompileError(`${name}: '${key}' on ${event}: actions must be named`);
          const raw = actions[a.type]?.raw;
          if (typeof raw !== 'function') throw new CompileError(`${name}: action '${a.type}' has no pure step function (.raw)`);
          acts.push(raw as ActionFn);
          actNames.push(a.type);
          actParams.push(a.params ?? {});
        }
        const fairExit = (def.meta as { fairExit?: unknown } | undefined)?.fairExit === true;
        if (fairExit && meta?.local) throw new CompileError(`${name}: '${key}' on ${event}: a local step takes no choice, so it has no fair exit`);
        const br: CompiledBranch = {
          id: branches.length, from: pc, event, guard, guardName, guardParams,
          actions: acts, actionNames: actNames, actionParams: actParams, target, fairExit,
        };
        branches.push(br);
        group.push(br);
      }
      perEvent.push(group);
    }
    groups.push(perEvent);
  });
  if (branches.length > 0xffff) throw new CompileError(`${name}: more than 65535 transitions`);
  return { name, kind, base, states: keys, fnOf, descOf, final, local, groups, branches, locals };
}

export function compile(model: Model): Compiled {
  if (model.actors.length > 255) throw new CompileError('at most 255 actors');
  const worldSize = model.world.length;
  let at = worldSize;
  const actors: CompiledActor[] = [];
  for (const a of model.actors) {
    actors.push(compileActor(a.machine, a.name, a.kind, at, a.locals));
    at += 1 + a.locals.length;
  }
  const stateSize = (at + 3) & ~3;
  const initial = new Uint8Array(stateSize);
  initial.set(model.world, 0);
  model.actors.forEach((a, i) => {
    initial[actors[i].base] = 0;
    a.initialLocals.forEach((v, j) => { initial[actors[i].base + 1 + j] = v; });
  });
  const stateInvariants = model.properties.filter((p): p is StateInvariant => p.scope === 'state');
  const stepInvariants = model.properties.filter((p): p is StepInvariant => p.scope === 'step');
  return {
    model,
    actors,
    worldSize,
    stateSize,
    initial,
    stateInvariants,
    stepInvariants,
    endProperties: model.properties.filter((p): p is EndProperty => p.scope === 'end'),
    stateWatch: watchMasks(stateInvariants, worldSize),
    stepWatch: watchMasks(stepInvariants, worldSize),
  };
}
