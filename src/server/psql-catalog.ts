/**
 * Answers for the pg_catalog queries psql's \d family sends (\d, \dt, \dm, \d NAME), made from
 * the engine catalog. sluice has no pg_catalog, so these queries are recognised by their text
 * (psql 15 and later word them this way) and answered directly; anything else goes to the engine.
 */
import type { Catalog, CatalogEntry, FunctionEntry } from '../catalog/index.js';
import { functionArguments } from '../exec/runtime/monitor.js';
import type { Field, Value } from '../common/types.js';
import { typeDisplayName } from '../common/types.js';
import type { StatementResult } from '../exec/runtime/engine.js';
import { SYSTEM_SCHEMA, SYSTEM_TABLES } from '../exec/runtime/system-tables.js';

/** OIDs of catalog objects: fixed per object for the life of the engine (creation order). */
const FIRST_OID = 16384;
const SCHEMA = 'public';
const OWNER = 'sluice';

type Relation = Exclude<CatalogEntry, { kind: 'sink' }>;

const relkindOf = (e: Relation) => (e.kind === 'view' ? 'm' : 'r');
const typeLabel = (e: Relation) => (e.kind === 'view' ? 'materialized view' : e.kind);
const oidOf = (e: Relation) => FIRST_OID + e.createdAt;

const varchar = (...names: string[]): Field[] => names.map((name) => ({ name, type: 'varchar' }));

function relations(catalog: Pick<Catalog, 'list'>): Relation[] {
  return catalog.list().filter((e): e is Relation => e.kind !== 'sink');
}

function rows(columns: Field[], data: Value[][]): StatementResult {
  return { kind: 'rows', tag: `SELECT ${data.length}`, columns, rows: data };
}

/** The regex psql built from a name pattern ('^(t.*)$'), applied to `column`, or null when none. */
function namePattern(sql: string, column: string): RegExp | null {
  const m = new RegExp(`${column.replace('.', '\\.')} OPERATOR\\(pg_catalog\\.~\\) '((?:[^']|'')*)'`).exec(sql);
  if (!m) return null;
  try {
    return new RegExp(m[1]!.replaceAll("''", "'"));
  } catch {
    return /^$/;
  }
}

function matches(sql: string, e: Relation): boolean {
  const name = namePattern(sql, 'c.relname');
  const schema = namePattern(sql, 'n.nspname');
  return (!name || name.test(e.name)) && (!schema || schema.test(SCHEMA));
}

/** `c.oid = '16385'` → the relation with that OID. */
function byOid(sql: string, column: string, catalog: Pick<Catalog, 'list'>): Relation | undefined {
  const m = new RegExp(`${column.replace('.', '\\.')} = '(\\d+)'`).exec(sql);
  if (!m) return undefined;
  return relations(catalog).find((e) => oidOf(e) === Number(m[1]));
}

// Catalog tables of features sluice does not have (indexes, constraints, policies, triggers,
// rules, statistics objects, publications, inheritance): psql asks about them for \d NAME, and
// the answer is none.
const ABSENT = /FROM pg_catalog\.pg_(index|constraint|policy|trigger|rewrite|statistic_ext|publication|inherits|partitioned_table)\b|pg_catalog\.pg_inherits\b|pg_catalog\.pg_publication/;

/**
 * The result of a psql catalog query, or null when `sql` is not one: then it goes to the engine.
 */
/** The `AS "Alias"` column names of psql's query, in order. */
function aliases(sql: string): string[] {
  return [...sql.matchAll(/\bAS "([^"]+)"/gi)].map((m) => m[1]!);
}

export function psqlCatalogResult(sql: string, catalog: Pick<Catalog, 'list' | 'listFunctions'>): StatementResult | null {
  if (!sql.includes('pg_catalog.')) return null;

  // \df: the SQL functions (CREATE FUNCTION); built-in ones live in pg_catalog, which \df leaves out.
  if (/FROM pg_catalog\.pg_proc p/.test(sql) && /as "Result data type"/.test(sql)) {
    const name = namePattern(sql, 'p.proname');
    const schema = namePattern(sql, 'n.nspname');
    const cols = aliases(sql);
    const list = catalog.listFunctions().filter((fn) => (!name || name.test(fn.name)) && (!schema || schema.test(SCHEMA))).sort((a, b) => a.name.localeCompare(b.name));
    const value = (fn: FunctionEntry, col: string): Value => {
      switch (col) {
        case 'Schema': return SCHEMA;
        case 'Name': return fn.name;
        case 'Result data type': return typeDisplayName(fn.returns);
        case 'Argument data types': return functionArguments(fn.params);
        case 'Type': return 'func';
        case 'Volatility': return fn.volatility;
        case 'Parallel': return 'unsafe';
        case 'Owner': return OWNER;
        case 'Security': return 'invoker';
        case 'Language': return 'sql';
        case 'Source code': case 'Internal name': return col === 'Source code' ? fn.bodyText : null;
        default: return null;
      }
    };
    return rows(varchar(...cols), list.map((fn) => cols.map((c) => value(fn, c))));
  }

  // \l: the one database, and \dn: the one schema.
  if (/FROM pg_catalog\.pg_database d/.test(sql) && /AS "Name"/i.test(sql)) {
    const known: Record<string, Value> = { Name: 'sluice', Owner: OWNER, Encoding: 'UTF8', Collate: 'C', Ctype: 'C', 'Locale Provider': 'libc' };
    const cols = aliases(sql);
    return rows(varchar(...cols), [cols.map((c) => known[c] ?? null)]);
  }
  if (/FROM pg_catalog\.pg_namespace n/.test(sql) && /AS "Name"/i.test(sql) && !/pg_catalog\.pg_class/.test(sql)) {
    const known: Record<string, Value> = { Name: SCHEMA, Owner: OWNER };
    const cols = aliases(sql);
    return rows(varchar(...cols), [cols.map((c) => known[c] ?? null)]);
  }

  // \d, \dt, \dm: the relation list.
  if (/as "Schema"/.test(sql) && /as "Name"/.test(sql) && /FROM pg_catalog\.pg_class c/.test(sql) && /as "Owner"/.test(sql)) {
    const kinds = /c\.relkind IN \(([^)]*)\)/.exec(sql)?.[1]?.match(/'([a-zA-Z]*)'/g)?.map((k) => k.slice(1, -1)) ?? ['r', 'm'];
    const list = relations(catalog)
      .filter((e) => kinds.includes(relkindOf(e)) && matches(sql, e))
      .sort((a, b) => a.name.localeCompare(b.name));
    // \d+ asks for more columns; sluice has no sizes or comments to show in them.
    const verbose: [string, Value][] = [
      ['Persistence', 'permanent'],
      ['Access method', null],
      ['Size', null],
      ['Description', null],
    ];
    const asked = verbose.filter(([name]) => sql.includes(`as "${name}"`));
    const listed: Value[][] = list.map((e) => [SCHEMA, e.name, typeLabel(e), OWNER, ...asked.map(([, v]) => v)]);
    // \dS (psql leaves out its filter of system schemas): the sluice.* system tables too, as views.
    if (!/n\.nspname <> 'pg_catalog'/.test(sql) && kinds.includes('v')) {
      const name = namePattern(sql, 'c.relname');
      const schema = namePattern(sql, 'n.nspname');
      for (const t of Object.keys(SYSTEM_TABLES).sort()) {
        if ((!name || name.test(t)) && (!schema || schema.test(SYSTEM_SCHEMA))) listed.push([SYSTEM_SCHEMA, t, 'view', OWNER, ...asked.map(([, v]) => v)]);
      }
    }
    return rows(varchar('Schema', 'Name', 'Type', 'Owner', ...asked.map(([name]) => name)), listed);
  }

  // \d NAME, step 1: which relations the pattern names.
  if (/^SELECT c\.oid,\s+n\.nspname,\s+c\.relname\s+FROM pg_catalog\.pg_class c/.test(sql)) {
    const list = relations(catalog)
      .filter((e) => matches(sql, e))
      .sort((a, b) => a.name.localeCompare(b.name));
    return rows(varchar('oid', 'nspname', 'relname'), list.map((e) => [String(oidOf(e)), SCHEMA, e.name]));
  }

  // \d NAME, step 2: the relation's properties.
  if (/^SELECT c\.relchecks, c\.relkind, c\.relhasindex/.test(sql)) {
    const e = byOid(sql, 'c.oid', catalog);
    const cols = varchar('relchecks', 'relkind', 'relhasindex', 'relhasrules', 'relhastriggers', 'relrowsecurity', 'relforcerowsecurity', 'relhasoids', 'relispartition', 'reloptions', 'reltablespace', 'reloftype', 'relpersistence', 'relreplident', 'amname');
    if (!e) return rows(cols, []);
    return rows(cols, [['0', relkindOf(e), 'f', 'f', 'f', 'f', 'f', 'f', 'f', '', '0', '', 'p', 'd', null]]);
  }

  // \d NAME, step 3: the columns.
  if (/^SELECT a\.attname,\s+pg_catalog\.format_type\(a\.atttypid, a\.atttypmod\),\s+\(SELECT pg_catalog\.pg_get_expr/.test(sql) && /FROM pg_catalog\.pg_attribute a\s+WHERE a\.attrelid = '\d+' AND a\.attnum > 0/.test(sql)) {
    const e = byOid(sql, 'a.attrelid', catalog);
    // \d+ asks for storage, compression, statistics target and description too.
    const verbose: [string, (f: Field) => Value][] = [
      ['a.attstorage', (f) => (f.type === 'varchar' || f.type === 'numeric' ? 'x' : 'p')],
      ['a.attcompression', () => ''],
      ['a.attstattarget', () => null],
      ['pg_catalog.col_description', () => null],
    ];
    const asked = verbose.filter(([frag]) => sql.includes(frag));
    const cols = varchar('attname', 'format_type', 'attdef', 'attnotnull', 'attcollation', 'attidentity', 'attgenerated', ...asked.map(([frag]) => frag.replace(/^.*\./, '')));
    if (!e) return rows(cols, []);
    const pk = e.kind === 'table' ? e.primaryKey : [];
    return rows(
      cols,
      e.schema.map((f) => [f.name, typeDisplayName(f.type), null, pk.includes(f.name) ? 't' : 'f', null, '', '', ...asked.map(([, value]) => value(f))]),
    );
  }

  // \d+ VIEW: the view's query.
  const viewdef = /^SELECT pg_catalog\.pg_get_viewdef\('(\d+)'::pg_catalog\.oid, true\)/.exec(sql);
  if (viewdef) {
    const e = relations(catalog).find((x) => oidOf(x) === Number(viewdef[1]));
    const query = e?.kind === 'view' ? (/\bAS\s+((?:SELECT|WITH)\b[\s\S]*)$/i.exec(e.sql)?.[1] ?? e.sql) : null;
    return rows(varchar('pg_get_viewdef'), query === null ? [] : [[query.trim().replace(/;?$/, ';')]]);
  }

  if (ABSENT.test(sql)) return rows(varchar('none'), []);
  return null;
}
