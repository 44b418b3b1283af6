/**
 * Liveness: a reachable cycle in which the run never ends although the scheduler
 * is fair (SPIN's non-progress cycles, TLC's liveness under fairness). Two
 * assumptions. Weak fairness over actors: an actor that is enabled in every state
 * from some point on eventually steps. Choice fairness on declared bounded exits
 * (Branch.fairExit, CompiledBranch.fairExit): a model that abstracts a loop's
 * counter away (a retry the kernel stops after N passes) marks the branch that
 * leaves the loop; a run that comes to it infinitely often with it enabled takes
 * it infinitely often (strong fairness on that branch). A run that repeats a cycle
 * for ever is fair when every actor steps somewhere in the cycle or is disabled
 * somewhere in it, and every marked exit enabled somewhere in it is taken in it; a
 * fair infinite run is a `livelock`: some actor never finishes (an actor that has
 * finished cannot step, and the cycle has steps).
 *
 * The pass explores the whole state graph again, keeping its edges: ids in order
 * of discovery (breadth-first), each state's successors with the stepping actor,
 * the actors enabled in each state and the marked exits enabled in it. Its
 * strongly connected components are found with Tarjan's algorithm and refined as
 * in the Emerson-Lei (Streett) check: a component C whose actors all step inside
 * it or are disabled in one of its states (else no cycle in C is weakly fair) holds
 * a fair cycle when every exit enabled in C is taken inside C; otherwise the states
 * where an exit is enabled but never taken inside C are dropped and the rest is
 * split into components again (see fairComponent). The fair component reached
 * first gives the shortest stem; the loop is a closed walk in it from the stem's
 * end that meets each actor's condition and takes each exit enabled in it.
 *
 * Symmetry is off in this pass (a cycle of representatives renames actors on the
 * way round, so "this actor steps" is not a property of the quotient's cycle);
 * chains of local steps stay (a local step is always enabled and taken at once:
 * chaining it changes no run's fairness). A system whose actors' programs have no
 * loop (no cycle in any actor's control graph) cannot repeat a state: the pass is
 * skipped for it.
 */
import type { Compiled } from './compile.ts';
import { countPreemptions } from './bounded.ts';
import { canStep, enabledBranch, runLocalChain, takeStep } from './check.ts';
import { Expander, type Candidate, type SuccessorSink } from './expand.ts';
import { NO_PARENT } from './states.ts';
import { ChunkedU32, DepthBuckets, FingerprintSet } from './store.ts';
import { limitHit, stepsFromVias, type FoundViolation, type WalkOptions, type WalkResult } from './walker.ts';

export const LIVELOCK = {
  name: 'livelock',
  rule: 'Every run ends under a fair scheduler: no reachable cycle in which every actor that stays enabled keeps stepping, and every declared bounded exit that is enabled is taken, while the run never finishes.',
  source: 'pagerace walker: a fair reachable cycle of the state graph (SPIN non-progress cycles; TLC liveness under weak fairness over actors, strong fairness on the exits a model declares for its uncounted retry loops).',
} as const;

/** Does some actor's control graph have a cycle (a self-loop included)? Else no state can repeat. */
export function hasLoops(c: Compiled): boolean {
  for (const a of c.actors) {
    const n = a.states.length;
    const color = new Uint8Array(n); // 0 new, 1 on the path, 2 done
    const next = a.states.map((_, pc) => [...new Set(a.branches.filter((b) => b.from === pc).map((b) => b.target))]);
    for (let root = 0; root < n; root++) {
      if (color[root]) continue;
      const stack: [number, number][] = [[root, 0]];
      color[root] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1];
        if (top[1] === next[top[0]].length) { color[top[0]] = 2; stack.pop(); continue; }
        const v = next[top[0]][top[1]++];
        if (color[v] === 1) return true;
        if (color[v] === 0) { color[v] = 1; stack.push([v, 0]); }
      }
    }
  }
  return false;
}

/** The state graph, as the pass keeps it. */
interface Graph {
  readonly n: number;
  /** Edges of state u: [rowStart(u), rowStart(u + 1)). */
  readonly rowStart: ChunkedU32;
  readonly target: ChunkedU32;
  /** actor << 16 | branch. */
  readonly code: ChunkedU32;
  readonly enabled: ChunkedU32;
  /** Bits of the fair choices whose exit is enabled in the state (exitsEnabled). */
  readonly exits: ChunkedU32;
  readonly parent: ChunkedU32;
  readonly via: ChunkedU32;
}

export function findLivelock(c: Compiled, opts: WalkOptions = {}): WalkResult {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const nActors = c.actors.length;
  if (nActors > 31) throw new RangeError('the liveness pass handles at most 31 actors');
  const ex = new Expander(c, opts.por ?? true, false);
  const fair = fairChoices(c);
  const seen = new FingerprintSet(16);
  const queue = new DepthBuckets(c.stateSize);
  const g: Graph = { n: 0, rowStart: new ChunkedU32(), target: new ChunkedU32(), code: new ChunkedU32(), enabled: new ChunkedU32(), exits: new ChunkedU32(), parent: new ChunkedU32(), via: new ChunkedU32() };
  let n = 0;
  let edges = 0;
  let depth = 0;
  let limit: string | undefined;
  const maxStates = opts.maxStates ?? Infinity;
  const maxMs = (opts.maxSeconds ?? Infinity) * 1000;
  const maxBytes = opts.maxBytes ?? Infinity;
  const bytes = () => seen.bytes + queue.bytes + 4 * (6 * n + 2 * edges);
  const base = () => ({ states: n, transitions: ex.transitions, depth, seconds: seconds(), bytesPerState: n ? bytes() / n : 0 });

  const init = ex.initial();
  if ('bad' in init) throw new Error('the liveness pass runs where the safety search passed');
  const add = (state: Uint8Array, lo: number, hi: number, from: number, code: number): number => {
    let id = seen.getOrInsert(lo, hi, n);
    if (id < 0) {
      id = n++;
      g.parent.set(id, from);
      g.via.set(id, code);
      queue.push(0, id, state);
    }
    return id;
  };
  add(init.state, init.lo, init.hi, NO_PARENT, 0);

  // Breadth-first: the queue hands states back in id order, so each state's edges
  // follow the previous one's.
  const cur = new Uint8Array(c.stateSize);
  const ignored: Candidate[] = [];
  let s = 0;
  let lastProgress = t0;
  const sink: SuccessorSink = (state, lo, hi, code) => {
    g.target.set(edges, add(state, lo, hi, s, code));
    g.code.set(edges, code);
    edges++;
    return false;
  };
  for (s = queue.pop(0, cur); s >= 0; s = queue.pop(0, cur)) {
    g.rowStart.set(s, edges);
    if ((s & 4095) === 0) {
      const now = performance.now();
      if (now - t0 > maxMs) { limit = limitHit('seconds', opts); break; }
      if (n >= maxStates) { limit = limitHit('states', opts); break; }
      if (bytes() > maxBytes) { limit = limitHit('memory', opts); break; }
      if (opts.onProgress && now - lastProgress >= (opts.progressMs ?? 1000)) {
        lastProgress = now;
        opts.onProgress({ states: n, transitions: ex.transitions, queue: queue.pending, depth, seconds: (now - t0) / 1000 });
      }
    }
    ex.expand(cur, s, 0, 0, 255, ignored, sink);
    g.enabled.set(s, ex.enabledMask);
    g.exits.set(s, fair.count ? exitsEnabled(c, fair, cur) : 0);
    ignored.length = 0;
  }
  if (limit) return { ...base(), verdict: 'incomplete', limit };
  g.rowStart.set(n, edges);
  const graph: Graph = { ...g, n };
  const found = fairComponent(graph, nActors, fair);
  if (found === null) return { ...base(), verdict: 'pass' };
  return { ...base(), verdict: 'violation', violation: lasso(c, graph, fair, found.comp, found.id, found.root, opts.por ?? true) };
}

/**
 * The model's fair choices (Branch.fairExit): each actor's choice points (a pc
 * with a fair-exit branch) numbered in order, and for each branch the choice it
 * exits, or -1. Choice k is bit k & 31 of a state's mask: two choices that share a
 * bit are judged as one (enabled when either is, fulfilled when either exit is
 * taken), which can only keep more cycles fair, never hide a livelock.
 */
export interface FairChoices {
  readonly count: number;
  /** actor -> pc -> choice, or -1. */
  readonly atPc: readonly Int32Array[];
  /** actor -> branch id -> choice it exits, or -1. */
  readonly exitOf: readonly Int32Array[];
}

export function fairChoices(c: Compiled): FairChoices {
  let count = 0;
  const atPc = c.actors.map((a) => new Int32Array(a.states.length).fill(-1));
  const exitOf = c.actors.map((a) => new Int32Array(a.branches.length).fill(-1));
  c.actors.forEach((a, i) => {
    for (const br of a.branches) {
      if (!br.fairExit) continue;
      if (atPc[i][br.from] < 0) atPc[i][br.from] = count++;
      exitOf[i][br.id] = atPc[i][br.from];
    }
  });
  return { count, atPc, exitOf };
}

/** Bits of the fair choices whose exit is enabled in state `m` (enabledBranch: the kernel's if/else order). */
export function exitsEnabled(c: Compiled, f: FairChoices, m: Uint8Array): number {
  let mask = 0;
  for (let a = 0; a < c.actors.length; a++) {
    const pc = m[c.actors[a].base];
    const k = f.atPc[a][pc];
    if (k < 0) continue;
    for (const group of c.actors[a].groups[pc]) {
      const br = enabledBranch(c, a, group, m);
      if (br !== null && !('kind' in br) && br.fairExit) { mask |= 1 << (k & 31); break; }
    }
  }
  return mask;
}

/** The choice bit a step code takes the exit of, or 0. */
const exitBit = (f: FairChoices, code: number): number => {
  const k = f.exitOf[code >>> 16][code & 0xffff];
  return k < 0 ? 0 : 1 << (k & 31);
};

/**
 * The fair component reached first (its states marked `comp[x] === id`, `root` its
 * first state in discovery order), or null: the Emerson-Lei refinement of strongly
 * connected components for weak fairness over actors and strong fairness over the
 * declared exits. A component with a cycle is fair when every actor steps inside it
 * or is disabled in one of its states (weak fairness: else no cycle in it is fair,
 * nor in any part of it) and every fair exit enabled in one of its states is taken
 * on an edge inside it. When some exit is enabled but never taken inside, no fair
 * run stays in the component and visits the states where it is enabled infinitely
 * often: those states are dropped, and what is left is split into components again.
 */
function fairComponent(g: Graph, nActors: number, f: FairChoices): { comp: Int32Array; id: number; root: number } | null {
  const all = nActors === 31 ? 0x7fffffff : (1 << nActors) - 1;
  const { n } = g;
  // region[x]: the part of the graph state x is judged in (-1: dropped). Tarjan runs
  // on one region at a time, following only edges that stay inside it.
  const region = new Int32Array(n);
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n);
  const callNode = new Int32Array(n);
  const callEdge = new Int32Array(n);
  let comps = 0;
  let regions = 1;
  let best: { id: number; root: number } | null = null;
  const todo: Int32Array[] = [];
  const everyState = new Int32Array(n);
  for (let x = 0; x < n; x++) everyState[x] = x;
  todo.push(everyState);

  while (todo.length) {
    const members = todo.pop()!;
    const r = region[members[0]];
    for (const x of members) index[x] = -1;
    let sp = 0;
    let counter = 0;
    for (const root of members) {
      if (index[root] >= 0) continue;
      callNode[0] = root;
      callEdge[0] = g.rowStart.get(root);
      let cp = 1;
      index[root] = low[root] = counter++;
      stack[sp++] = root;
      while (cp > 0) {
        const u = callNode[cp - 1];
        const e = callEdge[cp - 1];
        if (e < g.rowStart.get(u + 1)) {
          callEdge[cp - 1] = e + 1;
          const v = g.target.get(e);
          if (region[v] !== r) continue;
          if (index[v] < 0) {
            index[v] = low[v] = counter++;
            stack[sp++] = v;
            callNode[cp] = v;
            callEdge[cp] = g.rowStart.get(v);
            cp++;
          } else if (comp[v] < 0 && index[v] < low[u]) low[u] = index[v];
          continue;
        }
        cp--;
        if (cp > 0) {
          const p = callNode[cp - 1];
          if (low[u] < low[p]) low[p] = low[u];
        }
        if (low[u] !== index[u]) continue;
        // u roots a component: pop it, then judge it.
        const id = comps++;
        let first = sp - 1;
        while (stack[first] !== u) first--;
        let minState = u;
        for (let k = first; k < sp; k++) {
          comp[stack[k]] = id;
          if (stack[k] < minState) minState = stack[k];
        }
        let stepped = 0;
        let disabled = 0;
        let enabledExits = 0;
        let takenExits = 0;
        let inner = false;
        for (let k = first; k < sp; k++) {
          const x = stack[k];
          disabled |= ~g.enabled.get(x) & all;
          enabledExits |= g.exits.get(x);
          for (let e2 = g.rowStart.get(x), end = g.rowStart.get(x + 1); e2 < end; e2++) {
            if (comp[g.target.get(e2)] === id) {
              inner = true;
              const code = g.code.get(e2);
              stepped |= 1 << (code >>> 16);
              takenExits |= exitBit(f, code);
            }
          }
        }
        const unfair = enabledExits & ~takenExits;
        if (inner && ((stepped | disabled) & all) === all && (best === null || minState < best.root)) {
          if (unfair === 0) best = { id, root: minState };
          else {
            // Drop the states where an exit that is never taken inside is enabled;
            // judge the rest again as a region of its own.
            const rest: number[] = [];
            const nr = regions++;
            for (let k = first; k < sp; k++) {
              const x = stack[k];
              if (g.exits.get(x) & unfair) region[x] = -1;
              else { region[x] = nr; comp[x] = -1; rest.push(x); }
            }
            if (rest.length) todo.push(Int32Array.from(rest.sort((a, b) => a - b)));
          }
        }
        sp = first;
      }
    }
  }
  return best && { comp, ...best };
}

/** The stem to `root` (breadth-first parents) and a fair closed walk from it inside component `id`. */
function lasso(c: Compiled, g: Graph, f: FairChoices, comp: Int32Array, id: number, root: number, por: boolean): FoundViolation {
  const all = (1 << c.actors.length) - 1;
  const stem: number[] = [];
  for (let x = root; g.parent.get(x) !== NO_PARENT; x = g.parent.get(x)) stem.push(g.via.get(x));
  stem.reverse();
  // Walk inside the component: each actor must step in the loop or be disabled at a
  // state of it, and each fair exit enabled anywhere in the component must be taken
  // (every state the walk passes is in the component, so that covers the loop's).
  const loop: number[] = [];
  let at = root;
  let met = ~g.enabled.get(root) & all;
  let exitsTaken = 0;
  const walkTo = (goal: (x: number) => number | null): void => {
    // Breadth-first inside the component from `at` to the nearest state x where
    // goal(x) gives an edge to take from x, or -1 (reaching x will do).
    const from = new Map<number, { x: number; e: number }>([[at, { x: -1, e: -1 }]]);
    const todo = [at];
    for (let h = 0; h < todo.length; h++) {
      const x = todo[h];
      const take = goal(x);
      if (take === null) {
        for (let e = g.rowStart.get(x), end = g.rowStart.get(x + 1); e < end; e++) {
          const y = g.target.get(e);
          if (comp[y] === id && !from.has(y)) { from.set(y, { x, e }); todo.push(y); }
        }
        continue;
      }
      const path: number[] = take >= 0 ? [take] : [];
      for (let y = x; y !== at; y = from.get(y)!.x) path.push(from.get(y)!.e);
      for (const e of path.reverse()) {
        const code = g.code.get(e);
        loop.push(code);
        at = g.target.get(e);
        met |= (1 << (code >>> 16)) | (~g.enabled.get(at) & all);
        exitsTaken |= exitBit(f, code);
      }
      return;
    }
    throw new Error('liveness: the component does not hold what its judgement found');
  };
  const edgeInside = (x: number, want: (code: number) => boolean): number | null => {
    for (let e = g.rowStart.get(x), end = g.rowStart.get(x + 1); e < end; e++) {
      if (comp[g.target.get(e)] === id && want(g.code.get(e))) return e;
    }
    return null;
  };
  for (let a = 0; a < c.actors.length; a++) {
    if (met & (1 << a)) continue;
    walkTo((x) => (x !== at && (~g.enabled.get(x) & (1 << a)) ? -1 : edgeInside(x, (code) => code >>> 16 === a)));
  }
  let exitsInComponent = 0;
  for (let x = 0; x < g.n; x++) if (comp[x] === id) exitsInComponent |= g.exits.get(x);
  for (let k = 0; k < 32; k++) {
    const bit = 1 << k;
    if (!(exitsInComponent & bit) || (exitsTaken & bit)) continue;
    walkTo((x) => edgeInside(x, (code) => (exitBit(f, code) & bit) !== 0));
  }
  // Back to the loop's start (at least one step).
  walkTo((x) => {
    for (let e = g.rowStart.get(x), end = g.rowStart.get(x + 1); e < end; e++) {
      if (g.target.get(e) === root) return e;
    }
    return null;
  });
  const steps = stepsFromVias([...stem, ...loop], -1);
  const states = runSteps(c, steps, por);
  const waiting = c.actors.filter((a) => !a.final[states[stem.length][a.base]]).map((a) => a.name);
  const stepping = [...new Set(loop.map((v) => c.actors[v >>> 16].name))];
  return {
    kind: 'termination', property: LIVELOCK.name,
    message: `under a fair scheduler the run can go round a cycle of ${loop.length} step${loop.length === 1 ? '' : 's'} for ever (${stepping.join(', ')} stepping), so ${waiting.join(', ')} never finish${waiting.length === 1 ? 'es' : ''}`,
    steps, preemptions: countPreemptions(c, steps.map((x) => x.actor), states), loop: stem.length,
  };
}

/** The states a run of steps passes through, states[i] before step i (walker steps: local chains run). */
function runSteps(c: Compiled, steps: readonly { actor: number; branch: number }[], por: boolean): Uint8Array[] {
  const states = [c.initial.slice()];
  if (por) for (let a = 0; a < c.actors.length; a++) runLocalChain(c, a, states[0]);
  for (const st of steps) {
    const next = new Uint8Array(c.stateSize);
    takeStep(c, st.actor, c.actors[st.actor].branches[st.branch], states[states.length - 1], next, por);
    states.push(next);
  }
  return states;
}

/**
 * Why the loop of a lasso (steps `loop..` of a replayed trace, states[i] before
 * step i, the last state equal to states[loop]) is not a fair run, or null when it
 * is: some actor enabled in every state of the loop never steps in it (weak
 * fairness), or some fair exit enabled in a state of the loop is never taken in it
 * (choice fairness). Tests hold every lasso the pass reports to it.
 */
export function unfairLoop(
  c: Compiled,
  steps: readonly { actor: string; event: string; from: string }[],
  states: readonly Uint8Array[],
  loop: number,
): string | null {
  const f = fairChoices(c);
  const nActors = c.actors.length;
  const stepped = new Uint8Array(nActors);
  const disabled = new Uint8Array(nActors);
  let enabledExits = 0;
  let takenExits = 0;
  for (let i = loop; i < steps.length; i++) {
    const m = states[i];
    for (let a = 0; a < nActors; a++) {
      if (!canStep(c, a, m)) disabled[a] = 1;
    }
    enabledExits |= exitsEnabled(c, f, m);
    const a = c.actors.findIndex((x) => x.name === steps[i].actor);
    stepped[a] = 1;
    const group = c.actors[a].groups[m[c.actors[a].base]].find((g) => g[0].event === steps[i].event);
    const br = group && enabledBranch(c, a, group, m);
    if (br && !('kind' in br)) takenExits |= exitBit(f, (a << 16) | br.id);
  }
  const starved = c.actors.filter((_, a) => !stepped[a] && !disabled[a]).map((x) => x.name);
  if (starved.length) return `${starved.join(', ')} enabled all round the loop and never stepping`;
  if (enabledExits & ~takenExits) return 'a fair exit enabled on the loop and never taken';
  return null;
}
