// A view's plan as a graph in SVG: one box per operator with its name, id, rows in/out of the
// last epoch and its state, and an arrow from each operator to the one its output feeds. Data
// flows down: scans at the top, the view's output at the bottom. Every box is a labelled group
// (role="listitem"), so a screen reader — and a test — reads the operators and their figures.

import { el, fmt, svgEl } from './charts.js';

const BOX_W = 230, BOX_H = 74, GAP_X = 24, GAP_Y = 40;

/** Lays the operator tree out: leaves in order along x, depth (distance from the scans) along y. */
function layout(ops) {
  const children = new Map(ops.map((o) => [o.id, []]));
  let root = null;
  for (const o of ops) {
    if (o.parent === null) root = o;
    else children.get(o.parent)?.push(o);
  }
  const pos = new Map();
  let nextX = 0;
  // Height of a subtree decides its row: a parent sits one row below its deepest child.
  const place = (o) => {
    const cs = children.get(o.id) ?? [];
    if (!cs.length) {
      pos.set(o.id, { col: nextX++, row: 0 });
      return 0;
    }
    const rows = cs.map(place);
    const row = Math.max(...rows) + 1;
    const cols = cs.map((c) => pos.get(c.id).col);
    pos.set(o.id, { col: (Math.min(...cols) + Math.max(...cols)) / 2, row });
    return row;
  };
  if (root) place(root);
  return { pos, children, cols: Math.max(1, nextX), rows: root ? pos.get(root.id).row + 1 : 1 };
}

/** The plan graph of `view` (an /api/views/NAME answer). */
export function planGraph(view) {
  const ops = view.operators;
  const { pos, children, cols, rows } = layout(ops);
  const W = cols * (BOX_W + GAP_X) + GAP_X;
  const H = rows * (BOX_H + GAP_Y) + GAP_Y;
  const at = (id) => {
    const p = pos.get(id);
    return { x: GAP_X + p.col * (BOX_W + GAP_X), y: GAP_Y / 2 + p.row * (BOX_H + GAP_Y) };
  };
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'list', 'aria-label': `Plan of ${view.name}: ${ops.length} operators`, class: 'plan' });
  svg.append(svgEl('title', {}, `Plan of ${view.name}`));
  const defs = svgEl('defs');
  const marker = svgEl('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
  marker.append(svgEl('path', { d: 'M0,0L10,5L0,10z', class: 'arrow' }));
  defs.append(marker);
  svg.append(defs);
  for (const o of ops) {
    for (const c of children.get(o.id) ?? []) {
      const a = at(c.id), b = at(o.id);
      svg.append(svgEl('line', { x1: a.x + BOX_W / 2, y1: a.y + BOX_H, x2: b.x + BOX_W / 2, y2: b.y, class: 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const o of ops) {
    const { x, y } = at(o.id);
    const state = o.stateTables.length ? `state ${fmt(o.stateRows)} rows, ${fmt(o.stateBytes, 'B')}` : 'stateless';
    const label = `${o.name} ${o.id}: ${fmt(o.epochRowsIn)} rows in, ${fmt(o.epochRowsOut)} rows out in the last epoch (${fmt(o.rowsIn)} in, ${fmt(o.rowsOut)} out in all); ${state}`;
    const g = svgEl('g', { role: 'listitem', 'aria-label': label, class: `op${o.stateTables.length ? ' stateful' : ''}`, 'data-operator': o.name, 'data-id': o.id });
    g.append(svgEl('title', {}, label));
    g.append(svgEl('rect', { x, y, width: BOX_W, height: BOX_H, rx: 6 }));
    g.append(svgEl('text', { x: x + 8, y: y + 18, class: 'op-name' }, o.name));
    g.append(svgEl('text', { x: x + BOX_W - 8, y: y + 18, class: 'op-id', 'text-anchor': 'end' }, o.id));
    g.append(svgEl('text', { x: x + 8, y: y + 38 }, `in ${fmt(o.epochRowsIn)} · out ${fmt(o.epochRowsOut)} (epoch)`));
    g.append(svgEl('text', { x: x + 8, y: y + 58 }, state));
    svg.append(g);
  }
  return el('div', { class: 'plan-wrap' }, svg);
}
