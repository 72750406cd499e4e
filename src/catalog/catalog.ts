/**
 * The catalog: every source, table, view and sink, with its schema, in one namespace (as
 * PostgreSQL relations share one). Persisted as the ordered list of the statements that created
 * the live objects (`catalog.json` in the data dir, written atomically), so a restarted engine
 * replays them and has every object again.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../common/errors.js';
import type { Schema, SqlType } from '../common/types.js';
import type { ObjectKind, Options, Expr, FunctionParam } from '../parser/ast.js';
import { Roles, type StoredRole } from './roles.js';
import type { ModelRef } from '../planner/expr.js';

interface EntryBase {
  readonly name: string;
  /** The statement text that created the object; replayed on restart. */
  readonly sql: string;
  readonly createdAt: number;
}

export interface SourceEntry extends EntryBase {
  readonly kind: 'source';
  readonly schema: Schema;
  readonly options: Options;
  readonly watermark: { readonly column: string; readonly expr: Expr } | null;
}

export interface TableEntry extends EntryBase {
  readonly kind: 'table';
  readonly schema: Schema;
  readonly primaryKey: readonly string[];
  readonly appendOnly: boolean;
  readonly options: Options;
  readonly watermark: { readonly column: string; readonly expr: Expr } | null;
}

export interface ViewEntry extends EntryBase {
  readonly kind: 'view';
  /**
   * The session TimeZone the view was created under (absent: UTC, a view older than TIMESTAMPTZ):
   * its zone-dependent expressions use it for the view's life, across restarts.
   */
  readonly timeZone?: string;
  /**
   * Instances of each hash-distributed operator (absent: 1). Fixed at creation: the operators'
   * ids, and so the view's checkpoints, depend on it.
   */
  readonly parallelism?: number;
  readonly schema: Schema;
  readonly dependsOn: readonly string[];
  readonly appendOnly: boolean;
}

export interface SinkEntry extends EntryBase {
  readonly kind: 'sink';
  /** The relation a `FROM` sink reads; null for a sink with a query of its own (`AS SELECT`). */
  readonly from: string | null;
  /** What it reads: `from`, or what its query reads. */
  readonly dependsOn: readonly string[];
  readonly options: Options;
}

/**
 * A streaming model (issue 13): trained by its query's new rows each epoch; its rows (the
 * current parameters) are a relation like a view's, and `predict(name, …)` reads it.
 */
export interface ModelEntry extends EntryBase {
  readonly kind: 'model';
  /** The model's rows: (cluster, weight, features…) or (feature, weight). */
  readonly schema: Schema;
  /** What the training query reads. */
  readonly dependsOn: readonly string[];
  readonly appendOnly: false;
  /** The runtime model predict calls bind to (exec/ml/model.ts). */
  readonly model: ModelRef;
  readonly modelType: ModelRef['type'];
  /** The feature columns, in order. */
  readonly features: readonly string[];
}

export type CatalogEntry = SourceEntry | TableEntry | ViewEntry | SinkEntry | ModelEntry;

/**
 * A scalar SQL function (CREATE FUNCTION): its parameters, result type and body expression,
 * inlined where it is called. Functions have a namespace of their own, as in PostgreSQL.
 */
export interface FunctionEntry extends EntryBase {
  readonly kind: 'function';
  readonly params: readonly FunctionParam[];
  readonly returns: SqlType;
  readonly body: Expr;
  readonly bodyText: string;
  readonly strict: boolean;
  readonly volatility: 'immutable' | 'stable' | 'volatile';
}

/** Entries that are relations (readable by SELECT and views). */
export type RelationEntry = SourceEntry | TableEntry | ViewEntry | ModelEntry;

export const KIND_LABEL: Record<ObjectKind, string> = {
  source: 'source',
  table: 'table',
  view: 'materialized view',
  sink: 'sink',
  model: 'model',
};

/**
 * A rename whose checkpoint may not have been taken yet: recovery redoes its file and DuckDB
 * moves and reads a checkpoint from before it under the old names (exec/runtime/rename.ts).
 * `oldSql` holds, by their new names, the statements the rename changed.
 */
export interface RenameRecord {
  readonly kind: ObjectKind;
  readonly from: string;
  readonly to: string;
  readonly oldSql: Readonly<Record<string, string>>;
}

/**
 * An index (CREATE INDEX): kept in the catalog, shown to clients (pg_indexes, pg_index) and
 * dropped with its relation. sluice's plans do not read it (see docs/decisions.md, "CREATE INDEX").
 */
export interface IndexEntry {
  readonly name: string;
  readonly table: string;
  /** The key items as written (a column name or an expression's text). */
  readonly keys: readonly string[];
  readonly unique: boolean;
  readonly sql: string;
  readonly createdAt: number;
}

/** A COMMENT ON an object (column null) or one of its columns. */
export interface Comment {
  readonly object: string;
  readonly column: string | null;
  readonly text: string;
}

export class Catalog {
  private readonly entries = new Map<string, CatalogEntry>();
  /** COMMENT ON texts, by `object` or `object.column` (JSON of the pair, so names may hold dots). */
  private readonly commentMap = new Map<string, Comment>();
  private readonly functions = new Map<string, FunctionEntry>();
  private readonly indexMap = new Map<string, IndexEntry>();
  /** Renames not yet covered by a checkpoint, oldest first. */
  private pendingRenames: RenameRecord[] = [];
  /** Users and their grants, persisted with the objects. */
  readonly roles = new Roles(() => this.persist());

  constructor(private readonly dataDir: string | null) {}

  /** The statements to replay, in creation order, with the TimeZone each ran under, from a previous run's data dir; loads the users too. */
  loadStatements(): { readonly sql: string; readonly timeZone?: string; readonly parallelism?: number }[] {
    if (!this.dataDir) return [];
    const f = join(this.dataDir, 'catalog.json');
    if (!existsSync(f)) return [];
    const parsed = JSON.parse(readFileSync(f, 'utf8')) as { version: number; objects: { sql: string; timeZone?: string; parallelism?: number }[]; roles?: StoredRole[]; comments?: Comment[]; renames?: RenameRecord[]; indexes?: IndexEntry[] };
    this.roles.load(parsed.roles ?? []);
    this.pendingRenames = parsed.renames ?? [];
    for (const c of parsed.comments ?? []) this.commentMap.set(commentKey(c.object, c.column), c);
    for (const i of parsed.indexes ?? []) this.indexMap.set(i.name, i);
    return parsed.objects.map((o) => ({ sql: o.sql, ...(o.timeZone === undefined ? {} : { timeZone: o.timeZone }), ...(o.parallelism === undefined ? {} : { parallelism: o.parallelism }) }));
  }

  get(name: string): CatalogEntry | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Looks a relation up or throws 42P01 with the position of the reference. */
  relation(name: string, position?: number): RelationEntry {
    const e = this.entries.get(name);
    if (!e || e.kind === 'sink') {
      throw new SluiceError('undefined_table', `relation "${name}" does not exist`, {
        position,
        hint: 'SHOW SOURCES, SHOW TABLES, SHOW MATERIALIZED VIEWS and SHOW MODELS list what exists.',
      });
    }
    return e;
  }

  list(kind?: ObjectKind): CatalogEntry[] {
    const all = [...this.entries.values()].sort((a, b) => a.createdAt - b.createdAt);
    return kind ? all.filter((e) => e.kind === kind) : all;
  }

  /** Objects that read `name` directly (views over it, sinks from it). */
  dependents(name: string): CatalogEntry[] {
    return this.list().filter((e) => ((e.kind === 'view' || e.kind === 'model') && e.dependsOn.includes(name)) || (e.kind === 'sink' && e.dependsOn.includes(name)));
  }

  add(entry: CatalogEntry): void {
    if (this.entries.has(entry.name)) {
      throw new SluiceError('duplicate_object', `${KIND_LABEL[this.entries.get(entry.name)!.kind]} "${entry.name}" already exists`);
    }
    this.entries.set(entry.name, entry);
    this.persist();
  }

  /** Replaces an object's entry (ALTER … SET changed its statement); persisted. */
  replace(entry: CatalogEntry): void {
    if (!this.entries.has(entry.name)) throw new SluiceError('undefined_table', `relation "${entry.name}" does not exist`);
    this.entries.set(entry.name, entry);
    this.persist();
  }

  /** The SQL function called `name`, if there is one. */
  getFunction(name: string): FunctionEntry | undefined {
    return this.functions.get(name);
  }

  /** Every SQL function, oldest first. */
  listFunctions(): FunctionEntry[] {
    return [...this.functions.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Adds or replaces (CREATE OR REPLACE) a SQL function; persisted. */
  putFunction(entry: FunctionEntry): void {
    this.functions.set(entry.name, entry);
    this.persist();
  }

  removeFunction(name: string): void {
    this.functions.delete(name);
    this.persist();
  }

  /** The index called `name`, if there is one. */
  getIndex(name: string): IndexEntry | undefined {
    return this.indexMap.get(name);
  }

  /** Every index, oldest first. */
  indexes(): IndexEntry[] {
    return [...this.indexMap.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  addIndex(entry: IndexEntry): void {
    this.indexMap.set(entry.name, entry);
    this.persist();
  }

  removeIndex(name: string): void {
    this.indexMap.delete(name);
    this.persist();
  }

  remove(name: string): void {
    this.entries.delete(name);
    // An index goes with its relation, as in PostgreSQL.
    for (const [k, i] of this.indexMap) if (i.table === name) this.indexMap.delete(k);
    this.roles.forgetRelation(name);
    for (const [k, c] of this.commentMap) if (c.object === name) this.commentMap.delete(k);
    this.persist();
  }

  /**
   * Renames an object: its entry (with the statement that recreates it under the new name), its
   * comments and its grants move to `entry.name`, and the objects that read it take their
   * rewritten entries (`dependents`); persisted once, so a crash leaves either catalog.
   */
  rename(from: string, entry: CatalogEntry, dependents: readonly CatalogEntry[] = []): void {
    if (this.entries.has(entry.name)) {
      throw new SluiceError('duplicate_table', `relation "${entry.name}" already exists`);
    }
    const oldSql: Record<string, string> = { [entry.name]: this.entries.get(from)!.sql };
    for (const d of dependents) oldSql[d.name] = this.entries.get(d.name)!.sql;
    this.pendingRenames.push({ kind: entry.kind, from, to: entry.name, oldSql });
    const rebuilt = new Map<string, CatalogEntry>();
    for (const [k, e] of this.entries) {
      if (k === from) rebuilt.set(entry.name, entry);
      else rebuilt.set(k, e);
    }
    for (const d of dependents) rebuilt.set(d.name, d);
    this.entries.clear();
    for (const [k, e] of rebuilt) this.entries.set(k, e);
    for (const [k, c] of [...this.commentMap]) {
      if (c.object !== from) continue;
      this.commentMap.delete(k);
      this.commentMap.set(commentKey(entry.name, c.column), { ...c, object: entry.name });
    }
    this.roles.renameRelation(from, entry.name);
    for (const [k, i] of this.indexMap) if (i.table === from) this.indexMap.set(k, { ...i, table: entry.name });
    this.persist();
  }

  /** Renames a checkpoint may not cover yet (recovery reads an older checkpoint through them). */
  renames(): readonly RenameRecord[] {
    return this.pendingRenames;
  }

  /** A checkpoint after the renames was taken: they are forgotten; persisted. */
  settleRenames(): void {
    if (this.pendingRenames.length === 0) return;
    this.pendingRenames = [];
    this.persist();
  }

  /** COMMENT ON: sets (or with null removes) the comment of an object or of one of its columns; persisted. */
  setComment(object: string, column: string | null, text: string | null): void {
    const key = commentKey(object, column);
    if (text === null) this.commentMap.delete(key);
    else this.commentMap.set(key, { object, column, text });
    this.persist();
  }

  /** Every comment, objects' before their columns'. */
  comments(): Comment[] {
    return [...this.commentMap.values()].sort((a, b) => a.object.localeCompare(b.object) || (a.column ?? '').localeCompare(b.column ?? ''));
  }

  private persist(): void {
    if (!this.dataDir) return;
    mkdirSync(this.dataDir, { recursive: true });
    const f = join(this.dataDir, 'catalog.json');
    const tmp = f + '.tmp';
    // Functions and relations in creation order, so a view is replayed after the functions it calls.
    const objects = [...this.list(), ...this.functions.values()].sort((a, b) => a.createdAt - b.createdAt);
    const body = JSON.stringify({ version: 1, objects: objects.map((e) => ({ kind: e.kind, name: e.name, sql: e.sql, ...(e.kind === 'view' && e.timeZone !== undefined ? { timeZone: e.timeZone } : {}), ...(e.kind === 'view' && (e.parallelism ?? 1) > 1 ? { parallelism: e.parallelism } : {}) })), roles: this.roles.stored(), comments: this.comments(), ...(this.indexMap.size ? { indexes: this.indexes() } : {}), ...(this.pendingRenames.length ? { renames: this.pendingRenames } : {}) }, null, 1);
    // Verifiers and connector secrets are in here: readable by the server's user only.
    writeFileSync(tmp, body, { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, f);
  }
}

const commentKey = (object: string, column: string | null) => JSON.stringify([object, column]);
