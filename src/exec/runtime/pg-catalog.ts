/**
 * PostgreSQL's catalog for sluice's objects, as tables in a DuckDB database of its own
 * (`sluice_pg`), so the introspection queries GUI clients and drivers send (pgjdbc's
 * getTables/getColumns, DBeaver's, pgAdmin's, psql's) run in DuckDB and see sources, tables and
 * materialized views in schema `public`, with PostgreSQL's type OIDs, names and shapes.
 *
 *   catalog, comments, roles, settings ──► rows (this file) ──► sluice_pg.main.pg_class, …
 *                                         refilled when their fingerprint changes
 *   client text ──► rewriteCatalogQuery ──► DuckDB, with search_path main,sluice_pg.main
 *                   (pg_catalog.X → X; information_schema.X → sluice_pg.info.X; regclass
 *                   literals, OPERATOR(pg_catalog.~), COLLATE pg_catalog.default)
 *
 * OIDs: relations are 16384 + their creation order (stable across restarts: the catalog replays
 * in that order); a table's primary key index and constraint take the next million up.
 */
import type { Catalog, CatalogEntry } from '../../catalog/index.js';
import { SUPERUSER_NAME } from '../../catalog/index.js';
import { elementType, type Field, type Schema, type SqlType, type Value } from '../../common/types.js';
import { lex, type Token } from '../../parser/index.js';
import { SYSTEM_TABLES } from './system-tables.js';
import { scrub, secretsIn } from './secrets.js';

/** The DuckDB database holding the catalog tables. */
export const PG_DB = 'sluice_pg';
/** The schema of that database holding information_schema's views. */
const INFO = `${PG_DB}.info`;

const FIRST_OID = 16384;
const INDEX_OID_OFFSET = 1_000_000;
const CONSTRAINT_OID_OFFSET = 2_000_000;
const ROLE_OID_BASE = 3_000_000;
const SUPERUSER_OID = 10;
const SESSION_ROLE_OID = 2_999_999;
const FOREIGN_SERVER_OID = 4_000_000;
const NS = { pg_catalog: 11, public: 2200, information_schema: 13000, sluice: 13100 } as const;
const CLASS_OID = { pg_class: 1259, pg_type: 1247, pg_attribute: 1249, pg_proc: 1255, pg_namespace: 2615, pg_database: 1262, pg_index: 2610, pg_constraint: 2606, pg_description: 2609, pg_authid: 1260 } as const;

/** The OID of a relation of the catalog. */
export const relationOid = (e: { createdAt: number }) => FIRST_OID + e.createdAt;

// ---------------------------------------------------------------------------------------------
// Types

interface PgType {
  readonly oid: number;
  readonly name: string;
  readonly len: number;
  readonly category: string;
  readonly display: string;
  readonly array: number;
  readonly elem: number;
  readonly byval: boolean;
  readonly align: string;
}

// oid, typname, typlen, typcategory, format_type's name, array type oid.
const BASE_TYPES: readonly [number, string, number, string, string, number][] = [
  [16, 'bool', 1, 'B', 'boolean', 1000], [17, 'bytea', -1, 'U', 'bytea', 1001], [18, 'char', 1, 'Z', '"char"', 1002],
  [19, 'name', 64, 'S', 'name', 1003], [20, 'int8', 8, 'N', 'bigint', 1016], [21, 'int2', 2, 'N', 'smallint', 1005],
  [22, 'int2vector', -1, 'A', 'int2vector', 1006], [23, 'int4', 4, 'N', 'integer', 1007], [24, 'regproc', 4, 'N', 'regproc', 1008],
  [25, 'text', -1, 'S', 'text', 1009], [26, 'oid', 4, 'N', 'oid', 1028], [30, 'oidvector', -1, 'A', 'oidvector', 1013],
  [114, 'json', -1, 'U', 'json', 199], [700, 'float4', 4, 'N', 'real', 1021], [701, 'float8', 8, 'N', 'double precision', 1022],
  [1042, 'bpchar', -1, 'S', 'character', 1014], [1043, 'varchar', -1, 'S', 'character varying', 1015], [1082, 'date', 4, 'D', 'date', 1182],
  [1083, 'time', 8, 'D', 'time without time zone', 1183], [1114, 'timestamp', 8, 'D', 'timestamp without time zone', 1115],
  [1184, 'timestamptz', 8, 'D', 'timestamp with time zone', 1185], [1186, 'interval', 16, 'T', 'interval', 1187],
  [1700, 'numeric', -1, 'N', 'numeric', 1231], [2205, 'regclass', 4, 'N', 'regclass', 2210], [2206, 'regtype', 4, 'N', 'regtype', 2211],
  [2950, 'uuid', 16, 'U', 'uuid', 2951], [3802, 'jsonb', -1, 'U', 'jsonb', 3807],
];

const PG_TYPES: readonly PgType[] = [
  ...BASE_TYPES.map(([oid, name, len, category, display, array]): PgType => ({
    oid, name, len, category, display, array, elem: 0, byval: len > 0 && len <= 8, align: len === 8 ? 'd' : len === 2 ? 's' : len === 1 || len === 64 ? 'c' : 'i',
  })),
  ...BASE_TYPES.map(([oid, name, , , display, array]): PgType => ({
    oid: array, name: `_${name}`, len: -1, category: 'A', display: `${display}[]`, array: 0, elem: oid, byval: false, align: 'i',
  })),
  { oid: 705, name: 'unknown', len: -2, category: 'X', display: 'unknown', array: 0, elem: 0, byval: false, align: 'c' },
  { oid: 2249, name: 'record', len: -1, category: 'P', display: 'record', array: 2287, elem: 0, byval: false, align: 'd' },
];

/**
 * Where a statement's text starts after whitespace and comments. Scanned by hand: the regex
 * this replaces backtracked exponentially over a script opening with `--` comment lines.
 */
function leadingTrivia(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}

/** The pg_type OID of a sluice column type. */
export function pgTypeOid(t: SqlType): number {
  switch (t) {
    case 'boolean': return 16;
    case 'int': return 23;
    case 'bigint': return 20;
    case 'double': return 701;
    case 'numeric': return 1700;
    case 'varchar': return 1043;
    case 'bytea': return 17;
    case 'timestamp': return 1114;
    case 'timestamptz': return 1184;
    case 'date': return 1082;
    case 'time': return 1083;
    case 'interval': return 1186;
    case 'null': return 25;
    case 'jsonb': return 3802;
    default: return PG_TYPES.find((x) => x.oid === pgTypeOid(elementType(t)))!.array;
  }
}

const typeByOid = new Map(PG_TYPES.map((t) => [t.oid, t]));

// ---------------------------------------------------------------------------------------------
// Tables

type Col = readonly [name: string, duckType: string];
const cols = (spec: string): Col[] =>
  spec.trim().split(/\s*,\s*/).map((c) => {
    const [name, type] = c.split(/\s+/) as [string, string | undefined];
    return [name, (type ?? 'v').replace(/^o$/, 'BIGINT').replace(/^v$/, 'VARCHAR').replace(/^b$/, 'BOOLEAN').replace(/^i$/, 'INTEGER').replace(/^s$/, 'SMALLINT').replace(/^f$/, 'DOUBLE').replace(/^va$/, 'VARCHAR[]').replace(/^oa$/, 'BIGINT[]').replace(/^sa$/, 'SMALLINT[]')];
  });

/** Every table of `sluice_pg.main`, by name: its columns (PostgreSQL 15's, in order). */
export const TABLES: Readonly<Record<string, readonly Col[]>> = {
  pg_namespace: cols('oid o, nspname, nspowner o, nspacl va'),
  pg_class: cols(`oid o, relname, relnamespace o, reltype o, reloftype o, relowner o, relam o, relfilenode o, reltablespace o, relpages i,
    reltuples f, relallvisible i, reltoastrelid o, relhasindex b, relisshared b, relpersistence, relkind, relnatts s, relchecks s, relhasrules b,
    relhastriggers b, relhassubclass b, relrowsecurity b, relforcerowsecurity b, relispopulated b, relreplident, relispartition b, relrewrite o,
    relfrozenxid o, relminmxid o, relacl va, reloptions va, relpartbound`),
  pg_attribute: cols(`attrelid o, attname, atttypid o, attstattarget i, attlen s, attnum s, attndims i, attcacheoff i, atttypmod i, attbyval b,
    attalign, attstorage, attcompression, attnotnull b, atthasdef b, atthasmissing b, attidentity, attgenerated, attisdropped b, attislocal b,
    attinhcount i, attcollation o, attacl va, attoptions va, attfdwoptions va, attmissingval`),
  pg_type: cols(`oid o, typname, typnamespace o, typowner o, typlen s, typbyval b, typtype, typcategory, typispreferred b, typisdefined b,
    typdelim, typrelid o, typsubscript, typelem o, typarray o, typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze,
    typalign, typstorage, typnotnull b, typbasetype o, typtypmod i, typndims i, typcollation o, typdefaultbin, typdefault, typacl va`),
  pg_index: cols(`indexrelid o, indrelid o, indnatts s, indnkeyatts s, indisunique b, indnullsnotdistinct b, indisprimary b, indisexclusion b,
    indimmediate b, indisclustered b, indisvalid b, indcheckxmin b, indisready b, indislive b, indisreplident b, indkey sa, indcollation oa,
    indclass oa, indoption sa, indexprs, indpred`),
  pg_constraint: cols(`oid o, conname, connamespace o, contype, condeferrable b, condeferred b, convalidated b, conrelid o, contypid o,
    conindid o, conparentid o, confrelid o, confupdtype, confdeltype, confmatchtype, conislocal b, coninhcount i, connoinherit b, conkey sa,
    confkey sa, conpfeqop oa, conppeqop oa, conffeqop oa, confdelsetcols sa, conexclop oa, conbin`),
  pg_description: cols('objoid o, classoid o, objsubid i, description'),
  pg_shdescription: cols('objoid o, classoid o, description'),
  sluice_roles: cols(`oid o, rolname, rolsuper b, rolinherit b, rolcreaterole b, rolcreatedb b, rolcanlogin b, rolreplication b, rolbypassrls b,
    rolconnlimit i, rolpassword, rolvaliduntil`),
  pg_auth_members: cols('oid o, roleid o, member o, grantor o, admin_option b'),
  pg_settings: cols(`name, setting, unit, category, short_desc, extra_desc, context, vartype, source, min_val, max_val, enumvals va, boot_val,
    reset_val, sourcefile, sourceline i, pending_restart b`),
  pg_am: cols('oid o, amname, amhandler, amtype'),
  pg_tablespace: cols('oid o, spcname, spcowner o, spcacl va, spcoptions va'),
  pg_proc: cols(`oid o, proname, pronamespace o, proowner o, prolang o, procost f, prorows f, provariadic o, prosupport, prokind, prosecdef b,
    proleakproof b, proisstrict b, proretset b, provolatile, proparallel, pronargs s, pronargdefaults s, prorettype o, proargtypes oa,
    proallargtypes oa, proargmodes va, proargnames va, proargdefaults, protrftypes oa, prosrc, probin, prosqlbody, proconfig va, proacl va`),
  pg_attrdef: cols('oid o, adrelid o, adnum s, adbin'),
  pg_inherits: cols('inhrelid o, inhparent o, inhseqno i, inhdetachpending b'),
  pg_trigger: cols('oid o, tgrelid o, tgparentid o, tgname, tgfoid o, tgtype s, tgenabled, tgisinternal b, tgconstrrelid o, tgconstrindid o, tgconstraint o, tgdeferrable b, tginitdeferred b, tgnargs s, tgattr sa, tgargs, tgqual, tgoldtable, tgnewtable'),
  pg_rewrite: cols('oid o, rulename, ev_class o, ev_type, ev_enabled, is_instead b, ev_qual, ev_action'),
  pg_depend: cols('classid o, objid o, objsubid i, refclassid o, refobjid o, refobjsubid i, deptype'),
  pg_enum: cols('oid o, enumtypid o, enumsortorder f, enumlabel'),
  pg_extension: cols('oid o, extname, extowner o, extnamespace o, extrelocatable b, extversion, extconfig oa, extcondition va'),
  pg_collation: cols('oid o, collname, collnamespace o, collowner o, collprovider, collisdeterministic b, collencoding i, collcollate, collctype, colliculocale, collversion'),
  pg_language: cols('oid o, lanname, lanowner o, lanispl b, lanpltrusted b, lanplcallfoid o, laninline o, lanvalidator o, lanacl va'),
  pg_sequence: cols('seqrelid o, seqtypid o, seqstart o, seqincrement o, seqmax o, seqmin o, seqcache o, seqcycle b'),
  pg_foreign_table: cols('ftrelid o, ftserver o, ftoptions va'),
  pg_foreign_server: cols('oid o, srvname, srvowner o, srvfdw o, srvtype, srvversion, srvacl va, srvoptions va'),
  pg_foreign_data_wrapper: cols('oid o, fdwname, fdwowner o, fdwhandler o, fdwvalidator o, fdwacl va, fdwoptions va'),
  pg_policy: cols('oid o, polname, polrelid o, polcmd, polpermissive b, polroles oa, polqual, polwithcheck'),
  pg_statistic_ext: cols('oid o, stxrelid o, stxname, stxnamespace o, stxowner o, stxstattarget i, stxkeys sa, stxkind va, stxexprs'),
  pg_publication: cols('oid o, pubname, pubowner o, puballtables b, pubinsert b, pubupdate b, pubdelete b, pubtruncate b, pubviaroot b'),
  pg_publication_namespace: cols('oid o, pnpubid o, pnnspid o'),
  pg_publication_rel: cols('oid o, prpubid o, prrelid o, prqual, prattrs sa'),
  pg_partitioned_table: cols('partrelid o, partstrat, partnatts s, partdefid o, partattrs sa, partclass oa, partcollation oa, partexprs'),
  pg_event_trigger: cols('oid o, evtname, evtevent, evtowner o, evtfoid o, evtenabled, evttags va'),
  pg_operator: cols('oid o, oprname, oprnamespace o, oprowner o, oprkind, oprcanmerge b, oprcanhash b, oprleft o, oprright o, oprresult o, oprcom o, oprnegate o, oprcode, oprrest, oprjoin'),
  pg_cast: cols('oid o, castsource o, casttarget o, castfunc o, castcontext, castmethod'),
  pg_opclass: cols('oid o, opcmethod o, opcname, opcnamespace o, opcowner o, opcfamily o, opcintype o, opcdefault b, opckeytype o'),
  pg_aggregate: cols('aggfnoid o, aggkind, aggnumdirectargs s, aggtransfn, aggfinalfn, aggtranstype o, agginitval'),
  pg_range: cols('rngtypid o, rngsubtype o, rngmultitypid o, rngcollation o, rngsubopc o, rngcanonical, rngsubdiff'),
  pg_init_privs: cols('objoid o, classoid o, objsubid i, privtype, initprivs va'),
  pg_stat_activity: cols(`datid o, datname, pid i, leader_pid i, usesysid o, usename, application_name, client_addr, client_hostname, client_port i,
    backend_start, xact_start, query_start, state_change, wait_event_type, wait_event, state, backend_xid, backend_xmin, query_id o, query, backend_type`),
  /** Text of each materialized view's query (pg_get_viewdef, pg_matviews, information_schema.views). */
  sluice_viewdefs: cols('oid o, definition'),
};

/** Views of `sluice_pg.main` over the tables (PostgreSQL's system views). */
const VIEWS: Readonly<Record<string, string>> = {
  // The users, and the role the session is connected as (a server without --password lets any name in, as the superuser).
  pg_authid: `SELECT * FROM ${PG_DB}.main.sluice_roles UNION ALL
    SELECT ${SESSION_ROLE_OID}::BIGINT, getvariable('sluice_user'), getvariable('sluice_superuser'), true, getvariable('sluice_superuser'),
      getvariable('sluice_superuser'), true, getvariable('sluice_superuser'), getvariable('sluice_superuser'), -1, NULL, NULL
    WHERE getvariable('sluice_user') IS NOT NULL AND getvariable('sluice_user') NOT IN (SELECT rolname FROM ${PG_DB}.main.sluice_roles)`,
  pg_database: `SELECT 5::BIGINT AS oid, coalesce(getvariable('sluice_database'), 'sluice') AS datname, ${SUPERUSER_OID}::BIGINT AS datdba,
    6 AS encoding, 'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, -1 AS datconnlimit, 0::BIGINT AS datfrozenxid,
    0::BIGINT AS datminmxid, 1663::BIGINT AS dattablespace, 'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale,
    NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl`,
  pg_roles: `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolconnlimit, '********' AS rolpassword,
    rolvaliduntil, rolbypassrls, NULL::VARCHAR[] AS rolconfig, oid FROM ${PG_DB}.main.pg_authid`,
  pg_user: `SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper, rolreplication AS userepl,
    rolbypassrls AS usebypassrls, '********' AS passwd, rolvaliduntil AS valuntil, NULL::VARCHAR[] AS useconfig FROM ${PG_DB}.main.pg_authid WHERE rolcanlogin`,
  pg_tables: `SELECT n.nspname AS schemaname, c.relname AS tablename, '${SUPERUSER_NAME}' AS tableowner, NULL::VARCHAR AS tablespace,
    c.relhasindex AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity
    FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')`,
  pg_matviews: `SELECT n.nspname AS schemaname, c.relname AS matviewname, '${SUPERUSER_NAME}' AS matviewowner, NULL::VARCHAR AS tablespace,
    false AS hasindexes, true AS ispopulated, d.definition
    FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN ${PG_DB}.main.sluice_viewdefs d ON d.oid = c.oid
    WHERE c.relkind = 'm'`,
  pg_views: `SELECT n.nspname AS schemaname, c.relname AS viewname, '${SUPERUSER_NAME}' AS viewowner, d.definition
    FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN ${PG_DB}.main.sluice_viewdefs d ON d.oid = c.oid
    WHERE c.relkind = 'v'`,
  pg_indexes: `SELECT n.nspname AS schemaname, t.relname AS tablename, c.relname AS indexname, NULL::VARCHAR AS tablespace,
    'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || c.relname || ' ON ' || n.nspname || '.' || t.relname || ' USING btree (' ||
    (SELECT string_agg(a.attname, ', ' ORDER BY k.i) FROM (SELECT unnest(i.indkey) AS attnum, generate_subscripts(i.indkey, 1) AS i) k
      JOIN ${PG_DB}.main.pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) || ')' AS indexdef
    FROM ${PG_DB}.main.pg_index i JOIN ${PG_DB}.main.pg_class c ON c.oid = i.indexrelid JOIN ${PG_DB}.main.pg_class t ON t.oid = i.indrelid
    JOIN ${PG_DB}.main.pg_namespace n ON n.oid = t.relnamespace`,
  pg_stat_user_tables: `SELECT c.oid AS relid, n.nspname AS schemaname, c.relname, 0::BIGINT AS seq_scan, 0::BIGINT AS seq_tup_read,
    0::BIGINT AS idx_scan, 0::BIGINT AS idx_tup_fetch, 0::BIGINT AS n_tup_ins, 0::BIGINT AS n_tup_upd, 0::BIGINT AS n_tup_del,
    0::BIGINT AS n_tup_hot_upd, 0::BIGINT AS n_live_tup, 0::BIGINT AS n_dead_tup
    FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname = 'public'`,
};

const catalogName = `coalesce(getvariable('sluice_database'), 'sluice')`;

/** information_schema's views (in `sluice_pg.info`). */
const INFO_VIEWS: Readonly<Record<string, string>> = {
  schemata: `SELECT ${catalogName} AS catalog_name, nspname AS schema_name, '${SUPERUSER_NAME}' AS schema_owner, NULL::VARCHAR AS default_character_set_catalog,
    NULL::VARCHAR AS default_character_set_schema, NULL::VARCHAR AS default_character_set_name, NULL::VARCHAR AS sql_path FROM ${PG_DB}.main.pg_namespace`,
  tables: `SELECT ${catalogName} AS table_catalog, n.nspname AS table_schema, c.relname AS table_name,
    CASE c.relkind WHEN 'r' THEN 'BASE TABLE' WHEN 'f' THEN 'FOREIGN' ELSE 'VIEW' END AS table_type,
    NULL::VARCHAR AS self_referencing_column_name, NULL::VARCHAR AS reference_generation, NULL::VARCHAR AS user_defined_type_catalog,
    NULL::VARCHAR AS user_defined_type_schema, NULL::VARCHAR AS user_defined_type_name,
    CASE WHEN c.relkind = 'r' AND n.nspname = 'public' THEN 'YES' ELSE 'NO' END AS is_insertable_into, 'NO' AS is_typed, NULL::VARCHAR AS commit_action
    FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v', 'm', 'f')`,
  columns: `SELECT ${catalogName} AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, a.attname AS column_name,
    a.attnum::INTEGER AS ordinal_position, NULL::VARCHAR AS column_default, CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable,
    CASE WHEN t.typcategory = 'A' THEN 'ARRAY' ELSE ${PG_DB}.main.format_type(a.atttypid, a.atttypmod) END AS data_type,
    NULL::INTEGER AS character_maximum_length, CASE WHEN t.oid IN (25, 1043) THEN 1073741824 END AS character_octet_length,
    CASE t.oid WHEN 20 THEN 64 WHEN 23 THEN 32 WHEN 21 THEN 16 WHEN 701 THEN 53 WHEN 700 THEN 24 END AS numeric_precision,
    CASE WHEN t.oid IN (20, 21, 23, 700, 701, 1700) THEN 2 END AS numeric_precision_radix, CASE WHEN t.oid IN (20, 21, 23) THEN 0 END AS numeric_scale,
    CASE WHEN t.oid IN (1082) THEN 0 WHEN t.oid IN (1083, 1114, 1184, 1186) THEN 6 END AS datetime_precision, NULL::VARCHAR AS interval_type,
    NULL::INTEGER AS interval_precision, NULL::VARCHAR AS character_set_catalog, NULL::VARCHAR AS character_set_schema, NULL::VARCHAR AS character_set_name,
    NULL::VARCHAR AS collation_catalog, NULL::VARCHAR AS collation_schema, NULL::VARCHAR AS collation_name, NULL::VARCHAR AS domain_catalog,
    NULL::VARCHAR AS domain_schema, NULL::VARCHAR AS domain_name, ${catalogName} AS udt_catalog, 'pg_catalog' AS udt_schema, t.typname AS udt_name,
    NULL::VARCHAR AS scope_catalog, NULL::VARCHAR AS scope_schema, NULL::VARCHAR AS scope_name, NULL::INTEGER AS maximum_cardinality,
    a.attnum::VARCHAR AS dtd_identifier, 'NO' AS is_self_referencing, 'NO' AS is_identity, NULL::VARCHAR AS identity_generation,
    NULL::VARCHAR AS identity_start, NULL::VARCHAR AS identity_increment, NULL::VARCHAR AS identity_maximum, NULL::VARCHAR AS identity_minimum,
    NULL::VARCHAR AS identity_cycle, 'NEVER' AS is_generated, NULL::VARCHAR AS generation_expression,
    CASE WHEN c.relkind = 'r' AND n.nspname = 'public' THEN 'YES' ELSE 'NO' END AS is_updatable
    FROM ${PG_DB}.main.pg_attribute a JOIN ${PG_DB}.main.pg_class c ON c.oid = a.attrelid JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace
    JOIN ${PG_DB}.main.pg_type t ON t.oid = a.atttypid WHERE a.attnum > 0 AND c.relkind IN ('r', 'v', 'm', 'f')`,
  views: `SELECT ${catalogName} AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, d.definition AS view_definition,
    'NONE' AS check_option, 'NO' AS is_updatable, 'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable, 'NO' AS is_trigger_deletable,
    'NO' AS is_trigger_insertable_into
    FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN ${PG_DB}.main.sluice_viewdefs d ON d.oid = c.oid
    WHERE c.relkind IN ('v', 'm')`,
  table_constraints: `SELECT ${catalogName} AS constraint_catalog, n.nspname AS constraint_schema, k.conname AS constraint_name,
    ${catalogName} AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, 'PRIMARY KEY' AS constraint_type, 'NO' AS is_deferrable,
    'NO' AS initially_deferred, 'YES' AS enforced, NULL::VARCHAR AS nulls_distinct
    FROM ${PG_DB}.main.pg_constraint k JOIN ${PG_DB}.main.pg_class c ON c.oid = k.conrelid JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace`,
  key_column_usage: `SELECT ${catalogName} AS constraint_catalog, n.nspname AS constraint_schema, k.conname AS constraint_name,
    ${catalogName} AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, a.attname AS column_name, u.i::INTEGER AS ordinal_position,
    NULL::INTEGER AS position_in_unique_constraint
    FROM ${PG_DB}.main.pg_constraint k JOIN ${PG_DB}.main.pg_class c ON c.oid = k.conrelid JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace,
    (SELECT unnest(k.conkey) AS attnum, generate_subscripts(k.conkey, 1) AS i) u
    JOIN ${PG_DB}.main.pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum`,
  routines: `SELECT NULL::VARCHAR AS specific_catalog, NULL::VARCHAR AS specific_schema, NULL::VARCHAR AS specific_name, NULL::VARCHAR AS routine_catalog,
    NULL::VARCHAR AS routine_schema, NULL::VARCHAR AS routine_name, NULL::VARCHAR AS routine_type, NULL::VARCHAR AS data_type WHERE false`,
  character_sets: `SELECT NULL::VARCHAR AS character_set_catalog, NULL::VARCHAR AS character_set_schema, 'UTF8' AS character_set_name,
    'UCS' AS character_repertoire, 'UTF8' AS form_of_use, ${catalogName} AS default_collate_catalog, 'pg_catalog' AS default_collate_schema,
    'C' AS default_collate_name`,
  sequences: `SELECT NULL::VARCHAR AS sequence_catalog, NULL::VARCHAR AS sequence_schema, NULL::VARCHAR AS sequence_name WHERE false`,
};

/** PostgreSQL's catalog functions the queries call, as DuckDB macros in `sluice_pg.main`. */
const MACROS: readonly string[] = [
  `format_type(typ, mod) AS (SELECT display FROM ${PG_DB}.main.sluice_type_names WHERE oid = typ)`,
  `pg_get_userbyid(id) AS coalesce((SELECT rolname FROM ${PG_DB}.main.pg_authid WHERE oid = id), 'unknown (OID=' || id || ')')`,
  `obj_description(id, cls := NULL) AS (SELECT description FROM ${PG_DB}.main.pg_description d WHERE d.objoid = id AND d.objsubid = 0 LIMIT 1)`,
  `col_description(id, num) AS (SELECT description FROM ${PG_DB}.main.pg_description d WHERE d.objoid = id AND d.objsubid = num LIMIT 1)`,
  `shobj_description(id, cls) AS NULL::VARCHAR`,
  `pg_get_viewdef(id, pretty := false) AS (SELECT definition FROM ${PG_DB}.main.sluice_viewdefs WHERE oid = id)`,
  `pg_get_expr(expr, rel, pretty := false) AS NULL::VARCHAR`,
  `pg_get_indexdef(id, col := 0, pretty := false) AS (SELECT indexdef FROM ${PG_DB}.main.pg_indexes x JOIN ${PG_DB}.main.pg_class c ON c.relname = x.indexname WHERE c.oid = id)`,
  `pg_get_constraintdef(id, pretty := false) AS (SELECT 'PRIMARY KEY (' || (SELECT string_agg(a.attname, ', ') FROM ${PG_DB}.main.pg_attribute a WHERE a.attrelid = k.conrelid AND list_contains(k.conkey, a.attnum)) || ')' FROM ${PG_DB}.main.pg_constraint k WHERE k.oid = id)`,
  `pg_get_function_result(id) AS NULL::VARCHAR`,
  `pg_get_function_arguments(id) AS NULL::VARCHAR`,
  `pg_get_function_identity_arguments(id) AS NULL::VARCHAR`,
  `pg_get_triggerdef(id, pretty := false) AS NULL::VARCHAR`,
  `pg_get_partkeydef(id) AS NULL::VARCHAR`,
  `pg_get_statisticsobjdef_columns(id) AS NULL::VARCHAR`,
  `pg_get_serial_sequence(t, c) AS NULL::VARCHAR`,
  `pg_table_is_visible(id) AS true`,
  `pg_type_is_visible(id) AS true`,
  `pg_function_is_visible(id) AS true`,
  `pg_encoding_to_char(e) AS 'UTF8'`,
  `pg_relation_size(id, fork := 'main') AS 0::BIGINT`,
  `pg_total_relation_size(id) AS 0::BIGINT`,
  `pg_table_size(id) AS 0::BIGINT`,
  `pg_indexes_size(id) AS 0::BIGINT`,
  `pg_database_size(d) AS 0::BIGINT`,
  `pg_is_in_recovery() AS false`,
  `pg_relation_is_publishable(id) AS false`,
  `pg_stat_get_numscans(id) AS 0::BIGINT`,
  `pg_backend_pid() AS 0`,
  `pg_postmaster_start_time() AS now()`,
  `pg_tablespace_location(id) AS ''`,
  `txid_current() AS 1::BIGINT`,
  `quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s ELSE '"' || replace(s, '"', '""') || '"' END`,
  `array_remove(a, x) AS list_filter(a, e -> e IS DISTINCT FROM x)`,
  `array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END`,
  `array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END`,
  `has_table_privilege(a, b, c := NULL) AS true`,
  `has_schema_privilege(a, b, c := NULL) AS true`,
  `has_database_privilege(a, b, c := NULL) AS true`,
  `has_column_privilege(a, b, c, d := NULL) AS true`,
  `has_function_privilege(a, b, c := NULL) AS true`,
  `has_sequence_privilege(a, b, c := NULL) AS true`,
  `pg_has_role(a, b, c := NULL) AS true`,
  `sluice_regclass(name) AS coalesce(TRY_CAST(name AS BIGINT), (SELECT c.oid FROM ${PG_DB}.main.pg_class c JOIN ${PG_DB}.main.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = CASE WHEN contains(name::VARCHAR, '.') THEN trim(split_part(name::VARCHAR, '.', 2), '"') ELSE trim(name::VARCHAR, '"') END
    AND (NOT contains(name::VARCHAR, '.') OR n.nspname = trim(split_part(name::VARCHAR, '.', 1), '"')) ORDER BY c.relnamespace = ${NS.public} DESC LIMIT 1))`,
  `sluice_regproc(name) AS regexp_replace(name::VARCHAR, '^pg_catalog\\.', '')`,
  `current_schemas(implicit) AS CASE WHEN implicit THEN ['pg_catalog', 'public'] ELSE ['public'] END`,
  `sluice_regtype(name) AS coalesce(TRY_CAST(name AS BIGINT), (SELECT oid FROM ${PG_DB}.main.pg_type WHERE typname = regexp_replace(name::VARCHAR, '^pg_catalog\\.', '')))`,
  `sluice_regnamespace(name) AS coalesce(TRY_CAST(name AS BIGINT), (SELECT oid FROM ${PG_DB}.main.pg_namespace WHERE nspname = name::VARCHAR))`,
  `sluice_regrole(name) AS coalesce(TRY_CAST(name AS BIGINT), (SELECT oid FROM ${PG_DB}.main.pg_authid WHERE rolname = name::VARCHAR))`,
  `pg_options_to_table(opts) AS TABLE SELECT split_part(o, '=', 1) AS option_name, substr(o, strpos(o, '=') + 1) AS option_value FROM (SELECT unnest(opts) AS o)`,
  `quote_literal(s) AS '''' || replace(s::VARCHAR, '''', '''''') || ''''`,
  `_pg_expandarray(a) AS unnest(list_transform(generate_series(1, len(a)), i -> {'x': a[i], 'n': i}))`,
];

/** Every name a query can reach through `pg_catalog.` (tables, views and macros of ours). */
const PG_NAMES = new Set([...Object.keys(TABLES), ...Object.keys(VIEWS)]);
const INFO_NAMES = new Set(Object.keys(INFO_VIEWS));
const MACRO_NAMES = new Set(MACROS.map((m) => /^(\w+)/.exec(m)![1]!));

/** Statements creating the `sluice_pg` database: tables, views, macros, and its fixed rows. */
export function pgCatalogSetup(): string[] {
  const out = [`ATTACH ':memory:' AS ${PG_DB}`, `CREATE SCHEMA ${INFO}`];
  for (const [name, c] of Object.entries(TABLES)) out.push(`CREATE TABLE ${PG_DB}.main.${name} (${c.map(([n, t]) => `${n} ${t}`).join(', ')})`);
  out.push(`CREATE TABLE ${PG_DB}.main.sluice_type_names (oid BIGINT, display VARCHAR)`);
  for (const [name, sql] of Object.entries(VIEWS)) out.push(`CREATE VIEW ${PG_DB}.main.${name} AS ${sql}`);
  for (const m of MACROS) out.push(`CREATE MACRO ${PG_DB}.main.${m}`);
  for (const [name, sql] of Object.entries(INFO_VIEWS)) out.push(`CREATE VIEW ${INFO}.${name} AS ${sql}`);
  out.push(insertSql('sluice_type_names', PG_TYPES.map((t) => [t.oid, t.display])));
  out.push(insertSql('pg_type', PG_TYPES.map((t) => [
    t.oid, t.name, NS.pg_catalog, SUPERUSER_OID, t.len, t.byval, t.category === 'P' ? 'p' : 'b', t.category, false, true, ',', 0,
    t.elem ? 'array_subscript_handler' : '-', t.elem, t.array, ...(t.elem ? ['array_in', 'array_out', 'array_recv', 'array_send'] : [`${t.name}in`, `${t.name}out`, `${t.name}recv`, `${t.name}send`]), '-', '-', '-',
    t.align, t.len === -1 ? 'x' : 'p', false, 0, -1, 0, t.category === 'S' ? 100 : 0, null, null, null,
  ])));
  out.push(insertSql('pg_namespace', Object.entries(NS).map(([name, oid]) => [oid, name, SUPERUSER_OID, null])));
  out.push(insertSql('pg_am', [[2, 'heap', 'heap_tableam_handler', 't'], [403, 'btree', 'bthandler', 'i']]));
  out.push(insertSql('pg_tablespace', [[1663, 'pg_default', SUPERUSER_OID, null, null], [1664, 'pg_global', SUPERUSER_OID, null, null]]));
  out.push(insertSql('pg_language', [[12, 'internal', SUPERUSER_OID, false, false, 0, 0, 0, null], [14, 'sql', SUPERUSER_OID, false, true, 0, 0, 0, null]]));
  out.push(insertSql('pg_collation', [[100, 'default', NS.pg_catalog, SUPERUSER_OID, 'd', true, -1, null, null, null, null], [950, 'C', NS.pg_catalog, SUPERUSER_OID, 'c', true, -1, 'C', 'C', null, null]]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rows of the catalog

/** What the catalog tables are made from. */
export interface CatalogSource {
  readonly catalog: Pick<Catalog, 'list' | 'comments' | 'indexes'> & { readonly roles: { names(): string[] } };
  /** The settings pg_settings lists: name → current value. */
  readonly settings: () => readonly (readonly [string, string, string])[];
}

type Relation = Exclude<CatalogEntry, { kind: 'sink' }>;

interface RelationRow {
  readonly oid: number;
  readonly name: string;
  readonly ns: number;
  readonly relkind: string;
  readonly schema: Schema;
  readonly primaryKey: readonly string[];
  readonly definition: string | null;
}

/** sluice's relation kinds as pg_class.relkind: a source reads from outside, as a foreign table does. */
export function relkindOf(e: Relation): string {
  switch (e.kind) {
    case 'table': return 'r';
    case 'source': return 'f';
    case 'view':
    case 'model': return 'm';
  }
}

/** The query of a materialized view's statement (what pg_get_viewdef shows). */
export function viewQuery(sql: string): string {
  return (/\bAS\s+((?:SELECT|WITH)\b[\s\S]*)$/i.exec(sql)?.[1] ?? sql).trim().replace(/;?$/, ';');
}

function relationRows(src: CatalogSource): RelationRow[] {
  const user = src.catalog.list().filter((e): e is Relation => e.kind !== 'sink').map((e): RelationRow => ({
    oid: relationOid(e), name: e.name, ns: NS.public, relkind: relkindOf(e), schema: e.schema,
    primaryKey: e.kind === 'table' ? e.primaryKey : [], definition: e.kind === 'view' || e.kind === 'model' ? viewQuery(e.sql) : null,
  }));
  let next = 12000;
  const system = Object.entries(SYSTEM_TABLES).map(([name, t]): RelationRow => ({ oid: next++, name, ns: NS.sluice, relkind: 'v', schema: t.schema, primaryKey: [], definition: null }));
  const fixed = Object.entries(CLASS_OID).map(([name, oid]) => [name, oid] as const);
  const catalogRel = [...PG_NAMES].filter((n) => !n.startsWith('sluice_')).map((name): RelationRow => ({
    oid: fixed.find(([n]) => n === name)?.[1] ?? next++, name, ns: NS.pg_catalog, relkind: name in VIEWS ? 'v' : 'r', schema: [], primaryKey: [], definition: null,
  }));
  const info = [...INFO_NAMES].map((name): RelationRow => ({ oid: next++, name, ns: NS.information_schema, relkind: 'v', schema: [], primaryKey: [], definition: null }));
  return [...user, ...system, ...catalogRel, ...info];
}

const STORAGE_PLAIN = new Set([16, 20, 21, 23, 700, 701, 1082, 1083, 1114, 1184, 1186]);

/** The rows of every table refilled from the catalog, by table. */
export function catalogRows(src: CatalogSource): Record<string, Value[][]> {
  const rels = relationRows(src);
  const pgClass: Value[][] = [];
  const pgAttribute: Value[][] = [];
  const pgIndex: Value[][] = [];
  const pgConstraint: Value[][] = [];
  const viewdefs: Value[][] = [];
  for (const r of rels) {
    const hasPk = r.primaryKey.length > 0;
    pgClass.push(classRow(r.oid, r.name, r.ns, r.relkind, r.schema.length, hasPk));
    r.schema.forEach((f, i) => pgAttribute.push(attributeRow(r.oid, f, i + 1, r.primaryKey.includes(f.name))));
    if (r.definition !== null) viewdefs.push([r.oid, r.definition]);
    if (!hasPk) continue;
    const idx = r.oid + INDEX_OID_OFFSET;
    const keys = r.primaryKey.map((k) => r.schema.findIndex((f) => f.name === k) + 1);
    pgClass.push(classRow(idx, `${r.name}_pkey`, r.ns, 'i', keys.length, false));
    keys.forEach((k, i) => pgAttribute.push(attributeRow(idx, r.schema[k - 1]!, i + 1, true)));
    pgIndex.push([idx, r.oid, keys.length, keys.length, true, false, true, false, true, false, true, false, true, true, false, keys,
      keys.map(() => 0), keys.map(() => 0), keys.map(() => 0), null, null]);
    pgConstraint.push([r.oid + CONSTRAINT_OID_OFFSET, `${r.name}_pkey`, r.ns, 'p', false, false, true, r.oid, 0, idx, 0, 0, ' ', ' ', ' ', true, 0, true,
      keys, null, null, null, null, null, null, null]);
  }
  const byName = new Map(rels.filter((r) => r.ns === NS.public).map((r) => [r.name, r]));
  // CREATE INDEX's indexes (an expression key is attnum 0, as in PostgreSQL).
  for (const ix of src.catalog.indexes()) {
    const r = byName.get(ix.table);
    if (!r) continue;
    const oid = relationOid(ix);
    const keys = ix.keys.map((k) => r.schema.findIndex((f) => f.name === k) + 1);
    pgClass.push(classRow(oid, ix.name, r.ns, 'i', keys.length, false));
    keys.forEach((k, i) => { if (k > 0) pgAttribute.push(attributeRow(oid, r.schema[k - 1]!, i + 1, false)); });
    pgIndex.push([oid, r.oid, keys.length, keys.length, ix.unique, false, false, false, true, false, true, false, true, true, false, keys,
      keys.map(() => 0), keys.map(() => 0), keys.map(() => 0), null, null]);
  }
  const descriptions: Value[][] = [];
  for (const c of src.catalog.comments()) {
    const r = byName.get(c.object);
    if (!r) continue;
    const sub = c.column === null ? 0 : r.schema.findIndex((f) => f.name === c.column) + 1;
    if (c.column !== null && sub === 0) continue;
    descriptions.push([r.oid, CLASS_OID.pg_class, sub, c.text]);
  }
  // A source is a foreign table whose server is its connector, with its options (secrets redacted).
  const sources = src.catalog.list().filter((e) => e.kind === 'source');
  const connectors = [...new Set(sources.map((e) => e.options.connector ?? 'unknown'))].sort();
  const servers: Value[][] = connectors.map((c, i) => [FOREIGN_SERVER_OID + i, c, SUPERUSER_OID, 0, null, null, null, null]);
  const foreign = sources.map((e): Value[] => {
    const secrets = secretsIn(e.sql);
    const opts = Object.entries(e.options).filter(([k]) => k !== 'connector').map(([k, v]) => `${k}=${scrub(v, secrets)}`);
    return [relationOid(e), FOREIGN_SERVER_OID + connectors.indexOf(e.options.connector ?? 'unknown'), opts as unknown as Value];
  });
  const roles: Value[][] = [[SUPERUSER_OID, SUPERUSER_NAME, true, true, true, true, true, true, true, -1, null, null],
    ...src.catalog.roles.names().map((name, i) => [ROLE_OID_BASE + i, name, false, true, false, false, true, false, false, -1, null, null])];
  const settings = src.settings().map(([name, setting, desc]) => [name, setting, null, 'sluice', desc, null, 'user', 'string', 'default', null, null, null, setting, setting, null, null, false]);
  return {
    pg_class: pgClass, pg_attribute: pgAttribute, pg_index: pgIndex, pg_constraint: pgConstraint, sluice_viewdefs: viewdefs,
    pg_description: descriptions, sluice_roles: roles, pg_settings: settings, pg_foreign_server: servers, pg_foreign_table: foreign,
  };
}

function classRow(oid: number, name: string, ns: number, relkind: string, natts: number, hasIndex: boolean): Value[] {
  return [oid, name, ns, 0, 0, SUPERUSER_OID, relkind === 'i' ? 403 : relkind === 'r' || relkind === 'm' ? 2 : 0, oid, 0, 0, -1, 0, 0, hasIndex, false, 'p', relkind,
    natts, 0, false, false, false, false, false, true, 'd', false, 0, 0, 0, null, null, null];
}

function attributeRow(rel: number, f: Field, num: number, notNull: boolean): Value[] {
  const oid = pgTypeOid(f.type);
  const t = typeByOid.get(oid)!;
  return [rel, f.name, oid, -1, t.len, num, t.category === 'A' ? 1 : 0, -1, -1, t.byval, t.align, STORAGE_PLAIN.has(oid) ? 'p' : 'x', '', notNull,
    false, false, '', '', false, true, 0, t.category === 'S' ? 100 : 0, null, null, null, null];
}

/** A stable text of everything the rows are made from (refill only when it changes). */
export function catalogFingerprint(src: CatalogSource): string {
  return JSON.stringify([
    src.catalog.list().map((e) => [e.kind, e.name, e.createdAt, e.sql]), src.catalog.comments(), src.catalog.roles.names(), src.settings(),
  ]);
}

function literal(v: Value | readonly Value[]): string {
  if (v === null) return 'NULL';
  if (Array.isArray(v)) return `[${v.map((x) => literal(x as Value)).join(', ')}]`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return `'${String(v).replace(/'/g, "''")}'`;
}

/** `INSERT INTO sluice_pg.main.table VALUES …` (or a no-op when there are no rows). */
export function insertSql(table: string, rows: readonly (readonly (Value | readonly Value[])[])[]): string {
  if (rows.length === 0) return 'SELECT 1 WHERE false';
  return `INSERT INTO ${PG_DB}.main.${table} VALUES ${rows.map((r) => `(${r.map(literal).join(', ')})`).join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Queries


/** Text that may name something of the catalog (a prefilter before lexing). */
const MENTIONS_CATALOG = new RegExp([...['pg_', 'information_schema'], ...[...MACRO_NAMES].filter((n) => !n.startsWith('pg_') && !n.startsWith('sluice_'))].join('|'), 'i');

/** Whether a query reads the PostgreSQL catalog (names pg_catalog, information_schema or one of its relations). */
export function readsCatalog(sql: string): boolean {
  // Cheap tests first: every statement comes through here, some of them megabytes of INSERT.
  if (!/^\(*\s*(?:select|with)\b/i.test(sql.slice(leadingTrivia(sql))) || !MENTIONS_CATALOG.test(sql)) return false;
  const toks = lex(sql);
  const first = toks[0];
  if (!first || first.kind !== 'ident' || (first.value !== 'select' && first.value !== 'with')) return false;
  return toks.some((t, i) => t.kind === 'ident' && (t.value === 'pg_catalog' || t.value === 'information_schema'
    || (PG_NAMES.has(t.value) && !t.value.startsWith('sluice_') && toks[i - 1]?.value !== '.')
    || (MACRO_NAMES.has(t.value) && !t.value.startsWith('sluice_') && toks[i + 1]?.value === '(')));
}

/**
 * The query text for DuckDB with `sluice_pg` as its catalog: `pg_catalog.` dropped (the search
 * path finds our tables and macros), `information_schema.x` read from `sluice_pg.info`,
 * `'name'::regclass` looked up, reg* and PostgreSQL-only types cast as DuckDB knows them,
 * `OPERATOR(pg_catalog.op)` as the bare operator, PostgreSQL collations dropped.
 */
export function rewriteCatalogQuery(sql: string): string {
  const toks = lex(sql);
  const parts: string[] = [];
  let copied = 0;
  const replace = (from: Token, to: Token, text: string) => {
    parts.push(sql.slice(copied, from.start), text);
    copied = to.end;
  };
  const val = (i: number) => toks[i]?.value;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.start < copied) continue;
    // OPERATOR(pg_catalog.~) → ~
    if (t.kind === 'ident' && t.value === 'operator' && val(i + 1) === '(' && val(i + 2) === 'pg_catalog' && val(i + 3) === '.') {
      let j = i + 4;
      let op = '';
      while (j < toks.length && val(j) !== ')') op += toks[j++]!.value;
      replace(t, toks[j]!, ` ${op} `);
      continue;
    }
    // COLLATE pg_catalog.default / COLLATE "C"
    if (t.kind === 'ident' && t.value === 'collate') {
      const end = val(i + 1) === 'pg_catalog' && val(i + 2) === '.' ? i + 3 : i + 1;
      replace(t, toks[end]!, ' ');
      continue;
    }
    if (t.kind === 'ident' && (t.value === 'pg_catalog' || t.value === 'information_schema') && val(i + 1) === '.' && toks[i - 1]?.value !== '.') {
      const name = toks[i + 2];
      if (!name || (name.kind !== 'ident' && name.kind !== 'quoted')) continue;
      if (t.value === 'information_schema') {
        if (INFO_NAMES.has(name.value)) replace(t, name, `${INFO}.${name.value}`);
        else if (name.value === '_pg_expandarray') replace(t, name, `${PG_DB}.main._pg_expandarray`);
        continue;
      }
      // A cast's type (::pg_catalog.regclass) is handled below with the type name.
      replace(t, toks[i + 1]!, '');
      continue;
    }
    // A cast's type qualified with pg_catalog: the qualifier goes (the tree pass maps the type).
    if (t.kind === 'symbol' && t.value === '::' && val(i + 1) === 'pg_catalog' && val(i + 2) === '.') {
      replace(t, toks[i + 2]!, '::');
      continue;
    }
    // Unqualified calls of our macros go to ours (DuckDB's pg_catalog has some of the same names).
    if (t.kind === 'ident' && MACRO_NAMES.has(t.value) && val(i + 1) === '(' && (toks[i - 1]?.value !== '.' || val(i - 2) === 'pg_catalog')) {
      replace(t, t, `${PG_DB}.main.${t.value}`);
      continue;
    }
  }
  parts.push(sql.slice(copied));
  return parts.join('');
}

/** The names a rewritten catalog query may read as unqualified base tables. */
export function isCatalogRelation(schema: string, name: string, catalog: string): boolean {
  const n = name.toLowerCase();
  if (catalog.toLowerCase() === PG_DB) return true;
  if (schema === '' && catalog === '') return PG_NAMES.has(n);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Result column names

const CAST_NAMES: Readonly<Record<string, string>> = { int: 'int4', integer: 'int4', bigint: 'int8', smallint: 'int2', boolean: 'bool', real: 'float4', double: 'float8' };

/**
 * PostgreSQL's names (FigureColname) for the select list of DuckDB's parse tree of `text`: the
 * alias, a column's name, a function's name as written, a cast's operand or else its type,
 * `case`, `?column?`. Null when the tree is not a plain SELECT; columns a `*` expands to keep
 * DuckDB's names (`duckNames`).
 */
export function catalogColumnNames(tree: unknown, text: string, duckNames: readonly string[]): string[] {
  const node = (tree as { statements?: { node?: { type?: string; select_list?: unknown[] } }[] }).statements?.[0]?.node;
  if (node?.type !== 'SELECT_NODE' || !Array.isArray(node.select_list)) return duckNames.slice();
  const items = node.select_list as Record<string, unknown>[];
  const at = (n: Record<string, unknown>) => (typeof n.query_location === 'number' && n.query_location >= 0 && n.query_location < 2 ** 40 ? text.slice(n.query_location) : '');
  // DuckDB keeps an alias's case; PostgreSQL folds it unless it was quoted.
  const alias = (a: string) => (text.includes(`"${a.replace(/"/g, '""')}"`) ? a : a.toLowerCase());
  const figure = (n: Record<string, unknown>): [string, number] | null => {
    switch (n.class) {
      case 'COLUMN_REF': {
        const names = n.column_names as string[];
        return [alias(names[names.length - 1]!), 2];
      }
      case 'FUNCTION': {
        if (n.is_operator) return null;
        const written = /^(?:pg_catalog\s*\.\s*)?([A-Za-z_][A-Za-z0-9_$]*)\s*\(/.exec(at(n));
        return [written ? written[1]!.toLowerCase() : String(n.function_name), 2];
      }
      case 'CAST': {
        const inner = figure(n.child as Record<string, unknown>);
        if (inner && inner[1] > 1) return inner;
        const written = /^::\s*(?:pg_catalog\s*\.\s*)?"?([A-Za-z_][A-Za-z0-9_]*)/.exec(at(n));
        const type = written?.[1]?.toLowerCase() ?? String((n.cast_type as { id?: string }).id ?? '').toLowerCase();
        return [CAST_NAMES[type] ?? type, 1];
      }
      case 'CASE':
        return ['case', 1];
      default:
        return null;
    }
  };
  const name = (n: Record<string, unknown>) => (typeof n.alias === 'string' && n.alias !== '' ? alias(n.alias) : figure(n)?.[0] ?? '?column?');
  const stars = items.flatMap((it, i) => (it.class === 'STAR' ? [i] : []));
  if (stars.length === 0) return items.length === duckNames.length ? items.map(name) : duckNames.slice();
  const out = duckNames.slice();
  const first = stars[0]!;
  const after = items.length - 1 - stars[stars.length - 1]!;
  if (first + after > duckNames.length) return out;
  for (let i = 0; i < first; i++) out[i] = name(items[i]!);
  for (let k = 0; k < after; k++) out[duckNames.length - after + k] = name(items[items.length - after + k]!);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rewrites on DuckDB's parse tree (what the text pass cannot see: operators and casts of any
// expression)

const REG_FUNCTIONS: Readonly<Record<string, string>> = {
  regclass: 'sluice_regclass', regtype: 'sluice_regtype', regnamespace: 'sluice_regnamespace', regrole: 'sluice_regrole', regproc: 'sluice_regproc', regprocedure: 'sluice_regproc',
};
const UNBOUND_CASTS: Readonly<Record<string, string>> = { name: 'VARCHAR', xid: 'BIGINT', regoper: 'BIGINT', cid: 'BIGINT', tid: 'VARCHAR', aclitem: 'VARCHAR', pg_node_tree: 'VARCHAR' };
const DROPPED_CASTS = new Set(['int2vector', 'oidvector', 'anyarray']);

const call = (name: string, children: unknown[], template: Record<string, unknown>) => ({
  class: 'FUNCTION', type: 'FUNCTION', alias: template.alias ?? '', query_location: template.query_location, function_name: name, schema: 'main', catalog: PG_DB,
  children, filter: null, order_bys: { type: 'ORDER_MODIFIER', orders: [] }, distinct: false, is_operator: false, export_state: false,
});
const constant = (v: string) => ({ class: 'CONSTANT', type: 'VALUE_CONSTANT', alias: '', query_location: 0, value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value: v } });

/**
 * PostgreSQL's meaning for what DuckDB reads differently, in DuckDB's serialized parse tree:
 * `~` matches anywhere (DuckDB's `~` must match the whole string), `~*`/`!~*` ignore case, and
 * casts to reg* types, `name`, `int2vector` and the like (types DuckDB lacks) look names up or
 * become casts it has. Returns whether anything changed.
 */
export function rewriteCatalogTree(tree: unknown): boolean {
  let changed = false;
  const visit = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(visit);
    if (n === null || typeof n !== 'object') return n;
    const o = n as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) o[k] = visit(v);
    if (o.class === 'FUNCTION' && Array.isArray(o.children)) {
      const f = o.function_name;
      const first = o.children[0] as { class?: string; value?: { value?: unknown } } | undefined;
      // format('%I.%I', a, b): PostgreSQL's format is printf-like (DuckDB's is fmt's {}).
      if (f === 'format' && first?.class === 'CONSTANT' && typeof first.value?.value === 'string' && first.value.value.includes('%')) {
        o.function_name = 'printf';
        first.value.value = first.value.value.replace(/%[IL]/g, '%s');
        changed = true;
      } else if (f === 'regexp_full_match' && o.children.length === 2) {
        o.function_name = 'regexp_matches';
        changed = true;
      } else if ((f === '~*' || f === '!~*') && o.children.length === 2) {
        changed = true;
        const m = { ...o, function_name: 'regexp_matches', is_operator: false, children: [...o.children, constant('i')] };
        return f === '~*' ? m : { class: 'OPERATOR', type: 'OPERATOR_NOT', alias: o.alias ?? '', query_location: o.query_location, children: [{ ...m, alias: '' }] };
      }
    }
    // FROM generate_series(…) s: PostgreSQL names the column s too (DuckDB would read s as the row).
    if (o.type === 'TABLE_FUNCTION' && typeof o.alias === 'string' && o.alias !== '' && Array.isArray(o.column_name_alias) && o.column_name_alias.length === 0
      && ['generate_series', 'unnest'].includes(String((o.function as { function_name?: string } | undefined)?.function_name))) {
      o.column_name_alias = [o.alias];
      changed = true;
    }
    if (o.class === 'CAST') {
      const t = o.cast_type as { id?: string; type_info?: { name?: string } | null };
      const name = t.id === 'UNBOUND' ? (t.type_info?.name ?? '').toLowerCase() : '';
      if (name in REG_FUNCTIONS) {
        changed = true;
        return call(REG_FUNCTIONS[name]!, [o.child], o);
      }
      if (name in UNBOUND_CASTS) {
        changed = true;
        return { ...o, cast_type: { id: UNBOUND_CASTS[name], type_info: null } };
      }
      if (DROPPED_CASTS.has(name)) {
        changed = true;
        return { ...(o.child as object), alias: o.alias };
      }
    }
    return o;
  };
  visit(tree);
  return changed;
}
