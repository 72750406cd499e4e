/**
 * The typed AST of sluice: closed discriminated unions, immutable. node-sql-parser output is
 * converted into these types in convert.ts and never escapes the parser folder.
 * Positions (`pos`) are 1-based character offsets into the text given to `parseSql`.
 */
import type { SqlType, Value } from '../common/types.js';
import type { InsertValues } from './insert-values.js';

export type Expr =
  | { readonly kind: 'column'; readonly table: string | null; readonly name: string; readonly pos?: number }
  | { readonly kind: 'literal'; readonly value: Value; readonly type: SqlType }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly pos?: number }
  | { readonly kind: 'unary'; readonly op: 'not' | 'neg'; readonly expr: Expr }
  | { readonly kind: 'is_null'; readonly expr: Expr; readonly negated: boolean }
  | { readonly kind: 'is_bool'; readonly expr: Expr; readonly value: boolean; readonly negated: boolean }
  | { readonly kind: 'is_distinct'; readonly left: Expr; readonly right: Expr; readonly negated: boolean }
  | {
      readonly kind: 'func';
      readonly name: string;
      readonly args: readonly Expr[];
      readonly star: boolean;
      readonly distinct: boolean;
      readonly filter: Expr | null;
      readonly orderBy: readonly OrderItem[];
      readonly over: WindowSpec | null;
      readonly pos?: number;
      /** Written `f(direct args) WITHIN GROUP (ORDER BY …)`: an ordered-set aggregate, `orderBy` its input. */
      readonly withinGroup?: boolean;
    }
  | { readonly kind: 'cast'; readonly expr: Expr; readonly type: SqlType }
  | {
      readonly kind: 'case';
      readonly operand: Expr | null;
      readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
      readonly otherwise: Expr | null;
    }
  | { readonly kind: 'in'; readonly expr: Expr; readonly list: readonly Expr[]; readonly negated: boolean }
  | { readonly kind: 'between'; readonly expr: Expr; readonly low: Expr; readonly high: Expr; readonly negated: boolean }
  | { readonly kind: 'like'; readonly expr: Expr; readonly pattern: Expr; readonly negated: boolean; readonly insensitive: boolean }
  | { readonly kind: 'extract'; readonly field: string; readonly expr: Expr }
  | { readonly kind: 'star'; readonly table: string | null }
  /** A scalar subquery `(SELECT …)`: its one column's value, NULL when it returns no row. */
  | { readonly kind: 'subquery'; readonly query: Query; readonly pos?: number }
  /** `EXISTS (SELECT …)` (NOT EXISTS is a NOT over it). */
  | { readonly kind: 'exists'; readonly query: Query; readonly pos?: number }
  /** `x [NOT] IN (SELECT …)`. */
  | { readonly kind: 'in_subquery'; readonly expr: Expr; readonly query: Query; readonly negated: boolean; readonly pos?: number }
  /** `x op ANY|SOME|ALL (SELECT …)`. */
  | { readonly kind: 'quantified'; readonly op: BinaryOp; readonly all: boolean; readonly expr: Expr; readonly query: Query; readonly pos?: number };

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%'
  | '=' | '<>' | '<' | '<=' | '>' | '>='
  | 'and' | 'or' | '||';

export interface WindowSpec {
  /** The named window this one refers to or builds on (`OVER w`, `OVER (w ORDER BY …)`). */
  readonly name?: string | null;
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly OrderItem[];
  /** The frame clause, null for the default frame. */
  readonly frame?: WindowFrame | null;
}

/** One end of a window frame: UNBOUNDED PRECEDING, n PRECEDING, CURRENT ROW, n FOLLOWING, UNBOUNDED FOLLOWING. */
export interface FrameBound {
  readonly kind: 'unbounded_preceding' | 'preceding' | 'current_row' | 'following' | 'unbounded_following';
  /** The offset expression of `n PRECEDING` / `n FOLLOWING`. */
  readonly offset: Expr | null;
  readonly pos: number;
}

/** `ROWS | RANGE | GROUPS frame_start` or `… BETWEEN frame_start AND frame_end`, with EXCLUDE. */
export interface WindowFrame {
  readonly mode: 'rows' | 'range' | 'groups';
  readonly start: FrameBound;
  /** Null when written without BETWEEN (the end is then CURRENT ROW). */
  readonly end: FrameBound | null;
  /** The EXCLUDE option as written (`current row`, `group`, `ties`, `no others`), or null. */
  readonly exclude: string | null;
  readonly pos: number;
}

export interface OrderItem {
  readonly expr: Expr;
  readonly desc: boolean;
  readonly nullsFirst: boolean | null;
}

export interface SelectItem {
  readonly expr: Expr;
  readonly alias: string | null;
}

export type FromItem =
  | {
      readonly kind: 'relation';
      readonly name: string;
      /** The schema written before the name (`sluice.epochs`), null when none. */
      readonly schema?: string | null;
      readonly alias: string | null;
      readonly pos?: number;
      /** Written `FOR SYSTEM_TIME AS OF PROCTIME()`: a lookup join side. */
      readonly lookup?: boolean;
    }
  | { readonly kind: 'subquery'; readonly query: Query; readonly alias: string | null; readonly lateral?: boolean; readonly columnAliases?: readonly string[] | null }
  | {
      readonly kind: 'table_function';
      readonly name: string;
      readonly args: readonly Expr[];
      readonly alias: string | null;
      /** `AS alias(c1, c2, …)`: names for the function's output columns. */
      readonly columnAliases?: readonly string[] | null;
      /** WITH ORDINALITY: a bigint column numbering each row the call returns, from 1. */
      readonly ordinality?: boolean;
      readonly pos?: number;
    }
  | {
      readonly kind: 'join';
      readonly joinType: 'inner' | 'left' | 'right' | 'full' | 'cross';
      readonly left: FromItem;
      readonly right: FromItem;
      readonly on: Expr | null;
      /** JOIN … USING (columns), or NATURAL JOIN (the columns both sides have). */
      readonly using?: readonly string[] | 'natural';
    };

export interface Select {
  readonly kind: 'select';
  readonly distinct: boolean;
  /** DISTINCT ON (…): one row per distinct value of these expressions, the first by ORDER BY. */
  readonly distinctOn: readonly Expr[] | null;
  readonly items: readonly SelectItem[];
  readonly from: FromItem | null;
  readonly where: Expr | null;
  readonly groupBy: readonly Expr[];
  /** GROUPING SETS / ROLLUP / CUBE: the sets, as positions in groupBy (parser/grouping-sets.ts). */
  readonly groupingSets?: readonly (readonly number[])[];
  readonly having: Expr | null;
  /** WINDOW name AS (…) definitions. */
  readonly windows?: readonly { readonly name: string; readonly spec: WindowSpec }[];
}

export type QueryBody =
  | Select
  | { readonly kind: 'union'; readonly all: boolean; readonly inputs: readonly QueryBody[] }
  /** `left INTERSECT right` / `left EXCEPT right` (distinct). */
  | { readonly kind: 'setop'; readonly op: 'intersect' | 'except'; readonly all?: boolean; readonly left: QueryBody; readonly right: QueryBody };

export interface Query {
  /** WITH name [(columns)] AS (query). */
  readonly with: readonly { readonly name: string; readonly query: Query; readonly columns?: readonly string[] }[];
  readonly body: QueryBody;
  readonly orderBy: readonly OrderItem[];
  readonly limit: number | null;
  readonly offset: number | null;
  /** FETCH FIRST n ROWS WITH TIES: rows tied with the last one are kept too. */
  readonly withTies: boolean;
}

export interface ColumnDef {
  readonly name: string;
  readonly type: SqlType;
  readonly typeName: string;
  readonly notNull: boolean;
}

export interface WatermarkDef {
  readonly column: string;
  readonly expr: Expr;
}

export type Options = Readonly<Record<string, string>>;

export type ObjectKind = 'source' | 'table' | 'view' | 'sink' | 'model';

/** The data format of COPY: PostgreSQL's text or CSV (binary is refused). */
export interface CopyOptions {
  readonly format: 'text' | 'csv';
  readonly header: boolean;
  /** One character; '\t' for text, ',' for CSV when not given. */
  readonly delimiter: string;
  /** The NULL marker: '\N' for text, '' (an unquoted empty field) for CSV when not given. */
  readonly null: string;
  /** CSV only: the quote and escape characters ('"' both when not given). */
  readonly quote: string;
  readonly escape: string;
}

/** A statement inside another (COPY (…), DECLARE … FOR …): its text and 0-based place in the script. */
export interface InnerStatement {
  readonly statement: Statement;
  readonly text: string;
  readonly offset: number;
}

/** A parameter of CREATE FUNCTION: its name (`$n` for an unnamed one) and type. */
export interface FunctionParam {
  readonly name: string;
  readonly type: SqlType;
}

export type Statement =
  | {
      /** CREATE [OR REPLACE] FUNCTION name(params) RETURNS type LANGUAGE SQL AS 'SELECT expr' | RETURN expr: a scalar SQL function, inlined where it is called. */
      readonly kind: 'create_function';
      readonly name: string;
      readonly orReplace: boolean;
      readonly params: readonly FunctionParam[];
      readonly returns: SqlType;
      /** The body's one expression; parameters are columns named as the parameters. */
      readonly body: Expr;
      /** The body expression's text, `$n` references replaced by the parameters' names. */
      readonly bodyText: string;
      /** STRICT (RETURNS NULL ON NULL INPUT): NULL when any argument is. */
      readonly strict: boolean;
      readonly volatility: 'immutable' | 'stable' | 'volatile';
      readonly text: string;
      readonly pos: number;
    }
  | {
      /** DROP FUNCTION [IF EXISTS] name [(types)] [CASCADE | RESTRICT]. */
      readonly kind: 'drop_function';
      readonly name: string;
      readonly argTypes: readonly SqlType[] | null;
      readonly ifExists: boolean;
      readonly cascade: boolean;
      readonly pos: number;
    }
  | {
      readonly kind: 'create_source';
      readonly name: string;
      readonly ifNotExists: boolean;
      readonly columns: readonly ColumnDef[];
      readonly watermark: WatermarkDef | null;
      readonly options: Options;
      readonly text: string;
    }
  | {
      readonly kind: 'create_table';
      readonly name: string;
      readonly ifNotExists: boolean;
      readonly columns: readonly ColumnDef[];
      readonly primaryKey: readonly string[];
      readonly appendOnly: boolean;
      readonly watermark: WatermarkDef | null;
      readonly options: Options;
      readonly text: string;
    }
  | {
      readonly kind: 'create_view';
      readonly name: string;
      readonly ifNotExists: boolean;
      readonly query: Query;
      readonly queryText: string;
      /** Offset of queryText inside the statement's full text, for error positions. */
      readonly queryOffset: number;
      readonly emitOnWindowClose: boolean;
      readonly options: Options;
      readonly text: string;
    }
  | {
      /** CREATE MODEL name WITH (type = …, …) AS query: a streaming model trained by the query. */
      readonly kind: 'create_model';
      readonly name: string;
      readonly ifNotExists: boolean;
      readonly query: Query;
      readonly queryText: string;
      readonly queryOffset: number;
      /** 1-based position of the query in the script. */
      readonly queryPos: number;
      readonly options: Options;
      /** 1-based position of each option's name in the script, for errors about it. */
      readonly optionPositions: Readonly<Record<string, number>>;
      readonly pos: number;
      readonly text: string;
    }
  | {
      readonly kind: 'create_sink';
      readonly name: string;
      readonly ifNotExists: boolean;
      /** CREATE SINK … FROM relation; null for CREATE SINK … AS query. */
      readonly from: string | null;
      /** CREATE SINK … AS query WITH (…): the query, its text and offset (as a view's), run for the sink alone. */
      readonly query: { readonly query: Query; readonly queryText: string; readonly queryOffset: number; readonly emitOnWindowClose: boolean } | null;
      readonly options: Options;
      readonly text: string;
    }
  | {
      readonly kind: 'insert'; readonly table: string; readonly text: string; readonly pos: number; /** 0-based place of `text` in the script. */ readonly offset: number;
      /** `RETURNING …`: the list's text (cut off `text`). */
      readonly returning?: string;
      /** A bulk INSERT of plain literals, scanned on the fast path (insert-values.ts). */
      readonly values?: InsertValues;
    }
  | { readonly kind: 'update'; readonly table: string; readonly text: string; readonly selectOldText: string; readonly pos: number; readonly returning?: string }
  /** DELETE; `truncate`: written TRUNCATE [TABLE] name (a DELETE of every row, tagged TRUNCATE TABLE). */
  | { readonly kind: 'delete'; readonly table: string; readonly text: string; readonly pos: number; readonly truncate?: boolean; readonly returning?: string }
  /**
   * CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON rel (columns…): kept in the catalog (see
   * ddl.ts createIndex). `keys` are the key items as written (a column or an expression).
   */
  | { readonly kind: 'create_index'; readonly name: string | null; readonly table: string; readonly keys: readonly IndexKey[]; readonly unique: boolean; readonly ifNotExists: boolean; readonly text: string; readonly pos: number; readonly tablePos: number }
  | { readonly kind: 'drop_index'; readonly names: readonly { readonly name: string; readonly pos: number }[]; readonly ifExists: boolean; readonly pos: number }
  | { readonly kind: 'drop'; readonly objectKind: ObjectKind; readonly name: string; readonly ifExists: boolean; readonly cascade: boolean; readonly pos: number }
  | { readonly kind: 'show_objects'; readonly objectKind: ObjectKind }
  | { readonly kind: 'show_create'; readonly objectKind: ObjectKind; readonly name: string; readonly pos: number }
  /** CREATE USER / ALTER USER … PASSWORD: the password is only ever turned into a verifier. */
  | { readonly kind: 'create_user' | 'alter_user'; readonly name: string; readonly password: string; readonly pos: number }
  | { readonly kind: 'drop_user'; readonly name: string; readonly ifExists: boolean; readonly pos: number }
  /** GRANT SELECT ON relations TO user, or REVOKE SELECT ON relations FROM user. */
  | { readonly kind: 'grant' | 'revoke'; readonly relations: readonly { readonly name: string; readonly pos: number }[]; readonly user: string; readonly userPos: number }
  | { readonly kind: 'show_variable'; readonly name: string }
  | { readonly kind: 'set'; readonly name: string; readonly value: string }
  | { readonly kind: 'describe'; readonly name: string; readonly pos: number }
  | { readonly kind: 'explain'; readonly statement: Statement }
  | { readonly kind: 'flush' }
  /** REPLAY EPOCH n: re-runs a committed epoch from the checkpoint before it, changing nothing. */
  | { readonly kind: 'replay'; readonly epoch: number }
  /** SUBSCRIBE name [WITH (snapshot = bool, progress = bool)]. */
  | { readonly kind: 'subscribe'; readonly name: string; readonly snapshot: boolean; readonly progress: boolean; readonly pos: number }
  /** COPY (query | SUBSCRIBE) TO STDOUT, or COPY relation [(columns)] TO STDOUT. */
  | {
      readonly kind: 'copy_to';
      readonly query: InnerStatement | null;
      readonly relation: { readonly name: string; readonly columns: readonly string[] | null; readonly pos: number } | null;
      readonly options: CopyOptions;
    }
  /** COPY table [(columns)] FROM STDIN. */
  | { readonly kind: 'copy_from'; readonly table: string; readonly columns: readonly string[] | null; readonly options: CopyOptions; readonly pos: number }
  /** DECLARE name CURSOR FOR query | SUBSCRIBE (a cursor of the client session). */
  | { readonly kind: 'declare'; readonly name: string; readonly query: InnerStatement; readonly pos: number }
  /** FETCH [n | ALL] [FROM] name [WITH (timeout = '…')]: count null is ALL; timeoutMs null waits for a row. */
  | { readonly kind: 'fetch'; readonly name: string; readonly count: number | null; readonly timeoutMs: number | null; readonly pos: number }
  /** ALTER SOURCE name SET (option = value, …) / RESET (option, …): value null resets. */
  | { readonly kind: 'alter_set'; readonly objectKind: ObjectKind; readonly name: string; readonly options: Readonly<Record<string, string | null>>; readonly pos: number }
  /** ALTER {SOURCE | TABLE | MATERIALIZED VIEW | SINK} name RENAME TO new_name. */
  | { readonly kind: 'alter_rename'; readonly objectKind: ObjectKind; readonly name: string; readonly newName: string; readonly ifExists: boolean; readonly pos: number }
  /** COMMENT ON {object kind} name | COLUMN relation.column IS 'text' | NULL (text null removes it). */
  | { readonly kind: 'comment'; readonly objectKind: ObjectKind | 'column'; readonly name: string; readonly column: string | null; readonly text: string | null; readonly pos: number }
  /** CLOSE name | CLOSE ALL (name null). */
  | { readonly kind: 'close_cursor'; readonly name: string | null; readonly pos: number }
  /** BEGIN/START TRANSACTION, COMMIT/END, ROLLBACK/ABORT: a session's transaction block (transaction.ts). */
  | { readonly kind: 'transaction'; readonly action: 'begin' | 'commit' | 'rollback'; readonly readOnly: boolean; readonly tag: string }
  | { readonly kind: 'select'; readonly query: Query; readonly text: string; readonly offset: number; readonly relations: readonly string[] };

/** An index key item: a column (`column` set) or an expression's text; with its position. */
export interface IndexKey {
  readonly column: string | null;
  readonly text: string;
  readonly pos: number;
}
