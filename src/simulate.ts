/**
 * `pagerace simulate` as a library call: random schedules of a system at a scope
 * up to its simulate maxima (explore/simulate.ts), and a failure's trace rebuilt
 * and replayed like every trace `check` writes.
 *
 * Shrinking ends, here, with a search at smaller scopes (the lift): a random
 * schedule at 8 CPUs and 16 pages fails late (at the fourth page, after the pages
 * before it were allocated and scanned), and no subsequence of it moves the failure
 * earlier. An exhaustive breadth-first search at a scope cut down to each
 * parameter's minimum or default (nonlru: 1 or 2 CPUs, 1 or 2 pages, no scan mix or
 * the given one) finds that scope's shortest violation; its steps, by actor and
 * state names, are replayed at the given scope, and a replay that breaks a safety
 * property there in fewer steps is the trace reported. Nothing is assumed about the
 * two scopes being alike: the replay at the given scope is the check (a step not
 * possible there, or a run that breaks nothing, is dropped), and the trace is
 * rebuilt and replayed again like every other. The searches stop at a number of
 * states, not of seconds, so the same seed gives the same trace on any machine.
 */
import { InputError, buildModel, resolveKernel, resolveScope, resolveSystem, resolveVariant } from './index.ts';
import { compile, type Compiled, type CompiledBranch } from './explore/compile.ts';
import { enabledBranch, takeStep, type Finding } from './explore/check.ts';
import { countPreemptions } from './explore/bounded.ts';
import { simulate, type SimulateOptions, type SimulateResult } from './explore/simulate.ts';
import { walk, type FoundViolation, type StepRef } from './explore/walker.ts';
import { namedBranch, rebuild, type NamedStep, type Trace } from './trace/trace.ts';
import type { Scope, System } from './system.ts';

export interface SimulateOutcome {
  readonly system: System;
  readonly scope: Scope;
  /** The kernel version simulated: the variant's own, else the system's. */
  readonly kernel: string;
  readonly variant: string | null;
  readonly compiled: Compiled;
  readonly result: SimulateResult;
  readonly trace?: Trace;
  /** The smaller scope whose shortest violation, replayed here, is the trace (see the lift). */
  readonly liftedFrom?: Scope;
}

/** States each search at a smaller scope may store (a count, so that a seed gives the same trace anywhere). */
export const LIFT_STATES = 400_000;

export function simulateSystem(
  systemName: string, given: Readonly<Record<string, number | undefined>>, variant: string | null, opts: SimulateOptions & { readonly noLift?: boolean },
): SimulateOutcome {
  const system = resolveSystem(systemName);
  const scope = resolveScope(system, given, true);
  resolveVariant(system, variant);
  const kernel = resolveKernel(system, undefined, variant);
  let compiled: Compiled;
  try {
    compiled = compile(buildModel(system, scope, variant, undefined, kernel));
  } catch (e) {
    throw new InputError(`${system.name} cannot be built at ${Object.entries(scope).map(([k, v]) => `--${k} ${v}`).join(' ')}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const por = opts.por ?? true;
  let liftedFrom: Scope | undefined;
  // Every smaller scope is tried (each search is small) and the shortest replay kept, the first among equals.
  const lift = (best: FoundViolation): FoundViolation | null => {
    let shortest: FoundViolation | null = null;
    for (const small of smallerScopes(system, scope)) {
      const found = liftFrom(system, small, variant, kernel, compiled, por, (shortest ?? best).steps.length);
      if (found) { liftedFrom = small; shortest = found; }
    }
    return shortest;
  };
  const result = simulate(compiled, { ...opts, ...(opts.noLift ? {} : { lift }) });
  const trace = result.violation
    ? rebuild(compiled, result.violation, { system: system.name, kernel, scope, variant }, por)
    : undefined;
  return { system, scope, kernel, variant, compiled, result, trace, ...(liftedFrom && result.shrinking?.lifted !== null ? { liftedFrom } : {}) };
}

/**
 * The scopes to lift from: each parameter at its minimum or at the smaller of its
 * default and the given value (never past the exhaustive maximum), the given scope
 * itself left out; smallest first (by the product of the values above each minimum), so that
 * among replays of equal length the smallest scope's is kept.
 */
export function smallerScopes(system: System, scope: Scope): Scope[] {
  let scopes: Record<string, number>[] = [{}];
  for (const [k, p] of Object.entries(system.scope)) {
    const values = [...new Set([p.min, Math.min(scope[k], p.default, p.max)])];
    scopes = scopes.flatMap((s) => values.map((v) => ({ ...s, [k]: v })));
  }
  const size = (s: Scope) => Object.entries(system.scope).reduce((n, [k, p]) => n * (s[k] - p.min + 1), 1);
  return scopes
    .filter((s) => !Object.keys(system.scope).every((k) => s[k] === scope[k]) && !system.scopeError?.(s))
    .map((s, i) => ({ s, i }))
    .sort((x, y) => size(x.s) - size(y.s) || x.i - y.i)
    .map((x) => x.s);
}

/**
 * The shortest violation at scope `small`, replayed at the given scope (`big`):
 * its steps there as the walker counts them, if it breaks a safety property in
 * fewer than `shorterThan` steps; else null.
 */
function liftFrom(
  system: System, small: Scope, variant: string | null, kernel: string, big: Compiled, por: boolean, shorterThan: number,
): FoundViolation | null {
  let c: Compiled;
  try {
    c = compile(buildModel(system, small, variant, undefined, kernel));
  } catch {
    return null; // the system cannot be built there
  }
  const w = walk(c, { por, maxStates: LIFT_STATES });
  const v = w.violation;
  if (!v || (v.kind !== 'invariant' && v.kind !== 'kernel-bug')) return null;
  const named = rebuild(c, v, { system: system.name, kernel, scope: small, variant }, por).steps;
  const r = liftSteps(big, named, por);
  if (r === null || r.steps.length >= shorterThan) return null;
  return { ...r.finding, steps: r.steps, preemptions: countPreemptions(big, r.steps.map((x) => x.actor), r.states) };
}

/** Steps an actor may take on its own to catch up with a lifted step (see liftSteps). */
const CATCH_UP = 256;

/**
 * Named steps of a smaller scope (every step explicit, as a trace file lists them)
 * run at the given scope as the walker's steps: with chaining, a local step runs
 * with the step before it and is not listed. Where a step is not possible because
 * its actor is elsewhere (nonlru's driver allocates each of its pages before it
 * goes idle, so at 16 pages it still allocates where at 2 it released), the actor
 * takes its own steps first, as long as it has exactly one step to take, until the
 * named one is possible. Returns the steps, the state before each and the safety
 * property broken, or null (the steps do not run, or break nothing).
 */
function liftSteps(c: Compiled, named: readonly (NamedStep & { local: boolean })[], por: boolean): { steps: StepRef[]; states: Uint8Array[]; finding: Finding } | null {
  let m = Uint8Array.from(c.initial);
  let next = new Uint8Array(c.stateSize);
  const steps: StepRef[] = [];
  const states: Uint8Array[] = [];
  /** The step `s` names, if possible in m: its branch (or the assertion its guard fires). */
  const named1 = (actor: number, s: NamedStep): { br: CompiledBranch | Finding; id: number } | null => {
    const found = namedBranch(c, actor, s, m);
    return typeof found === 'string' ? null : { br: found.fired ?? found.br, id: found.br.id };
  };
  /** The actor's one enabled step, if it has exactly one. */
  const only = (actor: number): CompiledBranch | null => {
    let one: CompiledBranch | null = null;
    for (const g of c.actors[actor].groups[m[c.actors[actor].base]]) {
      const br = enabledBranch(c, actor, g, m);
      if (br === null) continue;
      if ('kind' in br || one !== null) return null;
      one = br;
    }
    return one;
  };
  const take = (actor: number, br: CompiledBranch | Finding, id: number): Finding | null => {
    states.push(m.slice());
    steps.push({ actor, branch: id });
    if ('kind' in br) return br;
    const bad = takeStep(c, actor, br, m, next, por);
    [m, next] = [next, m];
    return bad;
  };
  for (const s of named) {
    if (por && s.local) continue;
    const actor = c.actors.findIndex((a) => a.name === s.actor);
    if (actor < 0) return null;
    let step = named1(actor, s);
    for (let n = 0; step === null && n < CATCH_UP; n++) {
      const br = only(actor);
      if (br === null) return null;
      const bad = take(actor, br, br.id);
      if (bad) return bad.kind === 'invariant' || bad.kind === 'kernel-bug' ? { steps, states, finding: bad } : null;
      step = named1(actor, s);
    }
    if (step === null) return null;
    const bad = take(actor, step.br, step.id);
    if (bad) return bad.kind === 'invariant' || bad.kind === 'kernel-bug' ? { steps, states, finding: bad } : null;
  }
  return null;
}
