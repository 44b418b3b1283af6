/**
 * Breadth-first exhaustive exploration of a compiled system.
 *
 * States are packed vectors; only their 64-bit fingerprints are kept once expanded
 * (TLC's and SPIN's hash-compact trade: a false merge needs two of N states to share
 * 64 bits, about N^2 / 2^65, e.g. 3e-6 at ten million states). Each state keeps its
 * parent id and the step that reached it, so a trace is the list of steps from the
 * initial state, rebuilt and re-checked by replay.
 *
 * BFS makes the first violation a shortest one. Invariants are checked before a
 * state is queued. Among shortest traces the walker prefers fewer preemptions (a
 * step by another actor while the previous step's actor could have gone on): each
 * state keeps the fewest preemptions over the shortest-path parents seen, and the
 * search finishes the BFS level in which it first finds a violation to pick the
 * best one. The count is exact along the chosen parents; it is the least over
 * shortest paths whenever ties do not hinge on which actor stepped last.
 */
import type { Compiled, CompiledBranch } from './compile.ts';
import { compareViolations, enabledBranch, propertyRank, takeStep, type Finding } from './check.ts';
import { Expander, type Candidate, type SuccessorSink } from './expand.ts';
import { NO_ACTOR, NO_PARENT, StateTable } from './states.ts';
import { fingerprint } from './store.ts';
import type { Canonicalizer } from './symmetry.ts';
import type { Bound } from './bounded.ts';
import { SearchLimits } from './limits.ts';

export interface Progress {
  readonly states: number; // distinct states found
  readonly transitions: number;
  readonly queue: number;
  readonly depth: number;
  readonly seconds: number;
}

export interface WalkOptions {
  readonly maxStates?: number;
  readonly maxSeconds?: number;
  readonly onProgress?: (p: Progress) => void;
  readonly progressMs?: number;
  /** Chain local steps into the step before them (default on; `--no-por` turns it off). */
  readonly por?: boolean;
  /**
   * Explore only a share of the space: `index` of `count` (0-based). Every shard
   * explores the same prefix up to the first depth whose frontier holds at least
   * 16 * count states, then keeps the frontier states whose fingerprint falls in its
   * share. Each path to a deeper state crosses that depth once, so the shards
   * together expand every reachable state.
   */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Called with the fingerprint of every state expanded (shards record them for `merge`). */
  readonly expandedFingerprint?: (lo: number, hi: number) => void;
  /** Stop (incomplete) when the walker's own arrays would pass this many bytes. */
  readonly maxBytes?: number;
  /** Store one representative per orbit of interchangeable actors (default on when the model declares symmetry). */
  readonly symmetry?: boolean;
  /** Actors that never step (see Expander.frozen); only the bounded search takes it, with symmetry off. */
  readonly frozen?: readonly number[];
  /** Called with each new distinct state (tests compare the reachable set with an oracle). */
  readonly visit?: (state: Uint8Array) => void;
  /**
   * `sometimes` properties over steps, after Stateright: `hits` calls `hit(i)` for
   * each i < count that the step from `pre` to `post` by `actor` witnesses. The walker
   * keeps, for each i, a first step of least depth that witnesses it and returns the
   * trace to it in WalkResult.witnesses; it stops as soon as every i is witnessed and
   * no shorter witness can come. A step that breaks a property witnesses nothing.
   */
  readonly sometimes?: { readonly count: number; hits(pre: Uint8Array, post: Uint8Array, actor: number, hit: (i: number) => void): void };
}

/** A step of a trace: actor index and branch id within that actor. */
export interface StepRef {
  readonly actor: number;
  readonly branch: number;
}

export interface FoundViolation extends Finding {
  /** Steps from the initial state; the last one is the step that broke the property (if any). */
  readonly steps: readonly StepRef[];
  readonly preemptions: number;
  /**
   * A lasso (a livelock, liveness.ts): the steps return to the state reached after
   * the first `loop` steps, and the steps from there repeat for ever.
   */
  readonly loop?: number;
}

export interface WalkResult {
  readonly verdict: 'pass' | 'violation' | 'incomplete';
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly seconds: number;
  readonly limit?: string;
  readonly violation?: FoundViolation;
  readonly bytesPerState: number;
  /** Present when the search covered only schedules up to a preemption bound (bounded.ts): never an exhaustive pass. */
  readonly bound?: Bound;
  /** Present when the liveness pass ran and found no livelock: its own figures (liveness.ts). */
  readonly liveness?: { readonly states: number; readonly transitions: number; readonly seconds: number };
  /** With WalkOptions.sometimes: per property, the steps of a shortest witness, or null. */
  readonly witnesses?: readonly (readonly StepRef[] | null)[];
}

export { limitHit } from './limits.ts';

export function walk(c: Compiled, opts: WalkOptions = {}): WalkResult {
  const lim = new SearchLimits(opts);
  const S = c.stateSize;
  const cur = new Uint8Array(S);
  const curWords = new Int32Array(cur.buffer);
  const fp = new Int32Array(2);
  const table = new StateTable(S, opts.visit);
  const ex = new Expander(c, opts.por ?? true, opts.symmetry !== false);
  const candidates: Candidate[] = [];
  let depth = 0;

  // The initial state must satisfy the invariants too.
  const init = ex.initial();
  if ('bad' in init) return finish({ finding: init.bad, state: 0, code: -1, length: 0, preemptions: 0 }, 1);
  table.offer(init.state, init.lo, init.hi, NO_PARENT, 0, 0, 0, NO_ACTOR, -1);

  // The state being expanded, for the sink.
  let s = 0;
  let d = 0;
  const sink: SuccessorSink = (state, lo, hi, code, nd, pre, actorThere) => {
    return table.offer(state, lo, hi, s, code, nd, pre, actorThere, d) && lim.stored(table.count);
  };

  // `sometimes`: the first witness of least depth of each property (see WalkOptions).
  const some = opts.sometimes;
  const witness: (Candidate | null)[] = some ? new Array(some.count).fill(null) : [];
  let witnessed = 0;
  let deepestWitness = 0;
  if (some) {
    const seen: Finding = { kind: 'invariant', property: 'sometimes', message: '' };
    let code = 0;
    let nd = 0;
    const hit = (i: number) => {
      const w = witness[i];
      if (w !== null && w.length <= nd) return;
      if (w === null) witnessed++;
      witness[i] = { finding: seen, state: s, code, length: nd, preemptions: 0 };
      deepestWitness = Math.max(...witness.map((x) => x?.length ?? 0));
    };
    ex.onStep = (pre, post, actor, stepCode, depth) => {
      code = stepCode;
      nd = depth;
      some.hits(pre, post, actor, hit);
    };
  }

  // Expand in order of depth (see Expander.expand), so the first violation found is
  // a shortest trace in that measure.
  const shard = opts.shard;
  let splitDepth = shard ? -1 : Infinity;
  const onExpand = opts.expandedFingerprint;
  const { frontier } = table;
  search: for (d = 0; frontier.pending > 0; d++) {
    if (candidates.length && bestLength(candidates) <= d) break;
    // Every step from here on reaches depth d or more: no shorter witness can come.
    if (some && witnessed === some.count && deepestWitness <= d) { lim.limit = 'every sometimes property witnessed'; break; }
    if (shard && splitDepth < 0 && frontier.countAt(d) >= 16 * shard.count) splitDepth = d;
    for (s = frontier.pop(d, cur); s >= 0; s = frontier.pop(d, cur)) {
      if (table.depthOf(s) !== d) continue; // reached again at a smaller depth later
      if (d === splitDepth || onExpand) {
        fingerprint(curWords, fp);
        if (d === splitDepth && ((fp[0] >>> 0) % shard!.count) !== shard!.index) continue;
        onExpand?.(fp[0], fp[1]);
      }
      depth = d;
      if (lim.due() && lim.check(table.bytes, { states: table.count, transitions: ex.transitions, queue: frontier.pending, depth })) break search;
      if (ex.expand(cur, s, d, table.preemptionsOf(s), table.lastActorOf(s), candidates, sink)) break search;
    }
  }
  return finish(candidates.length ? pickBest(c, candidates) : null, table.count);

  function finish(best: Candidate | null, states: number): WalkResult {
    const seconds = lim.seconds();
    const parentOf = (id: number) => (states > 1 ? table.parentOf(id) : NO_PARENT);
    const witnesses = some
      ? witness.map((w) => (w === null ? null : violationOf(c, ex, w, stepsTo(w, parentOf, (id) => table.viaOf(id))).steps))
      : undefined;
    const base = { states, transitions: ex.transitions, depth, seconds, bytesPerState: states ? table.bytes / states : 0, ...(witnesses ? { witnesses } : {}) };
    if (best) {
      const steps = stepsTo(best, (id) => (states > 1 ? table.parentOf(id) : NO_PARENT), (id) => table.viaOf(id));
      return { ...base, verdict: 'violation', violation: violationOf(c, ex, best, steps) };
    }
    if (lim.limit) return { ...base, verdict: 'incomplete', limit: lim.limit };
    return { ...base, verdict: 'pass' };
  }
}

/** The steps from the initial state to a candidate's state, then its violating step. */
export function stepsTo(best: Candidate, parentOf: (id: number) => number, viaOf: (id: number) => number): StepRef[] {
  const vias: number[] = [];
  for (let id = best.state, from = parentOf(id); from !== NO_PARENT; id = from, from = parentOf(id)) vias.push(viaOf(id));
  return stepsFromVias(vias.reverse(), best.code);
}

/** Step codes (actor << 16 | branch) from the initial state, then the violating step's code (or -1). */
export function stepsFromVias(vias: readonly number[], code: number): StepRef[] {
  const steps = vias.map((v) => ({ actor: v >>> 16, branch: v & 0xffff }));
  if (code >= 0) steps.push({ actor: code >>> 16, branch: code & 0xffff });
  return steps;
}

/** The reported violation: steps renamed from canonical frames into the concrete run. */
export function violationOf(c: Compiled, ex: Expander, best: Candidate, steps: readonly StepRef[]): FoundViolation {
  const concrete = ex.canon ? toConcrete(c, ex.canon, steps, ex.por) : steps;
  return { ...best.finding, steps: concrete, preemptions: best.preemptions };
}

/**
 * Steps recorded between canonical representatives, renamed into the concrete run
 * from the initial state: keep tau, the renaming from the current representative's
 * frame to the concrete one, and compose it with each canonicalization undone.
 * A step's branch is usually the same in both frames, but not when the branch
 * itself names a renamed actor (lazy's mbind drains CPU c's pagevec on its branch
 * `drain_cpuc`, and the threads on those CPUs are renamed): so the concrete run is
 * carried along, and the concrete step is the branch of actor tau[a], enabled there,
 * that reaches the recorded successor renamed by tau (the recorded branch first).
 */
function toConcrete(c: Compiled, canon: Canonicalizer, steps: readonly StepRef[], por: boolean): StepRef[] {
  const rep = new Uint8Array(c.stateSize);
  const next = new Uint8Array(c.stateSize);
  const conc = Uint8Array.from(c.initial);
  const want = new Uint8Array(c.stateSize);
  const got = new Uint8Array(c.stateSize);
  let tau = canon.inverse(canon.perms[canon.canonical(c.initial, rep)]);
  const out: StepRef[] = [];
  for (const st of steps) {
    takeStep(c, st.actor, c.actors[st.actor].branches[st.branch], rep, next, por);
    canon.apply(tau, next, want);
    const actor = tau[st.actor];
    const a = c.actors[actor];
    const recorded = a.branches[st.branch];
    const leadsThere = (br: CompiledBranch): boolean => {
      // Enabled as the walker judges it: the first branch of its event group whose
      // guard holds, or the group's first branch when a guard throws.
      const group = a.groups[br.from].find((g) => g.includes(br))!;
      const fired = enabledBranch(c, actor, group, conc);
      if (fired === null || (fired !== br && !('kind' in fired && br === group[0]))) return false;
      takeStep(c, actor, br, conc, got, por);
      return got.every((x, i) => x === want[i]);
    };
    const taken = leadsThere(recorded) ? recorded
      : a.branches.find((br) => br !== recorded && br.from === recorded.from && leadsThere(br)) ?? recorded;
    out.push({ actor, branch: taken.id });
    takeStep(c, actor, taken, conc, got, por);
    conc.set(got);
    const sigmaInv = canon.inverse(canon.perms[canon.canonical(next, rep)]);
    tau = Int8Array.from(sigmaInv, (x) => tau[x]);
  }
  return out;
}

export const bestLength = (cands: readonly { readonly length: number }[]): number => {
  let best = Infinity;
  for (const x of cands) if (x.length < best) best = x.length;
  return best;
};

/** The violation to report (see compareViolations); the first found among equals. */
export function pickBest<T extends Candidate>(c: Compiled, cands: readonly T[]): T {
  const ranked = (x: Candidate) => ({ ...x.finding, length: x.length, preemptions: x.preemptions, rank: propertyRank(c, x.finding.property) });
  return cands.reduce((best, x) => (compareViolations(ranked(x), ranked(best)) < 0 ? x : best));
}
