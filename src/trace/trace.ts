/**
 * Counterexamples: rebuild a walker finding into a full trace (every step named,
 * with what it changed), replay a trace against the kernel core, and read and write
 * trace files in ITF JSON (the Informal Trace Format) with pagerace's steps in #meta.
 */
import { resolve } from 'node:path';
import type { Compiled, CompiledBranch } from '../explore/compile.ts';
import { ItfError, firstDifference, readItf, showValue, writeItf, type ItfState, type ItfValue } from './itf.ts';
import { STATE_VARS, decodeState, pageText, renderState } from './world.ts';
import { checkStuck, enabledBranch, takeStep, type Finding } from '../explore/check.ts';
import type { FoundViolation } from '../explore/walker.ts';
import { countPreemptions as countRunPreemptions } from '../explore/bounded.ts';
import type { Model, Scope } from '../system.ts';

/** One step, by names, so that a trace file survives a rebuild of the tables. */
export interface NamedStep {
  readonly actor: string;
  readonly event: string;
  readonly from: string;
  readonly to: string;
}

export interface TraceStep extends NamedStep {
  /** A local step (only the actor's own state): it does not count in a trace's length. */
  readonly local: boolean;
  readonly fn: string;
  readonly desc: string;
  /** What the step changed in the world, e.g. `p0 refcount 1→2`. */
  readonly changes: readonly string[];
}

export interface Trace {
  readonly system: string;
  readonly kernel: string;
  readonly scope: Scope;
  readonly variant: string | null;
  /** The user's driver module the trace was found with (`--driver FILE`), as given. */
  readonly driver?: string;
  readonly violation: Finding;
  readonly preemptions: number;
  readonly steps: readonly TraceStep[];
  /** A lasso (a livelock): the index in `states` where the loop starts; the last state steps back to it. */
  readonly loop?: number;
  /** The world and every actor after each step; states[0] is the initial state. */
  readonly states: readonly Uint8Array[];
}

/** A malformed trace file, or one whose states differ from what its steps give: exit 2. */
export class TraceError extends Error {
  override name = 'TraceError';
}

/**
 * The trace does not apply to this code: a step it takes is not possible, or its
 * steps no longer end in its violation (what a fix does to an old counterexample).
 * `pagerace replay` exits 4.
 */
export class StaleTraceError extends Error {
  override name = 'StaleTraceError';
}

/** A trace's length: its steps where another actor could interleave (local steps do not count). */
export const traceLength = (steps: readonly { local: boolean }[]): number => steps.filter((s) => !s.local).length;

// --- describing states ---------------------------------------------------------

/** The world changes between two states, in words. Ghost fields are left out. */
export function describeChanges(model: Model, pre: Uint8Array, post: Uint8Array): string[] {
  const out: string[] = [];
  for (let pfn = 0; pfn < model.view.pages; pfn++) {
    const a = pageText(model, pre, pfn);
    const b = pageText(model, post, pfn);
    const parts: string[] = [];
    for (const k of Object.keys(a)) if (a[k] !== b[k]) parts.push(`${k} ${a[k]}→${b[k]}`);
    if (parts.length) out.push(`${model.view.pageLabel(pfn)}: ${parts.join(', ')}`);
  }
  for (const g of model.view.globals) {
    if (pre[g.at] !== post[g.at]) {
      const r = g.render ?? String;
      out.push(`${g.name} ${r(pre[g.at])}→${r(post[g.at])}`);
    }
  }
  for (const d of model.view.derived ?? []) {
    const a = d.render(pre);
    const b = d.render(post);
    if (a !== b) out.push(`${d.name} ${a}→${b}`);
  }
  return out;
}

// --- rebuilding and replaying -------------------------------------------------

const named = (c: Compiled, actor: number, br: CompiledBranch): NamedStep => ({
  actor: c.actors[actor].name,
  event: br.event,
  from: c.actors[actor].states[br.from],
  to: c.actors[actor].states[br.target],
});

interface Replayed {
  steps: TraceStep[];
  states: Uint8Array[];
  finding: Finding | null;
}

/**
 * Run steps from the initial state, checking every property after each. `por`
 * chains local steps as the walker did; the steps taken are all listed.
 */
function run(c: Compiled, take: (m: Uint8Array, i: number) => { actor: number; br: CompiledBranch } | null, por: boolean): Replayed {
  const states: Uint8Array[] = [c.initial.slice()];
  const steps: TraceStep[] = [];
  let m = c.initial.slice();
  for (let i = 0; ; i++) {
    const next = take(m, i);
    if (next === null) return { steps, states, finding: checkStuckIfStuck(c, m) };
    const post = new Uint8Array(c.stateSize);
    const taken: { actor: number; br: CompiledBranch }[] = [];
    const finding = takeStep(c, next.actor, next.br, m, post, por, (br) => taken.push({ actor: next.actor, br }));
    // A chain of local steps is one step of the walker: its changes go on its first
    // row, and the local steps after it are marked as run along with it.
    taken.forEach((t, k) => {
      const a = c.actors[t.actor];
      steps.push({
        ...named(c, t.actor, t.br), local: a.local[t.br.from] === 1, fn: a.fnOf[t.br.from], desc: (a.local[t.br.from] ? '(local) ' : '') + a.descOf[t.br.from],
        changes: k ? [] : describeChanges(c.model, m, post),
      });
    });
    states.push(post);
    m = post;
    if (finding) return { steps, states, finding };
  }
}

/** A state with no enabled step is a deadlock or an end state; otherwise no finding. */
function checkStuckIfStuck(c: Compiled, m: Uint8Array): Finding | null {
  for (let a = 0; a < c.actors.length; a++) {
    for (const g of c.actors[a].groups[m[c.actors[a].base]]) if (enabledBranch(c, a, g, m) !== null) return null;
  }
  return checkStuck(c, m);
}

/** Expand a walker finding into a full, replayed trace. */
export function rebuild(
  c: Compiled, v: FoundViolation, meta: { system: string; kernel: string; scope: Scope; variant: string | null; driver?: string }, por: boolean,
): Trace {
  const r = run(c, (_m, i) => {
    if (i >= v.steps.length) return null;
    const { actor, branch } = v.steps[i];
    return { actor, br: c.actors[actor].branches[branch] };
  }, por);
  if (v.loop !== undefined) return { ...meta, ...lassoOf(c, r.steps, { kind: v.kind, property: v.property, message: v.message }), preemptions: v.preemptions };
  // The trace as a file states it: every step explicit, replayed without chaining,
  // so it ends at the very step that breaks the property.
  const explicit = r.finding ? replaySteps(c, r.steps) : r;
  const same = explicit.finding && explicit.finding.kind === v.kind && explicit.finding.property === v.property;
  if (!same) {
    throw new TraceError(`replaying the walker's trace gave ${explicit.finding ? `${explicit.finding.kind} ${explicit.finding.property}` : 'no violation'} instead of ${v.kind} ${v.property}: the model is not deterministic`);
  }
  return { ...meta, violation: explicit.finding!, preemptions: v.preemptions, steps: explicit.steps, states: explicit.states };
}

/**
 * A lasso's steps replayed without chaining, and where its loop starts: the first
 * state equal to the last (a TraceError when the steps do not come back).
 */
export function lassoOf(c: Compiled, named: readonly NamedStep[], violation: Finding): { violation: Finding; steps: TraceStep[]; states: Uint8Array[]; loop: number } {
  const r = replaySteps(c, named);
  const last = r.states[r.states.length - 1];
  const loop = r.states.findIndex((m) => m.every((b, i) => b === last[i]));
  if (r.finding || loop === r.states.length - 1) throw new TraceError(`the lasso's steps ${r.finding ? `break ${r.finding.property}` : 'do not come back to a state they passed'}: the model is not deterministic`);
  return { violation, steps: r.steps, states: r.states, loop };
}

/**
 * The branch named step `s` of `actor` takes in state m, or why it cannot: the actor
 * must be at `s.from`, its event group `s.event` must have an enabled branch, and
 * that branch must go to `s.to`. A guard that fires an assertion is the event's
 * first branch, as the walker records it, with the assertion as `fired`.
 */
export function namedBranch(c: Compiled, actor: number, s: NamedStep, m: Uint8Array): { br: CompiledBranch; fired: Finding | null } | string {
  const a = c.actors[actor];
  const here = a.states[m[a.base]];
  if (here !== s.from) return `${s.actor} is at '${here}'`;
  const group = a.groups[m[a.base]].find((g) => g[0].event === s.event);
  if (!group) return `${s.actor} has no event '${s.event}' at '${here}'`;
  const br = enabledBranch(c, actor, group, m);
  if (br === null) return `${s.actor} cannot take '${s.event}' at '${here}' (blocked)`;
  if ('kind' in br) return { br: group[0], fired: br };
  if (a.states[br.target] !== s.to) return `${s.actor} goes to '${a.states[br.target]}'`;
  return { br, fired: null };
}

/** Re-execute named steps against the core, without chaining. */
export function replaySteps(c: Compiled, steps: readonly NamedStep[]): Replayed {
  return run(c, (m, i) => {
    if (i >= steps.length) return null;
    const s = steps[i];
    const actor = c.actors.findIndex((a) => a.name === s.actor);
    const stale = (why: string) => new StaleTraceError(`the trace no longer applies: step ${i + 1} (${s.actor} ${s.from} -> ${s.to}) is not possible: ${why}`);
    if (actor < 0) throw stale(`no actor '${s.actor}' in this model`);
    const found = namedBranch(c, actor, s, m);
    if (typeof found === 'string') throw stale(found);
    return { actor, br: found.br };
  }, false);
}

// --- preemptions -----------------------------------------------------------------

/**
 * A trace's preemptions, counted as the walker counts them (explore/bounded.ts,
 * countPreemptions). Local steps are part of the step before them (the walker chains
 * them), so they neither count nor change who stepped last; `states[i]` is the state
 * before `steps[i]`.
 */
export function countPreemptions(c: Compiled, steps: readonly TraceStep[], states: readonly Uint8Array[]): number {
  const at = steps.flatMap((s, i) => (s.local ? [] : [i]));
  return countRunPreemptions(c, at.map((i) => c.actors.findIndex((x) => x.name === steps[i].actor)), at.map((i) => states[i]));
}

// --- ITF JSON -------------------------------------------------------------------

/**
 * A trace as an ITF file (itf.ts; the variables are world.ts's). The top-level
 * #meta says what was checked and what broke; each state's #meta carries its index,
 * the step that led to it (with the kernel function, the step's text and what it
 * changed) and the human renderings of its globals. `driver` overrides the driver
 * path stored (writeTrace stores it relative to the trace file).
 */
export function toItf(c: Compiled, t: Trace, opts: { readonly driver?: string } = {}): string {
  // Without a path relative to the file (writeTrace gives one), an absolute one: a
  // path relative to the working directory would not be found again by replay.
  const driver = opts.driver ?? (t.driver === undefined ? undefined : resolve(t.driver));
  const states: ItfState[] = t.states.map((m, i) => {
    const s = i > 0 ? t.steps[i - 1] : undefined;
    return {
      meta: {
        index: i,
        ...(s ? { step: { actor: s.actor, event: s.event, from: s.from, to: s.to, local: s.local, fn: s.fn, desc: s.desc, changes: s.changes } } : {}),
        render: renderState(c, m),
      },
      values: decodeState(c, m),
    };
  });
  return writeItf({
    meta: {
      format: 'ITF',
      'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
      source: 'pagerace',
      system: t.system,
      kernel: t.kernel,
      scope: t.scope,
      variant: t.variant,
      ...(driver !== undefined ? { driver } : {}),
      violation: t.violation,
      steps: traceLength(t.steps),
      preemptions: t.preemptions,
    },
    vars: [...STATE_VARS],
    states,
    ...(t.loop !== undefined ? { loop: t.loop } : {}),
  });
}

export interface TraceFile {
  readonly system: string;
  readonly kernel?: string;
  readonly scope: Scope;
  readonly variant: string | null;
  /** The driver module, relative to the trace file's directory (or absolute). */
  readonly driver?: string;
  readonly violation: Finding;
  readonly preemptions?: number;
  readonly steps: readonly NamedStep[];
  /** The states as the file has them (states[0] is the initial state). */
  readonly states: readonly ItfState[];
  readonly loop?: number;
}

/** Parse a pagerace trace file; every problem is a TraceError with one line of text. */
export function parseTraceFile(text: string): TraceFile {
  let doc;
  try {
    doc = readItf(text);
  } catch (e) {
    if (e instanceof ItfError) throw new TraceError(e.message);
    throw e;
  }
  const meta = doc.meta;
  if (meta.source !== 'pagerace') {
    throw new TraceError(`not a pagerace trace (#meta.source is ${JSON.stringify(meta.source ?? null)}): replay re-executes pagerace's own traces`);
  }
  const { system, kernel, scope, variant, driver, violation, preemptions } = meta;
  if (driver !== undefined && typeof driver !== 'string') throw new TraceError('#meta.driver must be a string (the driver module\'s path)');
  if (typeof system !== 'string') throw new TraceError('#meta.system must be a string');
  if (kernel !== undefined && typeof kernel !== 'string') throw new TraceError('#meta.kernel must be a string');
  if (!scope || typeof scope !== 'object' || Object.values(scope).some((v) => !Number.isInteger(v))) throw new TraceError('#meta.scope must map names to integers');
  if (variant !== null && typeof variant !== 'string') throw new TraceError('#meta.variant must be a string or null');
  const vio = violation as Record<string, unknown> | undefined;
  if (!vio || typeof vio.kind !== 'string' || typeof vio.property !== 'string') throw new TraceError('#meta.violation must have a kind and a property');
  const missing = STATE_VARS.filter((v) => !doc.vars.includes(v));
  if (missing.length) throw new TraceError(`vars lacks ${missing.join(', ')}: not a trace of this pagerace version; regenerate it with pagerace check`);
  if (doc.states.length === 0) throw new TraceError('the trace has no states');
  const steps = doc.states.slice(1).map((st, i): NamedStep => {
    const o = st.meta.step as Record<string, unknown> | undefined;
    for (const k of ['actor', 'event', 'from', 'to']) {
      if (typeof o?.[k] !== 'string') throw new TraceError(`states[${i + 1}].#meta.step.${k} must be a string`);
    }
    return { actor: o!.actor as string, event: o!.event as string, from: o!.from as string, to: o!.to as string };
  });
  return {
    system, ...(kernel !== undefined ? { kernel: kernel as string } : {}), scope: scope as Scope, variant: variant as string | null,
    ...(driver !== undefined ? { driver: driver as string } : {}),
    violation: { kind: vio.kind as Finding['kind'], property: vio.property, message: String(vio.message ?? '') },
    ...(Number.isInteger(preemptions) ? { preemptions: preemptions as number } : {}),
    steps, states: doc.states,
    ...(doc.loop !== undefined ? { loop: doc.loop } : {}),
  };
}

/**
 * Compare the file's states with the re-executed ones; a difference is a TraceError
 * naming the first state and field that differ (the file was edited, or the model
 * changed under it: regenerate it).
 */
export function compareStates(c: Compiled, file: readonly ItfState[], replayed: readonly Uint8Array[], steps: readonly TraceStep[]): void {
  if (file.length !== replayed.length) {
    throw new TraceError(`the file has ${file.length} states, re-execution gives ${replayed.length}`);
  }
  replayed.forEach((m, i) => {
    const now = decodeState(c, m);
    for (const v of STATE_VARS) {
      const d = firstDifference(file[i].values[v] as ItfValue, now[v]);
      if (d) {
        const after = i === 0 ? 'the initial state' : `after step ${i} (${steps[i - 1].actor}: ${steps[i - 1].fn})`;
        throw new TraceError(`state ${i} (${after}) differs from re-execution at ${v}${d.path}: the file has ${showValue(d.a)}, re-execution gives ${showValue(d.b)}`);
      }
    }
  });
}
