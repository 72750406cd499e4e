/**
 * Random SQL for the property suites: a table t (and u) of mixed types with NULLs, predicates,
 * projections, aggregates, joins and top-N queries over them, and DML scripts with FLUSH at
 * random points. Shared by the differential oracle and the snapshot/restore property test.
 */
import fc from 'fast-check';

export const K1 = fc.option(fc.integer({ min: 0, max: 4 }), { nil: null, freq: 6 });
export const K2 = fc.option(fc.constantFrom('a', 'b', 'ab', 'c', 'B'), { nil: null, freq: 6 });
export const V = fc.option(fc.integer({ min: -50, max: 50 }), { nil: null, freq: 5 });
export const D = fc.option(fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }).map((x) => Math.round(x * 100) / 100), { nil: null, freq: 5 });
export const B = fc.option(fc.boolean(), { nil: null, freq: 5 });
export const BIG = fc.option(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), { nil: null, freq: 5 });

export const sqlLit = (v: unknown): string => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));

export const row = fc.tuple(K1, K2, V, D, B, BIG).map((r) => `(${r.map(sqlLit).join(', ')})`);

export const pred: fc.Arbitrary<string> = fc.letrec<{ p: string }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.constantFrom('v', 'k1'), fc.constantFrom('=', '<>', '<', '<=', '>', '>='), fc.integer({ min: -20, max: 20 })).map(([c, op, x]) => `${c} ${op} ${x}`),
    fc.constantFrom('v IS NULL', 'k2 IS NOT NULL', 'b', 'NOT b', 'b IS NOT TRUE', "k2 LIKE 'a%'", "k2 IN ('a', 'c')", 'v BETWEEN -10 AND 10', 'd > 0', 'big > 0', 'k1 IN (1, 2, NULL)', 'coalesce(v, 0) >= 0', 'v % 3 = 1'),
    fc.tuple(tie('p'), tie('p')).map(([a, b]) => `(${a} AND ${b})`),
    fc.tuple(tie('p'), tie('p')).map(([a, b]) => `(${a} OR ${b})`),
    tie('p').map((a) => `NOT (${a})`),
  ),
})).p;

export const projection = fc.subarray(
  ['k1', 'k2', 'v', 'd', 'b', 'big', 'v + 1 AS v1', 'coalesce(v, k1, -1) AS c', "CASE WHEN v > 0 THEN 'pos' WHEN v < 0 THEN 'neg' END AS sign", "k2 || '-' || k1 AS kk", 'upper(k2) AS u', 'v IS NULL AS vn', 'abs(v) * 2 AS av', 'length(k2) AS len', 'big - v AS bv', 'CAST(v AS DOUBLE) / 4 AS q', 'NOT b AS nb', 'nullif(k1, 2) AS nk'],
  { minLength: 1 },
);

export const aggregate = fc.subarray(
  ['count(*)', 'count(v)', 'count(DISTINCT v)', 'count(DISTINCT k2)', 'sum(v)', 'avg(v)', 'min(v)', 'max(v)', 'min(k2)', 'max(k2)', 'sum(d)', 'max(d)', 'sum(big)', 'min(big)', 'sum(DISTINCT v)', 'avg(DISTINCT k1)', 'count(*) FILTER (WHERE v > 0)', 'sum(v) FILTER (WHERE b)', 'max(v) FILTER (WHERE k2 IS NOT NULL)', 'avg(d) FILTER (WHERE v < 0)', 'bool_placeholder'].filter((a) => a !== 'bool_placeholder'),
  { minLength: 1, maxLength: 6 },
);

export const query = fc.oneof(
  fc.tuple(projection, fc.option(pred, { nil: undefined })).map(([cols, w]) => `SELECT ${cols.join(', ')} FROM t${w ? ` WHERE ${w}` : ''}`),
  fc
    .tuple(fc.subarray(['k1', 'k2', 'b'], { minLength: 0 }), aggregate, fc.option(pred, { nil: undefined }), fc.boolean())
    .map(([keys, aggs, w, having]) => {
      const sel = [...keys, ...aggs.map((a, i) => `${a} AS a${i}`)].join(', ');
      const group = keys.length ? ` GROUP BY ${keys.join(', ')}` : '';
      const hav = having && keys.length ? ' HAVING count(*) > 1' : '';
      return `SELECT ${sel} FROM t${w ? ` WHERE ${w}` : ''}${group}${hav}`;
    }),
  fc.tuple(projection, pred, pred).map(([cols, a, b]) => `SELECT ${cols.join(', ')} FROM t WHERE ${a} UNION ALL SELECT ${cols.join(', ')} FROM t WHERE ${b}`),
  fc.tuple(fc.subarray(['k1', 'k2', 'b'], { minLength: 1 }), fc.option(pred, { nil: undefined })).map(([cols, w]) => `SELECT DISTINCT ${cols.join(', ')} FROM t${w ? ` WHERE ${w}` : ''}`),
);

export const op = fc.oneof(
  { weight: 4, arbitrary: fc.array(row, { minLength: 1, maxLength: 6 }).map((rs) => `INSERT INTO t VALUES ${rs.join(', ')}`) },
  { weight: 2, arbitrary: fc.tuple(pred, V, K2).map(([w, v, k]) => `UPDATE t SET v = ${sqlLit(v)}, k2 = ${sqlLit(k)} WHERE ${w}`) },
  { weight: 1, arbitrary: fc.tuple(pred, fc.integer({ min: -3, max: 3 })).map(([w, x]) => `UPDATE t SET v = v + ${x}, d = d * 2 WHERE ${w}`) },
  { weight: 2, arbitrary: pred.map((w) => `DELETE FROM t WHERE ${w}`) },
  { weight: 2, arbitrary: fc.constant('FLUSH') },
);

export const joinType = fc.constantFrom('JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN');
export const joinQuery = fc.oneof(
  fc
    .tuple(joinType, fc.boolean(), fc.boolean(), fc.option(fc.constantFrom('t.v > 0', 'u.v IS NULL', 't.k2 IS NOT NULL OR u.v < 0'), { nil: undefined }))
    .map(([jt, twoKeys, residual, where]) =>
      `SELECT t.k1, t.k2, t.v, u.k1 AS uk1, u.v AS uv FROM t ${jt} u ON t.k1 = u.k1${twoKeys ? ' AND t.k2 = u.k2' : ''}${residual ? ' AND t.v <= u.v' : ''}${where ? ` WHERE ${where}` : ''}`),
  fc.tuple(joinType, fc.boolean()).map(([jt, residual]) =>
    `SELECT u.k2, count(*) AS n, sum(t.v) AS s, count(t.k1) AS matched, max(u.v) AS m FROM t ${jt} u ON t.k1 = u.k1${residual ? ' AND t.v <> u.v' : ''} GROUP BY u.k2`),
  fc.constant('SELECT t.k1, count(*) AS n FROM t JOIN u ON t.k1 = u.k1 JOIN t AS t2 ON t2.k2 = u.k2 GROUP BY t.k1'),
);

export const twoTableOp = fc.oneof(
  op.map((s) => s),
  { weight: 4, arbitrary: fc.array(row, { minLength: 1, maxLength: 5 }).map((rs) => `INSERT INTO u VALUES ${rs.join(', ')}`) },
  { weight: 2, arbitrary: pred.map((w) => `DELETE FROM u WHERE ${w}`) },
  { weight: 1, arbitrary: fc.tuple(pred, V).map(([w, v]) => `UPDATE u SET v = ${sqlLit(v)} WHERE ${w}`) },
);

/** An ORDER BY over every listed column (so no two distinct rows tie), random directions. */
export const totalOrder = (cols: string[]) =>
  fc.tuple(fc.shuffledSubarray(cols, { minLength: cols.length, maxLength: cols.length }), fc.array(fc.constantFrom('', ' DESC', ' NULLS FIRST', ' DESC NULLS LAST'), { minLength: cols.length, maxLength: cols.length }))
    .map(([order, dirs]) => order.map((c, i) => `${c}${dirs[i]}`).join(', '));

export const topNQuery = fc.oneof(
  fc.tuple(totalOrder(['k1', 'k2', 'v', 'd']), fc.integer({ min: 0, max: 6 }), fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), fc.option(pred, { nil: undefined }))
    .map(([order, limit, offset, w]) => `SELECT k1, k2, v, d FROM t${w ? ` WHERE ${w}` : ''} ORDER BY ${order} LIMIT ${limit}${offset !== undefined ? ` OFFSET ${offset}` : ''}`),
  fc.tuple(totalOrder(['k2', 'v', 'd', 'b']), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), fc.boolean())
    .map(([order, n, m, showRank]) => `SELECT k1, k2, v, d, b${showRank ? ', rn' : ''} FROM (SELECT k1, k2, v, d, b, ROW_NUMBER() OVER (PARTITION BY k1 ORDER BY ${order}) AS rn FROM t) s WHERE rn <= ${n + m} AND rn > ${m}`),
  fc.tuple(totalOrder(['k1', 'n']), fc.integer({ min: 1, max: 4 })).map(([order, n]) => `SELECT k1, n FROM (SELECT k1, count(*) AS n FROM t GROUP BY k1) g ORDER BY ${order} LIMIT ${n}`),
  totalOrder(['k2', 'v', 'd']).map((order) => `SELECT DISTINCT ON (k1) k1, k2, v, d FROM t ORDER BY k1, ${order}`),
);

export const TABLE = 'CREATE TABLE t (k1 INT, k2 VARCHAR, v INT, d DOUBLE, b BOOLEAN, big BIGINT)';

// Windows: events (key, minutes after BASE, value) in epochs whose times drift forward with
// random disorder, and the window kinds over them.
export const MIN = 60_000_000;
export const BASE = 1_700_000_000_000_000; // µs, 2023-11-14 22:13:20
export interface Ev {
  readonly k: number;
  readonly t: number; // minutes after BASE
  readonly v: number | null;
}

export const ev = fc.record({ k: fc.integer({ min: 0, max: 2 }), t: fc.integer({ min: 0, max: 180 }), v: fc.option(fc.integer({ min: -20, max: 20 }), { nil: null, freq: 6 }) });
/** Epochs: each a list of events; times drift forward with random disorder. */
export const epochs = fc.array(fc.tuple(fc.array(ev, { maxLength: 8 }), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 8 }).map((es) =>
  es.map(([events, shift], i) => events.map((e) => ({ ...e, t: Math.min(240, e.t + i * shift) }))),
);

export const windowKind = fc.oneof(
  fc.integer({ min: 1, max: 4 }).map((n) => ({ kind: 'tumble' as const, size: n * 10 })),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })).map(([slide, mult]) => ({ kind: 'hop' as const, slide: slide * 5, size: slide * 5 * mult })),
  fc.integer({ min: 3, max: 20 }).map((gap) => ({ kind: 'session' as const, gap })),
);

export type W = { kind: 'tumble'; size: number } | { kind: 'hop'; slide: number; size: number } | { kind: 'session'; gap: number };

export const AGGS = ['count(*) AS c', 'sum(v) AS s', 'avg(v) AS a', 'min(v) AS lo', 'max(v) AS hi'];

export function tvf(w: W, table: string): string {
  switch (w.kind) {
    case 'tumble':
      return `TUMBLE(${table}, ts, INTERVAL '${w.size} minutes')`;
    case 'hop':
      return `HOP(${table}, ts, INTERVAL '${w.slide} minutes', INTERVAL '${w.size} minutes')`;
    case 'session':
      return `SESSION(${table}, ts, INTERVAL '${w.gap} minutes')`;
  }
}

export function ts(minutes: number): string {
  return `TIMESTAMP '${new Date((BASE + minutes * MIN) / 1000).toISOString().replace('T', ' ').replace('Z', '')}'`;
}


// Two-sided streams for time-bounded joins: rows of side a or b, minutes after a base time.
export interface R { side: 'a' | 'b'; id: number; t: number }
export const rowArb = fc.record({ side: fc.constantFrom<'a' | 'b'>('a', 'b'), id: fc.integer({ min: 0, max: 3 }), t: fc.integer({ min: 0, max: 60 }) });
export const epochsArb = fc.array(fc.tuple(fc.array(rowArb, { maxLength: 6 }), fc.integer({ min: 0, max: 15 })), { minLength: 1, maxLength: 8 })
  .map((es) => es.map(([rows, shift], i) => rows.map((r) => ({ ...r, t: r.t + i * shift }))));

