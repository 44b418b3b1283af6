/**
 * Expanding one state: which steps are enabled, each step taken and checked, its
 * successor put in canonical form and fingerprinted. Shared by the single-threaded
 * walker and the workers of a parallel search, so that both explore the same graph
 * in the same order; what happens to a successor (stored here, or sent to the
 * worker that owns its fingerprint) is the caller's.
 */
import type { Compiled, CompiledBranch } from './compile.ts';
import { checkStep, checkStuck, enabledBranch, runLocalChain, takeStep, type Finding } from './check.ts';
import { fingerprint } from './store.ts';
import { Canonicalizer } from './symmetry.ts';

/** A violation found while expanding: the best one is picked when the search ends. */
export interface Candidate {
  readonly finding: Finding;
  /** The state the trace reaches before the violating step (or the stuck state). */
  readonly state: number;
  /** Step code of the violating step, or -1 for a stuck state. */
  readonly code: number;
  readonly length: number;
  readonly preemptions: number;
}

/**
 * Where a successor goes: `state` (canonical when symmetry is on) with its
 * fingerprint, the step code in the expanded state's frame, its depth, its
 * preemption count, the stepping actor's index in the successor's frame, and the
 * state's bytes as words (for copying).
 * Returns true to stop the expansion (a limit was reached).
 */
export type SuccessorSink = (state: Uint8Array, lo: number, hi: number, code: number, depth: number, pre: number, actorThere: number, words: Int32Array) => boolean;

export class Expander {
  readonly canon: Canonicalizer | null;
  /** Steps taken so far. */
  transitions = 0;
  /** After expand(): bit a set when actor a (< 32) had an enabled step in the state expanded. */
  enabledMask = 0;
  /**
   * Actors that never step (frozen[a] = 1), for a search restricted to some actors
   * (simulate.ts, around a schedule). Such a search judges no state where only
   * frozen actors could move: it would be stuck only because of the restriction.
   */
  frozen: Uint8Array | null = null;
  /**
   * Optional: told of every step taken that breaks nothing, before its successor is
   * stored (the walker's `sometimes` properties): the pre- and post-state, the actor,
   * the step code in the pre-state's frame, and the successor's depth.
   */
  onStep: ((pre: Uint8Array, post: Uint8Array, actor: number, code: number, depth: number) => void) | null = null;
  private readonly next: Uint8Array;
  private readonly nextWords: Int32Array;
  private readonly rep: Uint8Array;
  private readonly repWords: Int32Array;
  private readonly fp = new Int32Array(2);
  private readonly enActor = new Int32Array(1024);
  private readonly enBranch: (CompiledBranch | null)[] = new Array(1024).fill(null);

  constructor(private readonly c: Compiled, readonly por: boolean, symmetry: boolean) {
    this.canon = symmetry && c.model.symmetry ? new Canonicalizer(c, c.model.symmetry) : null;
    this.next = new Uint8Array(c.stateSize);
    this.nextWords = new Int32Array(this.next.buffer);
    this.rep = new Uint8Array(c.stateSize);
    this.repWords = new Int32Array(this.rep.buffer);
  }

  /**
   * The initial state as the search stores it (local steps run, canonical form)
   * with its fingerprint, or the property it already breaks.
   */
  initial(): { state: Uint8Array; lo: number; hi: number } | { bad: Finding } {
    const { c } = this;
    const m = Uint8Array.from(c.initial);
    let bad: Finding | null = null;
    if (this.por) for (let a = 0; a < c.actors.length && !bad; a++) bad = runLocalChain(c, a, m);
    bad ??= checkStep(c, null, m, -1);
    if (bad) return { bad };
    if (this.canon) {
      this.canon.canonical(m, this.rep);
      m.set(this.rep);
    }
    fingerprint(new Int32Array(m.buffer), this.fp);
    return { state: m, lo: this.fp[0], hi: this.fp[1] };
  }

  /**
   * Expand state `id` (packed in `cur`) found at depth `d`, where depth counts the
   * steps that are not local (a local step touches only its actor's own state and
   * costs nothing, with or without chaining, so both find the same minimum).
   * Violations go to `candidates`; successors to `sink`. Returns true when the sink
   * asked to stop.
   */
  expand(cur: Uint8Array, id: number, d: number, basePre: number, last: number, candidates: Candidate[], sink: SuccessorSink): boolean {
    const { c, enActor, enBranch, fp } = this;
    const nActors = c.actors.length;
    // Which steps are enabled?
    let n = 0;
    let mask = 0;
    let stuckBug: Candidate | null = null;
    const { frozen } = this;
    for (let a = 0; a < nActors; a++) {
      if (frozen !== null && frozen[a]) continue;
      const groups = c.actors[a].groups[cur[c.actors[a].base]];
      for (let g = 0; g < groups.length; g++) {
        const br = enabledBranch(c, a, groups[g], cur);
        if (br === null) continue;
        if ('kind' in br) {
          // A guard fired a kernel assertion: the step taken from here is the bug.
          stuckBug ??= { finding: br, state: id, code: (a << 16) | groups[g][0].id, length: d + 1, preemptions: basePre };
          continue;
        }
        enActor[n] = a;
        enBranch[n] = br;
        mask |= 1 << a;
        n++;
      }
    }
    this.enabledMask = mask;
    if (stuckBug) candidates.push(stuckBug);
    if (n === 0) {
      const why = stuckBug || frozen !== null ? null : checkStuck(c, cur);
      if (why) candidates.push({ finding: why, state: id, code: -1, length: d, preemptions: basePre });
      return false;
    }
    // A step by another actor while the last one could have gone on is a preemption.
    let lastEnabled = false;
    for (let i = 0; i < n; i++) if (enActor[i] === last) { lastEnabled = true; break; }

    const { next, canon } = this;
    for (let i = 0; i < n; i++) {
      const a = enActor[i];
      const br = enBranch[i]!;
      const code = (a << 16) | br.id;
      const pre = Math.min(255, basePre + (lastEnabled && a !== last ? 1 : 0));
      this.transitions++;
      const bad = takeStep(c, a, br, cur, next, this.por);
      const nd = d + (c.actors[a].local[br.from] ? 0 : 1);
      if (bad) {
        candidates.push({ finding: bad, state: id, code, length: nd, preemptions: pre });
        continue;
      }
      if (this.onStep !== null) this.onStep(cur, next, a, code, nd);
      let stored = next;
      let words = this.nextWords;
      let actorThere = a;
      if (canon) {
        actorThere = canon.perms[canon.canonical(next, this.rep)][a];
        stored = this.rep;
        words = this.repWords;
      }
      fingerprint(words, fp);
      if (sink(stored, fp[0], fp[1], code, nd, pre, actorThere, words)) return true;
    }
    return false;
  }
}
