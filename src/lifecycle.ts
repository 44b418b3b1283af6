/**
 * Witnesses of the lifecycle machines (Model.lifecycles): for every transition of
 * every machine, a shortest interleaving of the model that takes it, found by one
 * breadth-first search with a `sometimes` property per transition (Stateright's
 * `sometimes`: the proof that the scope exercises it). The page-lifecycle monitor
 * (properties/lifecycle.ts) says which transition each step's page moves are.
 */
import { PAGE_LIFECYCLE, type LifecycleMonitor, type LifecycleTransition, lifecycleTransitions } from '../properties/lifecycle.ts';
import { compile } from './explore/compile.ts';
import { walk, type StepRef } from './explore/walker.ts';
import type { Lifecycle, Model } from './system.ts';

export interface TransitionWitness extends LifecycleTransition {
  readonly lifecycle: string;
  /** Steps of a shortest witness (local steps not counted, as traces count them), or null. */
  readonly length: number | null;
  readonly steps: readonly StepRef[] | null;
}

export interface WitnessSearch {
  readonly witnesses: readonly TransitionWitness[];
  /** States the search visited before every witness was found (or the whole space). */
  readonly states: number;
  readonly seconds: number;
  /** False when a limit stopped the search before it could rule a witness out. */
  readonly complete: boolean;
}

/** The monitor a model carries (the `page-lifecycle` property), or null. */
export function monitorOf(model: Model): LifecycleMonitor | null {
  const p = model.properties.find((x) => x.name === PAGE_LIFECYCLE) as LifecycleMonitor | undefined;
  return p && typeof p.witness === 'function' ? p : null;
}

/** Every transition of a model's lifecycle machines, in order, with its lifecycle. */
export function transitionsOf(lifecycles: readonly Lifecycle[]): { lifecycle: number; transition: LifecycleTransition }[] {
  return lifecycles.flatMap((lc, i) => lifecycleTransitions(lc).map((transition) => ({ lifecycle: i, transition })));
}

/**
 * One search of `model` (with its symmetry and chained local steps, as `check`)
 * that stops once every transition has a witness of least length (with
 * `largerScope`, also the transitions marked as needing a larger scope).
 */
export function searchWitnesses(model: Model, opts: { maxSeconds?: number; largerScope?: boolean } = {}): WitnessSearch {
  const lifecycles = model.lifecycles ?? [];
  const monitor = monitorOf(model);
  if (!monitor) throw new Error('the model has lifecycles but no page-lifecycle property');
  const all = transitionsOf(lifecycles);
  // Only the transitions that must have a witness at this scope are searched for,
  // so that the search stops as soon as they all have one.
  const wanted: number[][] = lifecycles.map(() => []);
  const slot: number[] = [];
  for (const { lifecycle, transition } of all) {
    // opts.largerScope: those marked as needing a larger scope too (run at that scope).
    const i = transition.meta.largerScope && !opts.largerScope ? -1 : slot.filter((x) => x >= 0).length;
    wanted[lifecycle].push(i);
    slot.push(i);
  }
  const c = compile(model);
  const r = walk(c, {
    maxSeconds: opts.maxSeconds,
    sometimes: {
      count: slot.filter((x) => x >= 0).length,
      hits: (pre, post, actor, hit) => monitor.witness(pre, post, actor, (l, t) => { const i = wanted[l][t]; if (i >= 0) hit(i); }),
    },
  });
  const witnesses = all.map(({ lifecycle, transition }, k) => {
    const steps = slot[k] >= 0 ? r.witnesses?.[slot[k]] ?? null : null;
    return { lifecycle: lifecycles[lifecycle].name, ...transition, steps, length: steps ? stepLength(c, steps) : null };
  });
  return { witnesses, states: r.states, seconds: r.seconds, complete: r.verdict !== 'incomplete' || r.limit === 'every sometimes property witnessed' };
}

/** A trace's length as traces count it: steps that are not local. */
function stepLength(c: ReturnType<typeof compile>, steps: readonly StepRef[]): number {
  return steps.filter((s) => c.actors[s.actor].local[c.actors[s.actor].branches[s.branch].from] === 0).length;
}
