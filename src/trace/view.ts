/**
 * `pagerace view`: any ITF trace as one self-contained HTML page (inline CSS and
 * script, no network, works from file://): the violation and its rule, per-actor
 * swimlanes, a step slider, the world after each step as tables with what changed
 * highlighted, and each actor's statechart with its current state lit.
 *
 * Everything is rendered here, in TypeScript; the page's script only shows one
 * step's pre-rendered world and lights the charts from a small table of states.
 * The output depends only on the trace (and the systems given): same trace, same bytes.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TraceError } from './trace.ts';
import { chartSvg, esc } from './view-chart.ts';
import { describeChange, type Change, type Table } from './view-itf.ts';
import { traceView, type TraceView, type ViewOptions } from './view-model.ts';

export type { ViewOptions } from './view-model.ts';
export { traceView } from './view-model.ts';

const COLORS = 8;

/** An actor's own machine state is shown in its lane; the changes column is for the world. */
const isPcChange = (c: Change): boolean => c.table === 'actors' || c.column === 'pc' || (c.table === 'variables' && /pc$/i.test(c.row));

/** Past this many rows, a table of plain values is drawn as a grid of key-value chips. */
const MANY = 16;

/** A cell's text, allowed to break after `|` and `,` (long flag words, sets). */
const cellText = (s: string): string => esc(s).replace(/([|,])/g, '$1<wbr>');

function tableHtml(t: Table, changes: readonly Change[]): string {
  const changed = new Map(changes.filter((c) => c.table === t.name).map((c) => [`${c.row}\u0000${c.column}`, c]));
  const single = t.columns.length === 1 && t.columns[0] === 'value';
  if (single && t.rows.length > MANY) {
    // A long map of plain values (memory by address) reads better as a wrapped grid than as a column.
    const chips = t.rows.map((r) => {
      const c = changed.get(`${r.key}\u0000value`);
      return `<span class="kv${c ? ' chg' : ''}"${c ? ` title="${esc(c.before === null ? 'new' : `was ${c.before}`)}"` : ''}><b>${esc(r.key)}</b> ${esc(r.cells[0])}</span>`;
    });
    return `<div class="tbl"><h3>${esc(t.name)}</h3><div class="kvs">${chips.join('')}</div></div>`;
  }
  const head = single ? '' : `<thead><tr><th></th>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`;
  const body = t.rows.map((r) => {
    const cells = r.cells.map((v, i) => {
      const c = changed.get(`${r.key}\u0000${t.columns[i]}`);
      if (!c) return `<td>${cellText(v)}</td>`;
      const was = c.before === null ? 'new' : `was ${c.before === '' ? '(none)' : c.before}`;
      return `<td class="chg" title="${esc(was)}">${cellText(v)}<span class="was">${cellText(c.before ?? '')}</span></td>`;
    });
    const rowChanged = [...changed.values()].some((c) => c.row === r.key);
    return `<tr${rowChanged ? ' class="rowchg"' : ''}><th>${esc(r.key)}</th>${cells.join('')}</tr>`;
  });
  return `<div class="tbl"><h3>${esc(t.name)}</h3><table>${head}<tbody>${body.join('')}</tbody></table></div>`;
}

function worldHtml(v: TraceView, i: number): string {
  const changes = v.changes[i];
  const world = changes.filter((c) => !isPcChange(c));
  const summary = i === 0
    ? '<p class="summary">The initial state.</p>'
    : `<p class="summary">${world.length ? `Changed: ${world.map((c) => `<code>${esc(describeChange(c))}</code>`).join(' ')}` : 'No shared state changed (a step of the actor’s own).'}</p>`;
  return `<div class="state" data-world="${i}"${i === v.steps.length - 1 ? '' : ' hidden'}>${summary}${v.tables[i].map((t) => tableHtml(t, changes)).join('')}</div>`;
}

function lanesHtml(v: TraceView, bad: boolean): string {
  const head = `<tr><th class="n">#</th>${v.actors.map((a, k) => `<th class="lane c${k % COLORS}">${esc(a)}</th>`).join('')}<th class="changes">changes</th></tr>`;
  const last = v.steps.length - 1;
  const rows = v.steps.map((s, i) => {
    const cls = [i === 0 ? 'init' : '', bad && i === last ? 'bad' : '', v.loop !== null && i >= v.loop ? 'loop' : '', i === last ? 'cur' : ''].filter(Boolean).join(' ');
    const mark = v.loop === i ? '<span class="loopmark" title="the loop goes back to this state">↻</span>' : '';
    if (s === null) {
      return `<tr data-step="0" class="${cls}"><td class="n">0${mark}</td><td class="initcell" colspan="${v.actors.length + 1}">initial state</td></tr>`;
    }
    const cells = v.actors.map((a, k) => (a === s.actor
      ? `<td class="act c${k % COLORS}"><b>${esc(s.fn).replace(/_/g, '_<wbr>')}</b>${s.desc ? ` <span class="desc">${esc(s.desc)}</span>` : ''}</td>`
      : '<td></td>'));
    const world = v.changes[i].filter((c) => !isPcChange(c)).map(describeChange);
    const who = s.actor === null ? `<div class="noactor"><b>${esc(s.fn)}</b></div>` : '';
    return `<tr data-step="${i}" class="${cls}"><td class="n">${i}${mark}</td>${cells.join('')}<td class="changes">${who}${world.map((w) => `<div>${esc(w)}</div>`).join('')}</td></tr>`;
  });
  return `<table id="lanes"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function bannerHtml(v: TraceView): string {
  const vio = v.violation;
  if (vio === null) return '<section class="banner ok"><b>No violation recorded in this trace.</b></section>';
  const what = [vio.kind ? `<span class="kind">${esc(vio.kind)}</span>` : '', vio.property ? `<code class="prop">${esc(vio.property)}</code>` : ''].filter(Boolean).join(' ');
  const at = `after step ${v.steps.length - 1}${v.loop !== null ? `, a lasso whose loop goes back to state ${v.loop}` : ''}`;
  return `<section class="banner bad" id="violation"><div class="headline">${what || 'violation'} <span class="at">${esc(at)}</span></div>`
    + (vio.message ? `<div class="message">${esc(vio.message)}</div>` : '')
    + (vio.rule ? `<div class="rule"><span>Rule</span> ${esc(vio.rule)}</div>` : '')
    + (vio.source ? `<div class="source"><span>Source</span> ${esc(vio.source)}</div>` : '')
    + (vio.contract ? `<div class="rule"><span>Contract</span> ${esc(vio.contract.text)} <i>(${esc(vio.contract.source)})</i></div>` : '')
    + (vio.bug ? `<div class="source"><span>Bug</span> ${esc(vio.bug)}</div>` : '')
    + '</section>';
}

function chartsHtml(v: TraceView): string {
  const figs = v.charts.map((g) => {
    const actors = g.actors.map((a) => ({ name: a, color: v.actors.indexOf(a) % COLORS }));
    const caption = `${g.actors.map((a, k) => `<span class="who c${actors[k].color}">${esc(a)}</span>`).join(' ')}`
      + (g.chart.observed ? ' <span class="note">(the states this trace visits; no machine definition at hand)</span>' : ` <span class="note">${g.chart.states.length} states, ${g.chart.edges.length} transitions</span>`);
    return `<figure class="chartfig" data-actors="${esc(JSON.stringify(g.actors))}"><figcaption>${caption}</figcaption><div class="scroll">${chartSvg(g.chart, actors)}</div></figure>`;
  });
  const markers = Array.from({ length: COLORS }, (_, k) => `<marker id="ah${k}" class="c${k}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker>`).join('');
  return `<svg width="0" height="0" style="position:absolute"><defs>${markers}<marker id="ahn" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker></defs></svg>${figs.join('')}`;
}

/** JSON inside a <script> element: `<` escaped so that no string can close the element. */
const scriptJson = (x: unknown): string => JSON.stringify(x).replace(/</g, '\\u003c');

/** The page for any ITF trace (a parsed JSON document). A malformed trace is a TraceError of one line. */
export function viewHtml(trace: unknown, opts: ViewOptions = {}): string {
  const v = traceView(trace, opts);
  const n = v.steps.length;
  const data = {
    actors: v.actors,
    pcs: v.pcs.map((p) => v.actors.map((a) => p[a] ?? null)),
    steps: v.steps.map((s) => (s === null ? null : { actor: s.actor, fn: s.fn, desc: s.desc, from: s.from, to: s.to })),
  };
  const facts = v.facts.map(([k, x]) => `<span class="fact"><span>${esc(k)}</span> ${esc(x)}</span>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(v.title)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>${esc(v.title)}</h1><div class="facts">${facts}</div></header>
${bannerHtml(v)}
<nav class="controls">
<button id="prev" title="previous step (←)">◀</button>
<input id="slider" type="range" min="0" max="${n - 1}" value="${n - 1}" aria-label="step">
<button id="next" title="next step (→)">▶</button>
<span id="pos">step ${n - 1} of ${n - 1}</span>
<span id="now"></span>
</nav>
<main>
<section class="lanes"><h2>Swimlanes</h2><div class="scroll" id="lanescroll">${lanesHtml(v, v.violation !== null)}</div></section>
<section class="world"><h2>World after step <span id="worldstep">${n - 1}</span></h2><div id="world">${v.steps.map((_, i) => worldHtml(v, i)).join('')}</div></section>
</main>
${v.charts.length ? `<section class="charts"><h2>Statecharts</h2><p class="legend">${LEGEND}</p>${chartsHtml(v)}</section>` : ''}
<footer>Written by pagerace view. ← → step, Home/End first/last; click a row to go to its step.</footer>
<script type="application/json" id="data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/**
 * Write the page for a trace file, whole or not at all (a temporary file beside it,
 * then renamed). `outFile` defaults to the trace's path with `.html` for `.json`.
 * Returns the path written. Problems are TraceErrors of one line.
 */
export function writeView(traceFile: string, outFile?: string, opts: ViewOptions = {}): string {
  let text: string;
  try {
    text = readFileSync(traceFile, 'utf8');
  } catch (e) {
    throw new TraceError(`cannot read ${traceFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TraceError(`${traceFile}: not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  let html: string;
  try {
    html = viewHtml(doc, opts);
  } catch (e) {
    if (e instanceof TraceError) throw new TraceError(`${traceFile}: ${e.message}`);
    throw e;
  }
  const out = outFile ?? (traceFile.endsWith('.json') ? traceFile.slice(0, -'.json'.length) : traceFile) + '.html';
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, html);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceError(`cannot write ${out}: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? (e as Error).message}`);
  }
  return out;
}

const LEGEND = '<span class="lg lit">filled</span> where each actor is after this step · <span class="lg was">dashed outline</span> where it came from · '
  + '<span class="lg taken">bold arrow</span> the step just taken · <span class="lg next">dashed arrow</span> what it can do next · '
  + '<span class="lg local">dashed box</span> a local step (touches only the actor’s own state) · hover a box for its description';

const PALETTE = ['#2563eb', '#d97706', '#059669', '#9333ea', '#db2777', '#0891b2', '#65a30d', '#dc2626'];
const TINTS = ['#dbeafe', '#fef3c7', '#d1fae5', '#f3e8ff', '#fce7f3', '#cffafe', '#ecfccb', '#fee2e2'];

const CSS = `
:root{--bg:#f7f7f9;--fg:#1f2330;--mut:#6b7080;--line:#e2e4ea;--card:#fff;--chg:#fde68a;--bad:#dc2626;--badbg:#fef2f2}
${PALETTE.map((c, k) => `.c${k},[data-c="${k}"]{--c:${c};--t:${TINTS[k]}}`).join('\n')}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{padding:14px 20px 6px}
h1{font-size:19px;margin:0 0 6px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--mut);margin:0 0 8px}
h3{font-size:12px;margin:10px 0 4px;color:var(--mut);font-weight:600}
code,td,th,.facts,#now,#pos,.chart text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.facts{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:12px}
.fact span{color:var(--mut)}
.banner{margin:8px 20px;padding:10px 14px;border-radius:8px;border:1px solid var(--line);background:var(--card)}
.banner.bad{border-color:#fca5a5;background:var(--badbg);border-left:5px solid var(--bad)}
.banner .headline{font-size:15px;font-weight:600}
.banner .kind{color:var(--bad);text-transform:uppercase;font-size:12px;letter-spacing:.05em;margin-right:4px}
.banner .prop{font-size:15px}
.banner .at{font-weight:400;color:var(--mut);font-size:12px;margin-left:6px}
.banner .message{margin-top:3px;font-size:14px}
.banner .rule,.banner .source{margin-top:4px;color:#3b3f4c}
.banner i{color:var(--mut);font-style:normal;font-size:12px}
.banner .rule>span,.banner .source>span{display:inline-block;min-width:64px;font-size:11px;text-transform:uppercase;color:var(--mut);letter-spacing:.05em}
.controls{position:sticky;top:0;z-index:5;display:flex;align-items:center;gap:10px;padding:8px 20px;background:rgba(247,247,249,.96);border-bottom:1px solid var(--line);backdrop-filter:blur(3px)}
.controls button{font-size:14px;width:34px;height:28px;border:1px solid #c9ccd6;border-radius:6px;background:#fff;cursor:pointer}
.controls button:hover{background:#eef0f5}
#slider{flex:0 1 420px;min-width:160px;accent-color:#2563eb}
#pos{color:var(--mut);white-space:nowrap}
#now{flex:1;min-width:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#now .who{color:#fff;background:var(--c);border-radius:9px;padding:1px 7px;margin-right:6px}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;padding:12px 20px}
@media (max-width:1100px){main{grid-template-columns:1fr}}
section.lanes,section.world,section.charts{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
section.charts{margin:0 20px 12px}
.scroll{overflow:auto}
#lanescroll{max-height:72vh}
table{border-collapse:collapse;font-size:12px}
#lanes{width:100%}
#lanes th{position:sticky;top:0;background:#fff;z-index:1;text-align:left;padding:4px 6px;border-bottom:2px solid var(--line)}
#lanes th.lane{border-bottom:3px solid var(--c);color:var(--c)}
#lanes td{padding:3px 6px;border-bottom:1px solid #f0f1f4;vertical-align:top;cursor:pointer}
#lanes td.n{color:var(--mut);text-align:right;width:2.5em}
#lanes td.act{background:var(--t);border-left:3px solid var(--c);min-width:110px;overflow-wrap:anywhere}
#lanes td.act b{font-weight:600;display:block}
#lanes .desc{color:#3b3f4c}
#lanes td.changes{color:#4b5060;font-size:11px;min-width:130px;overflow-wrap:anywhere}
#lanes .initcell{color:var(--mut);font-style:italic}
#lanes tr.future td{opacity:.38}
#lanes tr.cur td{box-shadow:inset 0 2px 0 #1f2330,inset 0 -2px 0 #1f2330}
#lanes tr.cur td.n{font-weight:700;color:var(--fg)}
#lanes tr.bad td.n{color:var(--bad);font-weight:700}
#lanes tr.bad td.n::after{content:" ✖"}
#lanes tr.loop td.n{border-right:3px solid #9333ea}
.loopmark{color:#9333ea;margin-left:3px}
.world .summary{margin:0 0 6px;color:#3b3f4c}
.world .summary code{background:var(--chg);border-radius:4px;padding:0 4px;margin-right:4px;white-space:nowrap;display:inline-block;margin-bottom:2px}
.tbl{overflow-x:auto}
.tbl table{min-width:50%;font-size:11.5px}
.tbl th,.tbl td{border:1px solid var(--line);padding:2px 6px;text-align:left;vertical-align:top}
.tbl th{white-space:nowrap}
.tbl thead th{background:#f3f4f7;font-weight:600}
.tbl tbody th{background:#fafafb;font-weight:600}
.tbl tr.rowchg th{background:#fff7d6}
.kvs{display:flex;flex-wrap:wrap;gap:3px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px}
.kv{border:1px solid var(--line);border-radius:4px;padding:0 5px;background:#fff}
.kv b{color:var(--mut);font-weight:600}
.kv.chg{background:var(--chg);font-weight:700}
.tbl td.chg{background:var(--chg);font-weight:700}
.tbl td.chg .was{display:block;font-weight:400;font-size:10px;color:#8a6d00;text-decoration:line-through}
.tbl td.chg .was:empty{display:none}
figure.chartfig{margin:0 0 14px}
figcaption{margin-bottom:4px}
figcaption .who{color:#fff;background:var(--c);border-radius:9px;padding:1px 8px;font-weight:600;font-family:ui-monospace,monospace}
figcaption .note{color:var(--mut);font-size:12px}
.chart{display:block;max-width:none}
.chart text{font-size:11px;fill:#2b2f3a}
.chart text.fn{font-size:11px;font-weight:700;fill:#6b7080}
.chart .st>rect{fill:#fff;stroke:#c3c7d2;stroke-width:1}
.chart .st.local>rect{stroke-dasharray:4 3}
.chart .st.final>rect{stroke-width:2.5}
.chart .st.initial>rect{stroke:#8a90a0}
.chart .st.lit>rect{fill:var(--t);stroke:var(--c);stroke-width:2.5}
.chart .st.lit>text{font-weight:700}
.chart .st.was>rect{stroke:var(--c);stroke-dasharray:3 2;stroke-width:1.5}
.chart .badge{display:none}
.chart .badge.on{display:inline}
.chart .badge rect{fill:var(--c)}
.chart .badge text{fill:#fff;font-size:9.5px;font-weight:700;text-anchor:middle}
.chart path.e{fill:none;stroke:#c9cdd8;stroke-width:1;opacity:.55;marker-end:url(#ahn)}
.chart path.e.next{stroke:var(--c);opacity:.75;stroke-width:1.4;stroke-dasharray:5 3}
.chart path.e.taken{stroke:var(--c);opacity:1;stroke-width:2.6;stroke-dasharray:none}
${PALETTE.map((_, k) => `.chart path.e[data-c="${k}"]{marker-end:url(#ah${k})}#ah${k} path{fill:${PALETTE[k]}}`).join('\n')}
#ahn path{fill:#b9bdc9}
.legend{color:var(--mut);font-size:12px;margin:-2px 0 10px}
.lg{display:inline-block;padding:0 6px;border-radius:4px;border:1px solid #c3c7d2;color:var(--fg);background:#fff}
.lg.lit{background:#dbeafe;border:2px solid #2563eb}.lg.was{border:1.5px dashed #2563eb}.lg.local{border:1px dashed #c3c7d2}
.lg.taken{border:none;border-bottom:3px solid #2563eb;border-radius:0}.lg.next{border:none;border-bottom:2px dashed #2563eb;border-radius:0}
footer{color:var(--mut);font-size:11px;padding:0 20px 16px}
`;

/** The page's script: show one step. Plain ES2017, no dependencies. */
const SCRIPT = `
(function () {
  var D = JSON.parse(document.getElementById('data').textContent);
  var n = D.steps.length;
  var slider = document.getElementById('slider');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#lanes tbody tr'));
  var worlds = Array.prototype.slice.call(document.querySelectorAll('[data-world]'));
  var charts = Array.prototype.slice.call(document.querySelectorAll('figure.chartfig')).map(function (f) {
    var boxes = {};
    Array.prototype.forEach.call(f.querySelectorAll('g.st'), function (g) { boxes[g.getAttribute('data-state')] = g; });
    return { actors: JSON.parse(f.getAttribute('data-actors')), boxes: boxes, edges: Array.prototype.slice.call(f.querySelectorAll('path.e')), el: f };
  });
  var color = function (a) { return D.actors.indexOf(a) % ${COLORS}; };
  var cur = n - 1;
  function show(i) {
    i = Math.max(0, Math.min(n - 1, i | 0));
    cur = i;
    slider.value = String(i);
    rows.forEach(function (r, k) { r.classList.toggle('cur', k === i); r.classList.toggle('future', k > i); });
    worlds.forEach(function (w, k) { w.hidden = k !== i; });
    document.getElementById('pos').textContent = 'step ' + i + ' of ' + (n - 1);
    document.getElementById('worldstep').textContent = String(i);
    var now = document.getElementById('now');
    now.textContent = '';
    var s = D.steps[i];
    if (s === null) now.textContent = 'initial state';
    else {
      if (s.actor !== null) {
        var who = document.createElement('span');
        who.className = 'who';
        who.setAttribute('data-c', String(color(s.actor)));
        who.textContent = s.actor;
        now.appendChild(who);
      }
      now.appendChild(document.createTextNode(s.fn + (s.desc ? ': ' + s.desc : '')));
    }
    charts.forEach(function (c) {
      Object.keys(c.boxes).forEach(function (k) {
        var g = c.boxes[k];
        g.classList.remove('lit', 'was');
        g.removeAttribute('data-c');
        Array.prototype.forEach.call(g.querySelectorAll('.badge'), function (b) { b.classList.remove('on'); });
      });
      c.edges.forEach(function (e) { e.classList.remove('next', 'taken'); e.removeAttribute('data-c'); });
      c.actors.forEach(function (a) {
        var pc = D.pcs[i][D.actors.indexOf(a)];
        var col = String(color(a));
        var box = pc === null ? undefined : c.boxes[pc];
        if (box) {
          if (!box.classList.contains('lit')) { box.classList.add('lit'); box.setAttribute('data-c', col); }
          Array.prototype.forEach.call(box.querySelectorAll('.badge'), function (b) { if (b.getAttribute('data-actor') === a) b.classList.add('on'); });
        }
        c.edges.forEach(function (e) {
          if (e.getAttribute('data-from') === pc && !e.classList.contains('taken')) { e.classList.add('next'); e.setAttribute('data-c', col); }
        });
        if (s && s.actor === a && s.from !== null) {
          var prev = c.boxes[s.from];
          if (prev && prev !== box && !prev.classList.contains('lit')) { prev.classList.add('was'); prev.setAttribute('data-c', col); }
          c.edges.forEach(function (e) {
            if (e.getAttribute('data-from') === s.from && e.getAttribute('data-to') === s.to) { e.classList.remove('next'); e.classList.add('taken'); e.setAttribute('data-c', col); }
          });
        }
      });
    });
    var row = rows[i];
    var box = document.getElementById('lanescroll');
    if (row && box) {
      var top = row.offsetTop - box.clientHeight / 2;
      if (row.offsetTop < box.scrollTop + 30 || row.offsetTop + row.offsetHeight > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top);
    }
    try { history.replaceState(null, '', '#step=' + i); } catch (err) { /* a page opened where history is not allowed */ }
  }
  slider.addEventListener('input', function () { show(Number(slider.value)); });
  document.getElementById('prev').addEventListener('click', function () { show(cur - 1); });
  document.getElementById('next').addEventListener('click', function () { show(cur + 1); });
  rows.forEach(function (r) { r.addEventListener('click', function () { show(Number(r.getAttribute('data-step'))); }); });
  document.addEventListener('keydown', function (e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) return;
    var to = e.key === 'ArrowLeft' ? cur - 1 : e.key === 'ArrowRight' ? cur + 1 : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : null;
    if (to !== null) { e.preventDefault(); show(to); }
  });
  var m = /^#step=(\\d+)$/.exec(location.hash);
  show(m ? Number(m[1]) : n - 1);
})();
`;
