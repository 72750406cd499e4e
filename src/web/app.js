// The sluice web UI: a few pages over the JSON API (/api/…), redrawn by polling at the batch
// interval (at most twice a second, at least every 5 s). Pages by URL hash:
//   #/            overview: charts over the recent epochs, views, sources, sinks
//   #/epochs      the epochs table (click an epoch for its details)   #/epochs/N  one epoch
//   #/views       views                                               #/views/NAME  one view
//   #/sources     sources and sinks        #/system  memory and checkpoints
// Everything is built with DOM calls and textContent: engine data is never parsed as HTML.

import { el, fmt, lineChart } from './charts.js';
import { planGraph } from './plan-graph.js';

const EPOCHS_CHARTED = 300;
const EPOCHS_LISTED = 50;
const main = document.getElementById('main');

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error ?? ''}`);
  return r.json();
}

/** Input ranges of one epoch as text: Kafka partitions with offsets, file names, row ranges. */
function rangeText(name, range) {
  if (range === null || range === undefined) return `${name}: –`;
  if (Array.isArray(range.partitions)) {
    const parts = range.partitions.map((p) => `p${p.partition} [${p.from}, ${p.to})${p.lag ? ` lag ${p.lag}` : ''}`);
    return `${name}: ${range.topic ?? ''} ${parts.join(', ') || 'no partitions'}`.replace('  ', ' ');
  }
  if (Array.isArray(range.files)) return `${name}: ${range.files.length ? range.files.join(', ') : 'no new files'}`;
  if (typeof range.from === 'number' && typeof range.to === 'number') return `${name}: rows [${range.from}, ${range.to})`;
  if (typeof range.lines === 'number') return `${name}: ${range.lines} lines`;
  return `${name}: ${JSON.stringify(range)}`;
}

function table(caption, headers, rows, opts = {}) {
  return el('table', { class: opts.class ?? 'data', id: opts.id },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: headers.length, class: 'empty' }, 'none'))])));
}

function row(...cells) {
  return el('tr', {}, ...cells.map((c) => (c instanceof Node && c.nodeName === 'TD' ? c : el('td', {}, c))));
}

function link(href, text) {
  return el('a', { href }, text);
}

function ms(v) {
  return fmt(v, 'ms');
}

// ---- pages -------------------------------------------------------------------------------

function overviewPage(ov, epochs) {
  const charted = epochs.slice(-EPOCHS_CHARTED);
  const pts = (f) => charted.map((e) => [e.epoch, f(e)]);
  // Input rate per source: rows of the epoch over the time since the previous epoch's batch time.
  const rate = (name) => charted.slice(1).map((e, i) => [e.epoch, (e.rowsInBy[name] ?? 0) / Math.max(0.001, (e.batchTimeMs - charted[i].batchTimeMs) / 1000)]);
  const charts = el('section', { class: 'charts', 'aria-label': 'Charts' });
  const slots = ['input-rate', 'processing', 'delay', 'rows-out'].map((id) => el('figure', { class: 'chart-box', id: `chart-${id}` }));
  charts.append(...slots);
  lineChart(slots[0], { id: 'c-rate', title: 'Input rate per source', unit: 'rows/s', series: ov.sources.length ? ov.sources.map((s) => ({ name: s.name, points: rate(s.name) })) : [{ name: 'no sources', points: [] }] });
  lineChart(slots[1], { id: 'c-proc', title: 'Processing time', unit: 'ms', series: [{ name: 'processing time', points: pts((e) => e.processingMs) }], ref: { value: ov.batchIntervalMs, label: `batch interval ${ov.batchIntervalMs} ms` } });
  lineChart(slots[2], { id: 'c-delay', title: 'Scheduling delay', unit: 'ms', series: [{ name: 'scheduling delay', points: pts((e) => e.schedulingDelayMs) }] });
  lineChart(slots[3], { id: 'c-out', title: 'Rows out', unit: 'rows', series: [{ name: 'rows out (all views)', points: pts((e) => e.rowsOut) }] });
  return [
    el('h1', {}, 'Overview'),
    charts,
    viewsTable(ov.views),
    sourcesTable(ov.sources),
    epochsTable(epochs.slice(-10), 'Recent epochs'),
  ];
}

function epochsTable(epochs, caption) {
  const rows = epochs.slice().reverse().map((e) => {
    const tr = row(
      el('td', {}, link(`#/epochs/${e.epoch}`, String(e.epoch))),
      e.batchTime.replace('T', ' ').replace('Z', ''),
      el('td', { class: 'ranges' }, ...Object.entries(e.ranges).map(([n, r]) => el('div', {}, rangeText(n, r)))),
      fmt(e.rowsIn), fmt(e.rowsOut), ms(e.processingMs), ms(e.schedulingDelayMs),
    );
    tr.dataset.epoch = String(e.epoch);
    return tr;
  });
  return table(caption, ['epoch', 'batch time (UTC)', 'input ranges', 'rows in', 'rows out', 'processing', 'delay'], rows, { id: 'epochs', class: 'data clickable' });
}

function epochsPage(epochs) {
  return [el('h1', {}, 'Epochs'), epochsTable(epochs.slice(-EPOCHS_LISTED), `The last ${Math.min(EPOCHS_LISTED, epochs.length)} epochs (newest first); click one for its details`)];
}

async function epochPage(n) {
  const e = await getJson(`/api/epochs/${n}`);
  const kv = (k, v) => el('div', {}, el('dt', {}, k), el('dd', {}, v));
  return [
    el('h1', {}, `Epoch ${e.epoch}`),
    el('dl', { class: 'kv', id: 'epoch-details' },
      kv('batch time', e.batchTime), kv('processing time', ms(e.processingMs)), kv('scheduling delay', ms(e.schedulingDelayMs)),
      kv('rows in', fmt(e.rowsIn)), kv('rows out', fmt(e.rowsOut)), kv('dead letters', fmt(e.deadLetters)), kv('row errors', fmt(e.rowErrors))),
    table('Input per source and table', ['relation', 'rows', 'range'], Object.entries(e.rowsInBy).map(([name, n]) => row(name, fmt(n), name in e.ranges ? rangeText(name, e.ranges[name]) : '(table changes)'))),
    table('Output per view', ['view', 'rows (changes)'], Object.entries(e.rowsOutBy).map(([name, n]) => row(link(`#/views/${encodeURIComponent(name)}`, name), fmt(n)))),
    el('p', {}, link('#/epochs', '← all epochs')),
  ];
}

function viewsTable(views) {
  return table('Materialized views', ['view', 'rows', 'state rows', 'state bytes', 'late rows', 'row errors', 'watermark', 'status'], views.map((v) => row(
    el('td', {}, link(`#/views/${encodeURIComponent(v.name)}`, v.name)), fmt(v.rows), fmt(v.stateRows), fmt(v.stateBytes, 'B'), fmt(v.lateRows), fmt(v.rowErrors),
    v.watermark ?? '–', v.failed ? `stopped: ${v.failed}` : 'running',
  )), { id: 'views' });
}

async function viewPage(name) {
  const v = await getJson(`/api/views/${encodeURIComponent(name)}?sample=20`);
  return [
    el('h1', {}, `View ${v.name}`),
    el('p', { class: 'facts', id: 'view-facts' }, `${fmt(v.rows)} rows · state ${fmt(v.stateRows)} rows, ${fmt(v.stateBytes, 'B')} · late rows ${fmt(v.lateRows)} · watermark ${v.watermark ?? 'none'} · ${v.appendOnly ? 'append-only' : 'updating'}${v.failed ? ` · stopped: ${v.failed}` : ''}`),
    el('h2', {}, 'Plan'),
    planGraph(v),
    table('Operators', ['id', 'operator', 'rows in (epoch)', 'rows out (epoch)', 'rows in (all)', 'rows out (all)', 'state rows', 'state bytes'], v.operators.map((o) => row(
      o.id, o.name, fmt(o.epochRowsIn), fmt(o.epochRowsOut), fmt(o.rowsIn), fmt(o.rowsOut), fmt(o.stateRows), fmt(o.stateBytes, 'B'))), { id: 'operators' }),
    el('h2', {}, 'SQL'),
    el('pre', { class: 'sql' }, v.sql),
    el('h2', {}, 'Sample rows'),
    table(`Up to 20 of its ${fmt(v.rows)} rows`, v.sample.columns, v.sample.rows.map((r) => row(...r.map((c) => (c === null ? 'NULL' : String(c)))))),
  ];
}

function sourcesTable(sources) {
  return table('Sources', ['source', 'connector', 'rows', 'rate', 'lag', 'rate limit', 'dead letters', 'late rows', 'watermark'], sources.map((s) => row(
    s.name, s.connector, fmt(s.rows), fmt(s.rate, 'rows/s'),
    s.lag.length ? s.lag.map((p) => `p${p.partition}: ${fmt(p.lag)}`).join(', ') : '–',
    s.rateLimit === null ? 'none' : fmt(s.rateLimit, 'rows/s'),
    el('td', {}, fmt(s.deadLetters), s.deadLetters ? el('span', {}, ' in ', el('code', {}, `SELECT * FROM ${s.errorsTable}`)) : ''),
    fmt(s.lateRows), s.watermark ?? '–',
  )), { id: 'sources' });
}

function sinksTable(sinks) {
  return table('Sinks', ['sink', 'from', 'connector', 'rows written', 'last delivered epoch', 'pending epochs', 'error'], sinks.map((s) => row(
    s.name, s.from ?? `AS SELECT (state ${fmt(s.stateRows)} rows)`, s.connector, fmt(s.rowsWritten), s.deliveredEpoch ?? '–', fmt(s.pendingEpochs), s.error ?? '–',
  )), { id: 'sinks' });
}

async function systemPage(ov) {
  const cps = await getJson('/api/checkpoints');
  const workers = await getJson('/api/workers');
  const cluster = await getJson('/api/cluster');
  const m = ov.memory;
  return [
    el('h1', {}, 'Memory, worker threads, cluster and checkpoints'),
    table('Memory', ['what', 'bytes'], [
      row('resident set (RSS)', fmt(m.rss, 'B')), row('JS heap used', fmt(m.heapUsed, 'B')), row('JS heap total', fmt(m.heapTotal, 'B')),
      row('external (Arrow buffers, …)', fmt(m.external, 'B')),
      ...Object.entries(m.stateBytes).map(([v, b]) => row(`state of view ${v}`, fmt(b, 'B'))),
    ], { id: 'memory' }),
    table('Shard worker threads (keyed operators of views with parallelism > 1)', ['worker', 'status', 'busy since start', 'views with an instance in it'], workers.map((w) => row(
      String(w.worker), w.status, `${(100 * w.busy).toFixed(1)} %`, w.views.join(', ') || '–')), { id: 'workers' }),
    ...(cluster ? [table(`Cluster ${cluster.name} (this member: ${cluster.member}; brokers ${cluster.brokers.join(',')})`,
      ['view', 'member', 'host', 'source partitions', 'exchange partitions', 'source lag', 'exchange lag', 'rebalances seen', 'copy lag', 'changes read'], cluster.members.map((c) => row(
        c.view, c.self ? `${c.member} (this one)` : c.member, c.host, c.sourcePartitions || '–', c.exchangePartitions || '–', fmt(c.sourceLag), fmt(c.exchangeLag), c.rebalances === null ? '–' : String(c.rebalances),
        c.copyLag === null ? '–' : fmt(c.copyLag), c.changesRead === null ? '–' : fmt(c.changesRead))), { id: 'cluster' })] : []),
    table('Checkpoints (the kept ones; none without a data dir)', ['id', 'epoch', 'taken at', 'bytes written', 'views written', 'as deltas', 'duration'], cps.map((c) => row(
      String(c.id), String(c.epoch), c.createdAt, fmt(c.bytes, 'B'), String(c.viewsWritten), String(c.viewsAsDelta), ms(c.durationMs))), { id: 'checkpoints' }),
  ];
}

// ---- the loop ----------------------------------------------------------------------------

/** Draws the page the hash names; returns the batch interval to pace the next poll. */
async function render() {
  const [ov, epochs] = await Promise.all([getJson('/api/overview'), getJson(`/api/epochs?limit=${EPOCHS_CHARTED}`)]);
  const badge = document.getElementById('badge');
  badge.textContent = ov.stable ? 'stable' : 'unstable';
  badge.className = `badge ${ov.stable ? 'ok' : 'bad'}`;
  badge.title = ov.stable ? 'processing time within the batch interval over the last epochs' : 'processing time exceeds the batch interval: the pipeline falls behind';
  document.getElementById('epoch').textContent = String(ov.epoch);
  document.getElementById('interval').textContent = `${ov.batchIntervalMs} ms`;
  document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  let content;
  switch (parts[0]) {
    case 'epochs':
      content = parts[1] ? await epochPage(parts[1]) : epochsPage(epochs);
      break;
    case 'views':
      content = parts[1] ? await viewPage(parts[1]) : [el('h1', {}, 'Views'), viewsTable(ov.views)];
      break;
    case 'sources':
      content = [el('h1', {}, 'Sources and sinks'), sourcesTable(ov.sources), sinksTable(ov.sinks)];
      break;
    case 'system':
      content = await systemPage(ov);
      break;
    default:
      content = overviewPage(ov, epochs);
  }
  // Keep open "Data" folds open across redraws.
  const open = new Set([...main.querySelectorAll('details[open]')].map((d) => d.parentElement?.id));
  main.replaceChildren(...content);
  for (const d of main.querySelectorAll('details')) if (open.has(d.parentElement?.id)) d.open = true;
  main.setAttribute('aria-busy', 'false');
  main.dataset.epoch = String(ov.epoch);
  return ov.batchIntervalMs;
}

// A click is a press and a release on the same element: redraws wait while a button is down,
// so a row replaced by a redraw does not swallow the click.
let pressed = false;
main.addEventListener('pointerdown', () => (pressed = true));
window.addEventListener('pointerup', () => setTimeout(() => (pressed = false), 0));
main.addEventListener('click', (ev) => {
  const tr = ev.target.closest?.('tr[data-epoch]');
  if (tr && ev.target.nodeName !== 'A') location.hash = `#/epochs/${tr.dataset.epoch}`;
});

let timer = null;
async function tick() {
  clearTimeout(timer);
  let interval = 1000;
  try {
    if (pressed) {
      timer = setTimeout(tick, 100);
      return;
    }
    interval = await render();
  } catch (e) {
    main.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Cannot reach the engine: ${e.message}`));
  }
  timer = setTimeout(tick, Math.min(5000, Math.max(500, interval)));
}

window.addEventListener('hashchange', () => void tick());
void tick();

// ---- work in progress --------------------------------------------------------------------
// Backfills, table loads and scripts with their progress, polled every second on their own:
// /api/progress answers without the engine lock, which a backfill holds (the other pages wait
// for it), so this banner moves while the rest of the page cannot.

const work = document.getElementById('work');
const KIND = { backfill: 'Backfill of view', table_load: 'Load of table', script: 'Script' };

function workItem(p) {
  const of = p.total === null ? '' : ` of ${fmt(p.total)}`;
  const state = p.running ? `${fmt(p.rate)} ${p.unit}/s` : p.error ? `failed: ${p.error}` : `done in ${fmt(p.elapsedMs / 1000)} s`;
  const bar = p.total === null ? el('progress', {}) : el('progress', { max: String(p.total), value: String(p.done) });
  return el('li', { class: p.running ? 'running' : p.error ? 'failed' : 'done', 'data-kind': p.kind, 'data-name': p.name },
    el('strong', {}, `${KIND[p.kind] ?? p.kind} ${p.name}`), ' ', bar, ' ',
    el('span', { class: 'work-count' }, `${fmt(p.done)}${of} ${p.unit}${p.percent === null ? '' : ` (${p.percent.toFixed(0)} %)`}`), ' · ', state);
}

async function workTick() {
  try {
    const tasks = await getJson('/api/progress');
    // Running work, and what finished in the last 10 s.
    const shown = tasks.filter((p) => p.running || Date.now() - (p.startedAtMs + p.elapsedMs) < 10_000);
    work.hidden = shown.length === 0;
    work.replaceChildren(...(shown.length ? [el('h2', {}, 'Work in progress'), el('ul', {}, ...shown.map(workItem))] : []));
  } catch {
    work.hidden = true;
  }
  setTimeout(workTick, 1000);
}
void workTick();
