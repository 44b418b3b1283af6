// Traces as ITF (ADR-015): the reader reads any ITF file (Quint's too), pagerace's own
// traces round-trip byte for byte, every state carries every variable (ghosts
// included) and the step that led to it; replay counts preemptions, compares every
// state, and tells a trace that no longer applies from a malformed one.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StaleTraceError, TraceError, check, replay } from '../src/index.ts';
import { fromJson, itf, readItf, toJson, writeItf, ItfError, type ItfValue } from '../src/trace/itf.ts';
import { toItf } from '../src/trace/trace.ts';

const ROOT = new URL('..', import.meta.url).pathname;
/** The Quint trace: ../shared/fixtures in CI, a copy under test/fixtures in a clone. */
const QUINT = [join(ROOT, '../shared/fixtures/quint-nonlru-violation.itf.json'), '/work/shared/fixtures/quint-nonlru-violation.itf.json', join(ROOT, 'test/fixtures/quint-nonlru-violation.itf.json')]
  .find((p) => existsSync(p))!;

function committedTraces(): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (f.endsWith('.json')) out.push(p); } };
  walk(join(ROOT, 'counterexamples'));
  return out.sort();
}

const field = (v: ItfValue, ...path: string[]): ItfValue => path.reduce((x, k) => {
  if (x.type !== 'record') throw new Error(`not a record at ${k}`);
  return x.fields[k];
}, v);

describe('the ITF reader', () => {
  it('reads the trace Quint wrote: #bigint, #map, #set, records and variants', () => {
    const t = readItf(readFileSync(QUINT, 'utf8'));
    expect(t.vars).toHaveLength(6);
    expect(t.states.length).toBeGreaterThan(1);
    const s0 = t.states[0].values;
    expect(s0['buggy_2_1::protocol::drvPc']).toEqual({ type: 'variant', tag: 'DPick', value: { type: 'tup', items: [] } });
    expect(s0['buggy_2_1::protocol::drvJ']).toEqual({ type: 'int', value: 0n });
    const cpus = s0['buggy_2_1::protocol::cpus'];
    expect(cpus.type).toBe('map');
    if (cpus.type !== 'map') return;
    expect(cpus.entries.map(([k]) => k)).toEqual([itf.int(1), itf.int(2)]);
    expect(field(cpus.entries[0][1], 'list')).toEqual({ type: 'set', items: [] });
    // Written back and read again, it is the same trace.
    expect(readItf(writeItf(t))).toEqual(t);
  });

  it('writes integers past 2^53 as #bigint and reads them back', () => {
    const big = itf.int(2n ** 60n + 1n);
    expect(toJson(big)).toEqual({ '#bigint': '1152921504606846977' });
    expect(fromJson(toJson(big))).toEqual(big);
    expect(toJson(itf.int(-5))).toBe(-5);
    expect(() => fromJson(2 ** 60)).toThrow(ItfError);
  });

  it('keeps a lasso\'s loop index and refuses one that is not a state', () => {
    const t = { meta: {}, vars: ['x'], states: [0, 1, 2].map((i) => ({ meta: { index: i }, values: { x: itf.int(i) } })), loop: 1 };
    expect(readItf(writeItf(t)).loop).toBe(1);
    expect(() => readItf(writeItf({ ...t, loop: 3 }))).toThrow(/loop must be the index of a state/);
  });

  it('refuses what is not ITF with one line', () => {
    for (const text of ['{', '[]', '{"vars": [1], "states": []}', '{"vars": ["x"], "states": [{}]}', '{"vars": ["x"], "states": [{"x": {"#frob": 1}}]}', '{"vars": ["x"], "states": [{"x": 1.5}]}']) {
      expect(() => readItf(text)).toThrow(ItfError);
    }
  });
});

describe('pagerace traces', () => {
  const traces = committedTraces();

  it('every committed trace round-trips through the reader and writer byte for byte', () => {
    expect(traces.length).toBeGreaterThanOrEqual(20);
    for (const f of traces) {
      const text = readFileSync(f, 'utf8');
      expect(writeItf(readItf(text)), f).toBe(text);
    }
  });

  it('are ITF proper: integers are numbers, flags a #set, ghosts and the step in each state', () => {
    const t = readItf(readFileSync(join(ROOT, 'counterexamples/nonlru/no-isolated-check.json'), 'utf8'));
    expect(t.vars).toEqual(['pages', 'globals', 'memory', 'actors']);
    const last = t.states[t.states.length - 1].values;
    expect(last.pages.type).toBe('map');
    if (last.pages.type !== 'map') return;
    const p0 = last.pages.entries[0][1];
    expect(field(p0, 'label')).toEqual(itf.str('p0'));
    expect(field(p0, 'refcount').type).toBe('int');
    expect(field(p0, 'flags')).toEqual(itf.set([itf.str('PG_locked'), itf.str('PG_private'), itf.str('PG_isolated')]));
    // The ghost field that names the double isolation: CPUs 0 and 1.
    expect(field(p0, 'isolators')).toEqual(itf.set([itf.int(0), itf.int(1)]));
    // Some state has the page lock held, by a named actor.
    expect(t.states.some((s) => s.values.pages.type === 'map' && s.values.pages.entries.some(([, pg]) => (field(pg, 'lockHolder') as { tag: string }).tag === 'Some'))).toBe(true);
    expect(field(last.actors, 'cpu1', 'pc').type).toBe('str');
    t.states.forEach((s, i) => {
      expect(s.meta.index).toBe(i);
      if (i > 0) expect(s.meta.step).toMatchObject({ actor: expect.any(String), event: expect.any(String), fn: expect.any(String) });
    });
  });

  it('are the same bytes when found again', () => {
    const o = check('nonlru', { cpus: 2, pages: 2 }, 'no-isolated-check');
    expect(toItf(o.compiled, o.trace!)).toBe(readFileSync(join(ROOT, 'counterexamples/nonlru/no-isolated-check.json'), 'utf8'));
  });
});

describe('replay', () => {
  it('counts preemptions on the re-execution, and they agree with what the walker recorded', () => {
    let some = 0;
    for (const f of committedTraces()) {
      const text = readFileSync(f, 'utf8');
      const r = replay(text);
      expect(r.matches, f).toBe(true);
      expect(r.trace.preemptions, f).toBe(JSON.parse(text)['#meta'].preemptions);
      some += r.trace.preemptions;
    }
    expect(some).toBeGreaterThan(0);
  });

  const committed = () => readFileSync(join(ROOT, 'counterexamples/nonlru/no-isolated-check.json'), 'utf8');

  it('names the first state and field that differ from re-execution', () => {
    const doc = JSON.parse(committed());
    doc.states[5].pages['#map'][0][1].refcount = 7;
    expect(() => replay(JSON.stringify(doc))).toThrow(TraceError);
    expect(() => replay(JSON.stringify(doc))).toThrow(/^state 5 \(after step 5 \(.*\)\) differs from re-execution at pages\[0\]\.refcount: the file has 7, re-execution gives 1$/);
    const doc2 = JSON.parse(committed());
    doc2.states[3].actors.driver.locals.k = 9;
    expect(() => replay(JSON.stringify(doc2))).toThrow(/state 3 .* at actors\.driver\.locals\.k/);
  });

  it('a trace that no longer applies (the bug\'s trace against the fixed code) is a StaleTraceError, not a TraceError', () => {
    const doc = JSON.parse(committed());
    doc['#meta'].variant = null;
    const e = (() => { try { replay(JSON.stringify(doc)); } catch (x) { return x; } return null; })();
    expect(e).toBeInstanceOf(StaleTraceError);
    expect((e as Error).message).toMatch(/^the trace no longer applies: /);
  });
});
