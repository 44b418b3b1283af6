/**
 * One packed state of a compiled model as ITF values: every byte of it, named where
 * the kernel core and the model's WorldView name it. This is the only place that
 * knows how a trace shows the world; the ITF writer, replay's state comparison and
 * the swimlanes' "changes" column all read it.
 *
 * Variables (ITF `vars`):
 * - `pages`: `#map` pfn -> the page's fields (decodePage: the one function to adapt
 *   when struct page's layout changes), ghost fields included;
 * - `globals`: the WorldView's named scalars as integers (their rendered text is in
 *   the state's `#meta.render`);
 * - `memory`: `#map` offset -> byte, every world byte that neither a page nor a
 *   global covers (list heads, zone counters, ...), so that no state is left out;
 * - `actors`: per actor its machine state (`pc`) and its locals.
 */
import {
  F_ISOLATORS, F_LIST, F_LOCKER, F_LRU, F_MAPPING, F_PRIVATE, F_REF, F_TYPE, PAGE_MAPPING_ANON, PAGE_MAPPING_MOVABLE,
  PAGE_STRIDE, TYPE_BALLOON, TYPE_BUDDY, TYPE_NONE, describeFlags, pageFlags,
} from '../kernel/page.ts';
import { describeMapping } from '../kernel/movable.ts';
import type { Compiled } from '../explore/compile.ts';
import type { Model } from '../system.ts';
import { itf, type ItfValue } from './itf.ts';

export const STATE_VARS = ['pages', 'globals', 'memory', 'actors'] as const;

const TYPE_NAMES: Readonly<Record<number, string>> = { [TYPE_NONE]: 'none', [TYPE_BUDDY]: 'buddy', [TYPE_BALLOON]: 'balloon' };

/** The names of the set bits of the flags word, unknown bits as hex. */
function flagNames(flags: number): ItfValue {
  const names: string[] = [];
  for (let bit = 1; bit < 0x10000; bit <<= 1) {
    if (flags & bit) names.push(describeFlags(bit)[0] ?? `0x${bit.toString(16)}`);
  }
  return itf.set(names.map(itf.str));
}

/** The actor whose index+1 a ghost byte holds, by name. */
const actorOf = (c: Compiled, v: number): ItfValue => itf.option(v === 0 ? null : itf.str(c.actors[v - 1]?.name ?? `actor${v - 1}`));

/**
 * struct page, as the packed world holds it (src/kernel/page.ts). The ghost bytes
 * keep their page.ts names; buddy-based systems reuse them (F_LOCKER holds the page's
 * owner there, F_ISOLATORS a pcp migratetype), which the names below do not hide:
 * `lockHolder` is an actor either way and `isolators` the set bits of the byte.
 */
export function decodePage(c: Compiled, m: Uint8Array, pfn: number): ItfValue {
  const o = pfn * PAGE_STRIDE;
  const view = c.model.view;
  const mapping = m[o + F_MAPPING];
  const isolators: ItfValue[] = [];
  for (let b = 0; b < 8; b++) if (m[o + F_ISOLATORS] & (1 << b)) isolators.push(itf.int(b));
  return itf.record({
    label: itf.str(view.pageLabel(pfn)),
    flags: flagNames(pageFlags(m, pfn)),
    mapping: itf.record({
      space: itf.int(mapping >> 2),
      bits: itf.set([...(mapping & PAGE_MAPPING_ANON ? ['PAGE_MAPPING_ANON'] : []), ...(mapping & PAGE_MAPPING_MOVABLE ? ['PAGE_MAPPING_MOVABLE'] : [])].map(itf.str)),
    }),
    refcount: itf.int((m[o + F_REF] << 24) >> 24),
    type: itf.variant(TYPE_NAMES[m[o + F_TYPE]] ?? `type${m[o + F_TYPE]}`),
    private: itf.int(m[o + F_PRIVATE]),
    // page->lru as the two node ids it holds, and the list it is on (read through the
    // model's view: a walk of the list_heads, or a buddy system's list id).
    lru: itf.record({ next: itf.int(m[o + F_LRU]), prev: itf.int(m[o + F_LRU + 1]) }),
    list: itf.str(pageListName(view, m, pfn)),
    lockHolder: actorOf(c, m[o + F_LOCKER]),
    isolators: itf.set(isolators),
  });
}

const pageListName = (view: Model['view'], m: Uint8Array, pfn: number): string =>
  view.pageList ? view.pageList(m, pfn) : view.listName(m[pfn * PAGE_STRIDE + F_LIST]);

/** A page's fields as short text, for the swimlanes' "changes" column (ghost fields left out). */
export function pageText(model: Model, m: Uint8Array, pfn: number): Record<string, string> {
  const o = pfn * PAGE_STRIDE;
  const type = m[o + F_TYPE];
  return {
    flags: describeFlags(pageFlags(m, pfn)).join('|') || '0',
    mapping: describeMapping(m[o + F_MAPPING]),
    refcount: String((m[o + F_REF] << 24) >> 24),
    type: type === TYPE_BUDDY ? 'buddy' : type === TYPE_BALLOON ? 'balloon' : '-',
    private: String(m[o + F_PRIVATE]),
    list: pageListName(model.view, m, pfn),
  };
}

/** Which world bytes the pages and the globals cover. */
function covered(c: Compiled): Uint8Array {
  const cov = new Uint8Array(c.worldSize);
  cov.fill(1, 0, Math.min(c.worldSize, c.model.view.pages * PAGE_STRIDE));
  for (const g of c.model.view.globals) cov[g.at] = 1;
  return cov;
}
const coverCache = new WeakMap<Compiled, Uint8Array>();

/** A packed state as the values of STATE_VARS. */
export function decodeState(c: Compiled, m: Uint8Array): Record<(typeof STATE_VARS)[number], ItfValue> {
  const view = c.model.view;
  const pages: [ItfValue, ItfValue][] = [];
  for (let pfn = 0; pfn < view.pages; pfn++) pages.push([itf.int(pfn), decodePage(c, m, pfn)]);
  const globals: Record<string, ItfValue> = {};
  for (const g of view.globals) globals[g.name] = itf.int(m[g.at]);
  let cov = coverCache.get(c);
  if (!cov) coverCache.set(c, (cov = covered(c)));
  const memory: [ItfValue, ItfValue][] = [];
  for (let at = 0; at < c.worldSize; at++) if (!cov[at]) memory.push([itf.int(at), itf.int(m[at])]);
  const actors: Record<string, ItfValue> = {};
  for (const a of c.actors) {
    const locals: Record<string, ItfValue> = {};
    a.locals.forEach((name, i) => { locals[name] = itf.int(m[a.base + 1 + i]); });
    actors[a.name] = itf.record({ pc: itf.str(a.states[m[a.base]]), locals: itf.record(locals) });
  }
  return { pages: itf.map(pages), globals: itf.record(globals), memory: itf.map(memory), actors: itf.record(actors) };
}

/** The human renderings of a state (globals with a render, derived fields): for a state's #meta. */
export function renderState(c: Compiled, m: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of c.model.view.globals) if (g.render) out[g.name] = g.render(m[g.at]);
  for (const d of c.model.view.derived ?? []) out[d.name] = d.render(m);
  return out;
}
