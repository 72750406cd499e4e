/**
 * The PostgreSQL sink (`connector = 'postgres'` on CREATE SINK): applies each epoch's changes
 * to a table in one transaction that also records the epoch in `sluice_sink_progress`, so the
 * table holds every epoch exactly once.
 *
 *   open():    CREATE TABLE IF NOT EXISTS target (columns, unique key of a keyed input)
 *              CREATE TABLE IF NOT EXISTS sluice_sink_progress; its row for (sink, target)
 *              → the epoch recorded there
 *   write(n):  BEGIN
 *              SELECT epoch … FOR UPDATE          (n ≤ recorded: ROLLBACK, nothing to do)
 *              keyed:    DELETE retracted keys; INSERT … ON CONFLICT (key) DO UPDATE
 *              unkeyed:  DELETE one matching row per retraction; INSERT the rest
 *              UPDATE sluice_sink_progress SET epoch = n
 *              COMMIT
 *
 * The progress row is locked for the transaction, so two writers of the same sink cannot both
 * apply an epoch. A failed write rolls back (a broken connection rolls back on the server) and
 * drops the connection; the next call connects again. Errors name the server as
 * host:port/database, never with its password.
 */
import pg from 'pg';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SinkConnector, SinkContext, SinkFactory } from '../api.js';
import { clientConfig, describeServer, endClient, resolveServer, type ResolvedServer } from '../table/postgres/connection.js';
import { appendedRows, keyedChanges, rowChanges, type TextRow } from './changes.js';
import { readPostgresSinkOptions, type PostgresSinkConfig } from './options.js';
import {
  columnArrays, createProgressSql, createTargetSql, deleteKeysSql, deleteRowsSql, insertSql, PROGRESS_TABLE, qualified,
  ROWS_PER_STATEMENT, UNIQUE_KEY_QUERY, upsertSql, type SinkTables,
} from './statements.js';

/** An open connection and the resolved names of the tables. */
interface Connection {
  readonly client: pg.Client;
  readonly tables: SinkTables;
}

/** A PostgreSQL sink writing one table. */
export class PostgresSink implements SinkConnector {
  private readonly ctx: SinkContext;
  private readonly config: PostgresSinkConfig;
  /** Its row in the progress table: its name, or the name it had before a rename. */
  private readonly progressKey: string;
  private readonly where: string;
  private readonly server: ResolvedServer;
  /** Schema indexes of the key of an updating input, or null (append-only, or no key known). */
  private readonly key: readonly number[] | null;
  private conn: Promise<Connection> | null = null;
  /** The last epoch the table is known to hold from this sink. */
  private last: number | null = null;

  constructor(ctx: SinkContext) {
    this.ctx = ctx;
    this.config = readPostgresSinkOptions(ctx.options);
    this.progressKey = this.config.progressKey ?? ctx.name;
    this.server = resolveServer(this.config.server);
    this.where = describeServer(this.server);
    this.key = ctx.appendOnly ? null : keyOf(ctx);
  }

  async open(): Promise<number | null> {
    const { client, tables } = await this.connect();
    const res = await this.run(client, 'read its progress', `SELECT epoch FROM ${tables.progress} WHERE sink = $1 AND target = $2`, [this.progressKey, tables.target]);
    const epoch = res.rows[0]?.[0];
    this.last = epoch === null || epoch === undefined ? null : Number(epoch);
    return this.last;
  }

  async write(epoch: number, batches: readonly Batch[]): Promise<void> {
    if (this.last !== null && epoch <= this.last) return;
    const plan = this.plan(batches);
    if (plan.length === 0) return;
    const { client, tables } = await this.connect();
    try {
      await client.query('BEGIN');
      const res = await client.query<unknown[]>({ text: `SELECT epoch FROM ${tables.progress} WHERE sink = $1 AND target = $2 FOR UPDATE`, values: [this.progressKey, tables.target], rowMode: 'array' });
      const held = res.rows[0]?.[0];
      if (held !== null && held !== undefined && Number(held) >= epoch) {
        await client.query('ROLLBACK');
        this.last = Number(held);
        return;
      }
      for (const step of plan) {
        for (let i = 0; i < step.rows.length; i += ROWS_PER_STATEMENT) {
          await client.query(step.sql(tables.target), step.params(step.rows.slice(i, i + ROWS_PER_STATEMENT)));
        }
      }
      await client.query(`INSERT INTO ${tables.progress} (sink, target, epoch) VALUES ($1, $2, $3) ON CONFLICT (sink, target) DO UPDATE SET epoch = EXCLUDED.epoch`, [this.progressKey, tables.target, epoch]);
      await client.query('COMMIT');
    } catch (e) {
      await this.drop();
      throw this.error(e, `write epoch ${epoch} to`, 'the epoch is not written; it is retried');
    }
    this.last = epoch;
  }

  async close(): Promise<void> {
    await this.drop();
  }

  /** The statements of one epoch, in order: deletes before inserts. */
  private plan(batches: readonly Batch[]): Step[] {
    const { schema } = this.ctx;
    const steps: Step[] = [];
    if (this.key !== null) {
      const key = this.key;
      const { upserts, deletes } = keyedChanges(schema, batches, key);
      const keyCols = key.map((_, k) => k);
      const plain = deletes.filter((d) => !d.includes(null));
      const withNulls = deletes.filter((d) => d.includes(null));
      steps.push({ rows: plain, sql: (t) => deleteKeysSql(t, schema, key, false), params: (rows) => columnArrays(rows, keyCols) });
      steps.push({ rows: withNulls, sql: (t) => deleteKeysSql(t, schema, key, true), params: (rows) => columnArrays(rows, keyCols) });
      steps.push({ rows: upserts, sql: (t) => upsertSql(t, schema, key), params: (rows) => columnArrays(rows, allColumns(schema.length)) });
    } else if (this.ctx.appendOnly && !batches.some((b) => b.weights?.some((w) => w < 0))) {
      steps.push({ rows: appendedRows(schema, batches), sql: (t) => insertSql(t, schema), params: (rows) => columnArrays(rows, allColumns(schema.length)) });
    } else {
      const { inserts, deletes } = rowChanges(schema, batches);
      const counted = deletes.map((d) => [...d.row, String(d.count)]);
      steps.push({ rows: counted, sql: (t) => deleteRowsSql(t, schema), params: (rows) => columnArrays(rows, allColumns(schema.length + 1)) });
      steps.push({ rows: inserts, sql: (t) => insertSql(t, schema), params: (rows) => columnArrays(rows, allColumns(schema.length)) });
    }
    return steps.filter((s) => s.rows.length > 0);
  }

  /** Connects once and makes sure both tables exist (and the sink's progress row). */
  private connect(): Promise<Connection> {
    this.conn ??= (async () => {
      const client = new pg.Client(clientConfig(this.config, this.server));
      // pg emits 'error' when an idle connection breaks; unheard, that would end the process.
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (e) {
        this.conn = null;
        await endClient(client);
        throw this.error(e, 'connect to', 'it is retried');
      }
      try {
        return { client, tables: await this.prepare(client) };
      } catch (e) {
        this.conn = null;
        await endClient(client);
        throw e instanceof SluiceError ? e : this.error(e, 'prepare', 'it is retried');
      }
    })();
    return this.conn;
  }

  /** Creates the target and progress tables if missing; checks an existing target's key. */
  private async prepare(client: pg.Client): Promise<SinkTables> {
    const schema = this.config.schema ?? String((await this.run(client, 'find its schema', 'SELECT current_schema()')).rows[0]?.[0] ?? 'public');
    const tables = { target: qualified(schema, this.config.table), progress: qualified(schema, PROGRESS_TABLE) };
    const version = Number((await this.run(client, 'read the server version', 'SHOW server_version_num')).rows[0]?.[0]);
    await this.run(client, 'create', createTargetSql(tables.target, this.ctx.schema, this.key, version >= 150000));
    await this.checkColumns(client, tables.target);
    if (this.key !== null) await this.checkKey(client, tables.target, this.key);
    await this.run(client, 'create the progress table beside', createProgressSql(tables.progress));
    await this.run(client, 'record its progress in', `INSERT INTO ${tables.progress} (sink, target, epoch) VALUES ($1, $2, NULL) ON CONFLICT (sink, target) DO NOTHING`, [this.progressKey, tables.target]);
    return tables;
  }

  /** An existing table must have every column the sink writes. */
  private async checkColumns(client: pg.Client, target: string): Promise<void> {
    const res = await this.run(client, 'read the columns of', `SELECT * FROM ${target} LIMIT 0`);
    const have = res.fields.map((f) => f.name);
    const missing = this.ctx.schema.map((f) => f.name).filter((n) => !have.includes(n));
    if (missing.length > 0) {
      throw new SluiceError('undefined_column', `sink "${this.ctx.name}" writes column(s) ${missing.join(', ')}, which PostgreSQL table ${target} at ${this.where} does not have (its columns: ${have.join(', ')})`, {
        hint: 'Point the sink at a new table (it is created with the right columns), or add the columns to this one.',
      });
    }
  }

  /** An existing table must have a unique index on exactly the key, for ON CONFLICT to use. */
  private async checkKey(client: pg.Client, target: string, key: readonly number[]): Promise<void> {
    const names = key.map((j) => this.ctx.schema[j]!.name);
    const res = await this.run(client, 'read the indexes of', UNIQUE_KEY_QUERY, [target, [...names].sort()]);
    if (res.rows.length === 0) {
      throw new SluiceError('invalid_parameter', `sink "${this.ctx.name}" upserts by key (${names.join(', ')}), but PostgreSQL table ${target} at ${this.where} has no unique index on exactly those columns`, {
        hint: `Create one (CREATE UNIQUE INDEX ON ${target} (${names.join(', ')})), or point the sink at a new table.`,
      });
    }
  }

  private async run(client: pg.Client, what: string, text: string, values?: unknown[]): Promise<pg.QueryArrayResult> {
    try {
      return await client.query({ text, values, rowMode: 'array' });
    } catch (e) {
      throw this.error(e, what, 'it is retried');
    }
  }

  private async drop(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    const conn = c === null ? null : await c.catch(() => null);
    if (conn !== null) await endClient(conn.client);
  }

  private error(e: unknown, what: string, then: string): SluiceError {
    const code = e instanceof pg.DatabaseError ? e.code : undefined;
    const message = e instanceof Error ? e.message || String((e as { code?: unknown }).code ?? '') : String(e);
    const table = this.config.schema === null ? this.config.table : `${this.config.schema}.${this.config.table}`;
    return new SluiceError('connection', `sink "${this.ctx.name}" could not ${what} PostgreSQL table ${table} at ${this.where}${code ? ` (SQLSTATE ${code})` : ''}: ${message}; ${then}`, { cause: e });
  }
}

/** One statement of an epoch, run over the rows in slices. */
interface Step {
  readonly rows: readonly TextRow[];
  readonly sql: (target: string) => string;
  readonly params: (rows: readonly TextRow[]) => unknown[];
}

function allColumns(n: number): number[] {
  return Array.from({ length: n }, (_, j) => j);
}

/** The input's key as schema indexes, from the context's primary key. */
function keyOf(ctx: SinkContext): number[] | null {
  const pk = ctx.primaryKey;
  if (pk === undefined || pk.length === 0) return null;
  const idx = pk.map((n) => ctx.schema.findIndex((f) => f.name === n));
  return idx.every((j) => j >= 0) ? idx : null;
}

/** The SinkFactory of `connector = 'postgres'`. */
export const createPostgresSink: SinkFactory = (ctx) => new PostgresSink(ctx);
