/** The WITH options of PostgreSQL tables: url or separate parts, the table name, timeouts, client settings. */
import { describe, expect, it } from 'vitest';
import { clientConfig, describeServer, resolveServer } from '../../src/connectors/table/postgres/connection.js';
import { readPostgresTableOptions } from '../../src/connectors/table/postgres/options.js';
import { snapshotQuery } from '../../src/connectors/table/postgres/query.js';

const read = (o: Record<string, string>) => readPostgresTableOptions({ connector: 'postgres', table: 't', ...o });

describe('postgres table options', () => {
  it('splits a url into its parts, credentials decoded', () => {
    const cfg = read({ url: 'postgres://ann:p%40ss@db.internal:6543/sales?sslmode=require', table: 'public.orders' });
    expect(cfg).toEqual({
      server: { fromUrl: true, host: 'db.internal', port: 6543, user: 'ann', password: 'p@ss', database: 'sales', ssl: 'no-verify' },
      table: ['public', 'orders'],
      refreshMs: 300_000,
      connectTimeoutMs: 5_000,
      queryTimeoutMs: 60_000,
    });
    expect(read({ url: 'postgresql://[::1]/x' }).server).toMatchObject({ host: '::1', port: undefined, database: 'x' });
    expect(read({ url: 'postgres://h/d?sslmode=verify-full' }).server.ssl).toBe(true);
    expect(read({ url: 'postgres://h/d?sslmode=disable' }).server.ssl).toBe(false);
  });

  it('takes hostname, port, username, password and database instead of a url', () => {
    const cfg = read({ hostname: 'pg', port: '5433', username: 'bob', password: 'x', database: 'shop', refresh_interval: '30 seconds', connect_timeout: '2 seconds', query_timeout: '10 seconds' });
    expect(cfg.server).toEqual({ fromUrl: false, host: 'pg', port: 5433, user: 'bob', password: 'x', database: 'shop' });
    expect(cfg).toMatchObject({ refreshMs: 30_000, connectTimeoutMs: 2_000, queryTimeoutMs: 10_000 });
  });

  it('reads schema-qualified and quoted table names', () => {
    expect(read({ table: 'orders' }).table).toEqual(['orders']);
    expect(read({ table: 'Sales.Orders' }).table).toEqual(['Sales', 'Orders']);
    expect(read({ table: '"a.b"."say ""hi"""' }).table).toEqual(['a.b', 'say "hi"']);
    expect(snapshotQuery(['a.b', 'T'], [{ name: 'id', type: 'bigint' }, { name: 'at', type: 'timestamp' }, { name: 'x', type: 'varchar' }]))
      .toBe('SELECT CAST("id" AS bigint), CAST("at" AS timestamp), CAST("x" AS text) FROM "a.b"."T"');
  });

  it('says which option is wrong and what it takes', () => {
    const bad = (o: Record<string, string>) => () => read(o);
    expect(bad({ url: 'mysql://h/d' })).toThrow(/option "url" of connector 'postgres' must be a URL such as 'postgres:\/\/user:password@127.0.0.1:5432\/database'/);
    expect(bad({ url: 'postgres://h/d?application_name=x' })).toThrow(/no parameter other than sslmode.*it has 'application_name'/);
    expect(bad({ url: 'postgres://h/d?sslmode=maybe' })).toThrow(/sslmode is 'maybe'/);
    expect(bad({ url: 'postgres://h/d', hostname: 'h' })).toThrow(/takes either url or hostname\/port\/username\/password\/database, but both url and hostname are given/);
    expect(bad({ port: '70000' })).toThrow(/option "port" of connector 'postgres' must be an integer between 1 and 65535/);
    expect(bad({ hostname: ' ' })).toThrow(/option "hostname".*not empty/);
    expect(bad({ table: '' })).toThrow(/needs option "table"/);
    expect(bad({ table: 'a.b.c' })).toThrow(/option "table".*'table' or 'schema.table'/);
    expect(bad({ table: '"a' })).toThrow(/quote is not closed/);
    expect(bad({ table: 'a.' })).toThrow(/option "table"/);
    expect(bad({ refresh_interval: '-5 seconds' })).toThrow(/refresh_interval/);
    expect(bad({ connect_timeout: 'later' })).toThrow(/connect_timeout/);
    expect(bad({ dbname: 'x' })).toThrow(/unknown option "dbname" for connector 'postgres'; valid options are: connector, url, hostname, port, username, password, database, table/);
  });
});

describe('postgres server resolution', () => {
  const env = { PGHOST: 'envhost', PGPORT: '6000' };

  it('uses PGHOST/PGPORT only when no url is given', () => {
    expect(resolveServer(read({}).server, env)).toMatchObject({ host: 'envhost', port: 6000 });
    expect(resolveServer(read({ hostname: 'h' }).server, env)).toMatchObject({ host: 'h', port: 6000 });
    expect(resolveServer(read({ url: 'postgres://u@h/d' }).server, env)).toMatchObject({ host: 'h', port: 5432 });
    expect(resolveServer(read({ url: 'postgres:///d' }).server, env)).toMatchObject({ host: 'localhost', port: 5432 });
    expect(resolveServer(read({}).server, {})).toMatchObject({ host: 'localhost', port: 5432 });
    expect(resolveServer(read({}).server, { PGPORT: 'x' })).toMatchObject({ port: 5432 });
  });

  it('names the server without credentials and asks for text values in UTC', () => {
    const cfg = read({ url: 'postgres://ann:secret@h:7/d?sslmode=require' });
    const server = resolveServer(cfg.server, {});
    expect(describeServer(server)).toBe('h:7/d');
    const cc = clientConfig(cfg, server);
    expect(cc).toMatchObject({ host: 'h', port: 7, user: 'ann', password: 'secret', database: 'd', ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 5000, query_timeout: 60000 });
    expect(cc.options).toContain('TimeZone=UTC');
    const parser = cc.types!.getTypeParser(1184 as never, 'text' as never) as (v: string) => unknown;
    expect(parser('2024-01-01 00:00:00+00')).toBe('2024-01-01 00:00:00+00');
  });
});
