/**
 * Catalog queries PostgreSQL clients send, written down from how pgjdbc (whose DatabaseMetaData
 * DBeaver and Metabase use), DBeaver, pgAdmin 4 and Metabase word them. `{schema}` and
 * `{table}` stand for the schema and table a probe asks about.
 */

export interface Probe {
  readonly client: string;
  readonly name: string;
  readonly sql: string;
}

/** pgjdbc's DatabaseMetaData: getSchemas, getTables, getColumns, getPrimaryKeys, getIndexInfo; its type lookups. */
export const PGJDBC: readonly Probe[] = [
  {
    client: 'pgjdbc', name: 'getSchemas',
    sql: `SELECT nspname AS TABLE_SCHEM, NULL AS TABLE_CATALOG FROM pg_catalog.pg_namespace WHERE nspname <> 'pg_toast'
      AND (nspname !~ '^pg_temp_' OR nspname = (pg_catalog.current_schemas(true))[1])
      AND (nspname !~ '^pg_toast_temp_' OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))
      AND nspname LIKE '{schema}' ORDER BY TABLE_SCHEM`,
  },
  {
    client: 'pgjdbc', name: 'getTables',
    sql: `SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,
      CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'
        WHEN true THEN CASE WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind
            WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW' WHEN 'i' THEN 'SYSTEM INDEX' ELSE NULL END
          WHEN n.nspname = 'pg_toast' THEN CASE c.relkind WHEN 'r' THEN 'SYSTEM TOAST TABLE' WHEN 'i' THEN 'SYSTEM TOAST INDEX' ELSE NULL END
          ELSE CASE c.relkind WHEN 'r' THEN 'TEMPORARY TABLE' WHEN 'p' THEN 'TEMPORARY TABLE' WHEN 'i' THEN 'TEMPORARY INDEX'
            WHEN 'S' THEN 'TEMPORARY SEQUENCE' WHEN 'v' THEN 'TEMPORARY VIEW' ELSE NULL END END
        WHEN false THEN CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'i' THEN 'INDEX'
          WHEN 'P' THEN 'PARTITIONED INDEX' WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'c' THEN 'TYPE'
          WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END
        ELSE NULL END AS TABLE_TYPE,
      d.description AS REMARKS, '' AS TYPE_CAT, '' AS TYPE_SCHEM, '' AS TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION
      FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c
      LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass)
      WHERE c.relnamespace = n.oid AND n.nspname LIKE '{schema}' AND c.relname LIKE '%'
      AND (false OR (c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema')
        OR (c.relkind = 'v' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema')
        OR (c.relkind = 'm') OR (c.relkind = 'f'))
      ORDER BY TABLE_TYPE, TABLE_SCHEM, TABLE_NAME`,
  },
  {
    client: 'pgjdbc', name: 'getColumns',
    sql: `SELECT * FROM (SELECT n.nspname, c.relname, a.attname, a.atttypid, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,
      a.atttypmod, a.attlen, t.typtypmod, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum,
      nullif(a.attidentity, '') AS attidentity, nullif(a.attgenerated, '') AS attgenerated,
      pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc, dsc.description, t.typbasetype, t.typtype
      FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)
      JOIN pg_catalog.pg_attribute a ON (a.attrelid = c.oid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)
      LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid = def.adrelid AND a.attnum = def.adnum)
      LEFT JOIN pg_catalog.pg_description dsc ON (c.oid = dsc.objoid AND a.attnum = dsc.objsubid)
      LEFT JOIN pg_catalog.pg_class dc ON (dc.oid = dsc.classoid AND dc.relname = 'pg_class')
      LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace = dn.oid AND dn.nspname = 'pg_catalog')
      WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm') AND a.attnum > 0 AND NOT a.attisdropped
      AND n.nspname LIKE '{schema}' AND c.relname LIKE '{table}') c WHERE true ORDER BY nspname, c.relname, attnum`,
  },
  {
    client: 'pgjdbc', name: 'getPrimaryKeys',
    sql: `SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, result.KEY_SEQ, result.PK_NAME FROM
      (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,
        (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME,
        information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM
        FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)
        JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN pg_catalog.pg_index i ON (a.attrelid = i.indrelid)
        JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid)
        WHERE true AND n.nspname = E'{schema}' AND ct.relname = E'{table}' AND i.indisprimary) result
      WHERE result.A_ATTNUM = (result.KEYS).x ORDER BY result.table_name, result.pk_name, result.key_seq`,
  },
  {
    client: 'pgjdbc', name: 'type by oid',
    sql: `SELECT typinput = 'pg_catalog.array_in'::regproc AS is_array, typtype, typname, pg_type.oid FROM pg_catalog.pg_type
      LEFT JOIN (SELECT ns.oid AS nspoid, ns.nspname, r.r FROM pg_namespace AS ns
        JOIN (SELECT s.r, (current_schemas(false))[s.r] AS nspname FROM generate_series(1, array_upper(current_schemas(false), 1)) AS s(r)) AS r USING (nspname)
      ) AS sp ON sp.nspoid = typnamespace WHERE pg_type.oid = 1043 ORDER BY sp.r, pg_type.oid DESC`,
  },
  {
    client: 'pgjdbc', name: 'array element type',
    sql: `SELECT e.oid, n.nspname = ANY(current_schemas(true)), n.nspname, e.typname FROM pg_catalog.pg_type t
      JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid JOIN pg_catalog.pg_type e ON t.typelem = e.oid WHERE t.oid = 1009`,
  },
];

/** DBeaver's PostgreSQL navigator (databases, schemas, tables, columns, types, roles). */
export const DBEAVER: readonly Probe[] = [
  { client: 'DBeaver', name: 'session', sql: `SELECT current_schema(), session_user` },
  {
    client: 'DBeaver', name: 'databases',
    sql: `SELECT db.oid, db.* FROM pg_catalog.pg_database db WHERE datallowconn AND NOT datistemplate OR db.datname = current_database() ORDER BY db.datname`,
  },
  {
    client: 'DBeaver', name: 'schemas',
    sql: `SELECT n.oid, n.*, d.description FROM pg_catalog.pg_namespace n
      LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid = n.oid AND d.objsubid = 0 AND d.classoid = 'pg_namespace'::regclass
      WHERE nspname = '{schema}' ORDER BY nspname`,
  },
  {
    client: 'DBeaver', name: 'tables',
    sql: `SELECT c.oid, c.*, t.relname AS tabrelname, rt.relnamespace AS refnamespace, d.description,
      CASE WHEN c.relkind = 'p' THEN e.expr ELSE NULL END AS partition_expr,
      CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) ELSE NULL END AS partition_key
      FROM pg_catalog.pg_class c
      LEFT OUTER JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
      LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid = c.reloftype
      LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass
      LEFT OUTER JOIN (SELECT pg_catalog.pg_get_expr(p.partexprs, p.partrelid) AS expr, p.partrelid FROM pg_catalog.pg_partitioned_table p) e ON e.partrelid = c.oid
      WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = '{schema}') AND c.relkind NOT IN ('i', 'I', 'c')
      ORDER BY c.relname`,
  },
  {
    client: 'DBeaver', name: 'columns',
    sql: `SELECT c.relname, a.*, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) AS def_value, dsc.description, dep.objid
      FROM pg_catalog.pg_attribute a INNER JOIN pg_catalog.pg_class c ON (a.attrelid = c.oid)
      LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid = ad.adrelid AND a.attnum = ad.adnum)
      LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid = dsc.objoid AND a.attnum = dsc.objsubid)
      LEFT OUTER JOIN pg_depend dep ON dep.refobjid = a.attrelid AND dep.deptype = 'i' AND dep.refobjsubid = a.attnum AND dep.classid = dep.refclassid
      WHERE NOT a.attisdropped AND c.relkind NOT IN ('i', 'I', 'c') AND c.oid = '{schema}.{table}'::regclass ORDER BY a.attnum`,
  },
  {
    client: 'DBeaver', name: 'constraints',
    sql: `SELECT c.oid, c.*, t.relname AS tabrelname, case when c.contype = 'c' then substr(pg_catalog.pg_get_constraintdef(c.oid), 7) else null end AS consrc_copy
      FROM pg_catalog.pg_constraint c INNER JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
      WHERE t.relkind <> 'v' AND t.relname = '{table}' AND c.connamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = '{schema}')
      ORDER BY c.oid`,
  },
  {
    client: 'DBeaver', name: 'indexes',
    sql: `SELECT i.*, i.indkey AS keys, c.relname, c.relnamespace, c.relam, c.reltablespace, tc.relname AS tabrelname, dsc.description,
      pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred_expr, pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) AS expr,
      pg_catalog.pg_relation_size(i.indexrelid) AS index_rel_size, pg_catalog.pg_stat_get_numscans(i.indexrelid) AS index_num_scans
      FROM pg_catalog.pg_index i INNER JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      INNER JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
      LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid = dsc.objoid
      WHERE i.indrelid = '{schema}.{table}'::regclass ORDER BY tabrelname, c.relname`,
  },
  {
    client: 'DBeaver', name: 'data types',
    sql: `SELECT t.oid, t.*, c.relkind, format_type(nullif(t.typbasetype, 0), t.typtypmod) AS base_type_name, d.description
      FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid = t.typelem
      LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid = t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid = d.objoid
      WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
      AND t.oid IN (16, 20, 23, 25, 701, 1043, 1114)
      ORDER BY t.oid`,
  },
  { client: 'DBeaver', name: 'roles', sql: `SELECT a.oid, a.* FROM pg_catalog.pg_roles a WHERE a.rolname = current_user ORDER BY a.oid` },
  { client: 'DBeaver', name: 'settings', sql: `SELECT * FROM pg_catalog.pg_settings WHERE name = 'server_version'` },
];

/** pgAdmin 4's browser tree (its templates' queries for PostgreSQL 15). */
export const PGADMIN: readonly Probe[] = [
  { client: 'pgAdmin', name: 'recovery', sql: `SELECT CASE WHEN usesuper THEN pg_catalog.pg_is_in_recovery() ELSE NULL END AS inrecovery FROM pg_catalog.pg_user WHERE usename = current_user` },
  {
    client: 'pgAdmin', name: 'databases',
    sql: `SELECT db.oid AS did, db.datname AS name, ta.spcname AS spcname, db.datallowconn,
      pg_catalog.has_database_privilege(db.oid, 'CREATE') AS cancreate, datdba AS owner, descr.description
      FROM pg_catalog.pg_database db LEFT OUTER JOIN pg_catalog.pg_tablespace ta ON db.dattablespace = ta.oid
      LEFT OUTER JOIN pg_catalog.pg_shdescription descr ON (db.oid = descr.objoid AND descr.classoid = 'pg_database'::regclass)
      WHERE db.oid > 4 AND db.datname = current_database() ORDER BY datname`,
  },
  {
    client: 'pgAdmin', name: 'schemas',
    sql: `SELECT nsp.oid, nsp.nspname AS name, pg_catalog.has_schema_privilege(nsp.oid, 'CREATE') AS can_create,
      pg_catalog.has_schema_privilege(nsp.oid, 'USAGE') AS has_usage, des.description
      FROM pg_catalog.pg_namespace nsp LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid = nsp.oid AND des.classoid = 'pg_namespace'::regclass)
      WHERE nspname NOT LIKE E'pg\\\\_%' AND nspname <> 'information_schema' AND nspname = '{schema}' ORDER BY nspname`,
  },
  {
    client: 'pgAdmin', name: 'tables',
    sql: `SELECT rel.oid, rel.relname AS name,
      (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = rel.oid AND tgisinternal = FALSE) AS triggercount,
      (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = rel.oid AND tgisinternal = FALSE AND tgenabled = 'O') AS has_enable_triggers,
      (CASE WHEN rel.relkind = 'p' THEN true ELSE false END) AS is_partitioned,
      (SELECT count(1) FROM pg_catalog.pg_inherits WHERE inhrelid = rel.oid LIMIT 1) AS is_inherits,
      (SELECT count(1) FROM pg_catalog.pg_inherits WHERE inhparent = rel.oid LIMIT 1) AS is_inherited, des.description
      FROM pg_catalog.pg_class rel
      LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid = rel.oid AND des.objsubid = 0 AND des.classoid = 'pg_class'::regclass)
      WHERE rel.relkind IN ('r', 's', 't', 'p') AND rel.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = '{schema}')
      AND NOT rel.relispartition ORDER BY rel.relname`,
  },
  {
    client: 'pgAdmin', name: 'materialized views',
    sql: `SELECT c.oid, c.relname AS name, description AS comment FROM pg_catalog.pg_class c
      LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid = c.oid AND des.objsubid = 0 AND des.classoid = 'pg_class'::regclass)
      WHERE c.relkind = 'm' AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = '{schema}') ORDER BY c.relname`,
  },
  {
    client: 'pgAdmin', name: 'columns',
    sql: `SELECT att.attname AS name, att.atttypid, att.attlen, att.attnum, att.attndims, att.atttypmod, att.attacl, att.attnotnull,
      att.attoptions, att.attstattarget, att.attstorage, att.attidentity, pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS defval,
      pg_catalog.format_type(ty.oid, NULL) AS typname, pg_catalog.format_type(ty.oid, att.atttypmod) AS displaytypname,
      pg_catalog.format_type(ty.oid, att.atttypmod) AS cltype, CASE WHEN ty.typelem > 0 THEN ty.typelem ELSE ty.oid END AS elemoid,
      (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = ty.typnamespace) AS typnspname, ty.typstorage AS defaultstorage, des.description
      FROM pg_catalog.pg_attribute att JOIN pg_catalog.pg_type ty ON ty.oid = atttypid
      LEFT OUTER JOIN pg_catalog.pg_attrdef def ON adrelid = att.attrelid AND adnum = att.attnum
      LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid = att.attrelid AND des.objsubid = att.attnum AND des.classoid = 'pg_class'::regclass)
      WHERE att.attrelid = '{schema}.{table}'::regclass::oid AND att.attnum > 0 AND att.attisdropped IS FALSE ORDER BY att.attnum`,
  },
  { client: 'pgAdmin', name: 'roles', sql: `SELECT r.oid, r.rolname, r.rolcanlogin, r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user ORDER BY r.rolcanlogin, r.rolname` },
];

/** Metabase's PostgreSQL driver: describe-database, describe-fields, table privileges. */
export const METABASE: readonly Probe[] = [
  {
    client: 'Metabase', name: 'describe-database',
    sql: `SELECT n.nspname AS schema, c.relname AS name,
      CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
        WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS type,
      d.description AS description, stat.n_live_tup AS estimated_row_count
      FROM pg_catalog.pg_class AS c INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
      LEFT JOIN pg_catalog.pg_description AS d ON ((c.oid = d.objoid) AND (d.objsubid = 0)) AND (d.classoid = 'pg_class'::regclass)
      LEFT JOIN pg_stat_user_tables AS stat ON (n.nspname = stat.schemaname) AND (c.relname = stat.relname)
      WHERE ((c.relnamespace = n.oid) AND (n.nspname !~ '^information_schema|catalog_history|pg_') AND (n.nspname <> 'information_schema'))
      AND c.relkind IN ('r', 'p', 'v', 'f', 'm') AND (n.nspname IN ('{schema}'))
      ORDER BY type ASC, schema ASC, name ASC`,
  },
  {
    client: 'Metabase', name: 'describe-fields',
    sql: `SELECT c.column_name AS name, c.udt_name AS "database-type", c.ordinal_position - 1 AS "database-position",
      c.table_schema AS "table-schema", c.table_name AS "table-name", pk.column_name IS NOT NULL AS "pk?",
      col_description(CAST(CAST(format('%I.%I', CAST(c.table_schema AS TEXT), CAST(c.table_name AS TEXT)) AS regclass) AS oid), c.ordinal_position) AS "field-comment",
      ((column_default IS NULL) OR (lower(column_default) = 'null')) AND (is_nullable = 'NO')
        AND NOT (((column_default IS NOT NULL) AND (column_default LIKE '%nextval(%')) OR (is_identity <> 'NO')) AS "database-required",
      ((column_default IS NOT NULL) AND (column_default LIKE '%nextval(%')) OR (is_identity <> 'NO') AS "database-is-auto-increment"
      FROM information_schema.columns AS c
      LEFT JOIN (SELECT tc.table_schema, tc.table_name, kc.column_name FROM information_schema.table_constraints AS tc
        INNER JOIN information_schema.key_column_usage AS kc ON (tc.constraint_name = kc.constraint_name) AND (tc.table_schema = kc.table_schema)
          AND (tc.table_name = kc.table_name)
        WHERE tc.constraint_type = 'PRIMARY KEY') AS pk
        ON (c.table_schema = pk.table_schema) AND (c.table_name = pk.table_name) AND (c.column_name = pk.column_name)
      WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND (c.table_schema IN ('{schema}')) AND c.table_name = '{table}'
      ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC`,
  },
  {
    client: 'Metabase', name: 'table privileges',
    sql: `WITH table_privileges AS (
        SELECT NULL AS role, t.schemaname AS schema, t.objectname AS table,
          pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"', 'UPDATE') AS update,
          pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"', 'SELECT') AS select,
          pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"', 'INSERT') AS insert,
          pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"', 'DELETE') AS delete
        FROM (SELECT schemaname, tablename AS objectname FROM pg_catalog.pg_tables
          UNION SELECT schemaname, viewname AS objectname FROM pg_catalog.pg_views
          UNION SELECT schemaname, matviewname AS objectname FROM pg_catalog.pg_matviews) t
        WHERE t.schemaname !~ '^pg_' AND t.schemaname <> 'information_schema' AND pg_catalog.has_schema_privilege(current_user, t.schemaname, 'USAGE'))
      SELECT t.* FROM table_privileges t WHERE t.schema = '{schema}' ORDER BY t.table`,
  },
];

/** The probes with `{schema}` and `{table}` filled in. */
export function probeSql(p: Probe, schema: string, table: string): string {
  return p.sql.replaceAll('{schema}', schema).replaceAll('{table}', table);
}
