/**
 * `page-lifecycle`: the generic monitor of the pages' lifecycle machines
 * (System Model.lifecycles). After every step, every page whose lifecycle state
 * changed must have moved along a transition its machine has, taken by an actor of
 * a kind the transition names, as the page's holder when it says so, and under the
 * lock it names. It knows no system: the machines say what is allowed, the
 * abstraction functions say where a page is.
 *
 * Cost: only pages whose struct page bytes lie in the step's changed range are
 * looked at (a lifecycle's abstraction depends on nothing else, see
 * Lifecycle.state), and only when one of their bytes changed. A lifecycle over
 * other units (Lifecycle.bytes, e.g. a pageblock's migratetype byte in the zone)
 * is looked at in the same way: a unit whose bytes lie in the changed range and
 * differ.
 */
import { PAGE_STRIDE } from '../src/kernel/page.ts';
import type { ActorDef, Lifecycle, LifecycleMeta, StepInvariant } from '../src/system.ts';
import { WordViews } from '../src/words.ts';

export const PAGE_LIFECYCLE = 'page-lifecycle';

/** One transition of a lifecycle machine, read from its XState definition. */
export interface LifecycleTransition {
  readonly from: string;
  readonly to: string;
  readonly event: string;
  readonly meta: LifecycleMeta;
}

interface StateNodeLike {
  readonly type: string;
  readonly transitions: Map<string, readonly { target?: readonly { key: string }[]; meta?: unknown }[]>;
}

/** The machine's states in document order, the initial one first. */
export function lifecycleStates(lc: Lifecycle): string[] {
  const root = lc.machine.root as unknown as { states: Record<string, StateNodeLike>; initial?: { target?: { key: string }[] } };
  const keys = Object.keys(root.states);
  const first = root.initial?.target?.[0]?.key;
  return first === undefined ? keys : [first, ...keys.filter((k) => k !== first)];
}

/** Every transition of the machine, in document order; each must carry a LifecycleMeta. */
export function lifecycleTransitions(lc: Lifecycle): LifecycleTransition[] {
  const root = lc.machine.root as unknown as { states: Record<string, StateNodeLike> };
  const out: LifecycleTransition[] = [];
  for (const [from, node] of Object.entries(root.states)) {
    for (const [event, defs] of node.transitions) {
      for (const def of defs) {
        const to = def.target?.[0]?.key ?? from;
        const meta = def.meta as LifecycleMeta | undefined;
        if (!meta || !Array.isArray(meta.by) || typeof meta.lock !== 'string' || typeof meta.fn !== 'string') {
          throw new Error(`lifecycle ${lc.name}: ${from} on ${event} has no meta { by, lock, fn }`);
        }
        if (meta.lock !== 'none' && !(meta.lock in lc.locks)) throw new Error(`lifecycle ${lc.name}: ${from} on ${event} names lock '${meta.lock}', which the lifecycle does not define`);
        out.push({ from, to, event, meta });
      }
    }
  }
  return out;
}

/** Where each actor's program counter sits in a packed state, and its state names (compile.ts's order). */
function actorSteps(actors: readonly ActorDef[], worldSize: number): { at: number; states: string[]; fn: string[] }[] {
  let at = worldSize;
  return actors.map((a) => {
    const root = a.machine.root as unknown as { states: Record<string, { meta?: { fn?: string } }>; initial?: { target?: { key: string }[] } };
    const keys = Object.keys(root.states);
    const first = root.initial?.target?.[0]?.key;
    const states = first === undefined ? keys : [first, ...keys.filter((k) => k !== first)];
    const r = { at, states, fn: states.map((s) => String(root.states[s].meta?.fn ?? '-')) };
    at += 1 + a.locals.length;
    return r;
  });
}

interface Allowed {
  /** Index in lifecycleTransitions(lc). */
  readonly index: number;
  readonly event: string;
  readonly kinds: readonly string[];
  /** By actor index: 1 when the actor's kind may take it. */
  readonly actorOk: Uint8Array;
  readonly holder: boolean;
  readonly lock: ((pre: Uint8Array, post: Uint8Array, pfn: number, actor: number) => boolean) | null;
  readonly lockName: string;
}

/**
 * The monitor for `lifecycles` over a model whose actors are `actors` and whose
 * world is `worldSize` bytes (struct pages from offset 0, `stride` bytes each:
 * PAGE_STRIDE, or a system's own, e.g. folio-v6's FOLIO_BYTES).
 * A lifecycle's pages that no machine claims are not looked at.
 */
export interface LifecycleMonitor extends StepInvariant {
  /** Tell `seen` which transition of which lifecycle each page the step moved took (the witness search). */
  witness(pre: Uint8Array, post: Uint8Array, actor: number, seen: (lifecycle: number, transition: number) => void): void;
}

export function lifecycleMonitor(lifecycles: readonly Lifecycle[], actors: readonly ActorDef[], worldSize: number, stride = PAGE_STRIDE): LifecycleMonitor {
  // (lifecycle, from, to) -> the transitions that may explain the move.
  const tables = lifecycles.map((lc) => {
    const allowed = new Map<string, Map<string, Allowed[]>>();
    for (const [index, t] of lifecycleTransitions(lc).entries()) {
      const actorOk = Uint8Array.from(actors, (x) => (t.meta.by.includes(x.kind) ? 1 : 0));
      const a: Allowed = { index, event: t.event, kinds: t.meta.by, actorOk, holder: t.meta.holder === true, lock: t.meta.lock === 'none' ? null : lc.locks[t.meta.lock], lockName: t.meta.lock };
      const row = allowed.get(t.from) ?? new Map<string, Allowed[]>();
      allowed.set(t.from, row);
      row.set(t.to, [...(row.get(t.to) ?? []), a]);
    }
    return allowed;
  });
  let npages = 0;
  for (const lc of lifecycles) if (!lc.bytes) for (const p of lc.pages) npages = Math.max(npages, p + 1);
  /** pfn -> the lifecycles that watch it. */
  const byPage: number[][] = Array.from({ length: npages }, () => []);
  lifecycles.forEach((lc, i) => { if (!lc.bytes) for (const p of lc.pages) byPage[p].push(i); });
  /** The units of lifecycles over other bytes (Lifecycle.bytes): lifecycle, id, [from, to). */
  const units = lifecycles.flatMap((lc, i) => (lc.bytes ? lc.pages.map((id) => ({ i, id, at: lc.bytes!(id) })) : []));
  const steps = actorSteps(actors, worldSize);
  const stepName = (m: Uint8Array, actor: number): string => {
    const s = steps[actor];
    const pc = m[s.at];
    return `${actors[actor].name} at '${s.states[pc]}' (${s.fn[pc]})`;
  };

  /**
   * The pages with a changed byte in [from, to), in order, into `changed`; returns
   * how many. Whole words are compared first (the range spans many pages when a
   * step links a page into a list whose head lies past the pages).
   */
  const changed = new Int32Array(npages);
  const views = new WordViews();
  function changedPages(pre: Uint8Array, post: Uint8Array, from: number, to: number): number {
    let n = 0;
    let last = -1;
    const pw = views.of(pre);
    const qw = views.of(post);
    if (pw === null || qw === null) {
      for (let b = from; b < to; b++) {
        if (pre[b] === post[b]) continue;
        const pfn = (b / stride) | 0;
        if (pfn !== last) changed[n++] = last = pfn;
      }
      return n;
    }
    for (let w = from >>> 2, end = (to + 3) >>> 2; w < end; w++) {
      if (pw[w] === qw[w]) continue;
      for (let b = Math.max(w << 2, from), z = Math.min((w << 2) + 4, to); b < z; b++) {
        if (pre[b] === post[b]) continue;
        const pfn = (b / stride) | 0;
        if (pfn !== last) changed[n++] = last = pfn;
      }
    }
    return n;
  }

  /** The index of the first transition that explains the move, or why none does. */
  function judge(i: number, from: string, to: string, pre: Uint8Array, post: Uint8Array, pfn: number, actor: number): number | string {
    const lc = lifecycles[i];
    const options = tables[i].get(from)?.get(to);
    if (!options) return 'no transition of the machine goes there';
    // The first transition that explains the move; the reasons are written only
    // when none does (a violation), so that an allowed move allocates nothing.
    for (let k = 0; k < options.length; k++) {
      const o = options[k];
      if (o.actorOk[actor] === 1 && (!o.holder || lc.holder(pre, pfn) === actor || lc.holder(post, pfn) === actor) &&
        (o.lock === null || o.lock(pre, post, pfn, actor))) return o.index;
    }
    const kind = actors[actor]?.kind ?? '?';
    const why: string[] = [];
    for (const o of options) {
      if (o.actorOk[actor] !== 1) why.push(`${o.event} is taken by ${o.kinds.join(' or ')}, not by a ${kind}`);
      else if (o.holder && lc.holder(pre, pfn) !== actor && lc.holder(post, pfn) !== actor) why.push(`${o.event} is taken only by the page's holder`);
      else why.push(`${o.event} needs ${o.lockName}, which ${actors[actor].name} does not hold`);
    }
    return why.join('; ');
  }

  /**
   * For each lifecycle page the step changed, `seen(lifecycle, transition index)`
   * or, for a move no transition explains, `bad(message)`; stops at the first bad one.
   */
  function moves(pre: Uint8Array, post: Uint8Array, actor: number, from: number, to: number,
    seen: ((lifecycle: number, transition: number) => void) | null): string | null {
    const n = changedPages(pre, post, from, Math.min(to, npages * stride));
    for (let j = 0; j < n; j++) {
      const pfn = changed[j];
      const kinds = byPage[pfn];
      if (kinds.length === 0) continue;
      // The lifecycles of one page usually share their fast path: ask it once.
      let asked: Lifecycle['unchanged'] = undefined;
      let same = false;
      for (let k = 0; k < kinds.length; k++) {
        const i = kinds[k];
        const lc = lifecycles[i];
        const fast = lc.unchanged;
        if (fast !== undefined) {
          if (fast !== asked) { asked = fast; same = fast(pre, post, pfn); }
          if (same) continue;
        }
        const a = lc.state(pre, pfn);
        const z = lc.state(post, pfn);
        if (a === z || a === null || z === null) continue;
        const why = judge(i, a, z, pre, post, pfn, actor);
        if (typeof why === 'string') return `pfn ${pfn} (${lc.name}) went from ${a} to ${z} in a step of ${stepName(pre, actor)}: ${why}`;
        if (seen !== null) seen(i, why);
      }
    }
    for (const u of units) {
      const [lo, hi] = u.at;
      if (hi <= from || lo >= to) continue;
      let b = lo;
      while (b < hi && pre[b] === post[b]) b++;
      if (b === hi) continue;
      const lc = lifecycles[u.i];
      const a = lc.state(pre, u.id);
      const z = lc.state(post, u.id);
      if (a === z || a === null || z === null) continue;
      const why = judge(u.i, a, z, pre, post, u.id, actor);
      if (typeof why === 'string') return `${lc.name} ${u.id} went from ${a} to ${z} in a step of ${stepName(pre, actor)}: ${why}`;
      if (seen !== null) seen(u.i, why);
    }
    return null;
  }

  const watched = (at: number): boolean => {
    const pfn = Math.floor(at / stride);
    if (pfn < npages && byPage[pfn].length > 0) return true;
    return units.some((u) => at >= u.at[0] && at < u.at[1]);
  };

  return {
    name: PAGE_LIFECYCLE,
    kind: 'invariant',
    scope: 'step',
    watches: watched,
    rule: 'Every page moves only along its lifecycle: each change of a page\'s lifecycle state is a transition of its machine, taken by an actor of the kind, as the holder and under the lock the transition names.',
    source: 'Documentation/vm/page_migration (seed patch 02): the non-LRU movable page\'s life (allocated, __SetPageMovable, isolate_page, migratepage, putback_page, __ClearPageMovable, freed) and who may move it; the machines in models/<system>/lifecycle.ts.',
    check(pre, post, actor, from, to) {
      return moves(pre, post, actor, from, to, null);
    },
    witness: (pre, post, actor, seen) => { moves(pre, post, actor, 0, worldSize, seen); },
  };
}
