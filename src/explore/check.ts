/**
 * One step of the compiled system and the checks after it, shared by the walker and
 * by replay so that both judge a step the same way.
 */
import { KernelBug } from '../kernel/bug.ts';
import type { ViolationKind } from '../system.ts';
import { DEADLOCK } from '../system.ts';
import { WordViews } from '../words.ts';
import type { Compiled, CompiledBranch } from './compile.ts';

export interface Finding {
  readonly kind: ViolationKind;
  readonly property: string;
  readonly message: string;
}

const bugFinding = (e: KernelBug): Finding => ({ kind: 'kernel-bug', property: e.assertion, message: e.message });

/** The property of a step whose guard or action threw something other than a KernelBug. */
export const CRASH = {
  name: 'uncaught-exception',
  rule: 'No step throws: a guard or action (a user driver\'s callback) that throws crashed the kernel in that interleaving.',
  source: 'pagerace walker: an exception other than a kernel assertion, thrown from a step.',
} as const;

/** A step, as people read it: `cpu0 at 'scan/isolate' on step (isolate_movable_page)`. */
export function stepName(c: Compiled, actor: number, br: CompiledBranch): string {
  const a = c.actors[actor];
  return `${a.name} at '${a.states[br.from]}' on ${br.event} (${a.fnOf[br.from]})`;
}

/**
 * A throw from a step: a kernel assertion is its own finding; anything else (a
 * user's driver hitting a TypeError) is a crash of the kernel in that interleaving,
 * a kernel-bug finding that names the step and the error, so the search goes on to
 * its shortest trace instead of ending with a stack trace.
 */
function thrownFinding(c: Compiled, actor: number, br: CompiledBranch, e: unknown, where: 'guard' | 'action'): Finding {
  if (e instanceof KernelBug) return bugFinding(e);
  const what = e instanceof Error ? `${e.name}: ${e.message}` : `throw ${typeof e === 'string' ? JSON.stringify(e) : String(e)}`;
  return { kind: 'kernel-bug', property: CRASH.name, message: `the ${where} of ${stepName(c, actor, br)} threw ${what}` };
}

/**
 * Where a watchdog can see the step in progress (see setStepProbe): [actor, branch
 * id, 1 while a guard or action runs, else 0]. Null: nobody watches.
 */
let probe: Int32Array | null = null;

/**
 * Publish every guard and action about to run in `p` (a view of a SharedArrayBuffer),
 * so that a thread that stops this one when a step never returns can name the step.
 * One search per thread: the probe belongs to the thread.
 */
export function setStepProbe(p: Int32Array | null): void {
  probe = p;
}

function entering(actor: number, br: CompiledBranch): void {
  probe![0] = actor;
  probe![1] = br.id;
  probe![2] = 1;
}

/** Is the branch's guard true? A guard may fire a kernel assertion or throw: that is a Finding. */
export function guardHolds(c: Compiled, actor: number, br: CompiledBranch, m: Uint8Array): boolean | Finding {
  if (br.guard === null) return true;
  if (probe !== null) entering(actor, br);
  try {
    return br.guard(m, c.actors[actor].base + 1, br.guardParams, actor);
  } catch (e) {
    return thrownFinding(c, actor, br, e, 'guard');
  } finally {
    if (probe !== null) probe[2] = 0;
  }
}

/** The branch an event group takes in state m (the first whose guard holds), or null. */
export function enabledBranch(c: Compiled, actor: number, group: readonly CompiledBranch[], m: Uint8Array): CompiledBranch | Finding | null {
  for (const br of group) {
    const ok = guardHolds(c, actor, br, m);
    if (ok === true) return br;
    if (ok !== false) return ok;
  }
  return null;
}

/**
 * Has `actor` an enabled step in `m`? A guard that fires an assertion does not
 * count, as in Expander.expand: that step is the bug, not a move the actor could go on with.
 */
export function canStep(c: Compiled, actor: number, m: Uint8Array): boolean {
  const a = c.actors[actor];
  for (const g of a.groups[m[a.base]]) {
    const br = enabledBranch(c, actor, g, m);
    if (br !== null && !('kind' in br)) return true;
  }
  return false;
}

/** Apply a branch's actions to `next` (a copy of the pre-state) and move the pc. */
export function applyBranch(c: Compiled, actor: number, br: CompiledBranch, next: Uint8Array): Finding | null {
  const a = c.actors[actor];
  const L = a.base + 1;
  if (probe !== null) entering(actor, br);
  try {
    for (let i = 0; i < br.actions.length; i++) br.actions[i](next, L, br.actionParams[i], actor);
  } catch (e) {
    return thrownFinding(c, actor, br, e, 'action');
  } finally {
    if (probe !== null) probe[2] = 0;
  }
  next[a.base] = br.target;
  return null;
}

/** Local steps chained after one step stop here, so that a model loop cannot hang the walker. */
const MAX_CHAIN = 256;

/**
 * Partial-order reduction for local steps: while `actor` sits at a local state
 * (one that touches only what no one else and no property looks at, always enabled,
 * no choice), take its step at once, as part of the step that led there. Such a
 * step commutes with every other actor's, so running it early loses no behaviour.
 * `record` sees every branch taken, so traces list them all.
 */
export function runLocalChain(
  c: Compiled, actor: number, m: Uint8Array, record?: (br: CompiledBranch) => void, chain?: { steps: number },
): Finding | null {
  const a = c.actors[actor];
  if (chain) chain.steps = 0;
  for (let n = 0; a.local[m[a.base]]; n++) {
    if (n === MAX_CHAIN) return { kind: 'deadlock', property: 'local-loop', message: `${a.name} loops in local steps at ${a.states[m[a.base]]}` };
    const br = enabledBranch(c, actor, a.groups[m[a.base]][0], m);
    if (br === null) throw new Error(`${a.name}: local state '${a.states[m[a.base]]}' has no enabled branch`);
    if ('kind' in br) return br;
    record?.(br);
    if (chain) chain.steps++;
    const bad = applyBranch(c, actor, br, m);
    if (bad) return bad;
  }
  return null;
}

/** Word views of the state buffers the walker reuses (src/words.ts). */
const views = new WordViews();
const words = (v: Uint8Array): Int32Array | null => views.of(v);

/** dst = src (same length). */
const copyState = (src: Uint8Array, dst: Uint8Array): void => views.copy(src, dst);

/**
 * One whole step: the branch, then (with `por`) the actor's local steps, then the
 * properties. When a kernel assertion fires part-way, the properties are checked
 * on the state as far as the step got first: a property broken before the kernel
 * noticed is the earlier finding.
 */
export function takeStep(
  c: Compiled, actor: number, br: CompiledBranch, pre: Uint8Array, next: Uint8Array, por: boolean,
  record?: (br: CompiledBranch) => void, chain?: { steps: number },
): Finding | null {
  copyState(pre, next);
  if (chain) chain.steps = 0;
  record?.(br);
  if (record) {
    // A replay re-judges the guards of the step's event too: the walker records a
    // step whose guard threw as its event's first branch, and the throw is the finding.
    const group = c.actors[actor].groups[br.from].find((g) => g.includes(br))!;
    const fired = enabledBranch(c, actor, group, pre);
    if (fired !== null && 'kind' in fired) return fired;
  }
  const bug = applyBranch(c, actor, br, next) ?? (por ? runLocalChain(c, actor, next, record, chain) : null);
  const broken = checkStep(c, pre, next, actor);
  return broken ?? bug;
}

/** Invariants over a state, and step invariants over (pre, post). */
export function checkStep(c: Compiled, pre: Uint8Array | null, post: Uint8Array, actor: number): Finding | null {
  // Where did the world change? Nothing changed: nothing to check (the pre-state
  // passed the state invariants when it was found).
  let from = 0;
  let to = c.worldSize;
  const pw = pre !== null ? words(pre) : null;
  const qw = words(post);
  if (pre !== null) {
    // A word at a time over the whole words of the world, then to the byte.
    const nw = pw !== null && qw !== null ? to >>> 2 : 0;
    let w = 0;
    while (w < nw && pw![w] === qw![w]) w++;
    from = w << 2;
    while (from < to && pre[from] === post[from]) from++;
    if (from === to) return null;
    while (to > nw << 2 && pre[to - 1] === post[to - 1]) to--;
    if (to === nw << 2) {
      // The tail past the last whole word is unchanged: the last change is in a word.
      w = nw;
      while (pw![w - 1] === qw![w - 1]) w--;
      to = w << 2;
      while (pre[to - 1] === post[to - 1]) to--;
    }
  }
  // Which invariants can the changed bytes break (Property.watches)? All of them
  // for the initial state; invariants past the 31st always.
  let stateBits = -1;
  let stepBits = -1;
  if (pre !== null) {
    stateBits = 0;
    stepBits = 0;
    const sw = c.stateWatch;
    const tw = c.stepWatch;
    // Whole words that did not change are skipped a word at a time.
    let i = from;
    if (pw !== null && qw !== null) {
      for (let w = from >>> 2, end = to >>> 2; w < end; w++) {
        if (pw[w] === qw[w]) continue;
        for (let b = Math.max(from, w << 2), z = (w << 2) + 4; b < z; b++) {
          if (pre[b] !== post[b]) {
            stateBits |= sw[b];
            stepBits |= tw[b];
          }
        }
      }
      i = Math.max(from, (to >>> 2) << 2);
    }
    for (; i < to; i++) {
      if (pre[i] !== post[i]) {
        stateBits |= sw[i];
        stepBits |= tw[i];
      }
    }
  }
  // The pre-state passed the state invariants, so they need look only at [from, to).
  const inv = c.stateInvariants;
  for (let i = 0; i < inv.length; i++) {
    if (i < 31 && ((stateBits >>> i) & 1) === 0) continue;
    const why = pre === null ? inv[i].check(post) : inv[i].check(post, from, to);
    if (why !== null) return { kind: 'invariant', property: inv[i].name, message: why };
  }
  if (pre !== null) {
    const steps = c.stepInvariants;
    for (let i = 0; i < steps.length; i++) {
      if (i < 31 && ((stepBits >>> i) & 1) === 0) continue;
      const why = steps[i].check(pre, post, actor, from, to);
      if (why !== null) return { kind: 'invariant', property: steps[i].name, message: why };
    }
  }
  return null;
}

export function allFinal(c: Compiled, m: Uint8Array): boolean {
  for (const a of c.actors) if (!a.final[m[a.base]]) return false;
  return true;
}

/** For a state with no enabled step: deadlock, or the end-state properties. */
export function checkStuck(c: Compiled, m: Uint8Array): Finding | null {
  if (!allFinal(c, m)) {
    const waiting = c.actors.filter((a) => !a.final[m[a.base]]).map((a) => `${a.name} at ${a.states[m[a.base]]}`);
    return { kind: 'deadlock', property: DEADLOCK.name, message: `no actor can move: ${waiting.join(', ')}` };
  }
  for (const p of c.endProperties) {
    const why = p.check(m);
    if (why !== null) return { kind: 'termination', property: p.name, message: why };
  }
  return null;
}

/** What decides which of several violations is reported. */
export interface RankedViolation {
  readonly length: number;
  readonly preemptions: number;
  readonly kind: ViolationKind;
  readonly property: string;
  /** The property's place among the model's properties (after all of them when not one). */
  readonly rank: number;
}

const KIND_ORDER: readonly ViolationKind[] = ['kernel-bug', 'invariant', 'deadlock', 'termination'];

export const propertyRank = (c: Compiled, property: string): number => {
  const i = c.model.properties.findIndex((p) => p.name === property);
  return i < 0 ? c.model.properties.length : i;
};

/**
 * The order in which violations are reported, shared by the walker and `merge`:
 * the shortest; among those, a fixed order of kinds and properties, so that the
 * property reported depends only on which properties fail at the shortest length
 * (the same with or without reductions, sharded or not); then fewest preemptions.
 */
export function compareViolations(a: RankedViolation, b: RankedViolation): number {
  return a.length - b.length || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.rank - b.rank ||
    (a.property < b.property ? -1 : a.property > b.property ? 1 : 0) || a.preemptions - b.preemptions;
}
