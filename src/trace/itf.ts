/**
 * The Informal Trace Format (ITF), as Apalache's ADR-015 defines it
 * (https://apalache-mc.org/docs/adr/015adr-trace.html): a trace is
 * `{ "#meta"?, "params"?, "vars", "states", "loop"? }`, every state a record of the
 * variables in `vars` plus an optional `#meta`. Values are
 *
 *   booleans, strings, integers (JSON numbers, or `{ "#bigint": "-123" }` past 2^53),
 *   lists (JSON arrays), `{ "#tup": [...] }`, `{ "#set": [...] }`,
 *   `{ "#map": [[key, value], ...] }`, records (objects whose keys do not start with #),
 *   variants `{ "tag": "Name", "value": ... }`, and `{ "#unserializable": "..." }`.
 *
 * This module reads any ITF file (Quint's, Apalache's, pagerace's) into typed values
 * and writes them back; it knows nothing of pagerace's systems (see world.ts).
 */
import { P, match } from 'ts-pattern';

export type ItfValue =
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'str'; readonly value: string }
  | { readonly type: 'list'; readonly items: readonly ItfValue[] }
  | { readonly type: 'tup'; readonly items: readonly ItfValue[] }
  | { readonly type: 'set'; readonly items: readonly ItfValue[] }
  | { readonly type: 'map'; readonly entries: readonly (readonly [ItfValue, ItfValue])[] }
  | { readonly type: 'record'; readonly fields: Readonly<Record<string, ItfValue>> }
  | { readonly type: 'variant'; readonly tag: string; readonly value: ItfValue }
  | { readonly type: 'unserializable'; readonly text: string };

export class ItfError extends Error {
  override name = 'ItfError';
}

// --- building values (what the writer uses) -------------------------------------

export const itf = {
  bool: (value: boolean): ItfValue => ({ type: 'bool', value }),
  int: (value: number | bigint): ItfValue => ({ type: 'int', value: BigInt(value) }),
  str: (value: string): ItfValue => ({ type: 'str', value }),
  list: (items: readonly ItfValue[]): ItfValue => ({ type: 'list', items }),
  tup: (items: readonly ItfValue[]): ItfValue => ({ type: 'tup', items }),
  set: (items: readonly ItfValue[]): ItfValue => ({ type: 'set', items }),
  map: (entries: readonly (readonly [ItfValue, ItfValue])[]): ItfValue => ({ type: 'map', entries }),
  record: (fields: Readonly<Record<string, ItfValue>>): ItfValue => ({ type: 'record', fields }),
  variant: (tag: string, value: ItfValue = { type: 'tup', items: [] }): ItfValue => ({ type: 'variant', tag, value }),
  /** Quint's Option: `Some(v)` or `None`. */
  option: (v: ItfValue | null): ItfValue => (v === null ? itf.variant('None') : itf.variant('Some', v)),
};

// --- JSON <-> values ---------------------------------------------------------------

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A value as ITF JSON: integers within 2^53 as numbers, others as #bigint. */
export function toJson(v: ItfValue): unknown {
  return match(v)
    .with({ type: 'bool' }, (x) => x.value)
    .with({ type: 'int' }, (x) => (x.value <= SAFE && x.value >= -SAFE ? Number(x.value) : { '#bigint': x.value.toString() }))
    .with({ type: 'str' }, (x) => x.value)
    .with({ type: 'list' }, (x) => x.items.map(toJson))
    .with({ type: 'tup' }, (x) => ({ '#tup': x.items.map(toJson) }))
    .with({ type: 'set' }, (x) => ({ '#set': x.items.map(toJson) }))
    .with({ type: 'map' }, (x) => ({ '#map': x.entries.map(([k, val]) => [toJson(k), toJson(val)]) }))
    .with({ type: 'record' }, (x) => Object.fromEntries(Object.entries(x.fields).map(([k, val]) => [k, toJson(val)])))
    .with({ type: 'variant' }, (x) => ({ tag: x.tag, value: toJson(x.value) }))
    .with({ type: 'unserializable' }, (x) => ({ '#unserializable': x.text }))
    .exhaustive();
}

/** Read one ITF JSON value; `where` names it in errors (e.g. `states[3].pages`). */
export function fromJson(j: unknown, where = 'value'): ItfValue {
  return match(j)
    .with(P.boolean, (value): ItfValue => ({ type: 'bool', value }))
    .with(P.string, (value): ItfValue => ({ type: 'str', value }))
    .with(P.number, (n): ItfValue => {
      if (!Number.isSafeInteger(n)) throw new ItfError(`${where}: ${n} is not an integer within 2^53 (use {"#bigint": "..."})`);
      return { type: 'int', value: BigInt(n) };
    })
    .with(P.array(), (a): ItfValue => ({ type: 'list', items: a.map((x, i) => fromJson(x, `${where}[${i}]`)) }))
    .with({ '#bigint': P.string }, (o): ItfValue => {
      if (!/^-?\d+$/.test(o['#bigint'])) throw new ItfError(`${where}: #bigint '${o['#bigint']}' is not an integer`);
      return { type: 'int', value: BigInt(o['#bigint']) };
    })
    .with({ '#tup': P.array() }, (o): ItfValue => ({ type: 'tup', items: o['#tup'].map((x, i) => fromJson(x, `${where}.#tup[${i}]`)) }))
    .with({ '#set': P.array() }, (o): ItfValue => ({ type: 'set', items: o['#set'].map((x, i) => fromJson(x, `${where}.#set[${i}]`)) }))
    .with({ '#map': P.array() }, (o): ItfValue => ({
      type: 'map',
      entries: o['#map'].map((e, i) => {
        if (!Array.isArray(e) || e.length !== 2) throw new ItfError(`${where}.#map[${i}] must be a [key, value] pair`);
        return [fromJson(e[0], `${where}.#map[${i}][0]`), fromJson(e[1], `${where}.#map[${i}][1]`)] as const;
      }),
    }))
    .with({ '#unserializable': P.string }, (o): ItfValue => ({ type: 'unserializable', text: o['#unserializable'] }))
    .with({ tag: P.string, value: P._ }, (o): ItfValue => {
      if (Object.keys(o).length !== 2) return record(o as Record<string, unknown>, where);
      return { type: 'variant', tag: o.tag, value: fromJson(o.value, `${where}.value`) };
    })
    .with(P.nullish, () => { throw new ItfError(`${where}: null is not an ITF value`); })
    .otherwise((o) => {
      if (typeof o !== 'object') throw new ItfError(`${where}: ${typeof o} is not an ITF value`);
      return record(o as Record<string, unknown>, where);
    });
}

function record(o: Record<string, unknown>, where: string): ItfValue {
  const fields: Record<string, ItfValue> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('#')) throw new ItfError(`${where}: unknown ITF form '${k}'`);
    fields[k] = fromJson(v, `${where}.${k}`);
  }
  return { type: 'record', fields };
}

// --- traces --------------------------------------------------------------------------

export interface ItfState {
  /** The state's own #meta (pagerace puts the step that led to the state here). */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly values: Readonly<Record<string, ItfValue>>;
}

export interface ItfTrace {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly params?: readonly string[];
  readonly vars: readonly string[];
  readonly states: readonly ItfState[];
  /** Where a lasso's loop starts: the state the last state steps back to. */
  readonly loop?: number;
}

/** Read an ITF trace; every problem is an ItfError of one line. */
export function readItf(text: string): ItfTrace {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ItfError(`not JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ItfError('an ITF trace is a JSON object');
  const d = doc as Record<string, unknown>;
  const meta = d['#meta'] ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new ItfError('#meta must be an object');
  if (!Array.isArray(d.vars) || d.vars.some((v) => typeof v !== 'string')) throw new ItfError('vars must be an array of variable names');
  if (d.params !== undefined && (!Array.isArray(d.params) || d.params.some((v) => typeof v !== 'string'))) throw new ItfError('params must be an array of names');
  if (!Array.isArray(d.states)) throw new ItfError('states must be an array');
  const vars = d.vars as string[];
  const states = d.states.map((s, i): ItfState => {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new ItfError(`states[${i}] must be an object`);
    const { '#meta': sm = {}, ...rest } = s as Record<string, unknown>;
    const values: Record<string, ItfValue> = {};
    for (const v of vars) {
      if (!(v in rest)) throw new ItfError(`states[${i}] has no variable '${v}'`);
      values[v] = fromJson(rest[v], `states[${i}].${v}`);
    }
    return { meta: sm as Record<string, unknown>, values };
  });
  const loop = d.loop;
  if (loop !== undefined && (!Number.isInteger(loop) || (loop as number) < 0 || (loop as number) >= states.length)) {
    throw new ItfError(`loop must be the index of a state (0 to ${states.length - 1})`);
  }
  return { meta: meta as Record<string, unknown>, ...(d.params ? { params: d.params as string[] } : {}), vars, states, ...(loop !== undefined ? { loop: loop as number } : {}) };
}

/**
 * An ITF trace as text, deterministic: the top-level #meta indented, one state per
 * line (diffs of committed traces show which states changed).
 */
export function writeItf(t: ItfTrace): string {
  const stateJson = (s: ItfState) => JSON.stringify({ '#meta': s.meta, ...Object.fromEntries(t.vars.map((v) => [v, toJson(s.values[v])])) });
  const head: string[] = [
    `"#meta": ${JSON.stringify(t.meta, null, 1).replace(/\n/g, '\n ')}`,
    ...(t.params ? [`"params": ${JSON.stringify(t.params)}`] : []),
    `"vars": ${JSON.stringify(t.vars)}`,
  ];
  const states = t.states.length ? `"states": [\n  ${t.states.map(stateJson).join(',\n  ')}\n ]` : '"states": []';
  return `{\n ${[...head, states, ...(t.loop !== undefined ? [`"loop": ${t.loop}`] : [])].join(',\n ')}\n}\n`;
}

/** A value as one line of text (for messages): ITF JSON. */
export const showValue = (v: ItfValue): string => JSON.stringify(toJson(v));

/**
 * The first place two values differ, as a path (`.p0.refcount`, `#set`), or null
 * when they are equal. Sets compare as written (pagerace writes them sorted).
 */
export function firstDifference(a: ItfValue, b: ItfValue, path = ''): { path: string; a: ItfValue; b: ItfValue } | null {
  if (a.type !== b.type) return { path, a, b };
  return match([a, b] as const)
    .with([{ type: P.union('bool', 'int', 'str', 'unserializable') }, P._], () => (showValue(a) === showValue(b) ? null : { path, a, b }))
    .with([{ type: P.union('list', 'tup', 'set') }, { type: P.union('list', 'tup', 'set') }], ([x, y]) => {
      if (x.items.length !== y.items.length) return { path, a, b };
      for (let i = 0; i < x.items.length; i++) {
        const d = firstDifference(x.items[i], y.items[i], `${path}[${i}]`);
        if (d) return d;
      }
      return null;
    })
    .with([{ type: 'map' }, { type: 'map' }], ([x, y]) => {
      if (x.entries.length !== y.entries.length) return { path, a, b };
      for (let i = 0; i < x.entries.length; i++) {
        const key = showValue(x.entries[i][0]);
        if (key !== showValue(y.entries[i][0])) return { path: `${path}[${i}]`, a: x.entries[i][0], b: y.entries[i][0] };
        const d = firstDifference(x.entries[i][1], y.entries[i][1], `${path}[${key}]`);
        if (d) return d;
      }
      return null;
    })
    .with([{ type: 'record' }, { type: 'record' }], ([x, y]) => {
      const keys = [...new Set([...Object.keys(x.fields), ...Object.keys(y.fields)])];
      for (const k of keys) {
        if (!(k in x.fields) || !(k in y.fields)) return { path: `${path}.${k}`, a, b };
        const d = firstDifference(x.fields[k], y.fields[k], `${path}.${k}`);
        if (d) return d;
      }
      return null;
    })
    .with([{ type: 'variant' }, { type: 'variant' }], ([x, y]) => (x.tag !== y.tag ? { path, a, b } : firstDifference(x.value, y.value, `${path}(${x.tag})`)))
    .otherwise(() => ({ path, a, b }));
}
