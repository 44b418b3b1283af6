/**
 * A statechart as inline SVG, laid out without a layout engine: the states of one
 * kernel function form a column under the function's name (a long column wraps),
 * columns run left to right and wrap into bands, and every transition is a faint
 * curve. The page's script lights the states the actors are in, the transitions
 * they can take next, and the one just taken (data-state, data-from, data-to).
 */
import type { Chart, ChartState } from './view-model.ts';

export const BOX_W = 172;
const BOX_H = 24;
const ROW_GAP = 9;
const COL_GAP = 44;
const HEADER_H = 22;
const BAND_GAP = 26;
const MAX_ROWS = 9;
const MAX_WIDTH = 1240;
const PAD = 14;

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * States grouped for drawing: by kernel function where the chart knows them, else
 * by the first part of a path-like name (`scan/isolate` goes with `scan`), else all
 * in one group.
 */
export function groupStates(states: readonly ChartState[]): { label: string; states: ChartState[] }[] {
  const key = states.some((s) => s.fn !== undefined)
    ? (s: ChartState) => s.fn ?? ''
    : states.some((s) => s.name.includes('/'))
      ? (s: ChartState) => s.name.split('/')[0]
      : () => '';
  const groups: { label: string; states: ChartState[] }[] = [];
  for (const s of states) {
    const k = key(s);
    const g = groups.find((x) => x.label === k);
    if (g) g.states.push(s);
    else groups.push({ label: k, states: [s] });
  }
  return groups;
}

interface Box { x: number; y: number; col: number }

/** Position every state: columns of at most MAX_ROWS boxes, wrapped into bands. */
function layout(chart: Chart): { boxes: Map<string, Box>; headers: { x: number; y: number; w: number; label: string }[]; width: number; height: number } {
  const boxes = new Map<string, Box>();
  const headers: { x: number; y: number; w: number; label: string }[] = [];
  let x = PAD;
  let bandTop = PAD;
  let bandRows = 0;
  let width = 0;
  let col = 0;
  const groups = groupStates(chart.states);
  // A chart with no kernel functions to name (a spec's own pcs) needs no header row.
  const headerH = groups.some((g) => g.label) ? HEADER_H : 4;
  for (const g of groups) {
    const cols = Math.ceil(g.states.length / MAX_ROWS);
    const rows = Math.min(g.states.length, MAX_ROWS);
    const w = cols * BOX_W + (cols - 1) * (COL_GAP / 2);
    if (x > PAD && x + w > MAX_WIDTH) {
      bandTop += headerH + bandRows * (BOX_H + ROW_GAP) + BAND_GAP;
      x = PAD;
      bandRows = 0;
    }
    headers.push({ x, y: bandTop, w, label: g.label });
    g.states.forEach((s, i) => {
      const c = Math.floor(i / MAX_ROWS);
      boxes.set(s.name, { x: x + c * (BOX_W + COL_GAP / 2), y: bandTop + headerH + (i % MAX_ROWS) * (BOX_H + ROW_GAP), col: col + c });
    });
    col += cols;
    bandRows = Math.max(bandRows, rows);
    x += w + COL_GAP;
    width = Math.max(width, x - COL_GAP + PAD);
  }
  return { boxes, headers, width, height: bandTop + headerH + bandRows * (BOX_H + ROW_GAP) - ROW_GAP + PAD };
}

/** A curve from one box to another that leaves and enters at the sides. */
function edgePath(a: Box, b: Box): string {
  const ay = a.y + BOX_H / 2;
  const by = b.y + BOX_H / 2;
  if (a === b) {
    const r = a.x + BOX_W;
    return `M${r},${ay - 5} C${r + 22},${ay - 16} ${r + 22},${ay + 16} ${r},${ay + 5}`;
  }
  if (a.col === b.col && a.x === b.x) {
    const r = a.x + BOX_W;
    const bulge = 14 + Math.min(40, Math.abs(by - ay) / 5);
    return `M${r},${ay} C${r + bulge},${ay} ${r + bulge},${by} ${r},${by}`;
  }
  const forward = b.x > a.x;
  const sx = forward ? a.x + BOX_W : a.x;
  const tx = forward ? b.x : b.x + BOX_W;
  const d = Math.max(24, Math.abs(tx - sx) / 3);
  return `M${sx},${ay} C${forward ? sx + d : sx - d},${ay} ${forward ? tx - d : tx + d},${by} ${tx},${by}`;
}

const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/**
 * One chart as SVG. `actors` are the actors that run this machine, each with its
 * colour index; every state box carries a hidden badge per actor for the script to show.
 */
export function chartSvg(chart: Chart, actors: readonly { name: string; color: number }[]): string {
  const { boxes, headers, width, height } = layout(chart);
  const out: string[] = [];
  out.push(`<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="statechart of ${esc(actors.map((a) => a.name).join(', '))}">`);
  for (const h of headers) {
    if (h.label) out.push(`<text class="fn" x="${h.x}" y="${h.y + 13}">${esc(clip(h.label, Math.floor(h.w / 6.6)))}<title>${esc(h.label)}</title></text>`);
  }
  for (const e of chart.edges) {
    const a = boxes.get(e.from);
    const b = boxes.get(e.to);
    if (!a || !b) continue;
    out.push(`<path class="e" data-from="${esc(e.from)}" data-to="${esc(e.to)}" d="${edgePath(a, b)}">${e.label ? `<title>${esc(e.label)}</title>` : ''}</path>`);
  }
  for (const s of chart.states) {
    const b = boxes.get(s.name)!;
    const cls = ['st', s.local ? 'local' : '', s.final ? 'final' : '', s.name === chart.initial ? 'initial' : ''].filter(Boolean).join(' ');
    // Grouped by path, the box shows the name's last part; the tooltip has all of it.
    const shown = s.fn === undefined && s.name.includes('/') ? s.name.slice(s.name.indexOf('/') + 1) : s.name;
    out.push(`<g class="${cls}" data-state="${esc(s.name)}"><title>${esc(s.name)}${s.desc && s.desc !== s.name ? `: ${esc(s.desc)}` : ''}</title>`);
    out.push(`<rect x="${b.x}" y="${b.y}" width="${BOX_W}" height="${BOX_H}" rx="6"/>`);
    out.push(`<text x="${b.x + 8}" y="${b.y + 16}">${esc(clip(shown, 25))}</text>`);
    let right = b.x + BOX_W - 3;
    for (const a of actors) {
      const w = 7 + a.name.length * 6.2;
      right -= w + 2;
      out.push(`<g class="badge c${a.color}" data-actor="${esc(a.name)}"><rect x="${right}" y="${b.y - 7}" width="${w}" height="13" rx="6"/><text x="${right + w / 2}" y="${b.y + 3}">${esc(a.name)}</text></g>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('');
}
