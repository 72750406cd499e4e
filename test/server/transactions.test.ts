/**
 * Transaction blocks through the real `pg` driver and a raw protocol client: BEGIN … COMMIT is
 * atomic for other sessions and for views (one epoch), ROLLBACK undoes INSERT/UPDATE/DELETE, DDL
 * is refused with 25001, an error fails the block (25P02 until ROLLBACK; COMMIT then answers
 * ROLLBACK), ReadyForQuery carries I/T/E, a closed connection rolls back, a read-only user stays
 * read-only, and a committed block survives kill -9 while an uncommitted one does not. The
 * status, tag and SQLSTATE sequences are compared with the real PostgreSQL where both agree by
 * design (127.0.0.1:5432, the oracle).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Change, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { inProcessBackend } from '../../src/cli/repl/in-process-backend.js';
import { ServerProcess } from '../crash/server-process.js';
import { tempDirEach } from '../helpers.js';
import { fe, WireClient, type BackendMessage } from './wire-client.js';

let engine: Engine;
let server: PgServer;
let a: pg.Client;
let b: pg.Client;

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e9)}`;

const connect = async (user = 'sluice') => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user, database: 'sluice' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
};

/** The SQLSTATE a statement fails with, or its command tag. */
async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    const r = (await c.query(sql)) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(r) ? r[r.length - 1]!.command : r.command;
  } catch (e) {
    return `ERROR ${(e as pg.DatabaseError).code}`;
  }
}

/** The table's rows as sorted "k:v" strings. */
async function rowsOf(c: pg.Client, table: string): Promise<string[]> {
  const r = await c.query(`SELECT k, v FROM ${table}`);
  return r.rows.map((x: { k: unknown; v: unknown }) => `${String(x.k)}:${String(x.v)}`).sort();
}

/** An independent model of a table keyed by k: the statements' effects computed in the test. */
function modelRows(m: Map<number, number>): string[] {
  return [...m].map(([k, v]) => `${k}:${v}`).sort();
}

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  a = await connect();
  b = await connect();
});

afterAll(async () => {
  await a?.end().catch(() => undefined);
  await b?.end().catch(() => undefined);
  await server?.close();
  await engine?.close();
});

describe('transaction blocks: atomicity and rollback', () => {
  it('another session sees nothing before COMMIT and everything after; a view takes the block in one epoch', async () => {
    await a.query('CREATE TABLE acct (k INT, v INT)');
    await a.query('CREATE MATERIALIZED VIEW acct_sum AS SELECT count(*) AS n, sum(v) AS total FROM acct');
    await a.query('INSERT INTO acct VALUES (1, 10), (2, 20), (3, 30); FLUSH');
    const model = new Map([[1, 10], [2, 20], [3, 30]]);
    const before = modelRows(model);
    const seen: Change[][] = [];
    const stop = engine.subscribe('acct_sum', (c) => seen.push(c));
    try {
      expect(await outcome(a, 'BEGIN')).toBe('BEGIN');
      await a.query('INSERT INTO acct VALUES (4, 40), (5, 50)');
      await a.query('UPDATE acct SET v = v + 1 WHERE k <= 2');
      await a.query('DELETE FROM acct WHERE k = 3');
      for (const [k, v] of [[4, 40], [5, 50]] as const) model.set(k, v);
      for (const k of [1, 2]) model.set(k, model.get(k)! + 1);
      model.delete(3);
      // The block sees its own writes; the other session and the view see none of them.
      expect(await rowsOf(a, 'acct')).toEqual(modelRows(model));
      expect(await rowsOf(b, 'acct')).toEqual(before);
      await b.query('FLUSH');
      expect(seen).toEqual([]);
      expect((await b.query('SELECT n, total FROM acct_sum')).rows).toEqual([{ n: '3', total: '60' }]);
      expect(await outcome(a, 'COMMIT')).toBe('COMMIT');
      expect(await rowsOf(b, 'acct')).toEqual(modelRows(model));
      await b.query('FLUSH');
      // Every change of the block reached the view in one epoch.
      expect(seen.length).toBe(1);
      const epochs = new Set(seen[0]!.map((c) => c.epoch));
      expect(epochs.size).toBe(1);
      const total = [...model.values()].reduce((x, y) => x + y, 0);
      expect((await b.query('SELECT n, total FROM acct_sum')).rows).toEqual([{ n: String(model.size), total: String(total) }]);
    } finally {
      stop();
    }
  });

  it('ROLLBACK undoes INSERT, UPDATE and DELETE (and ABORT / END are its and COMMIT\'s synonyms)', async () => {
    await a.query('CREATE TABLE rb (k INT, v INT); INSERT INTO rb VALUES (1, 1), (2, 2)');
    await a.query('CREATE MATERIALIZED VIEW rb_sum AS SELECT count(*) AS n, sum(v) AS total FROM rb; FLUSH');
    const before = await rowsOf(b, 'rb');
    for (const end of ['ROLLBACK', 'ABORT']) {
      await a.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      await a.query('INSERT INTO rb VALUES (3, 3)');
      await a.query('UPDATE rb SET v = 100 WHERE k = 1');
      await a.query('DELETE FROM rb WHERE k = 2');
      expect(await rowsOf(a, 'rb')).toEqual(['1:100', '3:3']);
      // A view read inside the block shows committed epochs (its copy is made in the block's
      // DuckDB transaction, and made again after the rollback took it away).
      expect((await a.query('SELECT n, total FROM rb_sum')).rows).toEqual([{ n: '2', total: '3' }]);
      expect(await outcome(a, end)).toBe('ROLLBACK');
      expect(await rowsOf(a, 'rb')).toEqual(before);
      expect(await rowsOf(b, 'rb')).toEqual(before);
    }
    await a.query('START TRANSACTION; INSERT INTO rb VALUES (9, 9); END');
    await b.query('FLUSH');
    expect(await rowsOf(b, 'rb')).toEqual([...before, '9:9'].sort());
    expect((await b.query('SELECT n, total FROM rb_sum')).rows).toEqual([{ n: '3', total: '12' }]);
  });

  it('INSERT … SELECT inside a block reads the block\'s own writes', async () => {
    await a.query('CREATE TABLE src_t (k INT, v INT); CREATE TABLE dst_t (k INT, v INT)');
    await a.query('BEGIN');
    await a.query('INSERT INTO src_t VALUES (1, 5), (2, 6)');
    expect(await outcome(a, 'INSERT INTO dst_t SELECT k, v * 2 FROM src_t')).toBe('INSERT');
    expect(await rowsOf(b, 'dst_t')).toEqual([]);
    await a.query('COMMIT');
    expect(await rowsOf(b, 'dst_t')).toEqual(['1:10', '2:12']);
  });

  it('a connection closed inside a block rolls it back', async () => {
    await a.query('CREATE TABLE gone (k INT, v INT)');
    const c = await connect();
    await c.query('BEGIN; INSERT INTO gone VALUES (1, 1)');
    await c.end();
    // The rollback runs as the server sees the close; the table takes other writes meanwhile.
    await a.query('INSERT INTO gone VALUES (2, 2)');
    for (let i = 0; i < 50 && (await rowsOf(b, 'gone')).length !== 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await rowsOf(b, 'gone')).toEqual(['2:2']);
  });

  it('the library API gives a script with BEGIN a session of its own', async () => {
    await engine.execute('CREATE TABLE lib (k INT, v INT)');
    await engine.execute('BEGIN; INSERT INTO lib VALUES (1, 1); ROLLBACK');
    await engine.execute('BEGIN; INSERT INTO lib VALUES (2, 2)');
    await engine.execute('BEGIN; INSERT INTO lib VALUES (3, 3); COMMIT');
    expect(await rowsOf(b, 'lib')).toEqual(['3:3']);
  });

  it('the in-process REPL is one session: its blocks roll back, and COMMIT outside one warns', async () => {
    await engine.execute('CREATE TABLE repl_t (k INT, v INT)');
    const repl = inProcessBackend(engine);
    try {
      await repl.run('BEGIN');
      await repl.run('INSERT INTO repl_t VALUES (1, 1)');
      expect((await repl.run('SELECT count(*) AS n FROM repl_t'))[0]).toMatchObject({ rows: [[1n]] });
      expect(await rowsOf(b, 'repl_t')).toEqual([]);
      expect(await repl.run('ROLLBACK')).toEqual([{ kind: 'command', tag: 'ROLLBACK', notice: undefined, warning: undefined }]);
      expect(await repl.run('COMMIT')).toEqual([{ kind: 'command', tag: 'COMMIT', notice: undefined, warning: 'there is no transaction in progress' }]);
      expect(await rowsOf(b, 'repl_t')).toEqual([]);
    } finally {
      await repl.close();
    }
  });

  it('a table dropped while a block writes it fails the block\'s COMMIT with 40001', async () => {
    await a.query('CREATE TABLE dropped (k INT, v INT)');
    await a.query('BEGIN; INSERT INTO dropped VALUES (1, 1)');
    await b.query('DROP TABLE dropped');
    expect(await outcome(a, 'COMMIT')).toBe('ERROR 40001');
    expect(await outcome(a, 'SELECT 1')).toBe('SELECT');
    await b.query('CREATE TABLE dropped (k INT, v INT)');
    expect(await rowsOf(b, 'dropped')).toEqual([]);
  });

  it('a prepared SELECT inside a block (Describe, then Execute) sees the block\'s writes', async () => {
    await a.query('CREATE TABLE prep (k INT, v INT)');
    await a.query('BEGIN; INSERT INTO prep VALUES (1, 1)');
    const r = await a.query({ name: 'prep_q', text: 'SELECT k, v FROM prep WHERE k = $1', values: [1] });
    expect(r.rows).toEqual([{ k: 1, v: 1 }]);
    expect(await outcome(a, 'COMMIT')).toBe('COMMIT');
  });

  it('two blocks writing the same row: the later writer gets 40001 and the view stays equal to the table', async () => {
    for (const pk of ['', ', PRIMARY KEY (k)']) {
      const t = pk ? 'conf_pk' : 'conf';
      await a.query(`CREATE TABLE ${t} (k INT, v INT${pk})`);
      await a.query(`CREATE MATERIALIZED VIEW ${t}_sum AS SELECT count(*) AS n, sum(v) AS total FROM ${t}`);
      await a.query(`INSERT INTO ${t} VALUES (1, 1), (2, 2)`);
      // a's block takes its snapshot (a write of another row); b then commits an update of row 1.
      await a.query(`BEGIN; INSERT INTO ${t} VALUES (3, 3)`);
      await b.query(`UPDATE ${t} SET v = v + 100 WHERE k = 1`);
      const sameRow = await outcome(a, `UPDATE ${t} SET v = v + 10 WHERE k = 1`);
      const commit = await outcome(a, 'COMMIT');
      // The conflict fails the UPDATE (then COMMIT rolls back) or the COMMIT; never both commit.
      expect(sameRow === 'ERROR 40001' ? commit : `${sameRow} then ${commit}`, pk).toBe(sameRow === 'ERROR 40001' ? 'ROLLBACK' : 'UPDATE then ERROR 40001');
      await b.query('FLUSH');
      const rows = await rowsOf(b, t);
      expect(rows).toEqual(['1:101', '2:2']);
      expect((await b.query(`SELECT n, total FROM ${t}_sum`)).rows).toEqual([{ n: '2', total: '103' }]);
      // Blocks writing different rows both commit, as in PostgreSQL.
      await a.query(`BEGIN; UPDATE ${t} SET v = 0 WHERE k = 1`);
      await b.query(`BEGIN; UPDATE ${t} SET v = 0 WHERE k = 2; DELETE FROM ${t} WHERE k = 2; INSERT INTO ${t} VALUES (4, 4)`);
      expect(await outcome(b, 'COMMIT')).toBe('COMMIT');
      expect(await outcome(a, 'COMMIT')).toBe('COMMIT');
      await b.query('FLUSH');
      expect(await rowsOf(b, t)).toEqual(['1:0', '4:4']);
      expect((await b.query(`SELECT n, total FROM ${t}_sum`)).rows).toEqual([{ n: '2', total: '4' }]);
    }
  });
});

describe('transaction blocks: refusals and failed blocks', () => {
  it('refuses DDL, engine settings and SUBSCRIBE inside a block with 25001, which fails the block', async () => {
    await a.query('CREATE TABLE ddl_t (k INT, v INT)');
    const refused = [
      'CREATE TABLE ddl_x (k INT)',
      'CREATE MATERIALIZED VIEW ddl_v AS SELECT count(*) AS n FROM ddl_t',
      'DROP TABLE ddl_t',
      'SET batch_interval = \'2s\'',
      'SUBSCRIBE ddl_t',
      'CREATE USER ddl_u WITH PASSWORD \'x\'',
      'GRANT SELECT ON ddl_t TO sluice',
    ];
    for (const sql of refused) {
      await a.query('BEGIN');
      let err: pg.DatabaseError | undefined;
      await a.query(sql).catch((e: pg.DatabaseError) => (err = e));
      expect(err?.code, sql).toBe('25001');
      expect(err?.message).toMatch(/cannot run inside a transaction block$/);
      expect(await outcome(a, 'SELECT 1')).toBe('ERROR 25P02');
      expect(await outcome(a, 'ROLLBACK')).toBe('ROLLBACK');
    }
    // A client's session parameter may be SET inside a block.
    expect(await outcome(a, 'BEGIN; SET application_name = \'x\'; COMMIT')).toBe('COMMIT');
    expect(await outcome(a, 'SELECT count(*) FROM ddl_t')).toBe('SELECT');
  });

  it('a read-only user\'s DML inside a block is still 42501', async () => {
    await a.query('CREATE TABLE ro_t (k INT, v INT); CREATE USER ro_user WITH PASSWORD \'ro-pw\'; GRANT SELECT ON ro_t TO ro_user');
    const u = await connect('ro_user');
    try {
      expect(await outcome(u, 'BEGIN')).toBe('BEGIN');
      expect(await outcome(u, 'SELECT * FROM ro_t')).toBe('SELECT');
      expect(await outcome(u, 'INSERT INTO ro_t VALUES (1, 1)')).toBe('ERROR 42501');
      expect(await outcome(u, 'COMMIT')).toBe('ROLLBACK');
      expect(await rowsOf(a, 'ro_t')).toEqual([]);
    } finally {
      await u.end();
    }
  });

  it('BEGIN READ ONLY refuses DML with 25006', async () => {
    await a.query('CREATE TABLE rot (k INT, v INT)');
    await a.query('BEGIN READ ONLY');
    expect(await outcome(a, 'INSERT INTO rot VALUES (1, 1)')).toBe('ERROR 25006');
    expect(await outcome(a, 'ROLLBACK')).toBe('ROLLBACK');
  });

  it('savepoints and chained commits are refused by name (0A000)', async () => {
    await a.query('BEGIN');
    expect(await outcome(a, 'SAVEPOINT s1')).toBe('ERROR 0A000');
    expect(await outcome(a, 'ROLLBACK')).toBe('ROLLBACK');
    expect(await outcome(a, 'ROLLBACK TO SAVEPOINT s1')).toBe('ERROR 0A000');
    expect(await outcome(a, 'COMMIT AND CHAIN')).toBe('ERROR 0A000');
    expect(await outcome(a, 'BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE')).toBe('BEGIN');
    expect(await outcome(a, 'COMMIT AND NO CHAIN')).toBe('COMMIT');
    expect(await outcome(a, 'BEGIN FOO')).toBe('ERROR 42601');
  });
});

/** Runs statements one by one over the driver; each step's tag or SQLSTATE, and the warnings sent. */
async function script(c: pg.Client, statements: readonly string[]): Promise<{ steps: string[]; warnings: string[] }> {
  const warnings: string[] = [];
  const onNotice = (n: { severity?: string; code?: string; message?: string }) => {
    if (n.severity === 'WARNING') warnings.push(`${n.code ?? ''} ${n.message ?? ''}`);
  };
  c.on('notice', onNotice);
  const steps: string[] = [];
  for (const sql of statements) steps.push(await outcome(c, sql));
  // Notices arrive before the ReadyForQuery that resolved the last query.
  c.off('notice', onNotice);
  return { steps, warnings };
}

/** Sends raw messages; returns what came back up to ReadyForQuery as "C:tag", "E:code", "N:code", "Z:status". */
async function raw(c: WireClient, ...messages: Buffer[]): Promise<string[]> {
  c.send(Buffer.concat(messages));
  const out: string[] = [];
  for (const m of await c.until('Z')) {
    const s = summarize(m);
    if (s) out.push(s);
  }
  return out;
}

function summarize(m: BackendMessage): string | null {
  if (m.type === 'Z') return `Z:${String.fromCharCode(m.body[0]!)}`;
  if (m.type === 'C') return `C:${m.body.toString('utf8', 0, m.body.length - 1)}`;
  if (m.type === 'E' || m.type === 'N') {
    const fields = new Map<string, string>();
    let i = 0;
    while (i < m.body.length && m.body[i] !== 0) {
      const code = String.fromCharCode(m.body[i]!);
      const end = m.body.indexOf(0, i + 1);
      fields.set(code, m.body.toString('utf8', i + 1, end));
      i = end + 1;
    }
    return `${m.type}:${fields.get('C')}`;
  }
  return null;
}

describe('transaction blocks compared with PostgreSQL', () => {
  let oracle: pg.Client;
  const t = `txn_cmp_${suffix}`;

  beforeAll(async () => {
    oracle = new pg.Client(PG);
    await oracle.connect();
    await oracle.query(`CREATE TABLE ${t} (k INT, v INT)`);
    await a.query(`CREATE TABLE ${t} (k INT, v INT)`);
  });

  afterAll(async () => {
    await oracle?.query(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    await oracle?.end();
  });

  it('gives the same tags, SQLSTATEs, warnings and final rows for the same statements', async () => {
    const statements = [
      'COMMIT',
      'ROLLBACK',
      'BEGIN',
      'BEGIN',
      `INSERT INTO ${t} VALUES (1, 1), (2, 2)`,
      `UPDATE ${t} SET v = 20 WHERE k = 2`,
      `SELECT * FROM ${t}`,
      'COMMIT',
      'START TRANSACTION',
      `DELETE FROM ${t} WHERE k = 1`,
      `INSERT INTO ${t} VALUES (3, 3)`,
      'ROLLBACK',
      'BEGIN',
      `INSERT INTO ${t} VALUES (4, 4)`,
      `SELECT * FROM no_such_table_${suffix}`,
      `INSERT INTO ${t} VALUES (5, 5)`,
      `SELECT * FROM ${t}`,
      'BEGIN',
      'SHOW application_name',
      'COMMIT',
      'BEGIN',
      `SELECT * FROM no_such_table_${suffix}`,
      'ROLLBACK',
      'END',
      'ABORT',
    ];
    const ours = await script(a, statements);
    const theirs = await script(oracle, statements);
    expect(ours.steps).toEqual(theirs.steps);
    expect(ours.warnings).toEqual(theirs.warnings);
    expect(await rowsOf(a, t)).toEqual(await rowsOf(oracle, t));
  });

  it('gives the same ReadyForQuery statuses over the simple and the extended protocol', async () => {
    const sluice = (await WireClient.connect(server.port, { user: 'sluice', database: 'sluice' })).client;
    const real = (await WireClient.connect(5432, { user: 'postgres', database: 'test' })).client;
    try {
      const steps: Buffer[][] = [
        [fe.query('BEGIN')],
        [fe.query(`INSERT INTO ${t} VALUES (7, 7)`)],
        [fe.query(`SELECT * FROM no_such_table_${suffix}`)],
        [fe.query('SELECT 1')],
        [fe.query('COMMIT')],
        // Extended protocol: BEGIN, a statement with a parameter, an error, Sync, then ROLLBACK.
        [fe.parse('', 'BEGIN'), fe.bind('', '', []), fe.execute(''), fe.sync()],
        [fe.parse('', `INSERT INTO ${t} VALUES ($1, 8)`), fe.bind('', '', ['8']), fe.execute(''), fe.sync()],
        [fe.parse('', `SELECT * FROM no_such_table_${suffix}`), fe.bind('', '', []), fe.execute(''), fe.sync()],
        [fe.parse('', 'SELECT 1'), fe.bind('', '', []), fe.execute(''), fe.sync()],
        [fe.parse('', 'ROLLBACK'), fe.bind('', '', []), fe.execute(''), fe.sync()],
        [fe.query('BEGIN; INSERT INTO ' + t + ' VALUES (9, 9); COMMIT')],
        [fe.query('COMMIT')],
        // An error in the middle of a query string with BEGIN leaves the block failed.
        [fe.query(`BEGIN; INSERT INTO ${t} VALUES (10, 10); SELECT * FROM no_such_table_${suffix}; COMMIT`)],
        [fe.query(`INSERT INTO ${t} VALUES (11, 11)`)],
        [fe.query('COMMIT')],
      ];
      for (const msgs of steps) {
        const ours = await raw(sluice, ...msgs);
        const theirs = await raw(real, ...msgs);
        // PostgreSQL's 25P02 may come at Parse where ours comes at Execute: compare what is sent.
        expect(ours, msgs.map((m) => m.toString('latin1', 5).replace(/\0/g, ' ')).join(' | ')).toEqual(theirs);
      }
      expect(await rowsOf(a, t)).toEqual(await rowsOf(oracle, t));
    } finally {
      sluice.send(fe.terminate());
      real.send(fe.terminate());
    }
  });
});

describe('transaction blocks and restarts', () => {
  const dir = tempDirEach('sluice-txn-');

  it('a committed block survives kill -9; an uncommitted one does not', async () => {
    const data = dir();
    let proc = await ServerProcess.start(data, ['--batch-interval', '100']);
    try {
      const c = await proc.client();
      await c.query('CREATE TABLE d (k INT, v INT)');
      await c.query('CREATE MATERIALIZED VIEW d_sum AS SELECT count(*) AS n, sum(v) AS total FROM d');
      await c.query('BEGIN; INSERT INTO d VALUES (1, 10), (2, 20); UPDATE d SET v = 21 WHERE k = 2; COMMIT');
      const open = await proc.client();
      await open.query('BEGIN; INSERT INTO d VALUES (3, 30); DELETE FROM d WHERE k = 1');
      expect(await rowsOf(open, 'd')).toEqual(['2:21', '3:30']);
      await proc.kill();
      proc = await ServerProcess.start(data, ['--batch-interval', '100']);
      const after = await proc.client();
      expect(await rowsOf(after, 'd')).toEqual(['1:10', '2:21']);
      await after.query('FLUSH');
      expect((await after.query('SELECT n, total FROM d_sum')).rows).toEqual([{ n: '2', total: '31' }]);
      await after.end();
    } finally {
      await proc.kill();
    }
  });
});
