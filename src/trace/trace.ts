/**
 * Counterexamples: rebuild a walker finding into a full trace (every step named,
 * with what it changed), replay a trace against the kernel core, and read and write
 * trace files in ITF JSON (the Informal Trace Format) with pagerace's steps in #meta.
 */
import {
  F_FLAGS, F_LIST, F_MAPPING, F_PRIVATE, F_REF, F_TYPE, PAGE_STRIDE, TYPE_BALLOON, TYPE_BUDDY, describeFlags,
} from '../kernel/page.ts';
import { describeMapping } from '../kernel/movable.ts';
import type { Compiled, CompiledBranch } from '../explore/compile.ts';
import { checkStuck, enabledBranch, takeStep, type Finding } from '../explore/check.ts';
import type { FoundViolation } from '../explore/walker.ts';
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
  /** The world and every actor after each step; states[0] is the initial state. */
  readonly states: readonly Uint8Array[];
}

export class TraceError extends Error {
  override name = 'TraceError';
}

/** A trace's length: its steps where another actor could interleave (local steps do not count). */
export const traceLength = (steps: readonly { local: boolean }[]): number => steps.filter((s) => !s.local).length;

// --- describing states ---------------------------------------------------------

function pageFields(model: Model, m: Uint8Array, pfn: number): Record<string, string> {
  const o = pfn * PAGE_STRIDE;
  const type = m[o + F_TYPE];
  return {
    flags: describeFlags(m[o + F_FLAGS]).join('|') || '0',
    mapping: describeMapping(m[o + F_MAPPING]),
    refcount: String((m[o + F_REF] << 24) >> 24),
    type: type === TYPE_BUDDY ? 'buddy' : type === TYPE_BALLOON ? 'balloon' : '-',
    private: String(m[o + F_PRIVATE]),
    list: model.view.pageList ? model.view.pageList(m, pfn) : model.view.listName(m[o + F_LIST]),
  };
}

/** The world changes between two states, in words. Ghost fields are left out. */
export function describeChanges(model: Model, pre: Uint8Array, post: Uint8Array): string[] {
  const out: string[] = [];
  for (let pfn = 0; pfn < model.view.pages; pfn++) {
    const a = pageFields(model, pre, pfn);
    const b = pageFields(model, post, pfn);
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
  // The trace as a file states it: every step explicit, replayed without chaining,
  // so it ends at the very step that breaks the property.
  const explicit = r.finding ? replaySteps(c, r.steps) : r;
  const same = explicit.finding && explicit.finding.kind === v.kind && explicit.finding.property === v.property;
  if (!same) {
    throw new TraceError(`replaying the walker's trace gave ${explicit.finding ? `${explicit.finding.kind} ${explicit.finding.property}` : 'no violation'} instead of ${v.kind} ${v.property}: the model is not deterministic`);
  }
  return { ...meta, violation: explicit.finding!, preemptions: v.preemptions, steps: explicit.steps, states: explicit.states };
}

/** Re-execute named steps against the core, without chaining. */
export function replaySteps(c: Compiled, steps: readonly NamedStep[]): Replayed {
  return run(c, (m, i) => {
    if (i >= steps.length) return null;
    const s = steps[i];
    const actor = c.actors.findIndex((a) => a.name === s.actor);
    if (actor < 0) throw new TraceError(`step ${i + 1}: no actor '${s.actor}' in this model`);
    const a = c.actors[actor];
    const here = a.states[m[a.base]];
    if (here !== s.from) throw new TraceError(`step ${i + 1}: ${s.actor} is at '${here}', the trace says '${s.from}'`);
    const group = a.groups[m[a.base]].find((g) => g[0].event === s.event);
    if (!group) throw new TraceError(`step ${i + 1}: ${s.actor} has no event '${s.event}' at '${here}'`);
    const br = enabledBranch(c, actor, group, m);
    if (br === null) throw new TraceError(`step ${i + 1}: ${s.actor} cannot take '${s.event}' at '${here}' (blocked)`);
    if ('kind' in br) return { actor, br: group[0] };
    if (a.states[br.target] !== s.to) throw new TraceError(`step ${i + 1}: ${s.actor} goes to '${a.states[br.target]}', the trace says '${s.to}'`);
    return { actor, br };
  }, false);
}

// --- ITF JSON -------------------------------------------------------------------

function itfState(c: Compiled, m: Uint8Array, index: number): Record<string, unknown> {
  const model = c.model;
  const pages: Record<string, unknown> = {};
  for (let pfn = 0; pfn < model.view.pages; pfn++) pages[model.view.pageLabel(pfn)] = pageFields(model, m, pfn);
  const globals: Record<string, unknown> = {};
  for (const g of model.view.globals) globals[g.name] = g.render ? g.render(m[g.at]) : m[g.at];
  for (const d of model.view.derived ?? []) globals[d.name] = d.render(m);
  const actors: Record<string, unknown> = {};
  for (const a of c.actors) {
    const locals: Record<string, number> = {};
    a.locals.forEach((name, i) => { locals[name] = m[a.base + 1 + i]; });
    actors[a.name] = { pc: a.states[m[a.base]], locals };
  }
  return { '#meta': { index }, pages, globals, actors };
}

export function toItf(c: Compiled, t: Trace): string {
  const doc = {
    '#meta': {
      format: 'ITF',
      'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
      source: 'pagerace',
      system: t.system,
      kernel: t.kernel,
      scope: t.scope,
      variant: t.variant,
      ...(t.driver !== undefined ? { driver: t.driver } : {}),
      violation: t.violation,
      preemptions: t.preemptions,
      steps: t.steps.map(({ actor, event, from, to }) => ({ actor, event, from, to })),
    },
    vars: ['pages', 'globals', 'actors'],
    states: t.states.map((m, i) => itfState(c, m, i)),
  };
  return JSON.stringify(doc, null, 1) + '\n';
}

export interface TraceFile {
  readonly system: string;
  readonly scope: Scope;
  readonly variant: string | null;
  readonly driver?: string;
  readonly violation: Finding;
  readonly steps: readonly NamedStep[];
}

/** Parse a trace file; every problem is a TraceError with one line of text. */
export function parseTraceFile(text: string): TraceFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TraceError(`not JSON: ${(e as Error).message}`);
  }
  const meta = (doc as { '#meta'?: Record<string, unknown> } | null)?.['#meta'];
  if (!meta || typeof meta !== 'object') throw new TraceError('no #meta object: not a pagerace ITF trace');
  const { system, scope, variant, driver, violation, steps } = meta as Record<string, unknown>;
  if (driver !== undefined && typeof driver !== 'string') throw new TraceError('#meta.driver must be a string (the driver module\'s path)');
  if (typeof system !== 'string') throw new TraceError('#meta.system must be a string');
  if (!scope || typeof scope !== 'object' || Object.values(scope).some((v) => !Number.isInteger(v))) throw new TraceError('#meta.scope must map names to integers');
  if (variant !== null && typeof variant !== 'string') throw new TraceError('#meta.variant must be a string or null');
  const vio = violation as Record<string, unknown> | undefined;
  if (!vio || typeof vio.kind !== 'string' || typeof vio.property !== 'string') throw new TraceError('#meta.violation must have a kind and a property');
  if (!Array.isArray(steps)) throw new TraceError('#meta.steps must be an array');
  steps.forEach((s, i) => {
    const o = s as Record<string, unknown>;
    for (const k of ['actor', 'event', 'from', 'to']) {
      if (typeof o?.[k] !== 'string') throw new TraceError(`#meta.steps[${i}].${k} must be a string`);
    }
  });
  return {
    system, scope: scope as Scope, variant: variant as string | null,
    ...(driver !== undefined ? { driver: driver as string } : {}),
    violation: { kind: vio.kind as Finding['kind'], property: vio.property, message: String(vio.message ?? '') },
    steps: steps as NamedStep[],
  };
}
