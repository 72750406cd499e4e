/**
 * The extended query protocol at the byte level: typed and binary parameters, binary results,
 * Describe of statements and portals, row limits with PortalSuspended, skip-until-Sync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { columnsOf, errorOf, fe, fieldsOf, textRows, types, WireClient } from './wire-client.js';

let engine: Engine;
let server: PgServer;
let c: WireClient;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  ({ client: c } = await WireClient.connect(server.port));
  c.send(fe.query(`CREATE TABLE t (k VARCHAR, v INT); INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4), ('e', 5)`));
  await c.until('Z');
});

afterAll(async () => {
  c?.end();
  await server?.close();
  await engine?.close();
});

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const float8 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
};

/** Decodes a binary numeric to its decimal text. */
function numericText(b: Buffer): string {
  const n = b.readInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const dscale = b.readInt16BE(6);
  if (sign === 0xc000) return 'NaN';
  let digits = '';
  for (let i = 0; i < n; i++) digits += String(b.readInt16BE(8 + 2 * i)).padStart(4, '0');
  const intGroups = weight + 1;
  let intPart: string;
  let frac: string;
  if (intGroups <= 0) {
    intPart = '0';
    frac = '0000'.repeat(-intGroups) + digits;
  } else {
    const padded = digits.padEnd(intGroups * 4, '0');
    intPart = padded.slice(0, intGroups * 4).replace(/^0+(?=\d)/, '');
    frac = padded.slice(intGroups * 4);
  }
  frac = frac.padEnd(dscale, '0').slice(0, dscale);
  return (sign === 0x4000 ? '-' : '') + intPart + (dscale ? '.' + frac : '');
}

describe('pg server: extended protocol', () => {
  it('binds binary parameters of the common types and returns binary results', async () => {
    const sql = `SELECT $1 AS i4, $2 AS i8, $3 AS f8, $4 AS bo, $5 AS tx, $6 AS ts, $7 AS i2, $8 AS vc`;
    const oids = [23, 20, 701, 16, 25, 1114, 21, 1043];
    // 2024-01-01 00:00:00.5 UTC in µs since 2000-01-01.
    const tsMicros = BigInt(Date.UTC(2024, 0, 1)) * 1000n + 500_000n - 946_684_800_000_000n;
    const params = [int32(-7), int64(9_000_000_000n), float8(2.5), Buffer.from([1]), Buffer.from('héllo'), int64(tsMicros), int16(-3), Buffer.from('v')];
    c.send(Buffer.concat([fe.parse('', sql, oids), fe.bind('', '', params, [1], [1]), fe.describe('P', ''), fe.execute('', 0), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('12TDCZ');
    const cols = columnsOf(ms[2]!);
    expect(cols.map((x) => [x.name, x.oid, x.format])).toEqual([
      ['i4', 23, 1],
      ['i8', 20, 1],
      ['f8', 701, 1],
      ['bo', 16, 1],
      ['tx', 1043, 1],
      ['ts', 1114, 1],
      ['i2', 23, 1],
      ['vc', 1043, 1],
    ]);
    const f = fieldsOf(ms[3]!);
    expect(f[0]!.readInt32BE(0)).toBe(-7);
    expect(f[1]!.readBigInt64BE(0)).toBe(9_000_000_000n);
    expect(f[2]!.readDoubleBE(0)).toBe(2.5);
    expect(f[3]![0]).toBe(1);
    expect(f[4]!.toString()).toBe('héllo');
    expect(f[5]!.readBigInt64BE(0)).toBe(tsMicros);
    expect(f[6]!.readInt32BE(0)).toBe(-3);
    expect(f[7]!.toString()).toBe('v');
  });

  it('binds text parameters by their declared types', async () => {
    const sql = `SELECT $1 + 1 AS a, $2 AS b, $3 AS c, $4 AS d, $5 AS e, $6 AS f, $7 AS g`;
    const oids = [23, 20, 701, 16, 1114, 1082, 1700];
    c.send(Buffer.concat([fe.parse('', sql, oids), fe.bind('', '', ['41', '-5000000000', '1e3', 'yes', '2024-02-03 04:05:06', '2024-02-29', '-12.5']), fe.describe('P', ''), fe.execute(''), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('12TDCZ');
    expect(columnsOf(ms[2]!).map((x) => x.oid)).toEqual([23, 20, 701, 16, 1114, 1082, 1700]);
    expect(textRows(ms)).toEqual([['42', '-5000000000', '1000', 't', '2024-02-03 04:05:06', '2024-02-29', '-12.5']]);
  });

  it('rejects a malformed typed parameter with 22P02 and skips until Sync', async () => {
    c.send(Buffer.concat([fe.parse('', `SELECT $1 AS a`, [23]), fe.bind('', '', ['1x']), fe.describe('P', ''), fe.execute(''), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('1EZ');
    expect(errorOf(ms[1]!)).toMatchObject({ S: 'ERROR', C: '22P02' });
    c.send(Buffer.concat([fe.parse('', `SELECT 5 AS five`), fe.bind('', '', []), fe.execute(''), fe.sync()]));
    expect(textRows(await c.until('Z'))).toEqual([['5']]);
  });

  it('sends binary numeric, date, timestamp and interval results', async () => {
    c.send(
      Buffer.concat([
        fe.parse('', `SELECT CAST(-12.5 AS NUMERIC(10,2)) AS n, CAST(0.0001 AS NUMERIC(10,4)) AS m, DATE '2000-01-03' AS d, INTERVAL '1 day 1 second' AS iv, CAST(123456789.25 AS DOUBLE) AS dd`),
        fe.bind('', '', [], [], [1]),
        fe.execute(''),
        fe.sync(),
      ]),
    );
    const ms = await c.until('Z');
    const f = fieldsOf(ms.find((m) => m.type === 'D')!);
    expect(numericText(f[0]!)).toBe('-12.5');
    expect(numericText(f[1]!)).toBe('0.0001');
    expect(f[2]!.readInt32BE(0)).toBe(2);
    expect([f[3]!.readBigInt64BE(0), f[3]!.readInt32BE(8), f[3]!.readInt32BE(12)]).toEqual([1_000_000n, 1, 0]);
    expect(f[4]!.readDoubleBE(0)).toBe(123456789.25);
  });

  it('describes a statement: parameter types (unknown → text) and result columns', async () => {
    c.send(Buffer.concat([fe.parse('q1', `SELECT k, v * 2 AS w FROM t WHERE v > $1 AND k <> $2`, [23]), fe.describe('S', 'q1'), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('1tTZ');
    const pd = ms[1]!.body;
    expect([pd.readInt16BE(0), pd.readInt32BE(2), pd.readInt32BE(6)]).toEqual([2, 23, 25]);
    expect(columnsOf(ms[2]!).map((x) => [x.name, x.oid, x.format])).toEqual([
      ['k', 1043, 0],
      ['w', 23, 0],
    ]);
    // Describing did not run anything visible, and the statement then runs with values.
    c.send(Buffer.concat([fe.bind('', 'q1', ['3', 'e']), fe.execute(''), fe.sync()]));
    expect(textRows(await c.until('Z'))).toEqual([['d', '8']]);
  });

  it('describes a command statement with NoData and does not run it at Describe', async () => {
    c.send(Buffer.concat([fe.parse('ins', `INSERT INTO t VALUES ($1, $2)`), fe.describe('S', 'ins'), fe.bind('', 'ins', ['f', '6']), fe.describe('P', ''), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('1tn2nZ');
    c.send(fe.query(`SELECT count(*) FROM t`));
    expect(textRows(await c.until('Z'))).toEqual([['5']]);
    c.send(Buffer.concat([fe.bind('', 'ins', ['f', '6']), fe.execute(''), fe.sync()]));
    const done = await c.until('Z');
    expect(types(done)).toBe('2CZ');
    expect(done[1]!.body.toString('utf8', 0, done[1]!.body.length - 1)).toBe('INSERT 0 1');
    c.send(fe.query(`DELETE FROM t WHERE k = 'f'`));
    await c.until('Z');
  });

  it('pages a portal with Execute row limits and PortalSuspended', async () => {
    c.send(Buffer.concat([fe.parse('', `SELECT k FROM t ORDER BY k`), fe.bind('', '', []), fe.execute('', 2), fe.execute('', 2), fe.execute('', 2), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('12DDsDDsDCZ');
    expect(textRows(ms).flat()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const tag = ms.find((m) => m.type === 'C')!;
    expect(tag.body.toString('utf8', 0, tag.body.length - 1)).toBe('SELECT 1');
  });

  it('keeps named portals apart and drops all portals at Sync', async () => {
    c.send(
      Buffer.concat([
        fe.parse('byv', `SELECT k FROM t WHERE v >= $1 ORDER BY k`),
        fe.bind('p1', 'byv', ['4']),
        fe.bind('p2', 'byv', ['1']),
        fe.execute('p2', 1),
        fe.execute('p1', 0),
        fe.execute('p2', 1),
        fe.flush(),
      ]),
    );
    const ms = await c.until('s');
    const more = await c.until('s');
    expect(types([...ms, ...more])).toBe('122DsDDCDs');
    expect(textRows([...ms, ...more])).toEqual([['a'], ['d'], ['e'], ['b']]);
    c.send(Buffer.concat([fe.sync(), fe.execute('p1'), fe.sync()]));
    const after = await c.until('Z');
    expect(types(after)).toBe('Z');
    const err = await c.until('Z');
    expect(errorOf(err[0]!)).toMatchObject({ C: '34000' });
    c.send(Buffer.concat([fe.close('S', 'byv'), fe.bind('', 'byv', ['1']), fe.sync()]));
    const closed = await c.until('Z');
    expect(types(closed)).toBe('3EZ');
    expect(errorOf(closed[1]!)).toMatchObject({ C: '26000' });
  });

  it('refuses duplicate statement names, multiple commands, and wrong parameter counts', async () => {
    c.send(Buffer.concat([fe.parse('dup', `SELECT 1`), fe.parse('dup', `SELECT 2`), fe.sync()]));
    let ms = await c.until('Z');
    expect(types(ms)).toBe('1EZ');
    expect(errorOf(ms[1]!).C).toBe('42P05');
    c.send(Buffer.concat([fe.parse('', `SELECT 1; SELECT 2`), fe.sync()]));
    ms = await c.until('Z');
    expect(errorOf(ms[0]!).C).toBe('42601');
    c.send(Buffer.concat([fe.parse('', `SELECT $1 AS a, $2 AS b`), fe.bind('', '', ['1']), fe.sync()]));
    ms = await c.until('Z');
    expect(types(ms)).toBe('1EZ');
    expect(errorOf(ms[1]!).C).toBe('08P01');
  });

  it('answers an empty prepared statement with EmptyQueryResponse', async () => {
    c.send(Buffer.concat([fe.parse('', ``), fe.bind('', '', []), fe.describe('P', ''), fe.execute(''), fe.sync()]));
    expect(types(await c.until('Z'))).toBe('12nIZ');
  });

  it('reports engine errors at Execute with their position in the Parse text', async () => {
    const sql = `SELECT k FROM t WHERE k = $1 AND nope > 1`;
    c.send(Buffer.concat([fe.parse('', sql), fe.bind('', '', ['a much longer value than $1']), fe.execute(''), fe.sync()]));
    const ms = await c.until('Z');
    expect(types(ms)).toBe('12EZ');
    expect(errorOf(ms[2]!)).toMatchObject({ C: '42703', P: String(sql.indexOf('nope') + 1) });
  });
});

describe('binary arrays', () => {
  it('sends arrays in PostgreSQL binary form: dimensions, NULL flag, element OID, bounds, elements', async () => {
    c.send(Buffer.concat([fe.parse('', `SELECT ARRAY[1, NULL, 3] AS a, ARRAY['x', 'yz'] AS s, ARRAY[]::INT[] AS e`), fe.bind('', '', [], [], [1]), fe.execute(''), fe.sync()]));
    const ms = await c.until('Z');
    const [a, s, e] = fieldsOf(ms.find((m) => m.type === 'D')!) as [Buffer, Buffer, Buffer];
    const header = (b: Buffer) => [0, 4, 8].map((o) => b.readInt32BE(o));
    expect(header(a)).toEqual([1, 1, 23]);
    expect([a.readInt32BE(12), a.readInt32BE(16)]).toEqual([3, 1]);
    expect([a.readInt32BE(20), a.readInt32BE(24), a.readInt32BE(28), a.readInt32BE(32), a.readInt32BE(36)]).toEqual([4, 1, -1, 4, 3]);
    expect(a.length).toBe(40);
    expect(header(s)).toEqual([1, 0, 1043]);
    expect([s.readInt32BE(20), s.subarray(24, 25).toString(), s.readInt32BE(25), s.subarray(29, 31).toString()]).toEqual([1, 'x', 2, 'yz']);
    expect(header(e)).toEqual([0, 0, 23]);
    expect(e.length).toBe(12);
  });
});
