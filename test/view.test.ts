/**
 * `pagerace view`: the ITF decoding and the page's content (fast, no browser), then
 * the page itself in Debian's chromium driven by playwright-core: load a committed
 * trace and the Quint fixture, move the slider, check what the page shows, and save
 * screenshots under out/view/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEMS, findSystem } from '../models/index.ts';
import { TraceError } from '../src/trace/trace.ts';
import { changesBetween, decodeItf, describeChange, inline, readItf, tableOf } from '../src/trace/view-itf.ts';
import { machineChart } from '../src/trace/view-model.ts';
import { traceView, viewHtml, writeView } from '../src/trace/view.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NONLRU = join(ROOT, 'counterexamples/nonlru/no-isolated-check.json');
// CI has shared/ beside the clone; a developer's worktree sits one folder deeper.
const QUINT = [join(ROOT, '../shared/fixtures/quint-nonlru-violation.itf.json'), join(ROOT, '../../shared/fixtures/quint-nonlru-violation.itf.json')].find(existsSync);
const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
type FileStep = { actor: string; from: string; to: string };
const nonlruDoc = readJson(NONLRU) as {
  '#meta': { steps: FileStep[] | number; violation: { property: string; message: string }; scope: Record<string, number>; variant: string };
  states: { '#meta': { step?: FileStep } }[];
};
/** The steps as the file states them: in each state's #meta (ITF as the ADR has it), or listed in the top-level #meta (the first format). */
const fileSteps = (doc: typeof nonlruDoc): FileStep[] =>
  Array.isArray(doc['#meta'].steps) ? doc['#meta'].steps : doc.states.slice(1).map((s) => s['#meta'].step!);

function committedTraces(dir = join(ROOT, 'counterexamples')): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? committedTraces(p) : p.endsWith('.json') ? [p] : [];
  }).sort();
}

describe('ITF values', () => {
  it('decodes the ADR forms: #bigint, #set, #map, #tup, records, variants, sequences', () => {
    const v = decodeItf({
      n: 3, big: { '#bigint': '-12345678901234567890' }, s: { '#set': [1, 2] }, t: { '#tup': ['a', true] },
      m: { '#map': [[{ '#bigint': '1' }, { tag: 'Idle', value: { '#tup': [] } }]] }, l: [1, 2], v: { tag: 'Some', value: 5 },
    }, 'x');
    expect(v.kind).toBe('rec');
    expect(inline(v)).toBe('{n: 3, big: -12345678901234567890, s: {1, 2}, t: ⟨a, true⟩, m: {1 ↦ Idle}, l: [1, 2], v: Some(5)}');
    expect(inline(decodeItf({ '#set': [] }, 'x'))).toBe('∅');
  });

  it('refuses what is not an ITF value, in one line naming where', () => {
    expect(() => decodeItf({ a: [1, null] }, 'states[3].v')).toThrow(/^states\[3\]\.v\.a\[1\]: null is not an ITF value$/);
    expect(() => decodeItf({ '#bigint': 'x1' }, 'v')).toThrow(TraceError);
    expect(() => decodeItf({ '#map': [[1]] }, 'v')).toThrow(/#map must be an array of \[key, value\] pairs/);
  });

  it('lays a map of records out as rows by key and columns by field, nested records one level down', () => {
    const t = tableOf('cpus', decodeItf({ '#map': [[1, { pc: 'A', l: { k: 1, j: 2 } }], [2, { pc: 'B', x: { '#set': [] } }]] }, 'v'));
    expect(t.columns).toEqual(['pc', 'l.k', 'l.j', 'x']);
    expect(t.rows).toEqual([{ key: '1', cells: ['A', '1', '2', ''] }, { key: '2', cells: ['B', '', '', '∅'] }]);
    const flat = tableOf('globals', decodeItf({ lock: 'free', n: 0 }, 'v'));
    expect(flat.columns).toEqual(['value']);
    expect(flat.rows.map((r) => r.key)).toEqual(['lock', 'n']);
  });

  it('finds the cells that changed and names them', () => {
    const a = [tableOf('pages', decodeItf({ '#map': [[0, { ref: 1, flags: 'PG_locked' }]] }, 'a'))];
    const b = [tableOf('pages', decodeItf({ '#map': [[0, { ref: 2, flags: 'PG_locked' }], [1, { ref: 0, flags: '' }]] }, 'b'))];
    const ch = changesBetween(a, b);
    expect(ch.map(describeChange)).toEqual(['pages[0].ref 1→2', 'pages[1].ref = 0']);
    expect(changesBetween(b, b)).toEqual([]);
  });

  it('reads a document: vars, states, a lasso loop; malformed ones are one-line TraceErrors', () => {
    const doc = readItf({ vars: ['m::x'], states: [{ 'm::x': 1 }, { 'm::x': 2 }], loop: 1 });
    expect(doc.vars).toEqual(['x']);
    expect(doc.loop).toBe(1);
    for (const [bad, msg] of [
      [[], /top level must be an object/],
      [{ states: [] }, /no states array/],
      [{ vars: ['x'], states: [{ y: 1 }] }, /states\[0\] has no variable 'x'/],
      [{ vars: ['x'], states: [{ x: 1 }], loop: 4 }, /loop must be the index of a state/],
    ] as const) {
      expect(() => readItf(bad)).toThrow(msg);
    }
  });
});

describe('the view of a pagerace trace (the committed format)', () => {
  const v = traceView(nonlruDoc, { systems: SYSTEMS });
  const meta = nonlruDoc['#meta'];
  const model = findSystem('nonlru')!.build(meta.scope, meta.variant);

  it('has a lane per actor and each step where the trace file puts it', () => {
    expect(v.actors).toEqual(model.actors.map((a) => a.name));
    const steps = fileSteps(nonlruDoc);
    expect(v.steps.length).toBe(steps.length + 1);
    steps.forEach((s, i) => {
      expect(v.steps[i + 1]).toMatchObject({ actor: s.actor, from: s.from, to: s.to });
      expect(v.pcs[i][s.actor]).toBe(s.from);
      // The step that breaks the property may not be completed in the file's last state.
      if (i + 1 < steps.length) expect(v.pcs[i + 1][s.actor]).toBe(s.to);
    });
  });

  it('names each step by the kernel function of its machine state, and the violated rule', () => {
    for (let i = 1; i < v.steps.length; i++) {
      const s = v.steps[i]!;
      const node = model.actors.find((a) => a.name === s.actor)!.machine.root.states[s.from!];
      expect(s.fn).toBe((node.meta as { fn: string }).fn);
    }
    const prop = model.properties.find((p) => p.name === meta.violation.property)!;
    const sys = findSystem('nonlru')!;
    const broken = sys.contract!.find((r) => r.brokenBy.includes(meta.variant))!;
    expect(broken.enforcedBy).toContain(prop.name);
    expect(v.violation).toEqual({
      kind: 'invariant', property: prop.name, message: meta.violation.message, rule: prop.rule, source: prop.source,
      contract: { text: broken.text, source: broken.source }, bug: sys.variants.find((x) => x.name === meta.variant)!.description,
    });
  });

  it('draws one chart per machine, shared by the actors that run it, with every state and transition', () => {
    expect(v.charts.map((c) => c.actors)).toEqual([['cpu0', 'cpu1'], ['driver']]);
    const cpu = machineChart(model.actors[0].machine);
    expect(v.charts[0].chart).toEqual(cpu);
    expect(cpu.states.length).toBe(Object.keys(model.actors[0].machine.root.states).length);
    // Without the systems the chart is what the trace visits, and says so.
    const bare = traceView(nonlruDoc);
    expect(bare.charts.every((c) => c.chart.observed)).toBe(true);
    expect(bare.violation!.rule).toBeNull();
  });

  it('highlights in the page exactly the cells that changed', () => {
    const html = viewHtml(nonlruDoc, { systems: SYSTEMS });
    const worlds = html.split('<div class="state" data-world=').slice(1);
    expect(worlds.length).toBe(v.steps.length);
    worlds.forEach((w, i) => expect((w.match(/<td class="chg"|<span class="kv chg"/g) ?? []).length).toBe(v.changes[i].length));
    expect(v.changes.slice(1).some((c) => c.length > 0)).toBe(true);
  });

  it('is one self-contained file: no external resource, same bytes every time', () => {
    const html = viewHtml(nonlruDoc, { systems: SYSTEMS });
    expect(html).toBe(viewHtml(readJson(NONLRU), { systems: SYSTEMS }));
    expect(html).not.toMatch(/<link|<script[^>]*\ssrc=|<img|@import|url\((?!#)/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('opens every committed counterexample', () => {
    const files = committedTraces();
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const doc = readJson(f) as { states: unknown[]; '#meta': { system: string; violation: { kind: string } } };
      const view = traceView(doc, { systems: SYSTEMS });
      expect(view.steps.length, f).toBe(doc.states.length);
      expect(view.charts.some((c) => c.chart.observed), f).toBe(false);
      // A property names its rule; a kernel assertion has none of its own, but a contract rule or the bug put back says why.
      if (doc['#meta'].violation.kind !== 'kernel-bug') expect(view.violation?.rule, f).toBeTruthy();
      // A finding (the unmodified code, no variant) that fires a kernel assertion has only the assertion's text.
      if (doc['#meta'].violation.kind !== 'kernel-bug' || !f.includes('/findings/')) {
        expect(view.violation?.rule ?? view.violation?.contract ?? view.violation?.bug, f).toBeTruthy();
      }
    }
  });
});

describe('the view of an ITF trace as the ADR writes it', () => {
  // The shape pagerace's ITF writer is moving to: typed values, the step in each state's #meta, a lasso.
  const doc = {
    '#meta': { format: 'ITF', source: 'pagerace', system: 'toy', violation: { kind: 'termination', property: 'livelock', message: 'cpu0 spins', rule: 'Every actor finishes.' } },
    vars: ['pages', 'actors'],
    loop: 1,
    states: [
      { '#meta': { index: 0 }, pages: { '#map': [[0, { ref: 1, flags: { '#set': [] } }]] }, actors: { cpu0: { pc: 'a', locals: { n: 0 } } } },
      { '#meta': { index: 1, step: { actor: 'cpu0', fn: 'get_page', desc: 'ref++', from: 'a', to: 'b' } }, pages: { '#map': [[0, { ref: { '#bigint': '2' }, flags: { '#set': ['PG_locked'] } }]] }, actors: { cpu0: { pc: 'b', locals: { n: 1 } } } },
      { '#meta': { index: 2, step: { actor: 'cpu0', fn: 'put_page', desc: 'ref--', from: 'b', to: 'a' } }, pages: { '#map': [[0, { ref: 1, flags: { '#set': ['PG_locked'] } }]] }, actors: { cpu0: { pc: 'a', locals: { n: 1 } } } },
    ],
  };

  it('takes each step from its state, the rule from the trace, and marks the loop', () => {
    const v = traceView(doc);
    expect(v.steps.map((s) => s?.fn ?? null)).toEqual([null, 'get_page', 'put_page']);
    expect(v.violation!.rule).toBe('Every actor finishes.');
    expect(v.loop).toBe(1);
    expect(v.changes[1].map(describeChange)).toEqual(['pages[0].ref 1→2', 'pages[0].flags ∅→{PG_locked}', 'cpu0.pc a→b', 'cpu0.locals.n 0→1']);
    const html = viewHtml(doc);
    expect(html).toContain('title="the loop goes back to this state"');
    // The swimlane's changes column is the world's; the actor's own state is in its lane.
    expect(html).toContain('<div>pages[0].ref 1→2</div>');
    expect(html).not.toContain('<div>cpu0.pc a→b</div>');
  });
});

describe('text from the trace', () => {
  it('is escaped everywhere: names, values and the data the script reads', () => {
    const evil = '</script><img src=x onerror=alert(1)>';
    const html = viewHtml({
      '#meta': { system: evil, violation: { kind: 'invariant', property: evil, message: evil } },
      vars: ['actors', evil],
      states: [{ actors: { [evil]: { pc: evil } }, [evil]: evil }, { '#meta': { step: { actor: evil, fn: evil, desc: evil } }, actors: { [evil]: { pc: 'b' } }, [evil]: 'y' }],
    });
    expect(html).not.toContain('<img');
    expect(html.match(/<\/script>/g)!.length).toBe(2); // the data element's and the script's own
  });
});

describe('a trace with no actors', () => {
  it('shows its states and changes, and no statecharts', () => {
    const doc = { vars: ['x', 'y'], states: [{ x: 0, y: { '#set': [] } }, { x: 1, y: { '#set': [{ '#tup': [1, 'a'] }] } }] };
    const v = traceView(doc);
    expect(v.actors).toEqual([]);
    expect(v.steps[1]).toMatchObject({ actor: null, fn: 'step' });
    expect(v.changes[1].map(describeChange)).toEqual(['x 0→1', 'y ∅→{⟨1, a⟩}']);
    const html = viewHtml(doc);
    expect(html).not.toContain('class="charts"');
    expect(html).toContain('<div>y ∅→{⟨1, a⟩}</div>');
  });
});

describe('the generic view of a Quint trace', () => {
  it.skipIf(!QUINT && !process.env.CI)('finds the actors by their pc and gives each step to the one that moved', () => {
    const doc = readJson(QUINT!);
    const v = traceView(doc);
    expect(v.title).toBe('ITF trace of protocol.qnt');
    expect(v.actors).toEqual(['cpus[1]', 'cpus[2]', 'drv']);
    expect(v.violation).toMatchObject({ kind: 'violation', property: null });
    for (let i = 1; i < v.steps.length; i++) {
      const s = v.steps[i]!;
      if (s.actor === null) continue;
      expect(v.pcs[i - 1][s.actor], `step ${i}`).not.toBe(v.pcs[i][s.actor]);
      expect(s.fn).toBe(`${v.pcs[i - 1][s.actor]} → ${v.pcs[i][s.actor]}`);
    }
    expect(v.steps[1]).toMatchObject({ actor: 'cpus[2]', from: 'CGet', to: 'CMovChk' });
    expect(v.changes[1].map(describeChange)).toContain('pages[0].ref 1→2');
    // cpus[1] and cpus[2] are one map's entries: one chart of what they visit.
    expect(v.charts.map((c) => c.actors)).toEqual([['cpus[1]', 'cpus[2]'], ['drv']]);
  });
});

describe('writeView', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pagerace-view-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <trace>.html beside the trace, or where asked, and returns the path', () => {
    const trace = join(dir, 'no-isolated-check.json');
    writeFileSync(trace, readFileSync(NONLRU));
    expect(writeView(trace)).toBe(join(dir, 'no-isolated-check.html'));
    expect(readFileSync(join(dir, 'no-isolated-check.html'), 'utf8')).toBe(viewHtml(nonlruDoc));
    const out = join(dir, 'other.html');
    expect(writeView(trace, out, { systems: SYSTEMS })).toBe(out);
    expect(readFileSync(out, 'utf8')).toContain('isolate_movable_page');
  });

  it('refuses a malformed or missing file in one line, and leaves nothing behind', () => {
    const bad = join(dir, 'bad.json');
    for (const [text, msg] of [['{"states": [', /bad\.json: not JSON: /], ['{"states": [{"x": null}]}', /bad\.json: states\[0\]\.x: null is not an ITF value/], ['[1]', /bad\.json: not an ITF trace/]] as const) {
      writeFileSync(bad, text);
      let err: unknown;
      try { writeView(bad); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(TraceError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain('\n');
    }
    expect(() => writeView(join(dir, 'none.json'))).toThrow(/cannot read .*none\.json: no such file/);
    expect(readdirSync(dir).filter((f) => f !== 'bad.json' && (f.startsWith('bad') || f.endsWith('.tmp')))).toEqual([]);
  });

  it('refuses an output place that cannot be written, leaving no temporary file', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const canWrite = (() => { try { writeFileSync(join(ro, 'probe'), ''); rmSync(join(ro, 'probe')); return true; } catch { return false; } })();
    expect(() => writeView(NONLRU, join(dir, 'no/such/dir/x.html'))).toThrow(/^cannot write .*x\.html: no such directory$/);
    if (!canWrite) expect(() => writeView(NONLRU, join(ro, 'x.html'))).toThrow(/cannot write/); // root writes anywhere
    chmodSync(ro, 0o700);
    expect(readdirSync(ro)).toEqual([]);
  });
});

// --- in a real browser ------------------------------------------------------------

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;
if (noBrowser) console.warn(`view.test.ts: ${CHROMIUM} is not installed, so the browser test is skipped (apt-get install chromium; in CI it always runs)`);

describe.skipIf(noBrowser)('the page in chromium', () => {
  const SHOTS = join(ROOT, 'out/view');
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => { await browser?.close(); });

  async function open(html: string, name: string) {
    const file = join(SHOTS, `${name}.html`);
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Nothing may be fetched: every request other than the file itself fails the test.
    const requests: string[] = [];
    page.on('request', (r) => { if (r.url() !== pathToFileURL(file).href) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href);
    return { page, errors, requests };
  }

  it('steps through a committed pagerace trace with the slider, buttons and keys', async () => {
    const v = traceView(nonlruDoc, { systems: SYSTEMS });
    const last = v.steps.length - 1;
    const { page, errors, requests } = await open(viewHtml(nonlruDoc, { systems: SYSTEMS }), 'nonlru-no-isolated-check');
    expect(await page.textContent('#pos')).toBe(`step ${last} of ${last}`);
    expect(await page.textContent('#violation')).toContain(v.violation!.property!);
    expect(await page.textContent('#violation')).toContain(v.violation!.rule!);

    // A step that changed the world, by an actor with a chart.
    const i = v.changes.findIndex((c, k) => k > 0 && k < last && v.steps[k]!.actor === 'cpu1' && c.some((x) => x.table === 'pages'));
    expect(i).toBeGreaterThan(0);
    const s = v.steps[i]!;
    await page.locator('#slider').fill(String(i));
    expect(await page.textContent('#pos')).toBe(`step ${i} of ${last}`);
    expect(await page.textContent('#now')).toBe(`${s.actor}${s.fn}${s.desc ? `: ${s.desc}` : ''}`);
    expect(await page.getAttribute(`#lanes tr[data-step="${i}"]`, 'class')).toContain('cur');
    expect(await page.locator('#lanes tr.future').count()).toBe(last - i);
    // The world shown is state i's, with its changed cells highlighted and their old values.
    const world = page.locator(`[data-world="${i}"]`);
    expect(await world.isVisible()).toBe(true);
    expect(await page.locator('[data-world]:visible').count()).toBe(1);
    const chg = v.changes[i].find((c) => c.table === 'pages')!;
    const cells = world.locator('td.chg');
    expect(await cells.count()).toBe(v.changes[i].length);
    const texts = await cells.evaluateAll((tds: Element[]) => tds.map((td) => [td.firstChild?.textContent, td.getAttribute('title')]));
    expect(texts).toContainEqual([chg.after, `was ${chg.before}`]);
    // The charts light where each actor is, the state it came from, and the transition it took.
    for (const a of v.actors) {
      const lit = page.locator(`figure.chartfig g.st.lit[data-state="${v.pcs[i][a]}"]`);
      expect(await lit.count(), a).toBe(1);
      expect(await lit.locator(`.badge.on[data-actor="${a}"]`).count(), a).toBe(1);
    }
    expect(await page.locator(`path.e.taken[data-from="${s.from}"][data-to="${s.to}"]`).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'nonlru-no-isolated-check.png'), fullPage: true });

    // Buttons, keys, and a click on a row.
    await page.click('#prev');
    expect(await page.textContent('#pos')).toBe(`step ${i - 1} of ${last}`);
    await page.locator('body').press('ArrowRight');
    await page.locator('body').press('ArrowRight');
    expect(await page.textContent('#pos')).toBe(`step ${i + 1} of ${last}`);
    await page.locator('body').press('Home');
    expect(await page.textContent('#now')).toBe('initial state');
    const litAtStart = v.charts.reduce((n, c) => n + new Set(c.actors.map((a) => v.pcs[0][a])).size, 0);
    expect(await page.locator('figure.chartfig g.st.lit').count()).toBe(litAtStart);
    await page.click(`#lanes tr[data-step="${last}"] td.n`);
    expect(await page.textContent('#pos')).toBe(`step ${last} of ${last}`);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it.skipIf(!QUINT && !process.env.CI)('opens the Quint trace with the generic view', async () => {
    const doc = readJson(QUINT!);
    const v = traceView(doc);
    const { page, errors, requests } = await open(viewHtml(doc), 'quint-nonlru-violation');
    await page.locator('#slider').fill('1');
    const s = v.steps[1]!;
    expect(await page.textContent('#now')).toBe(`${s.actor}${s.fn}`);
    expect(await page.locator('[data-world="1"] td.chg').count()).toBe(v.changes[1].length);
    expect(await page.locator(`g.st.lit[data-state="${s.to}"] .badge.on[data-actor="${s.actor}"]`).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'quint-nonlru-violation.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
