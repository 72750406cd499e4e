/** Lookup joins: a stream joins a table as of each epoch; later table changes do not retract output. */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { canonicalRows, parallelismArb } from './helpers.js';

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

describe('lookup join (FOR SYSTEM_TIME AS OF PROCTIME())', () => {
  it('joins each epoch with the table as of that epoch, and never retracts for later changes', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR, country VARCHAR);
      CREATE SOURCE clicks (user_id BIGINT, page INT) WITH (connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 4,
        fields.user_id.kind = 'sequence', fields.user_id.start = 1, fields.user_id.end = 4, fields.page.kind = 'sequence', fields.page.start = 100);
      INSERT INTO users VALUES (1, 'ann', 'NO'), (2, 'bob', 'SE');
      CREATE MATERIALIZED VIEW enriched AS
        SELECT c.user_id, c.page, u.name, u.country FROM clicks c LEFT JOIN users FOR SYSTEM_TIME AS OF PROCTIME() u ON c.user_id = u.id;`);
    await e.execute('FLUSH');
    expect(canonicalRows(await e.viewRows('enriched'))).toEqual(canonicalRows([
      [1n, 100, 'ann', 'NO'], [2n, 101, 'bob', 'SE'], [3n, 102, null, null], [4n, 103, null, null],
    ]));
    // The table changes: only later epochs see it; earlier output stays.
    await e.execute("UPDATE users SET country = 'DK' WHERE id = 1; INSERT INTO users VALUES (3, 'cyd', 'FI'); FLUSH;");
    const rows = canonicalRows(await e.viewRows('enriched'));
    expect(rows).toContain('1 | 100 | "ann" | "NO"');
    expect(rows).toContain('1 | 104 | "ann" | "DK"');
    expect(rows).toContain('3 | 102 | NULL | NULL');
    expect(rows).toContain('3 | 106 | "cyd" | "FI"');
    expect(rows).toHaveLength(8);
    const [plan] = await e.execute('EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT c.page, u.name FROM clicks c JOIN users FOR SYSTEM_TIME AS OF PROCTIME() AS u ON c.user_id = u.id');
    const text = plan!.kind === 'rows' ? plan!.rows.map((r) => r[0]).join('\n') : '';
    expect(text).toContain('lookup strategy=js-hash-index');
    expect(text).toContain('[append-only]');
  });

  it('over a stream that retracts, takes back what each row was joined with when it came', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE stream (id1 INT, a1 INT); CREATE TABLE version (id2 INT PRIMARY KEY, a2 INT);
      CREATE MATERIALIZED VIEW v AS SELECT id1, a1, id2, a2 FROM stream LEFT JOIN version FOR SYSTEM_TIME AS OF PROCTIME() ON id1 = id2;
      CREATE MATERIALIZED VIEW w AS SELECT id1, a1, a2 FROM stream JOIN version FOR SYSTEM_TIME AS OF PROCTIME() ON id1 = id2 AND a1 > a2;
      INSERT INTO stream VALUES (1, 11); FLUSH;
      INSERT INTO version VALUES (1, 10); FLUSH;
      INSERT INTO stream VALUES (1, 11), (1, 9); FLUSH;
      DELETE FROM version; FLUSH;`);
    expect(canonicalRows(await e.viewRows('v'))).toEqual(canonicalRows([[1, 11, null, null], [1, 11, 1, 10], [1, 9, 1, 10]]));
    expect(canonicalRows(await e.viewRows('w'))).toEqual(canonicalRows([[1, 11, 10]]));
    // Each row goes out with what it was joined with (not with the table as it is now), and comes back joined with the table now.
    await e.execute('UPDATE stream SET a1 = 22; FLUSH;');
    expect(canonicalRows(await e.viewRows('v'))).toEqual(canonicalRows([[1, 22, null, null], [1, 22, null, null], [1, 22, null, null]]));
    expect(await e.viewRows('w')).toEqual([]);
    await e.execute('INSERT INTO version VALUES (1, 5); UPDATE stream SET a1 = 23 WHERE a1 = 22; FLUSH; DELETE FROM version; DELETE FROM stream; FLUSH;');
    expect(await e.viewRows('v')).toEqual([]);
    expect(await e.viewRows('w')).toEqual([]);
  });

  it('a new view over rows already in the stream table looks them up in the table as it is', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE stream (id1 INT, a1 INT) APPEND ONLY; CREATE TABLE version (id2 INT PRIMARY KEY, a2 INT);
      INSERT INTO stream VALUES (1, 11), (2, 22); INSERT INTO version VALUES (2, 20); FLUSH;
      CREATE MATERIALIZED VIEW v AS SELECT id1, a1, id2, a2 FROM stream LEFT JOIN version FOR SYSTEM_TIME AS OF PROCTIME() ON id1 = id2;`);
    expect(canonicalRows(await e.viewRows('v'))).toEqual(canonicalRows([[1, 11, null, null], [2, 22, 2, 20]]));
  });

  it('refuses a lookup on something that is not a table, and RIGHT/FULL lookups', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE t (id BIGINT); CREATE SOURCE s (id BIGINT) WITH (connector = 'datagen');
      CREATE MATERIALIZED VIEW v AS SELECT id FROM t;`);
    await expect(e.execute('CREATE MATERIALIZED VIEW x AS SELECT s.id FROM s JOIN v FOR SYSTEM_TIME AS OF PROCTIME() ON s.id = v.id')).rejects.toThrow(/needs a table/);
    await expect(e.execute('CREATE MATERIALIZED VIEW x AS SELECT s.id FROM s FULL JOIN t FOR SYSTEM_TIME AS OF PROCTIME() ON s.id = t.id')).rejects.toThrow(/INNER or LEFT/);
  });
});

describe('lookup join strategies', () => {
  it('the DuckDB strategy and the JS hash index give identical answers on random data (200 cases, 100 in CI)', async () => {
    const stmt = fc.oneof(
      { weight: 3, arbitrary: fc.array(fc.tuple(fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 6 }), fc.integer({ min: 0, max: 99 })), { minLength: 1, maxLength: 5 }).map((rs) => `INSERT INTO s VALUES ${rs.map(([k, v]) => `(${k ?? 'NULL'}, ${v})`).join(', ')}`) },
      { weight: 2, arbitrary: fc.array(fc.tuple(fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 6 }), fc.constantFrom('a', 'b', 'c')), { minLength: 1, maxLength: 3 }).map((rs) => `INSERT INTO dim VALUES ${rs.map(([k, n]) => `(${k ?? 'NULL'}, '${n}')`).join(', ')}`) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((k) => `DELETE FROM dim WHERE k = ${k}`) },
      { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('x', 'y')).map(([k, n]) => `UPDATE dim SET name = '${n}' WHERE k = ${k}`) },
      { weight: 2, arbitrary: fc.constant('FLUSH') },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(stmt, { maxLength: 16 }), fc.boolean(), parallelismArb, async (stmts, leftJoin, parallelism) => {
        const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
        try {
          await e.execute('CREATE TABLE s (k INT, v INT) APPEND ONLY; CREATE TABLE dim (k INT, name VARCHAR);');
          const q = `SELECT s.k, s.v, d.name FROM s ${leftJoin ? 'LEFT ' : ''}JOIN dim FOR SYSTEM_TIME AS OF PROCTIME() d ON s.k = d.k`;
          await e.execute(`SET lookup_join_strategy = 'hash'; CREATE MATERIALIZED VIEW by_hash AS ${q};`);
          await e.execute(`SET lookup_join_strategy = 'duckdb'; CREATE MATERIALIZED VIEW by_duck AS ${q};`);
          const [ex] = await e.execute(`EXPLAIN CREATE MATERIALIZED VIEW x AS ${q}`);
          expect(ex!.kind === 'rows' && ex!.rows.map((r) => r[0]).join('\n')).toContain('lookup strategy=duckdb');
          for (const st of stmts) await e.execute(st);
          await e.execute('FLUSH');
          expect(canonicalRows(await e.viewRows('by_duck'))).toEqual(canonicalRows(await e.viewRows('by_hash')));
        } finally {
          await e.close();
        }
      }),
      { numRuns: Number(process.env.SLUICE_FC_RUNS ?? (process.env.CI ? 100 : 200)) },
    );
  }, 600_000);
});
