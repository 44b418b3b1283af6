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
import { checkStep, checkStuck, compareViolations, enabledBranch, propertyRank, runLocalChain, takeStep, type Finding } from './check.ts';
import { ChunkedU16, ChunkedU32, ChunkedU8, DepthBuckets, FingerprintSet, fingerprint } from './store.ts';
import { Canonicalizer } from './symmetry.ts';

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
  /** Called with each new distinct state (tests compare the reachable set with an oracle). */
  readonly visit?: (state: Uint8Array) => void;
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
}

const NO_PARENT = 0xffffffff;

interface Candidate {
  finding: Finding;
  /** The state the trace reaches before the violating step (or the stuck state). */
  state: number;
  /** Step code of the violating step, or -1 for a stuck state. */
  code: number;
  length: number;
  preemptions: number;
}

export function walk(c: Compiled, opts: WalkOptions = {}): WalkResult {
  const t0 = performance.now();
  const S = c.stateSize;
  const nActors = c.actors.length;
  const cur = new Uint8Array(S);
  const next = new Uint8Array(S);
  const nextWords = new Int32Array(next.buffer);
  const fp = new Int32Array(2);

  const seen = new FingerprintSet(16);
  const frontier = new DepthBuckets(S);
  const parent = new ChunkedU32();
  const via = new ChunkedU32(); // actor << 16 | branch id, in the parent's frame
  const preempt = new ChunkedU8();
  const depthOf = new ChunkedU16();
  /** The stepping actor's index in the frame of the state it led to (for preemptions). */
  const lastActor = new ChunkedU8();

  let count = 0;
  let transitions = 0;
  let depth = 0;
  let expanded = 0;
  const candidates: Candidate[] = [];
  const maxStates = opts.maxStates ?? Infinity;
  const por = opts.por ?? true;
  const canon = opts.symmetry !== false && c.model.symmetry ? new Canonicalizer(c, c.model.symmetry) : null;
  const rep = new Uint8Array(S);
  const repWords = new Int32Array(rep.buffer);
  const maxMs = (opts.maxSeconds ?? Infinity) * 1000;
  const maxBytes = opts.maxBytes ?? Infinity;
  const memoryBytes = () => seen.bytes + frontier.bytes + parent.bytes + via.bytes + preempt.bytes + depthOf.bytes + lastActor.bytes;
  const progressMs = opts.progressMs ?? 1000;
  let lastProgress = t0;
  let limit: string | undefined;

  const visit = opts.visit;
  const add = (state: Uint8Array, from: number, code: number, pre: number, last: number, d: number): void => {
    visit?.(state);
    frontier.push(d, count, state);
    parent.set(count, from);
    via.set(count, code);
    preempt.set(count, pre);
    lastActor.set(count, last);
    depthOf.set(count, d);
    count++;
  };

  // The initial state must satisfy the invariants too.
  next.set(c.initial);
  let initBad: Finding | null = null;
  if (por) for (let a = 0; a < nActors && !initBad; a++) initBad = runLocalChain(c, a, next);
  initBad ??= checkStep(c, null, next, -1);
  if (initBad) return finish({ finding: initBad, state: 0, code: -1, length: 0, preemptions: 0 }, 1, 0);
  if (canon) { canon.canonical(next, rep); next.set(rep); }
  fingerprint(nextWords, fp);
  seen.getOrInsert(fp[0], fp[1], 0);
  add(next, NO_PARENT, 0, 0, 255, 0);

  // Enabled steps of the state being expanded: actor and branch.
  const enActor = new Int32Array(1024);
  const enBranch: (CompiledBranch | null)[] = new Array(1024).fill(null);

  // Expand in order of depth, where depth counts the steps that are not local
  // (a local step touches only its actor's own state), so the first violation found
  // is a shortest trace in that measure, whether local steps are chained or not.
  const shard = opts.shard;
  let splitDepth = shard ? -1 : Infinity;
  const curWords = new Int32Array(cur.buffer);
  const onExpand = opts.expandedFingerprint;
  search: for (let d = 0; frontier.pending > 0; d++) {
    if (candidates.length && bestLength(candidates) <= d) break;
    if (shard && splitDepth < 0 && frontier.countAt(d) >= 16 * shard.count) splitDepth = d;
    for (let s = frontier.pop(d, cur); s >= 0; s = frontier.pop(d, cur)) {
      if (depthOf.get(s) !== d) continue; // reached again at a smaller depth later
      if (d === splitDepth || onExpand) {
        fingerprint(curWords, fp);
        if (d === splitDepth && ((fp[0] >>> 0) % shard!.count) !== shard!.index) continue;
        onExpand?.(fp[0], fp[1]);
      }
      depth = d;
      if ((expanded++ & 4095) === 0) {
        const now = performance.now();
        if (now - t0 > maxMs) { limit = `--max-seconds ${opts.maxSeconds}`; break search; }
        if (memoryBytes() > maxBytes) { limit = `--max-memory ${Math.round(maxBytes / 2 ** 20)}`; break search; }
        if (opts.onProgress && now - lastProgress >= progressMs) {
          lastProgress = now;
          opts.onProgress({ states: count, transitions, queue: frontier.pending, depth, seconds: (now - t0) / 1000 });
        }
      }

      // Which steps are enabled?
      let n = 0;
      let stuckBug: Candidate | null = null;
      for (let a = 0; a < nActors; a++) {
        const groups = c.actors[a].groups[cur[c.actors[a].base]];
        for (let g = 0; g < groups.length; g++) {
          const br = enabledBranch(c, a, groups[g], cur);
          if (br === null) continue;
          if ('kind' in br) {
            // A guard fired a kernel assertion: the step taken from here is the bug.
            stuckBug ??= { finding: br, state: s, code: (a << 16) | groups[g][0].id, length: d + 1, preemptions: preempt.get(s) };
            continue;
          }
          enActor[n] = a;
          enBranch[n] = br;
          n++;
        }
      }
      if (stuckBug) candidates.push(stuckBug);
      if (n === 0) {
        const why = stuckBug ? null : checkStuck(c, cur);
        if (why) candidates.push({ finding: why, state: s, code: -1, length: d, preemptions: preempt.get(s) });
        continue;
      }
      const last = s === 0 ? -1 : lastActor.get(s);
      let lastEnabled = false;
      for (let i = 0; i < n; i++) if (enActor[i] === last) { lastEnabled = true; break; }
      const basePre = preempt.get(s);

      for (let i = 0; i < n; i++) {
        const a = enActor[i];
        const br = enBranch[i]!;
        const code = (a << 16) | br.id;
        const pre = Math.min(255, basePre + (lastEnabled && a !== last ? 1 : 0));
        transitions++;
        const bad = takeStep(c, a, br, cur, next, por);
        // Local steps cost nothing: with or without chaining, depth counts the
        // steps where an interleaving can happen, so both find the same minimum.
        const nd = d + (c.actors[a].local[br.from] ? 0 : 1);
        if (bad) {
          candidates.push({ finding: bad, state: s, code, length: nd, preemptions: pre });
          continue;
        }
        let stored = next;
        let storedWords = nextWords;
        let actorThere = a;
        if (canon) {
          actorThere = canon.perms[canon.canonical(next, rep)][a];
          stored = rep;
          storedWords = repWords;
        }
        fingerprint(storedWords, fp);
        const old = seen.getOrInsert(fp[0], fp[1], count);
        if (old < 0) {
          add(stored, s, code, pre, actorThere, nd);
          if (count >= maxStates) { limit = `--max-states ${opts.maxStates}`; break search; }
          continue;
        }
        const od = depthOf.get(old);
        // Only a state beyond the depth being expanded can take a new parent: it
        // has not been expanded, so no parent link can loop through it.
        if (od > d && (nd < od || (nd === od && pre < preempt.get(old)))) {
          // Not expanded yet (its depth is beyond d): a shorter path, or as short
          // with fewer preemptions, becomes its parent.
          parent.set(old, s);
          via.set(old, code);
          preempt.set(old, pre);
          lastActor.set(old, actorThere);
          if (nd < od) {
            depthOf.set(old, nd);
            frontier.push(nd, old, stored);
          }
        }
      }
    }
  }

  if (candidates.length) {
    return finish(pickBest(c, candidates), count, transitions);
  }
  return finish(null, count, transitions);

  function finish(best: Candidate | null, states: number, trans: number): WalkResult {
    const seconds = (performance.now() - t0) / 1000;
    const bytes = memoryBytes();
    const base = { states, transitions: trans, depth, seconds, bytesPerState: states ? bytes / states : 0 };
    if (best) {
      const steps: StepRef[] = [];
      for (let s = best.state; s !== 0 && s !== NO_PARENT && states > 1; s = parent.get(s)) {
        const v = via.get(s);
        steps.push({ actor: v >>> 16, branch: v & 0xffff });
      }
      steps.reverse();
      if (best.code >= 0) steps.push({ actor: best.code >>> 16, branch: best.code & 0xffff });
      const concrete = canon ? toConcrete(c, canon, steps, por) : steps;
      return { ...base, verdict: 'violation', violation: { ...best.finding, steps: concrete, preemptions: best.preemptions } };
    }
    if (limit) return { ...base, verdict: 'incomplete', limit };
    return { ...base, verdict: 'pass' };
  }
}

/**
 * Steps recorded between canonical representatives, renamed into the concrete run
 * from the initial state: keep tau, the renaming from the current representative's
 * frame to the concrete one, and compose it with each canonicalization undone.
 */
function toConcrete(c: Compiled, canon: Canonicalizer, steps: readonly StepRef[], por: boolean): StepRef[] {
  const rep = new Uint8Array(c.stateSize);
  const next = new Uint8Array(c.stateSize);
  let tau = canon.inverse(canon.perms[canon.canonical(c.initial, rep)]);
  const out: StepRef[] = [];
  for (const st of steps) {
    out.push({ actor: tau[st.actor], branch: st.branch });
    takeStep(c, st.actor, c.actors[st.actor].branches[st.branch], rep, next, por);
    const sigmaInv = canon.inverse(canon.perms[canon.canonical(next, rep)]);
    tau = Int8Array.from(sigmaInv, (x) => tau[x]);
  }
  return out;
}

const bestLength = (cands: readonly Candidate[]): number => Math.min(...cands.map((x) => x.length));

/** The violation to report (see compareViolations); the first found among equals. */
function pickBest(c: Compiled, cands: readonly Candidate[]): Candidate {
  const ranked = (x: Candidate) => ({ ...x.finding, length: x.length, preemptions: x.preemptions, rank: propertyRank(c, x.finding.property) });
  return cands.reduce((best, x) => (compareViolations(ranked(x), ranked(best)) < 0 ? x : best));
}
