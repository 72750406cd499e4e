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

const SCHEMA = 'public';
const OWNER = 'sluice';

type Relation = Exclude<CatalogEntry, { kind: 'sink' }>;

const relkindOf = (e: Relation) => (e.kind === 'source' ? 'f' : e.kind === 'table' ? 'r' : 'm');
const typeLabel = (e: Relation) => (e.kind === 'view' ? 'materialized view' : e.kind);

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

/** The `AS "Alias"` column names of psql's query, in order. */
function aliases(sql: string): string[] {
  return [...sql.matchAll(/\bAS "([^"]+)"/gi)].map((m) => m[1]!);
}

export function psqlCatalogResult(sql: string, catalog: Pick<Catalog, 'list' | 'comments' | 'listFunctions'>): StatementResult | null {
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
  // (\di's list, with its "Table" column, is answered from the catalog tables, which hold the indexes.)
  if (/as "Schema"/.test(sql) && /as "Name"/.test(sql) && /FROM pg_catalog\.pg_class c/.test(sql) && /as "Owner"/.test(sql) && !/as "Table"/.test(sql)) {
    const kinds = /c\.relkind IN \(([^)]*)\)/.exec(sql)?.[1]?.match(/'([a-zA-Z]*)'/g)?.map((k) => k.slice(1, -1)) ?? ['r', 'm'];
    const list = relations(catalog)
      .filter((e) => kinds.includes(relkindOf(e)) && matches(sql, e))
      .sort((a, b) => a.name.localeCompare(b.name));
    // \d+ asks for more columns: sluice has no sizes to show; descriptions are COMMENT ON's.
    const verbose: [string, Value][] = [
      ['Persistence', 'permanent'],
      ['Access method', null],
      ['Size', null],
      ['Description', null],
    ];
    const asked = verbose.filter(([name]) => sql.includes(`as "${name}"`));
    const described = new Map(catalog.comments().filter((c) => c.column === null).map((c) => [c.object, c.text]));
    const listed: Value[][] = list.map((e) => [SCHEMA, e.name, typeLabel(e), OWNER, ...asked.map(([name, v]) => (name === 'Description' ? described.get(e.name) ?? null : v))]);
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

  return null;
}
