/**
 * What the trace viewer shows, read from an ITF trace: the actors and the state
 * each is in after every step, who took each step and what it did, the violation,
 * and each actor's statechart. pagerace's own `#meta` is used where present; any
 * other ITF trace (Quint's) gets the generic reading: an actor is a `pc` field (a
 * record with a `pc` inside a map or record, or a variable named `...pc`), and a
 * step belongs to the actor whose pc moved.
 *
 * The pagerace-specific reading is `pageraceSteps` and `pageraceViolation` (the
 * trace file's format) and `systemCharts` (the machines of the system that wrote it).
 */
import type { AnyStateMachine } from 'xstate';
import { DEADLOCK, type System } from '../system.ts';
import { LIVELOCK } from '../explore/liveness.ts';
import {
  changesBetween, describeChange, fieldOf, inline, readItf, stateTables, type Change, type ItfDoc, type ItfValue, type Table,
} from './view-itf.ts';

export interface ChartState {
  readonly name: string;
  /** The kernel function the state belongs to (a pagerace machine state's meta.fn). */
  readonly fn?: string;
  readonly desc?: string;
  readonly local?: boolean;
  readonly final?: boolean;
}

/** An actor's statechart: its states and transitions. */
export interface Chart {
  readonly states: readonly ChartState[];
  readonly edges: readonly { readonly from: string; readonly to: string; readonly label: string }[];
  readonly initial: string | null;
  /** Drawn from the states the trace visits only (no machine was at hand). */
  readonly observed: boolean;
}

export interface StepView {
  /** The actor that took the step; null when the trace does not say and no pc moved alone. */
  readonly actor: string | null;
  readonly fn: string;
  readonly desc: string;
  readonly from: string | null;
  readonly to: string | null;
}

export interface ViolationView {
  readonly kind: string | null;
  readonly property: string | null;
  readonly message: string;
  /** The property's rule, in a sentence, and where it comes from. */
  readonly rule: string | null;
  readonly source: string | null;
  /** The rule of the driver contract the violation breaks, in the seed's words. */
  readonly contract: { readonly text: string; readonly source: string } | null;
  /** What the variant put back, when the trace is of a known-bug variant. */
  readonly bug: string | null;
}

/** What the system that wrote a trace says about its violation. */
interface Knowledge {
  readonly rules: ReadonlyMap<string, { rule: string; source: string }>;
  readonly contract: { readonly text: string; readonly source: string } | null;
  readonly bug: string | null;
}

export interface TraceView {
  readonly title: string;
  /** Name and value pairs shown under the title (system, kernel, scope, variant, ...). */
  readonly facts: readonly (readonly [string, string])[];
  readonly violation: ViolationView | null;
  readonly actors: readonly string[];
  /** After each state: where each actor is (its machine state). */
  readonly pcs: readonly Readonly<Record<string, string>>[];
  /** The step that led to each state; steps[0] (the initial state) is null. */
  readonly steps: readonly (StepView | null)[];
  /** One chart per machine; actors running the same machine share it. */
  readonly charts: readonly { readonly actors: readonly string[]; readonly chart: Chart }[];
  readonly tables: readonly (readonly Table[])[];
  /** What changed in each state from the one before; changes[0] is empty. */
  readonly changes: readonly (readonly Change[])[];
  readonly loop: number | null;
}

export interface ViewOptions {
  /**
   * The systems pagerace knows (models/index.ts's SYSTEMS): a pagerace trace's
   * system is built at the trace's scope for its actors' statecharts, the kernel
   * function of each step, and the violated property's rule. Without them the
   * charts show the states the trace visits.
   */
  readonly systems?: readonly System[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

/** A machine state as the viewer names it: a string, or a variant's tag. */
function pcName(v: ItfValue): string {
  return v.kind === 'str' ? v.value : v.kind === 'variant' && v.value.kind === 'tup' && v.value.items.length === 0 ? v.tag : inline(v);
}

/**
 * Where each actor is in one state. pagerace writes an `actors` record of
 * `{ pc, locals }`; a spec keeps a map of records with a `pc` field (`cpus`), or a
 * variable of its own (`drvPc`).
 */
function actorPcs(vars: readonly string[], values: ReadonlyMap<string, ItfValue>): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of vars) {
    const v = values.get(name)!;
    const entries = v.kind === 'map' ? v.entries.map(([k, x]) => [inline(k), x] as const) : v.kind === 'rec' ? v.fields : [];
    const pcs = entries.map(([k, x]) => [k, fieldOf(x, 'pc')] as const);
    if (pcs.length && pcs.every(([, pc]) => pc !== undefined)) {
      for (const [k, pc] of pcs) out.set(name === 'actors' ? k : `${name}[${k}]`, pcName(pc!));
    } else if (/pc$/i.test(name) && (v.kind === 'str' || v.kind === 'variant')) {
      out.set(name.replace(/_?pc$/i, '') || name, pcName(v));
    }
  }
  return out;
}

// --- pagerace's trace format ------------------------------------------------------

/**
 * The step that led to state i (i >= 1), as pagerace writes it: in the state's own
 * `#meta.step` (the ITF writer as the ADR has it), or in the top-level `#meta.steps`
 * (the first trace files). Null when the trace is not pagerace's.
 */
function pageraceStep(doc: ItfDoc, i: number): Partial<Record<'actor' | 'fn' | 'desc' | 'event' | 'from' | 'to', string>> | null {
  // The step in the state's own #meta: as `step: {...}`, or its fields right in #meta.
  const own = isObject(doc.states[i].meta.step) ? doc.states[i].meta.step : typeof doc.states[i].meta.actor === 'string' ? doc.states[i].meta : undefined;
  const listed = Array.isArray(doc.meta.steps) ? doc.meta.steps[i - 1] : undefined;
  const s = isObject(own) ? own : isObject(listed) ? listed : null;
  if (s === null) return null;
  const pick = (k: string) => str(s[k]) ?? undefined;
  const desc = pick('desc') ?? pick('description');
  // A local step (only the actor's own state) says so, as the text swimlanes do.
  const local = s.local === true && desc !== undefined && !desc.startsWith('(local)') ? `(local) ${desc}` : desc;
  return { actor: pick('actor'), fn: pick('fn'), desc: local, event: pick('event'), from: pick('from'), to: pick('to') };
}

function pageraceViolation(meta: Record<string, unknown>, k: Knowledge): ViolationView | null {
  const v = meta.violation;
  if (isObject(v)) {
    const property = str(v.property);
    const known = property !== null ? k.rules.get(property) : undefined;
    return {
      kind: str(v.kind), property, message: str(v.message) ?? '',
      rule: str(v.rule) ?? known?.rule ?? null, source: str(v.source) ?? known?.source ?? null, contract: k.contract, bug: k.bug,
    };
  }
  // Quint and Apalache say only that the trace ends in a violation.
  if (meta.status === 'violation') return { kind: 'violation', property: null, message: '', rule: null, source: null, contract: null, bug: null };
  return null;
}

function facts(meta: Record<string, unknown>, states: number): [string, string][] {
  const out: [string, string][] = [];
  const scope = meta.scope;
  for (const k of ['system', 'kernel', 'variant', 'driver', 'source']) {
    const v = str(meta[k]);
    if (v !== null) out.push([k, v]);
  }
  if (isObject(scope)) out.push(['scope', Object.entries(scope).map(([k, v]) => `${k} ${String(v)}`).join(', ')]);
  out.push(['steps', String(states - 1)]);
  // pagerace's length of a trace leaves out local steps.
  if (typeof meta.steps === 'number' && meta.steps !== states - 1) out.push(['length', `${meta.steps} (local steps not counted)`]);
  if (typeof meta.preemptions === 'number') out.push(['preemptions', String(meta.preemptions)]);
  return out;
}

/**
 * pagerace writes the world's raw values and, in each state's `#meta.render`, how
 * the kernel would print some of them (`driver.lock: free` for 0, `NULL` for 255)
 * and fields derived from the whole world (a free list, the pageblocks). A rendered
 * value replaces its raw one; the others make a table of their own, `derived`.
 */
function withRendered(tables: Table[], render: unknown): Table[] {
  if (!isObject(render)) return tables;
  const texts = new Map(Object.entries(render).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const out = tables.map((t) => {
    if (t.columns.length !== 1 || t.columns[0] !== 'value' || !t.rows.some((r) => texts.has(r.key))) return t;
    return { ...t, rows: t.rows.map((r) => (texts.has(r.key) ? { key: r.key, cells: [texts.get(r.key)!] } : r)) };
  });
  const used = new Set(out.flatMap((t) => (t.columns.length === 1 && t.columns[0] === 'value' ? t.rows.map((r) => r.key) : [])));
  const rest = [...texts].filter(([k]) => !used.has(k));
  if (rest.length) out.push({ name: 'derived', columns: ['value'], rows: rest.map(([key, v]) => ({ key, cells: [v] })) });
  return out;
}

// --- statecharts --------------------------------------------------------------------

interface StateNodeLike {
  readonly type: string;
  readonly description?: string;
  readonly meta?: { fn?: string; local?: boolean };
  readonly transitions: Map<string, readonly { target?: readonly { key: string }[]; guard?: unknown }[]>;
}

const guardName = (g: unknown): string | null =>
  g === undefined || g === null ? null : typeof g === 'string' ? g : typeof (g as { type?: unknown }).type === 'string' ? (g as { type: string }).type : 'guard';

/** An XState machine's states (in definition order) and transitions, for drawing. */
export function machineChart(machine: AnyStateMachine, stepEvent = 'step'): Chart {
  const root = machine.root as unknown as { states: Record<string, StateNodeLike>; initial?: { target?: readonly { key: string }[] } };
  const states: ChartState[] = [];
  const edges = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const [key, node] of Object.entries(root.states)) {
    states.push({
      name: key, desc: node.description ?? key,
      ...(node.meta?.fn !== undefined && node.meta.fn !== '-' ? { fn: node.meta.fn } : {}),
      ...(node.meta?.local ? { local: true } : {}), ...(node.type === 'final' ? { final: true } : {}),
    });
    for (const [event, ts] of node.transitions) {
      for (const t of ts) {
        for (const target of t.target ?? [{ key }]) {
          const id = `${key}\u0000${target.key}`;
          const e = edges.get(id) ?? { from: key, to: target.key, labels: [] };
          const label = [event === stepEvent ? '' : event, guardName(t.guard) ?? ''].filter(Boolean).join(' ');
          if (label && !e.labels.includes(label)) e.labels.push(label);
          edges.set(id, e);
        }
      }
    }
  }
  return {
    states, edges: [...edges.values()].map((e) => ({ from: e.from, to: e.to, label: e.labels.join(', ') })),
    initial: root.initial?.target?.[0]?.key ?? null, observed: false,
  };
}

/** A chart of the states some actors visit in the trace, in order of first visit. */
function observedChart(runs: readonly (readonly string[])[]): Chart {
  const states: string[] = [];
  const edges = new Map<string, { from: string; to: string; label: string }>();
  for (const pcs of runs) {
    pcs.forEach((pc, i) => {
      if (!states.includes(pc)) states.push(pc);
      if (i > 0 && pcs[i - 1] !== pc) edges.set(`${pcs[i - 1]}\u0000${pc}`, { from: pcs[i - 1], to: pc, label: '' });
    });
  }
  return { states: states.map((name) => ({ name })), edges: [...edges.values()], initial: runs[0]?.[0] ?? null, observed: true };
}

/** Actors kept in one map of a spec (`cpus[1]`, `cpus[2]`) run one machine: their observed charts are one. */
const family = (actor: string): string => (actor.includes('[') ? actor.slice(0, actor.indexOf('[')) : actor);

/**
 * The machines of the system that wrote a pagerace trace, built at its scope, and
 * what the system says about the violation: the property's rule, the contract rule
 * it enforces (the one the trace's variant breaks, if any), what the variant put back.
 */
function systemKnowledge(meta: Record<string, unknown>, systems: readonly System[]): { charts: Map<string, Chart> } & Knowledge {
  const charts = new Map<string, Chart>();
  const rules = new Map<string, { rule: string; source: string }>([[DEADLOCK.name, { rule: DEADLOCK.rule, source: DEADLOCK.source }], [LIVELOCK.name, { rule: LIVELOCK.rule, source: LIVELOCK.source }]]);
  const sys = systems.find((s) => s.name === meta.system);
  if (!sys || !isObject(meta.scope)) return { charts, rules, contract: null, bug: null };
  const variant = str(meta.variant);
  const property = isObject(meta.violation) ? str(meta.violation.property) : null;
  const enforcing = (sys.contract ?? []).filter((r) => property !== null && r.enforcedBy.includes(property));
  const rule = enforcing.find((r) => variant !== null && r.brokenBy.includes(variant)) ?? enforcing[0];
  const contract = rule ? { text: rule.text, source: rule.source } : null;
  const bug = sys.variants.find((x) => x.name === variant)?.description ?? null;
  const kernel = str(meta.kernel);
  let model;
  try {
    model = sys.build(meta.scope as Record<string, number>, variant, undefined, kernel !== null && (sys.kernels ?? [sys.kernel]).includes(kernel) ? kernel : undefined);
  } catch {
    return { charts, rules, contract, bug }; // a scope or variant this version of the system no longer has: draw what the trace shows
  }
  for (const p of model.properties) rules.set(p.name, { rule: p.rule, source: p.source });
  // A trace found with the user's --driver: the system's own driver machine is not the one that ran.
  const replaced = meta.driver !== undefined ? sys.driverSlot?.actor : undefined;
  for (const a of model.actors) if (a.name !== replaced) charts.set(a.name, machineChart(a.machine));
  return { charts, rules, contract, bug };
}

/**
 * A chart given in the trace itself (`#meta.machines`: per actor, `states` as names
 * or `{ name, fn, desc }`, `transitions` as `{ from, to }` or `[from, to]`).
 */
function metaCharts(meta: Record<string, unknown>): Map<string, Chart> {
  const out = new Map<string, Chart>();
  if (!isObject(meta.machines)) return out;
  for (const [actor, m] of Object.entries(meta.machines)) {
    if (!isObject(m) || !Array.isArray(m.states)) continue;
    const states = m.states.flatMap((s): ChartState[] => {
      if (typeof s === 'string') return [{ name: s }];
      if (!isObject(s) || typeof s.name !== 'string') return [];
      return [{ name: s.name, ...(typeof s.fn === 'string' ? { fn: s.fn } : {}), ...(typeof s.desc === 'string' ? { desc: s.desc } : {}) }];
    });
    const edges = (Array.isArray(m.transitions) ? m.transitions : []).flatMap((t) => {
      const [from, to] = Array.isArray(t) ? t : isObject(t) ? [t.from, t.to] : [];
      return typeof from === 'string' && typeof to === 'string' ? [{ from, to, label: isObject(t) ? str(t.event) ?? '' : '' }] : [];
    });
    out.set(actor, { states, edges, initial: str(m.initial) ?? states[0]?.name ?? null, observed: false });
  }
  return out;
}

// --- the whole view -------------------------------------------------------------------

/** Read any ITF trace into what the viewer shows; a malformed one is a TraceError of one line. */
export function traceView(trace: unknown, opts: ViewOptions = {}): TraceView {
  const doc = readItf(trace);
  const n = doc.states.length;
  const { charts: sysCharts, ...knowledge } = systemKnowledge(doc.meta, opts.systems ?? []);
  const given = metaCharts(doc.meta);

  const pcMaps = doc.states.map((s) => actorPcs(doc.vars, s.values));
  const actors: string[] = [];
  for (const m of pcMaps) for (const a of m.keys()) if (!actors.includes(a)) actors.push(a);
  for (let i = 1; i < n; i++) {
    const a = pageraceStep(doc, i)?.actor;
    if (a !== undefined && !actors.includes(a)) actors.push(a);
  }
  const pcs = pcMaps.map((m) => Object.fromEntries(actors.filter((a) => m.has(a)).map((a) => [a, m.get(a)!])));

  const runOf = (a: string): string[] => pcs.map((p) => p[a]).filter((x): x is string => x !== undefined);
  const chartOf = new Map<string, Chart>();
  for (const a of actors) {
    chartOf.set(a, given.get(a) ?? sysCharts.get(a) ?? observedChart(actors.filter((b) => family(b) === family(a) && !given.has(b) && !sysCharts.has(b)).map(runOf)));
  }
  // Actors that run the same machine (cpu0 and cpu1) share one chart, each lit in its colour.
  // A state's description may name the actor's own pages: the shared chart then gives each.
  const shape = (c: Chart): string => JSON.stringify({ ...c, states: c.states.map((x) => ({ ...x, desc: undefined })) });
  const charts: { actors: string[]; chart: Chart }[] = [];
  for (const a of actors) {
    const c = chartOf.get(a)!;
    const same = charts.find((g) => shape(g.chart) === shape(c));
    if (!same) {
      charts.push({ actors: [a], chart: c });
      continue;
    }
    same.actors.push(a);
    same.chart = { ...same.chart, states: same.chart.states.map((x, i) => (x.desc === c.states[i].desc ? x : { ...x, desc: same.actors.map((b) => `${b}: ${chartOf.get(b)!.states[i].desc ?? ''}`).join('\n') })) };
  }

  const tables = doc.states.map((s) => withRendered(stateTables(doc.vars, s.values), s.meta.render));
  const changes = tables.map((t, i) => (i === 0 ? [] : changesBetween(tables[i - 1], t)));

  const steps: (StepView | null)[] = [null];
  for (let i = 1; i < n; i++) {
    const s = pageraceStep(doc, i);
    const actor = s?.actor ?? movedAlone(pcs[i - 1], pcs[i]);
    const from = s?.from ?? (actor !== null ? pcs[i - 1][actor] ?? null : null);
    const to = s?.to ?? (actor !== null ? pcs[i][actor] ?? null : null);
    const state = actor !== null && from !== null ? chartOf.get(actor)?.states.find((x) => x.name === from) : undefined;
    const fn = s?.fn ?? state?.fn ?? (from !== null && to !== null ? `${from} → ${to}` : 'step');
    const desc = s?.desc ?? (state?.desc !== undefined && state.desc !== from ? state.desc : '');
    steps.push({ actor, fn, desc: s?.event && s.event !== 'step' ? `${desc}${desc ? ' ' : ''}[${s.event}]` : desc, from, to });
  }

  const meta = doc.meta;
  const system = str(meta.system);
  const title = system !== null
    ? `${system}${str(meta.kernel) ? ` (kernel ${meta.kernel})` : ''}${str(meta.variant) ? `: ${meta.variant}` : ''}`
    : `ITF trace${str(meta.source) ? ` of ${meta.source}` : ''}`;
  return {
    title, facts: facts(meta, n), violation: pageraceViolation(meta, knowledge), actors, pcs, steps, charts, tables, changes, loop: doc.loop,
  };
}

/** The one actor whose pc differs between two states, or null. */
function movedAlone(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string | null {
  const moved = Object.keys(after).filter((a) => before[a] !== after[a]);
  return moved.length === 1 ? moved[0] : null;
}

export { describeChange };
