import { describe, expect, it } from 'vitest';
import { readPostgresSinkOptions } from './options.js';

describe('postgres sink options', () => {
  it('reads the server, the table and its schema', () => {
    expect(readPostgresSinkOptions({ connector: 'postgres', url: 'postgres://u:p@h:5433/db', table: 'app."Out.T"' })).toEqual({
      server: { fromUrl: true, host: 'h', port: 5433, user: 'u', password: 'p', database: 'db', ssl: undefined },
      schema: 'app', table: 'Out.T', connectTimeoutMs: 5000, queryTimeoutMs: 60000, progressKey: null,
    });
    const c = readPostgresSinkOptions({ connector: 'postgres', hostname: 'h', port: '1', username: 'u', database: 'd', table: 't', schema: 's', connect_timeout: '2s' });
    expect(c).toMatchObject({ schema: 's', table: 't', connectTimeoutMs: 2000, server: { fromUrl: false, host: 'h', port: 1, user: 'u', database: 'd' } });
    expect(readPostgresSinkOptions({ connector: 'postgres', table: 't' }).schema).toBeNull();
    expect(readPostgresSinkOptions({ connector: 'postgres', table: 't', progress_key: 'old' }).progressKey).toBe('old');
  });

  it('says what is wrong', () => {
    expect(() => readPostgresSinkOptions({ connector: 'postgres' })).toThrow(/needs option "table"/);
    expect(() => readPostgresSinkOptions({ connector: 'postgres', table: 'a.b', schema: 'c' })).toThrow(/a schema both in table/);
    expect(() => readPostgresSinkOptions({ connector: 'postgres', table: 'a', schema: ' ' })).toThrow(/option "schema" .* must be a schema name/);
    expect(() => readPostgresSinkOptions({ connector: 'postgres', table: 'a', refresh_interval: '1s' })).toThrow(/unknown option "refresh_interval" for connector 'postgres'/);
    expect(() => readPostgresSinkOptions({ connector: 'postgres', table: 'a', url: 'x', port: '1' })).toThrow(/either url or/);
  });
});
