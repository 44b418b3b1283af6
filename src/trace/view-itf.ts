/**
 * The trace viewer's generic layer: any ITF value (the Informal Trace Format,
 * https://apalache-mc.org/docs/adr/015adr-trace.html) decoded into a display model,
 * each state variable laid out as a table, and what changed between two states.
 * Nothing here knows pagerace: it reads Quint's and Apalache's traces the same way.
 */
import { TraceError } from './trace.ts';

/** An ITF value, decoded. JSON arrays are ITF sequences (`list`). */
export type ItfValue =
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'list' | 'set' | 'tup'; readonly items: readonly ItfValue[] }
  | { readonly kind: 'map'; readonly entries: readonly (readonly [ItfValue, ItfValue])[] }
  | { readonly kind: 'rec'; readonly fields: readonly (readonly [string, ItfValue])[] }
  | { readonly kind: 'variant'; readonly tag: string; readonly value: ItfValue }
  | { readonly kind: 'unserializable'; readonly text: string };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Decode one ITF value; `where` names it in the one-line error a malformed value gets. */
export function decodeItf(x: unknown, where: string): ItfValue {
  if (typeof x === 'boolean') return { kind: 'bool', value: x };
  if (typeof x === 'string') return { kind: 'str', value: x };
  if (typeof x === 'number') {
    // ITF integers are JSON numbers; anything else is shown as written rather than refused.
    return Number.isInteger(x) ? { kind: 'int', value: BigInt(x) } : { kind: 'str', value: String(x) };
  }
  if (Array.isArray(x)) return { kind: 'list', items: x.map((v, i) => decodeItf(v, `${where}[${i}]`)) };
  if (!isObject(x)) throw new TraceError(`${where}: ${x === null ? 'null' : typeof x} is not an ITF value`);
  const keys = Object.keys(x);
  if (keys.length === 1) {
    const [k] = keys;
    const v = x[k];
    switch (k) {
      case '#bigint':
        if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new TraceError(`${where}: #bigint must be a string of digits`);
        return { kind: 'int', value: BigInt(v) };
      case '#set':
      case '#tup':
        if (!Array.isArray(v)) throw new TraceError(`${where}: ${k} must be an array`);
        return { kind: k === '#set' ? 'set' : 'tup', items: v.map((e, i) => decodeItf(e, `${where}.${k}[${i}]`)) };
      case '#map':
        if (!Array.isArray(v) || v.some((e) => !Array.isArray(e) || e.length !== 2)) throw new TraceError(`${where}: #map must be an array of [key, value] pairs`);
        return { kind: 'map', entries: v.map((e: unknown[], i) => [decodeItf(e[0], `${where}.#map[${i}][0]`), decodeItf(e[1], `${where}.#map[${i}][1]`)] as const) };
      case '#unserializable':
        return { kind: 'unserializable', text: String(v) };
    }
  }
  if (keys.length === 2 && typeof x.tag === 'string' && 'value' in x) {
    return { kind: 'variant', tag: x.tag, value: decodeItf(x.value, `${where}.value`) };
  }
  return { kind: 'rec', fields: keys.filter((k) => k !== '#meta').map((k) => [k, decodeItf(x[k], `${where}.${k}`)] as const) };
}

const isUnit = (v: ItfValue): boolean => v.kind === 'tup' && v.items.length === 0;

/** A value in one line, the way a reader writes it: `{a, b}`, `⟨1, 2⟩`, `k ↦ v`, `Tag(v)`. */
export function inline(v: ItfValue): string {
  switch (v.kind) {
    case 'bool': return String(v.value);
    case 'int': return v.value.toString();
    case 'str': return v.value;
    case 'unserializable': return v.text;
    case 'list': return `[${v.items.map(inline).join(', ')}]`;
    case 'set': return v.items.length ? `{${v.items.map(inline).join(', ')}}` : '∅';
    case 'tup': return `⟨${v.items.map(inline).join(', ')}⟩`;
    case 'map': return v.entries.length ? `{${v.entries.map(([k, x]) => `${inline(k)} ↦ ${inline(x)}`).join(', ')}}` : '{}';
    case 'rec': return `{${v.fields.map(([k, x]) => `${k}: ${inline(x)}`).join(', ')}}`;
    case 'variant': return isUnit(v.value) ? v.tag : `${v.tag}(${inline(v.value)})`;
  }
}

/** A state variable as a table: one row per key, one column per field. */
export interface Table {
  readonly name: string;
  readonly columns: readonly string[];
  readonly rows: readonly { readonly key: string; readonly cells: readonly string[] }[];
}

/** A record's field, or undefined (not a record, or no such field). */
export function fieldOf(v: ItfValue, name: string): ItfValue | undefined {
  return v.kind === 'rec' ? v.fields.find(([k]) => k === name)?.[1] : undefined;
}

/** The keyed entries of a map or record, or null for any other value. */
function entriesOf(v: ItfValue): (readonly [string, ItfValue])[] | null {
  if (v.kind === 'map') return v.entries.map(([k, x]) => [inline(k), x] as const);
  if (v.kind === 'rec') return v.fields.map(([k, x]) => [k, x] as const);
  return null;
}

/**
 * A row's cells by column: a record's fields, and the fields of a record inside
 * it one level down as `field.sub` (an actor's locals become columns of their own).
 */
function rowCells(v: ItfValue): Map<string, string> {
  const cells = new Map<string, string>();
  if (v.kind !== 'rec') return cells.set('value', inline(v));
  for (const [k, x] of v.fields) {
    if (x.kind === 'rec' && x.fields.length > 0) for (const [s, y] of x.fields) cells.set(`${k}.${s}`, inline(y));
    else cells.set(k, inline(x));
  }
  return cells;
}

/**
 * One variable as a table. A map or record whose values are records: a row per
 * key, a column per field. A map or record of plain values: a row per key and one
 * `value` column. Anything else: one row.
 */
export function tableOf(name: string, v: ItfValue): Table {
  const entries = entriesOf(v);
  if (entries === null || entries.length === 0) return { name, columns: ['value'], rows: [{ key: name, cells: [inline(v)] }] };
  // Records that carry their own `label` (pagerace's pages, keyed by pfn: `p0`, `t1.0`) are named by it.
  const labels = entries.map(([, x]) => fieldOf(x, 'label'));
  const labelled = labels.every((l) => l?.kind === 'str') && new Set(labels.map((l) => inline(l!))).size === labels.length;
  const byRow = entries.map(([k, x], i) => {
    const cells = rowCells(x);
    if (labelled) cells.delete('label');
    return [labelled ? inline(labels[i]!) : k, cells] as const;
  });
  const columns: string[] = [];
  for (const [, cells] of byRow) for (const c of cells.keys()) if (!columns.includes(c)) columns.push(c);
  return { name, columns, rows: byRow.map(([key, cells]) => ({ key, cells: columns.map((c) => cells.get(c) ?? '') })) };
}

/** A cell that differs from the same row and column of the previous state. */
export interface Change {
  readonly table: string;
  readonly row: string;
  readonly column: string;
  /** null: the row (or column) is new. */
  readonly before: string | null;
  readonly after: string;
}

/** Every cell of `now` that is not the same in `before` (same table, row key and column). */
export function changesBetween(before: readonly Table[], now: readonly Table[]): Change[] {
  const out: Change[] = [];
  for (const t of now) {
    const old = before.find((b) => b.name === t.name);
    for (const r of t.rows) {
      const oldRow = old?.rows.find((o) => o.key === r.key);
      t.columns.forEach((c, i) => {
        const j = old ? old.columns.indexOf(c) : -1;
        const prev = oldRow && j >= 0 ? oldRow.cells[j] : null;
        if (prev !== r.cells[i] && !(prev === null && r.cells[i] === '')) out.push({ table: t.name, row: r.key, column: c, before: prev, after: r.cells[i] });
      });
    }
  }
  return out;
}

/**
 * Tables whose row keys read as names of their own (a spec's plain variables,
 * pagerace's `globals` like `driver.isolated` and `derived` like `free_area`);
 * other keys are qualified by their table.
 */
const SELF_NAMED = new Set(['variables', 'globals', 'derived']);

/** Where a cell is, in words: `p0.refcount`, `pages[0].ref`, `lastStep.who`, `dlock`. */
export function cellName(c: Pick<Change, 'table' | 'row' | 'column'>): string {
  const row = SELF_NAMED.has(c.table) ? c.row
    : /^[A-Za-z_][\w.-]*$/.test(c.row) ? (c.column === 'value' ? `${c.table}.${c.row}` : c.row)
      : `${c.table}[${c.row}]`;
  return c.column === 'value' ? row : `${row}.${c.column}`;
}

/** A change in words: `p0.refcount 0→1`, `pages[0].ref 1→2`, `dlock false→true`. */
export function describeChange(c: Change): string {
  const where = cellName(c);
  return c.before === null ? `${where} = ${c.after}` : `${where} ${c.before}→${c.after}`;
}

/** A decoded ITF document: its variables (display names) and each state's values. */
export interface ItfDoc {
  readonly meta: Record<string, unknown>;
  /** Display names: a common `module::` qualification (Quint's) is dropped. */
  readonly vars: readonly string[];
  readonly states: readonly {
    readonly meta: Record<string, unknown>;
    readonly values: ReadonlyMap<string, ItfValue>;
  }[];
  /** Index of the state a lasso's loop goes back to, if the trace is a lasso. */
  readonly loop: number | null;
}

/** Quint writes `module::instance::name`: show the last part when that stays unique. */
function displayNames(vars: readonly string[]): string[] {
  const short = vars.map((v) => v.split('::').pop()!);
  return new Set(short).size === short.length ? short : [...vars];
}

/** Read an ITF document; every problem is a TraceError of one line. */
export function readItf(doc: unknown): ItfDoc {
  if (!isObject(doc)) throw new TraceError('not an ITF trace: the top level must be an object');
  const states = doc.states;
  if (!Array.isArray(states) || states.length === 0) throw new TraceError('not an ITF trace: no states array');
  const meta = isObject(doc['#meta']) ? doc['#meta'] : {};
  let vars: string[];
  if (doc.vars === undefined) {
    vars = Object.keys(isObject(states[0]) ? states[0] : {}).filter((k) => k !== '#meta');
  } else if (Array.isArray(doc.vars) && doc.vars.every((v) => typeof v === 'string')) {
    vars = doc.vars as string[];
  } else {
    throw new TraceError('not an ITF trace: vars must be an array of names');
  }
  const names = displayNames(vars);
  const decoded = states.map((s, i) => {
    if (!isObject(s)) throw new TraceError(`states[${i}] is not an object`);
    const values = new Map<string, ItfValue>();
    vars.forEach((v, j) => {
      if (!(v in s)) throw new TraceError(`states[${i}] has no variable '${v}'`);
      values.set(names[j], decodeItf(s[v], `states[${i}].${v}`));
    });
    return { meta: isObject(s['#meta']) ? s['#meta'] : {}, values };
  });
  const loop = doc.loop;
  if (loop !== undefined && loop !== null && !(Number.isInteger(loop) && (loop as number) >= 0 && (loop as number) < states.length)) {
    throw new TraceError(`loop must be the index of a state (0 to ${states.length - 1})`);
  }
  return { meta, vars: names, states: decoded, loop: typeof loop === 'number' ? loop : null };
}

/**
 * A state's tables: each variable that is a map or record becomes its own table;
 * the plain values (numbers, flags, variants, sets) are gathered into one table of
 * their own, `variables`, so that a spec of many scalars reads as one list.
 */
export function stateTables(vars: readonly string[], values: ReadonlyMap<string, ItfValue>): Table[] {
  const tables: Table[] = [];
  const scalars: { key: string; cells: string[] }[] = [];
  for (const name of vars) {
    const v = values.get(name)!;
    if (entriesOf(v)?.length) tables.push(tableOf(name, v));
    else scalars.push({ key: name, cells: [inline(v)] });
  }
  if (scalars.length) tables.push({ name: 'variables', columns: ['value'], rows: scalars });
  return tables;
}
