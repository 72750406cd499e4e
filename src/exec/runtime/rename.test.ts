import { describe, expect, it } from 'vitest';
import { parseStatement, relationsOf } from '../../parser/index.js';
import { pinnedOptions, renameReferences, writtenName } from './rename.js';
import { defaultTransactionalId } from '../../connectors/kafka/options.js';
import type { SinkEntry, SourceEntry } from '../../catalog/index.js';

const view = (q: string) => `CREATE MATERIALIZED VIEW v AS ${q}`;

describe('renameReferences', () => {
  it('rewrites relation positions: FROM, JOIN, a FROM list, TUMBLE/HOP, public.-qualified, subqueries', () => {
    expect(renameReferences(view('SELECT k, count(*) AS n FROM ev GROUP BY k'), 'ev', 'events')).toBe(view('SELECT k, count(*) AS n FROM events GROUP BY k'));
    expect(renameReferences(view('SELECT a.x FROM a JOIN ev ON a.id = ev.id'), 'ev', 'e2')).toBe(view('SELECT a.x FROM a JOIN e2 ON a.id = e2.id'));
    expect(renameReferences(view('SELECT * FROM a, ev WHERE a.id = ev.id'), 'ev', 'e2')).toBe(view('SELECT * FROM a, e2 WHERE a.id = e2.id'));
    expect(renameReferences(view("SELECT window_start FROM TUMBLE(ev, ts, INTERVAL '1 minute') GROUP BY 1"), 'ev', 'e2')).toBe(view("SELECT window_start FROM TUMBLE(e2, ts, INTERVAL '1 minute') GROUP BY 1"));
    expect(renameReferences(view('SELECT * FROM public.ev'), 'ev', 'e2')).toBe(view('SELECT * FROM public.e2'));
    expect(renameReferences(view('SELECT * FROM a WHERE id IN (SELECT id FROM ev)'), 'ev', 'e2')).toBe(view('SELECT * FROM a WHERE id IN (SELECT id FROM e2)'));
    expect(renameReferences('CREATE SINK k FROM ev WITH (connector = \'print\')', 'ev', 'e2')).toBe('CREATE SINK k FROM e2 WITH (connector = \'print\')');
  });

  it('leaves columns, aliases, strings, options and FROM inside EXTRACT / IS DISTINCT FROM alone', () => {
    // A column named like the relation.
    expect(renameReferences(view('SELECT ev, ev.ev FROM ev'), 'ev', 'e2')).toBe(view('SELECT ev, e2.ev FROM e2'));
    expect(renameReferences(view("SELECT 'ev' AS ev FROM t WHERE x = 'FROM ev'"), 'ev', 'e2')).toBe(view("SELECT 'ev' AS ev FROM t WHERE x = 'FROM ev'"));
    expect(renameReferences(view('SELECT extract(year FROM ev) FROM t WHERE a IS DISTINCT FROM ev'), 'ev', 'e2')).toBe(view('SELECT extract(year FROM ev) FROM t WHERE a IS DISTINCT FROM ev'));
    // `ev` as an alias of another relation: its qualifiers are the alias's.
    expect(renameReferences(view('SELECT ev.x FROM t AS ev'), 'ev', 'e2')).toBe(view('SELECT ev.x FROM t AS ev'));
    expect(renameReferences(view('SELECT ev.x FROM t ev'), 'ev', 'e2')).toBe(view('SELECT ev.x FROM t ev'));
    // The relation aliased: its name is rewritten, the alias kept.
    expect(renameReferences(view('SELECT x.a FROM ev x'), 'ev', 'e2')).toBe(view('SELECT x.a FROM e2 x'));
    expect(renameReferences(`CREATE SINK ev2 FROM v WITH (connector = 'file', ev = 'x')`, 'ev', 'e2')).toBe(`CREATE SINK ev2 FROM v WITH (connector = 'file', ev = 'x')`);
  });

  it('matches quoted names exactly and writes names that need it quoted', () => {
    expect(renameReferences(view('SELECT * FROM "Ev"'), 'Ev', 'order')).toBe(view('SELECT * FROM "order"'));
    expect(renameReferences(view('SELECT * FROM ev'), 'Ev', 'x')).toBe(view('SELECT * FROM ev'));
    expect(renameReferences(view('SELECT * FROM "ev"'), 'ev', 'New Name')).toBe(view('SELECT * FROM "New Name"'));
    expect(writtenName('plain_1')).toBe('plain_1');
    expect(writtenName('select')).toBe('"select"');
    expect(writtenName('a"b')).toBe('"a""b"');
  });

  it('rewrites to statements that read the new name and not the old', () => {
    const cases = [
      view('SELECT a.k, count(*) FROM ev a LEFT JOIN t ON a.k = t.k GROUP BY a.k'),
      view('WITH x AS (SELECT * FROM ev) SELECT * FROM x UNION ALL SELECT * FROM ev'),
      view('SELECT * FROM t WHERE EXISTS (SELECT 1 FROM ev WHERE ev.k = t.k)'),
    ];
    for (const sql of cases) {
      const stmt = parseStatement(renameReferences(sql, 'ev', 'e2'));
      if (stmt.kind !== 'create_view') throw new Error(stmt.kind);
      expect(relationsOf(stmt.query)).toContain('e2');
      expect(relationsOf(stmt.query)).not.toContain('ev');
    }
  });
});

describe('pinnedOptions', () => {
  const base = { sql: '', createdAt: 1 };
  const sink = (options: Record<string, string>): SinkEntry => ({ ...base, kind: 'sink', name: 'out', from: 'v', dependsOn: ['v'], options });
  const schema = [{ name: 'k', type: 'varchar' as const }];

  it("keeps an exactly-once Kafka sink's transactional id, a PostgreSQL sink's progress key and MQTT client ids", () => {
    expect(pinnedOptions(sink({ connector: 'kafka', topic: 't', brokers: 'h:9092' }), schema)).toEqual({ transactional_id: defaultTransactionalId('out', 't') });
    expect(defaultTransactionalId('out', 't')).toBe('sluice-sink-out-t');
    expect(pinnedOptions(sink({ connector: 'kafka', topic: 't', brokers: 'h:9092', transactional_id: 'mine' }), schema)).toEqual({});
    expect(pinnedOptions(sink({ connector: 'kafka', topic: 't', brokers: 'h:9092', delivery: 'at_least_once' }), schema)).toEqual({});
    expect(pinnedOptions(sink({ connector: 'postgres', table: 'x' }), schema)).toEqual({ progress_key: 'out' });
    expect(pinnedOptions(sink({ connector: 'postgres', table: 'x', progress_key: 'first' }), schema)).toEqual({});
    expect(pinnedOptions(sink({ connector: 'mqtt', url: 'mqtt://h', topic: 't' }), schema)).toEqual({ client_id: 'sluice-sink-out' });
    expect(pinnedOptions(sink({ connector: 'file', path: '/tmp/x' }), schema)).toEqual({});
    const source: SourceEntry = { ...base, kind: 'source', name: 'ev', schema, options: { connector: 'mqtt', url: 'mqtt://h', topic: 't' }, watermark: null };
    expect(pinnedOptions(source, schema)).toEqual({ client_id: 'sluice-ev' });
  });
});
