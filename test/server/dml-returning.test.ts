/**
 * INSERT / UPDATE / DELETE … RETURNING through the `pg` driver: the simple protocol, the extended
 * one with parameters (its portal is described before it runs, so the statement runs at Describe
 * and Execute sends that run's rows: once, never twice), and inside a transaction block.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSession } from '../helpers.js';

let client: pg.Client;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ client, close } = await pgSession());
  await client.query('CREATE TABLE items (id INT, name VARCHAR); CREATE MATERIALIZED VIEW n AS SELECT count(*) AS c FROM items');
});

afterAll(async () => {
  await close?.();
});

describe('DML … RETURNING over pg-wire', () => {
  it('returns the rows of the simple and the extended protocol, running each statement once', async () => {
    const ins = await client.query("INSERT INTO items VALUES (1, 'a'), (2, 'b') RETURNING id");
    expect([ins.command, ins.rowCount, ins.rows]).toEqual(['INSERT', 2, [{ id: 1 }, { id: 2 }]]);
    const ext = await client.query({ text: 'INSERT INTO items VALUES ($1, $2) RETURNING id, upper(name) AS big', values: [3, 'c'] });
    expect([ext.command, ext.rowCount, ext.rows]).toEqual(['INSERT', 1, [{ id: 3, big: 'C' }]]);
    const upd = await client.query({ text: 'UPDATE items SET name = $1 WHERE id >= $2 RETURNING *', values: ['z', 2] });
    expect([upd.command, upd.rowCount, upd.rows.sort((x, y) => x.id - y.id)]).toEqual(['UPDATE', 2, [{ id: 2, name: 'z' }, { id: 3, name: 'z' }]]);
    // Three rows inserted in all, each once.
    expect((await client.query('SELECT count(*)::int AS c FROM items')).rows).toEqual([{ c: 3 }]);
  });

  it('returns the deleted rows inside a transaction block, and a rollback undoes them', async () => {
    await client.query('BEGIN');
    const del = await client.query({ text: 'DELETE FROM items WHERE id = $1 RETURNING name', values: [1] });
    expect([del.command, del.rowCount, del.rows]).toEqual(['DELETE', 1, [{ name: 'a' }]]);
    await client.query('ROLLBACK');
    await client.query('FLUSH');
    expect((await client.query('SELECT c::int AS c FROM n')).rows).toEqual([{ c: 3 }]);
    const none = await client.query("DELETE FROM items WHERE name = 'nobody' RETURNING id");
    expect([none.command, none.rowCount, none.rows]).toEqual(['DELETE', 0, []]);
  });

  it('refuses a RETURNING list naming what the table lacks, and changes nothing', async () => {
    await expect(client.query('UPDATE items SET id = id + 100 RETURNING nosuch')).rejects.toMatchObject({ code: '42703' });
    await expect(client.query('INSERT INTO items VALUES (9, \'x\') RETURNING')).rejects.toMatchObject({ code: '42601' });
    expect((await client.query('SELECT max(id)::int AS m FROM items')).rows).toEqual([{ m: 3 }]);
  });
});
