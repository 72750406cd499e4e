/**
 * ALTER {SOURCE | TABLE | MATERIALIZED VIEW | VIEW | SINK} [IF EXISTS] name RENAME TO new_name.
 *
 * The object keeps running under its new name, as a PostgreSQL relation keeps its OID; what
 * names it follows:
 *
 *   - its catalog entry (statement, comments, grants; its OID, which comes from its creation
 *     order, stays) and the statements of the views, models and sinks that read it, rewritten
 *     at the token level and checked by parsing them again; persisted in one write;
 *   - its DuckDB tables: a table's own, a source's `<name>_errors`, a view's `<name>_late`;
 *   - views: the renamed view and the views over the renamed object are planned again from
 *     their (new) statements and their operator state moves table by table into the new
 *     pipelines (the check a restart's restore makes: same operators, tables and columns), so
 *     nothing is recomputed; the store, subscribers and counters stay, so a SUBSCRIBE goes on;
 *   - a sink's outbox directory; a source's write-ahead log directory (the connector restarts
 *     at its position to write to it);
 *   - identities a connector shows outside, derived from the name by default, are written into
 *     the statement so they stay: an exactly-once Kafka sink's transactional_id (its progress
 *     records are keyed by it), a PostgreSQL sink's progress_key, an MQTT client_id;
 *   - a fresh checkpoint records the new names (manifest, state files).
 *
 * Every check (names free, statements that re-parse, plans whose state fits) comes before the
 * first change. Models cannot be renamed (predict('name', …) names them in string literals).
 */
import { existsSync, renameSync } from 'node:fs';
import { SluiceError } from '../../common/errors.js';
import type { Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { KIND_LABEL, type Catalog, type CatalogEntry, type RelationEntry, type RenameRecord, type SinkEntry, type SourceEntry, type ViewEntry, type ModelEntry } from '../../catalog/index.js';
import type { Manifest, Recovery } from '../checkpoint/manifest.js';
import type { OffsetsRecord } from '../checkpoint/checkpointer.js';
import { lex, parseStatement, relationsOf, type Statement, type Token } from '../../parser/index.js';
import { planQuery, type PlannedQuery } from '../../planner/index.js';
import type { PhysicalPlan } from '../../planner/physical.js';
import { physicalChildren, Pipeline } from '../pipeline.js';
import { ModelTrainOp } from '../ml/model.js';
import { quoteIdent } from '../duck.js';
import { readKafkaSinkOptions, defaultTransactionalId } from '../../connectors/kafka/options.js';
import { walDir } from '../../connectors/receiver/receiver-log.js';
import type { EpochRunner } from './epoch-runner.js';
import type { AdHocQueries } from './select.js';
import type { EngineState, StatementResult, ViewRt } from './state.js';
import { checkpointNow } from './commit.js';
import { renamedStatement, sourceConnector, withOptionsClause } from './ddl.js';

type RenameStmt = Extract<Statement, { kind: 'alter_rename' }>;

/** Words that cannot stand as a bare relation name in a statement (written quoted instead). */
const RESERVED = new Set([
  'all', 'and', 'any', 'array', 'as', 'asc', 'between', 'both', 'case', 'cast', 'check', 'collate', 'column', 'constraint', 'create', 'cross', 'current_date',
  'current_time', 'current_timestamp', 'current_user', 'default', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'from',
  'full', 'grant', 'group', 'having', 'in', 'inner', 'intersect', 'into', 'is', 'join', 'lateral', 'leading', 'left', 'like', 'limit', 'natural', 'not', 'null',
  'offset', 'on', 'only', 'or', 'order', 'outer', 'primary', 'references', 'right', 'select', 'session_user', 'some', 'table', 'then', 'to', 'trailing', 'true',
  'union', 'unique', 'user', 'using', 'when', 'where', 'window', 'with',
]);

/** How a name is written into a statement: bare when it reads back the same, quoted otherwise. */
export function writtenName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : quoteIdent(name);
}

/** Keywords that start a clause: a comma after FROM separates relations until one of the others. */
const CLAUSES = new Set(['select', 'from', 'where', 'group', 'having', 'order', 'limit', 'offset', 'on', 'using', 'window', 'union', 'intersect', 'except', 'with', 'as', 'emit', 'qualify', 'values']);
/** Calls whose argument list says FROM without naming a relation. */
const FROM_CALLS = new Set(['extract', 'substring', 'trim', 'overlay', 'position']);
/** Table functions whose first argument is a relation. */
const RELATION_CALLS = new Set(['tumble', 'hop', 'session']);

/**
 * `sql` (a CREATE MATERIALIZED VIEW, MODEL or SINK statement) with its references to relation
 * `from` written as `to`: names in relation position (after FROM, JOIN, a comma of a FROM list,
 * as the first argument of TUMBLE/HOP/SESSION, optionally `public.`-qualified) and, unless
 * `from` is also used as an alias in the statement, qualifiers `from.column`. Columns, aliases,
 * strings and option keys are left alone.
 */
export function renameReferences(sql: string, from: string, to: string): string {
  const toks = lex(sql);
  const named = (t: Token | undefined): boolean => t !== undefined && (t.kind === 'ident' || t.kind === 'quoted');
  const word = (t: Token | undefined, ...w: string[]): boolean => t?.kind === 'ident' && w.includes(t.value);
  const sym = (t: Token | undefined, v: string): boolean => t?.kind === 'symbol' && t.value === v;
  // Per parenthesis depth: the clause we are in, and the call that opened the parenthesis.
  const clause: string[] = ['none'];
  const opener: string[] = [''];
  const relationPos = new Set<number>();
  const relations: number[] = [];
  const qualifiers: number[] = [];
  let aliased = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const prev = toks[i - 1];
    if (sym(t, '(')) {
      clause.push('none');
      opener.push(prev?.kind === 'ident' ? prev.value : '');
      continue;
    }
    if (sym(t, ')')) {
      if (clause.length > 1) {
        clause.pop();
        opener.pop();
      }
      continue;
    }
    const d = clause.length - 1;
    if (t.kind === 'ident' && CLAUSES.has(t.value) && !(t.value === 'from' && (FROM_CALLS.has(opener[d]!) || word(prev, 'distinct')))) {
      clause[d] = t.value;
      continue;
    }
    if (!named(t)) continue;
    // The token a relation name starts at: `public.name` starts at `public`.
    const head = sym(prev, '.') && word(toks[i - 2], 'public') && !sym(toks[i - 3], '.') ? i - 2 : i;
    if (sym(prev, '.') && head === i) continue;
    const before = toks[head - 1];
    const atRelation =
      (word(before, 'from') && clause[d] === 'from') || word(before, 'join') || (sym(before, ',') && clause[d] === 'from') || (sym(before, '(') && RELATION_CALLS.has(opener[d]!));
    if (atRelation) relationPos.add(i);
    if (t.value !== from) continue;
    if (atRelation) relations.push(i);
    else if (sym(toks[i + 1], '.') && head === i) qualifiers.push(i);
    else if (word(before, 'as') || relationPos.has(head - 1)) aliased = true;
  }
  const at = [...relations, ...(aliased ? [] : qualifiers)].sort((a, b) => a - b);
  let out = '';
  let last = 0;
  for (const i of at) {
    out += sql.slice(last, toks[i]!.start) + writtenName(to);
    last = toks[i]!.end;
  }
  return out + sql.slice(last);
}

/** The DuckDB lookup tables a plan joins in DuckDB (the strategy a new plan must keep). */
function duckLookups(p: PhysicalPlan, out = new Set<string>()): Set<string> {
  if (p.kind === 'HashJoinExec' && p.lookupStrategy === 'duckdb' && p.lookupTable) out.add(p.lookupTable.name);
  for (const c of physicalChildren(p)) duckLookups(c, out);
  return out;
}

/**
 * Moves the operator state of `from` into the freshly built `to`, table by table, after checking
 * that both have the same operators with the same state tables (as a restore does).
 */
function moveState(view: string, from: Pipeline, to: Pipeline): void {
  const a = from.operators;
  const b = to.operators;
  const fits = a.length === b.length && a.every((op, i) => {
    const o = b[i]!;
    return op.name === o.name && op.state.length === o.state.length && op.state.every((t, j) => {
      const u = o.state[j]!;
      return t.spec.name === u.spec.name && t.spec.schema.map((f) => `${f.name}:${f.type}`).join() === u.spec.schema.map((f) => `${f.name}:${f.type}`).join();
    });
  });
  if (!fits) {
    throw new SluiceError('not_supported', `cannot rename: materialized view "${view}" would be planned differently now, and its state would not carry over`, {
      hint: `Drop "${view}" and create it again after the rename (SHOW CREATE MATERIALIZED VIEW ${view} gives its statement).`,
    });
  }
  a.forEach((op, i) => op.state.forEach((t, j) => b[i]!.state[j]!.restore(t.snapshot())));
}

/** A view runtime rebuilt for the rename: its new entry, plan and pipeline (state already moved in). */
interface Rebuilt {
  readonly rt: ViewRt;
  readonly entry: ViewEntry | ModelEntry;
  readonly planned: PlannedQuery;
  readonly pipeline: Pipeline;
}

/**
 * The options that keep a renamed source's or sink's identity outside: those derived from the
 * name by default, written with the old name unless given.
 */
export function pinnedOptions(e: SourceEntry | SinkEntry, schema: Schema): Record<string, string> {
  const o = e.options;
  if (e.kind === 'sink') {
    if (o.connector === 'kafka') {
      const c = readKafkaSinkOptions(o, schema);
      if (c.delivery.mode === 'exactly_once' && c.delivery.transactionalId === null) return { transactional_id: defaultTransactionalId(e.name, c.topic) };
    }
    if (o.connector === 'postgres' && o.progress_key === undefined) return { progress_key: e.name };
    if (o.connector === 'mqtt' && o.client_id === undefined) return { client_id: `sluice-sink-${e.name}` };
  } else if (o.connector === 'mqtt' && o.client_id === undefined) return { client_id: `sluice-${e.name}` };
  return {};
}

/** Whether DuckDB has a table `name` in the main schema. */
async function duckHas(state: EngineState, name: string): Promise<boolean> {
  const { rows } = await state.duck.query(`SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = '${name.replace(/'/g, "''")}'`);
  return Number(rows[0]![0]) > 0;
}

/** The ALTER … RENAME TO handler (see the top of this file). */
export async function renameObject(state: EngineState, parts: { readonly epochs: EpochRunner; readonly adHoc: AdHocQueries }, stmt: RenameStmt): Promise<StatementResult> {
  const label = KIND_LABEL[stmt.objectKind];
  const tag = `ALTER_${stmt.objectKind === 'view' ? 'MATERIALIZED_VIEW' : stmt.objectKind.toUpperCase()}`;
  const { from, to } = { from: stmt.name, to: stmt.newName };
  const e = state.catalog.get(from);
  if (!e) {
    if (stmt.ifExists) return { kind: 'command', tag, notice: `relation "${from}" does not exist, skipping` };
    throw new SluiceError('undefined_table', `relation "${from}" does not exist`);
  }
  if (e.kind !== stmt.objectKind) {
    throw new SluiceError('wrong_object_type', `"${from}" is not a ${label}`, { hint: `"${from}" is a ${KIND_LABEL[e.kind]}: use ALTER ${KIND_LABEL[e.kind].toUpperCase()}.` });
  }
  if (e.kind === 'model') {
    throw new SluiceError('not_supported', 'ALTER MODEL … RENAME TO is not supported', {
      position: stmt.pos,
      hint: `predict('${from}', …) names the model in a string: create it again under the new name (SHOW CREATE MODEL ${from} gives its statement) and drop the old.`,
    });
  }
  // No position: PostgreSQL gives none for these errors of ALTER.
  if (state.catalog.has(to) || to.startsWith('sluice.')) throw new SluiceError('duplicate_table', `relation "${to}" already exists`);
  // The DuckDB tables named after the object move with it: their new names must be free too.
  const companions: [string, string][] = [];
  for (const [a, b] of companionTables(e.kind, from, to)) if (await duckHas(state, a)) companions.push([a, b]);
  for (const [, name] of companions) {
    if ((name !== to && state.catalog.has(name)) || (await duckHas(state, name))) {
      throw new SluiceError('duplicate_table', `relation "${name}" already exists`, { hint: `Renaming ${label} "${from}" moves its table "${companions.find(([, n]) => n === name)![0]}" to "${name}".` });
    }
  }

  // Queued table changes go to the views under the old names first (the changelog and the
  // views' scans are keyed by name), so nothing is in flight across the rename.
  await parts.epochs.run(Date.now(), false);

  // A sink with a query of its own (CREATE SINK … AS SELECT) keeps operator state under its name
  // and plans its query like a view; moving either is not built yet.
  if (e.kind === 'sink' && e.from === null) {
    throw new SluiceError('not_supported', `ALTER SINK … RENAME TO is not supported for a sink with its own query ("${from}")`, {
      hint: `Create it again under the new name (SHOW CREATE SINK ${from} gives its statement) and drop the old one.`,
    });
  }
  const querySink = state.catalog.dependents(from).find((d) => d.kind === 'sink' && d.from === null);
  if (querySink) {
    throw new SluiceError('not_supported', `cannot rename "${from}": sink "${querySink.name}" reads it in a query of its own (CREATE SINK … AS SELECT), which a rename does not rewrite yet`, {
      hint: `Drop sink ${querySink.name}, rename, and create it again over "${to}" (SHOW CREATE SINK ${querySink.name} gives its statement).`,
    });
  }

  // The new entries, checked before anything changes.
  const entry = renamedEntry(state, e, to);
  const dependents = state.catalog.dependents(from);
  const rewritten: CatalogEntry[] = dependents.map((d) => rewriteDependent(d, from, to));
  const planning = renamedCatalog(state.catalog, from, entry);
  // State moves by snapshot: instances in worker threads send theirs here first.
  for (const v of state.views.values()) await v.pipeline.fetchState(false);
  const rebuilt: Rebuilt[] = [];
  for (const d of rewritten) {
    if (d.kind !== 'view' && d.kind !== 'model') continue;
    rebuilt.push(rebuildView(state, planning, state.views.get(d.name)!, d, from, to));
  }
  if (e.kind === 'view') {
    const rt = state.views.get(from)!;
    const pipeline = new Pipeline(to, rt.planned.physical, (b: Batch) => rt.outputs.push(b), undefined, { parallelism: rt.pipeline.parallelism });
    moveState(from, rt.pipeline, pipeline);
    rebuilt.push({ rt, entry: entry as ViewEntry, planned: rt.planned, pipeline });
  }

  // The changes. The catalog, with the rename recorded in it, is written first: it is the
  // commit point. A crash after it leaves moves for recovery to redo (redoRenames) and a
  // checkpoint with the old names, which recovery reads through the record; the record goes
  // once the checkpoint below is taken. The DuckDB renames run in a transaction that commits
  // after the catalog write, so one DuckDB refuses changes nothing.
  const srt = entry.kind === 'source' ? state.sources.get(from)! : null;
  const wal = srt && state.dataDir && existsSync(walDir(state.dataDir, from));
  await state.duck.run('BEGIN TRANSACTION');
  try {
    for (const [a, b] of companions) await state.duck.run(`ALTER TABLE ${quoteIdent(a)} RENAME TO ${quoteIdent(b)}`);
  } catch (e) {
    await state.duck.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
  state.catalog.rename(from, entry, rewritten);
  crashPoint('after_catalog');
  await state.duck.run('COMMIT');
  // A receiver's write-ahead log is a directory named after its source: the connector stops to
  // let it move, and starts again at its position to write there (records after it are re-read).
  if (wal) await srt.connector.stop();
  await movePhysical(state, { kind: entry.kind, from, to });
  parts.adHoc.unload(from);
  for (const r of rebuilt) {
    r.rt.pipeline.dispose();
    r.rt.entry = r.entry;
    r.rt.planned = r.planned;
    r.rt.pipeline = r.pipeline;
    r.rt.ckptFile = null;
    r.rt.dirty = true;
    r.rt.version++;
  }
  for (const d of rewritten) if (d.kind === 'sink') state.sinks.get(d.name)!.entry = d;
  switch (entry.kind) {
    case 'table': {
      const rt = state.tables.get(from)!;
      rt.entry = entry;
      state.tables.delete(from);
      state.tables.set(to, rt);
      break;
    }
    case 'view': {
      const rt = state.views.get(from)!;
      state.views.delete(from);
      state.views.set(to, rt);
      break;
    }
    case 'sink': {
      const rt = state.sinks.get(from)!;
      rt.entry = entry;
      state.sinks.delete(from);
      state.sinks.set(to, rt);
      break;
    }
    case 'source': {
      srt!.entry = entry;
      state.sources.delete(from);
      state.sources.set(to, srt!);
      break;
    }
    case 'model':
      throw new SluiceError('internal', 'a model cannot be renamed');
  }
  crashPoint('before_checkpoint');
  if (wal) {
    const source = entry as SourceEntry;
    srt.connector = sourceConnector(state, to, source.schema, source.options, srt.dead);
    await srt.connector.start(srt.position);
    srt.position = srt.connector.currentPosition?.() ?? srt.position;
  }
  await checkpointNow(state);
  if (state.checkpointer) state.catalog.settleRenames();
  return { kind: 'command', tag };
}

/**
 * A test hook of the crash tests (test/crash/rename.test.ts): SLUICE_TEST_RENAME_CRASH names a
 * point of the rename where the process kills itself.
 */
function crashPoint(at: string): void {
  if (process.env.SLUICE_TEST_RENAME_CRASH === at) process.kill(process.pid, 'SIGKILL');
}

/** The DuckDB tables named after an object of `kind`: [its name's, the renamed one's]. */
function companionTables(kind: CatalogEntry['kind'], from: string, to: string): [string, string][] {
  if (kind === 'table') return [[from, to]];
  if (kind === 'source') return [[`${from}_errors`, `${to}_errors`]];
  if (kind === 'view') return [[`${from}_late`, `${to}_late`]];
  return [];
}

/**
 * The moves of a rename outside the catalog, each done unless done already (so recovery can
 * redo them): DuckDB tables, a sink's outbox, a source's write-ahead log.
 */
async function movePhysical(state: EngineState, r: Pick<RenameRecord, 'kind' | 'from' | 'to'>): Promise<void> {
  for (const [a, b] of companionTables(r.kind, r.from, r.to)) {
    if ((await duckHas(state, a)) && !(await duckHas(state, b))) await state.duck.run(`ALTER TABLE ${quoteIdent(a)} RENAME TO ${quoteIdent(b)}`);
  }
  if (r.kind === 'sink') state.checkpointer?.renameSinkOutbox(r.from, r.to);
  if (r.kind === 'source' && state.dataDir) {
    const [a, b] = [walDir(state.dataDir, r.from), walDir(state.dataDir, r.to)];
    if (existsSync(a) && !existsSync(b)) renameSync(a, b);
  }
}

/** At start, before the catalog is replayed: redoes the moves of renames a checkpoint does not cover. */
export async function redoRenames(state: EngineState, renames: readonly RenameRecord[]): Promise<void> {
  for (const r of renames) await movePhysical(state, r);
}

/** A name as it is after `renames` (applied in order). */
export function currentName(renames: readonly RenameRecord[]): (name: string) => string {
  return (name) => renames.reduce((n, r) => (n === r.from ? r.to : n), name);
}

/** `rec` with key `from` as `to` (unless `to` is there already). */
function moveKey<T>(rec: Readonly<Record<string, T>>, from: string, to: string, f: (v: T) => T = (v) => v): Record<string, T> {
  if (!Object.hasOwn(rec, from) || Object.hasOwn(rec, to)) return { ...rec };
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(rec)) out[k === from ? to : k] = k === from ? f(v) : v;
  return out;
}

/**
 * A checkpoint taken before `renames`, and the offsets log epochs replayed after it, read under
 * the new names: sources' positions, tables' watermarks, views' state (whose files keep the old
 * name: `renamedFrom`), each epoch's ranges and positions.
 */
export function throughRenames(recovery: Recovery, plan: readonly OffsetsRecord[], renames: readonly RenameRecord[]): { recovery: Recovery; plan: OffsetsRecord[] } {
  let m: Manifest = recovery.manifest;
  let records = [...plan];
  for (const r of renames) {
    m = {
      ...m,
      sources: moveKey(m.sources, r.from, r.to),
      tables: moveKey(m.tables, r.from, r.to),
      views: moveKey(m.views, r.from, r.to, (c) => ({ ...c, renamedFrom: c.renamedFrom ?? r.from })),
    };
    records = records.map((x) => ({ ...x, ranges: moveKey(x.ranges, r.from, r.to), positions: moveKey(x.positions, r.from, r.to) }));
  }
  return { recovery: { ...recovery, manifest: m }, plan: records };
}

/** The renamed object's entry: its statement under the new name, with its outside identity pinned. */
function renamedEntry(state: EngineState, e: CatalogEntry, to: string): CatalogEntry {
  const sql = renamedStatement(e.sql, to);
  if (e.kind !== 'source' && e.kind !== 'sink') return { ...e, name: to, sql };
  const pins = pinnedOptions(e, e.kind === 'sink' ? state.sinks.get(e.name)!.schema : e.schema);
  if (Object.keys(pins).length === 0) return { ...e, name: to, sql };
  const options = { ...e.options, ...pins };
  return { ...e, name: to, options, sql: withOptionsClause(sql, options) };
}

/** A dependent's entry with its statement reading `to` instead of `from`; refused if the rewrite does not parse back to that. */
function rewriteDependent(d: CatalogEntry, from: string, to: string): CatalogEntry {
  const sql = renameReferences(d.sql, from, to);
  let reads: string[] = [];
  try {
    const stmt = parseStatement(sql);
    if (stmt.kind === 'create_view' || stmt.kind === 'create_model') reads = relationsOf(stmt.query);
    else if (stmt.kind === 'create_sink' && stmt.from !== null) reads = [stmt.from];
  } catch {
    reads = [];
  }
  if (!reads.includes(to) || reads.includes(from)) {
    throw new SluiceError('not_supported', `cannot rename "${from}": the statement of ${KIND_LABEL[d.kind]} "${d.name}" names it in a way the rename cannot rewrite`, {
      hint: `Drop ${d.name}, rename, and create it again over "${to}" (SHOW CREATE gives its statement).`,
    });
  }
  if (d.kind === 'sink') return { ...d, sql, from: to, dependsOn: d.dependsOn.map((x) => (x === from ? to : x)) };
  if (d.kind === 'view' || d.kind === 'model') return { ...d, sql, dependsOn: d.dependsOn.map((r) => (r === from ? to : r)) };
  return { ...d, sql };
}

/** The catalog as it will be after the rename, for planning the rewritten statements (nothing is changed). */
function renamedCatalog(catalog: Catalog, from: string, entry: CatalogEntry): Catalog {
  const view = Object.create(catalog) as Catalog;
  const get = (name: string): CatalogEntry | undefined => (name === entry.name ? entry : name === from ? undefined : catalog.get(name));
  view.get = get;
  view.has = (name) => get(name) !== undefined;
  view.relation = (name, position) => (name === entry.name && entry.kind !== 'sink' ? (entry as RelationEntry) : name === from ? Catalog_missing(name, position) : catalog.relation(name, position));
  return view;
}

function Catalog_missing(name: string, position?: number): never {
  throw new SluiceError('undefined_table', `relation "${name}" does not exist`, { position });
}

/** Plans a view over the renamed object again from its rewritten statement and moves its state into the new pipeline. */
function rebuildView(state: EngineState, catalog: Catalog, rt: ViewRt, entry: ViewEntry | ModelEntry, from: string, to: string): Rebuilt {
  const stmt = parseStatement(entry.sql);
  if (stmt.kind !== 'create_view' && stmt.kind !== 'create_model') throw new SluiceError('internal', `the statement of "${entry.name}" is not a CREATE MATERIALIZED VIEW or MODEL`);
  const duck = duckLookups(rt.planned.physical);
  const lookupStrategy = (table: string): 'hash' | 'duckdb' => (duck.has(table === to ? from : table) ? 'duckdb' : 'hash');
  const planned = planQuery(stmt.query, catalog, entry.sql, {
    emitOnWindowClose: stmt.kind === 'create_view' ? stmt.emitOnWindowClose : undefined,
    windowPanes: state.settings.windowPanes,
    lookupStrategy,
  });
  const model = rt.model;
  const pipeline = model
    ? new Pipeline(entry.name, planned.physical, (b: Batch) => rt.outputs.push(b), (id) => new ModelTrainOp(id, model), { parallelism: rt.pipeline.parallelism })
    : new Pipeline(entry.name, planned.physical, (b: Batch) => rt.outputs.push(b), undefined, { parallelism: rt.pipeline.parallelism });
  moveState(entry.name, rt.pipeline, pipeline);
  return { rt, entry, planned, pipeline };
}
