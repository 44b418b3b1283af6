/**
 * Preemption-bounded search (`--preemptions K`, CHESS's iterative context
 * bounding): every schedule with at most K preemptions, where a preemption is a
 * step by another actor while the actor that stepped last could have gone on (the
 * count the walker already keeps, see Expander.expand).
 *
 * Whether the next step is a preemption depends on who stepped last, so a search
 * node is a state together with the actor that stepped last, and a node reached
 * again with fewer preemptions is explored again (it can now go further within
 * the bound). The search runs one preemption level at a time, 0 to K, and each
 * level breadth-first by depth: a preempting step queues its successor in the next
 * level, any other step in the same level. Every node of level p is expanded
 * before any of level p + 1, so the first violation found has the fewest
 * preemptions and, among those, the fewest steps; it is one pass, not K + 1
 * searches, and the distinct nodes and seconds after each level are the figures
 * of the bounds 0, 1, ... K.
 *
 * A pass holds up to K preemptions only: the result says so (`bound`), and is never
 * an exhaustive pass.
 */
import type { Compiled } from './compile.ts';
import { canStep } from './check.ts';
import { Expander, type Candidate, type SuccessorSink } from './expand.ts';
import { NO_ACTOR, NO_PARENT } from './states.ts';
import { ChunkedU16, ChunkedU32, ChunkedU8, DepthBuckets, FingerprintSet } from './store.ts';
import { SearchLimits } from './limits.ts';
import { bestLength, pickBest, stepsTo, violationOf, type WalkOptions, type WalkResult } from './walker.ts';

/** The figures of one bound, cumulative: what a search with at most `preemptions` explored. */
export interface BoundLevel {
  readonly preemptions: number;
  /** Distinct (state, last actor) nodes stored up to this bound (see NodeTable). */
  readonly states: number;
  /** Distinct states among them (whatever the last actor). */
  readonly distinct: number;
  readonly transitions: number;
  readonly seconds: number;
}

export interface Bound {
  readonly preemptions: number;
  /** One entry per bound completed, 0 upward. */
  readonly levels: readonly BoundLevel[];
  /** Steps not taken because they would have passed the bound (0: the bound cut nothing). */
  readonly pruned: number;
}

/** The most preemptions a node can record (ChunkedU8). */
export const MAX_PREEMPTIONS = 254;

/** Packed (preemptions, depth) with no entry yet: greater than any real one. */
const NONE_YET = 0xffffffff;

/**
 * Search nodes: a state and the actor that stepped last, with the fewest
 * preemptions found; and per state, what dominance needs (see offer).
 *
 * Two reductions keep the nodes few, each sound for "every schedule with at most
 * K preemptions" and keeping the fewest preemptions, then the fewest steps:
 *
 * - A last actor that cannot step in the state is recorded as none (NO_ACTOR):
 *   whether the next step is a preemption depends only on whether the last actor
 *   is enabled and is not the one stepping, so when it is disabled every next step
 *   is free, exactly as with no last actor. (The actor is in the stored state's
 *   frame, canonical under symmetry, as Expander gives it.)
 * - Dominance. Let node (s, a) be reached with p preemptions at depth d. Any run
 *   from (s, b) costs, from (s, a), the same steps and depths, and preemptions that
 *   differ only at the first step, by at most one (after it both have the same
 *   last actor and state). So (s, a, p, d) covers (s, b, p', d') whenever p < p'
 *   and d <= d': every violation reachable from the latter within the bound is
 *   reachable from the former with no more preemptions and no more steps. And (s,
 *   none, p, d) covers (s, b, p', d') when p <= p' and d <= d' (from none, no step
 *   is a preemption). A covered node is neither stored nor expanded (one found
 *   covered later is skipped when popped). Per state the record keeps the least
 *   (preemptions, depth), the least (depth, preemptions), and the least
 *   (preemptions, depth) with no last actor; a node is covered when one of them
 *   covers it (a sufficient test, not a complete one: sound either way).
 *
 * Measured (nonlru, 2026-12-02): 2x2 with K = 2, 739,625 nodes before, 718,130
 * with the first, 620,535 with both (transitions 1.84 M, 1.82 M, 1.62 M); 3x2 with
 * K = 1, 1.37 M and 1.31 M nodes with the first and with both. Nodes are nearly
 * states (at 3x3, K = 0: 1,614,781 nodes of 1,614,778 distinct states): what a
 * bound adds is mostly states no schedule with fewer preemptions reaches.
 */
class NodeTable {
  readonly seen = new FingerprintSet(16);
  /** Per distinct state (fingerprint without the last actor): its record's index. */
  readonly stateSeen = new FingerprintSet(16);
  readonly levels: DepthBuckets[];
  private readonly parent = new ChunkedU32();
  /** As StateTable's: actor << 16 | branch, and the stepping actor in this node's frame in the top byte. */
  private readonly via = new ChunkedU32();
  private readonly preempt = new ChunkedU8();
  private readonly depth = new ChunkedU16();
  /** The node's state record. */
  private readonly rec = new ChunkedU32();
  /** Per state: least preemptions << 16 | depth; least depth << 8 | preemptions; least preemptions << 16 | depth with no last actor. */
  private readonly byPre = new ChunkedU32();
  private readonly byDepth = new ChunkedU32();
  private readonly free = new ChunkedU32();
  count = 0;
  /** Distinct states (whatever the last actor). */
  stateCount = 0;

  /** reduce = false: neither reduction (the tests compare the two searches). */
  constructor(stateSize: number, bound: number, private readonly reduce: boolean) {
    this.levels = Array.from({ length: bound + 1 }, () => new DepthBuckets(stateSize));
  }

  /** Is (preemptions pre, depth nd, last actor `last`) covered by state record r (see the class comment)? */
  private covered(r: number, pre: number, nd: number, free: boolean): boolean {
    if (!this.reduce) return false;
    const a = this.byPre.get(r);
    if (a !== NONE_YET && a >>> 16 < pre && (a & 0xffff) <= nd) return true;
    const b = this.byDepth.get(r);
    if (b !== NONE_YET && (b & 0xff) < pre && b >>> 8 <= nd) return true;
    if (free) return false;
    const f = this.free.get(r);
    return f !== NONE_YET && f >>> 16 <= pre && (f & 0xffff) <= nd;
  }

  /**
   * A node found (preemptions `pre`, depth `nd`): unless covered, new, or known with
   * more preemptions (or as many and a greater depth), it is recorded and queued at its level.
   */
  offer(state: Uint8Array, lo: number, hi: number, from: number, code: number, nd: number, pre: number, last: number): void {
    let r = this.stateSeen.getOrInsert(lo, hi, this.stateCount);
    if (r < 0) {
      r = this.stateCount++;
      this.byPre.set(r, NONE_YET);
      this.byDepth.set(r, NONE_YET);
      this.free.set(r, NONE_YET);
    } else if (this.covered(r, pre, nd, last === NO_ACTOR)) return;
    // The node's key: the state's fingerprint mixed with the last actor.
    const k = last + 1;
    const klo = lo ^ Math.imul(k, 0x9e3779b1);
    const khi = hi ^ Math.imul(k, 0x85ebca6b);
    let id = this.seen.getOrInsert(klo, khi, this.count);
    if (id < 0) id = this.count++;
    else {
      const op = this.preempt.get(id);
      if (pre > op || (pre === op && nd >= this.depth.get(id))) return;
    }
    this.parent.set(id, from);
    this.via.set(id, (code | (last << 24)) >>> 0);
    this.preempt.set(id, pre);
    this.depth.set(id, nd);
    this.rec.set(id, r);
    const a = (pre << 16) | nd;
    if (a < this.byPre.get(r)) this.byPre.set(r, a);
    const b = ((nd << 8) | pre) >>> 0;
    if (b < this.byDepth.get(r)) this.byDepth.set(r, b);
    if (last === NO_ACTOR && a < this.free.get(r)) this.free.set(r, a);
    this.levels[pre].push(nd, id, state);
  }

  /** Nodes queued at every level (stale entries included). */
  get pending(): number {
    let n = 0;
    for (const l of this.levels) n += l.pending;
    return n;
  }

  /** Is node `id`, popped at preemptions `level` and depth `d`, still to be expanded? */
  current(id: number, level: number, d: number): boolean {
    if (this.preempt.get(id) !== level || this.depth.get(id) !== d) return false; // superseded by a later entry
    return !this.covered(this.rec.get(id), level, d, this.lastActorOf(id) === NO_ACTOR);
  }

  parentOf(id: number): number { return this.parent.get(id); }
  viaOf(id: number): number { return this.via.get(id) & 0xffffff; }
  preemptionsOf(id: number): number { return this.preempt.get(id); }
  lastActorOf(id: number): number { return this.via.get(id) >>> 24; }
  depthOf(id: number): number { return this.depth.get(id); }

  get bytes(): number {
    let n = this.seen.bytes + this.parent.bytes + this.via.bytes + this.preempt.bytes + this.depth.bytes + this.rec.bytes;
    n += this.stateSeen.bytes + this.byPre.bytes + this.byDepth.bytes + this.free.bytes;
    for (const l of this.levels) n += l.bytes;
    return n;
  }
}

/** `reduce: false` turns both reductions of NodeTable off (for the tests that compare). */
export function walkBounded(c: Compiled, bound: number, opts: WalkOptions & { readonly reduce?: boolean } = {}): WalkResult & { bound: Bound } {
  if (!Number.isInteger(bound) || bound < 0 || bound > MAX_PREEMPTIONS) throw new RangeError(`a preemption bound is an integer from 0 to ${MAX_PREEMPTIONS}`);
  const lim = new SearchLimits(opts);
  const cur = new Uint8Array(c.stateSize);
  const reduce = opts.reduce ?? true;
  const table = new NodeTable(c.stateSize, bound, reduce);
  // Symmetry would rename an actor that steps into a frozen one.
  const ex = new Expander(c, opts.por ?? true, opts.symmetry !== false && !opts.frozen?.length);
  if (opts.frozen?.length) {
    ex.frozen = new Uint8Array(c.actors.length);
    for (const a of opts.frozen) ex.frozen[a] = 1;
  }
  const candidates: Candidate[] = [];
  const levels: BoundLevel[] = [];
  let depth = 0;
  let pruned = 0;
  const seconds = () => lim.seconds();

  const init = ex.initial();
  if ('bad' in init) return finish({ finding: init.bad, state: 0, code: -1, length: 0, preemptions: 0 });
  table.offer(init.state, init.lo, init.hi, NO_PARENT, 0, 0, 0, NO_ACTOR);

  let s = 0;
  const sink: SuccessorSink = (state, lo, hi, code, nd, pre, actorThere) => {
    if (pre > bound) { pruned++; return false; }
    table.offer(state, lo, hi, s, code, nd, pre, !reduce || canStep(c, actorThere, state) ? actorThere : NO_ACTOR);
    return lim.stored(table.count);
  };
  // The violations found so far with at most `level` preemptions.
  const within = (level: number) => candidates.filter((x) => x.preemptions <= level);

  search: for (let level = 0; level <= bound; level++) {
    const frontier = table.levels[level];
    for (let d = 0; frontier.pending > 0; d++) {
      const found = within(level);
      if (found.length && bestLength(found) <= d) break;
      for (s = frontier.pop(d, cur); s >= 0; s = frontier.pop(d, cur)) {
        // A later entry supersedes this one (fewer preemptions or a smaller depth), or covers it.
        if (!table.current(s, level, d)) continue;
        depth = Math.max(depth, d);
        if (lim.due() && lim.check(table.bytes, { states: table.count, transitions: ex.transitions, queue: table.pending, depth })) break search;
        if (ex.expand(cur, s, d, level, table.lastActorOf(s), candidates, sink)) break search;
      }
    }
    levels.push({ preemptions: level, states: table.count, distinct: table.stateCount, transitions: ex.transitions, seconds: seconds() });
    if (within(level).length) break;
  }
  // The fewest preemptions, then as the walker picks (a search stopped by a limit
  // still reports a violation it found: it is real, if perhaps not the shortest).
  const fewest = candidates.reduce((n, x) => Math.min(n, x.preemptions), Infinity);
  const found = candidates.filter((x) => x.preemptions === fewest && x.preemptions <= bound);
  return finish(found.length ? pickBest(c, found) : null);

  function finish(best: Candidate | null): WalkResult & { bound: Bound } {
    const base = {
      states: table.count || 1, transitions: ex.transitions, depth, seconds: seconds(), bytesPerState: table.count ? table.bytes / table.count : 0,
      bound: { preemptions: bound, levels, pruned },
    };
    if (best) {
      const steps = stepsTo(best, (id) => (table.count > 1 ? table.parentOf(id) : NO_PARENT), (id) => table.viaOf(id));
      return { ...base, verdict: 'violation', violation: violationOf(c, ex, best, steps) };
    }
    if (lim.limit) return { ...base, verdict: 'incomplete', limit: lim.limit };
    return { ...base, verdict: 'pass' };
  }
}

/**
 * The preemptions of a run given as the actor of each step and the state before
 * each step (states[i] before step i): a step by another actor while the one that
 * stepped before could have gone on. A chain of local steps is its actor's, so
 * counting every step of a trace gives the walker's count.
 */
export function countPreemptions(c: Compiled, actors: readonly number[], states: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 1; i < actors.length; i++) {
    const last = actors[i - 1];
    if (actors[i] !== last && canStep(c, last, states[i])) n++;
  }
  return n;
}

