// Line charts as SVG, written for this UI (no library): one or more series over the epochs, an
// optional reference line (the batch interval), axis labels, and text for screen readers and
// tests — a <title>, a <desc> with the latest and largest values, and a table of the recent
// points beside the chart.

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** An element of the SVG namespace with attributes. */
export function svgEl(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** An HTML element with attributes and children (strings become text nodes). */
export function el(name, attrs = {}, ...children) {
  const e = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** A number for people: 1234567 → "1.23 M", with `unit`. */
export function fmt(v, unit = '') {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  let s;
  if (a >= 1e9) s = `${(v / 1e9).toFixed(2)} G`;
  else if (a >= 1e6) s = `${(v / 1e6).toFixed(2)} M`;
  else if (a >= 1e4) s = `${(v / 1e3).toFixed(1)} K`;
  else if (Number.isInteger(v)) s = String(v);
  else s = v.toFixed(a < 10 ? 2 : 1);
  return unit ? `${s} ${unit}`.replace('  ', ' ') : s;
}

/**
 * Draws a chart into `host` (replacing what was there).
 * spec: { id, title, unit, series: [{ name, points: [[epoch, value], …] }], ref?: { value, label } }
 */
export function lineChart(host, spec) {
  const W = 560, H = 200, L = 56, R = 12, T = 12, B = 30;
  const all = spec.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xmin = xs.length ? Math.min(...xs) : 0;
  const xmax = xs.length ? Math.max(...xs) : 1;
  const ymax = Math.max(1e-9, ...ys, spec.ref ? spec.ref.value : 0) * 1.1;
  const x = (v) => L + ((v - xmin) / Math.max(1, xmax - xmin)) * (W - L - R);
  const y = (v) => H - B - (v / ymax) * (H - T - B);
  const titleId = `${spec.id}-title`;
  const descId = `${spec.id}-desc`;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart', 'data-points': String(all.length) });
  svg.append(svgEl('title', { id: titleId }, spec.title));
  svg.append(svgEl('desc', { id: descId }, describe(spec)));
  // Axes, three y gridlines with labels, and the epoch range on x.
  for (const f of [0, 0.5, 1]) {
    const v = (ymax / 1.1) * f;
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(v)));
  }
  svg.append(svgEl('text', { x: L, y: H - 8, class: 'tick' }, `epoch ${xmin}`));
  svg.append(svgEl('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'tick' }, `epoch ${xmax}`));
  svg.append(svgEl('text', { x: 4, y: T + 2, class: 'unit' }, spec.unit));
  if (spec.ref) {
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(spec.ref.value), y2: y(spec.ref.value), class: 'ref' }));
    svg.append(svgEl('text', { x: W - R - 4, y: y(spec.ref.value) - 4, 'text-anchor': 'end', class: 'ref-label' }, spec.ref.label));
  }
  spec.series.forEach((s, i) => {
    if (!s.points.length) return;
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    svg.append(svgEl('path', { d, class: 'series', stroke: COLORS[i % COLORS.length], 'data-series': s.name }));
  });
  const legend = el('ul', { class: 'legend' }, ...spec.series.map((s, i) => el('li', { style: `--c:${COLORS[i % COLORS.length]}` }, s.name)));
  host.replaceChildren(el('h3', {}, spec.title), svg, legend, dataTable(spec));
}

/** The chart in a sentence: what it shows, the latest and the largest value per series. */
function describe(spec) {
  const parts = spec.series.map((s) => {
    if (!s.points.length) return `${s.name}: no data yet`;
    const last = s.points[s.points.length - 1];
    const max = Math.max(...s.points.map((p) => p[1]));
    return `${s.name}: ${fmt(last[1], spec.unit)} at epoch ${last[0]}, at most ${fmt(max, spec.unit)}`;
  });
  const ref = spec.ref ? `; ${spec.ref.label}` : '';
  return `${spec.title} over ${spec.series[0]?.points.length ?? 0} epochs. ${parts.join('; ')}${ref}.`;
}

/** The last 10 points of every series as a table (folded), for reading instead of looking. */
function dataTable(spec) {
  const epochs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b).slice(-10);
  const byEpoch = spec.series.map((s) => new Map(s.points.map((p) => [p[0], p[1]])));
  const table = el('table', { class: 'chart-data' },
    el('caption', {}, `${spec.title} (${spec.unit}), last ${epochs.length} epochs`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'epoch'), ...spec.series.map((s) => el('th', { scope: 'col' }, s.name)))),
    el('tbody', {}, ...epochs.map((e) => el('tr', {}, el('th', { scope: 'row' }, String(e)), ...byEpoch.map((m) => el('td', {}, fmt(m.get(e))))))));
  return el('details', { class: 'chart-details' }, el('summary', {}, 'Data'), table);
}
