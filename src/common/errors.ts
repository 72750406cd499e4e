/**
 * The one error type of sluice. Every error carries a category that maps to a PostgreSQL
 * SQLSTATE, so the same error reads right from psql, the REPL, the CLI and the library API.
 */
export type ErrorCategory =
  | 'syntax' // 42601
  | 'undefined_table' // 42P01
  | 'undefined_column' // 42703
  | 'duplicate_object' // 42710
  | 'duplicate_column' // 42701
  | 'duplicate_table' // 42P07
  | 'undefined_object' // 42704
  | 'datatype_mismatch' // 42804
  | 'grouping' // 42803
  | 'ambiguous_column' // 42702
  | 'undefined_function' // 42883
  | 'wrong_object_type' // 42809
  | 'invalid_column_reference' // 42P10
  | 'not_supported' // 0A000
  | 'invalid_input' // 22P02
  | 'bad_copy_file_format' // 22P04
  | 'invalid_datetime_format' // 22007
  | 'numeric_out_of_range' // 22003
  | 'division_by_zero' // 22012
  | 'cardinality_violation' // 21000
  | 'invalid_parameter' // 22023
  | 'unique_violation' // 23505
  | 'not_null_violation' // 23502
  | 'invalid_argument_for_logarithm' // 2201E
  | 'program_limit_exceeded' // 54000
  | 'invalid_row_count_in_limit_clause' // 2201W
  | 'invalid_row_count_in_result_offset_clause' // 2201X
  | 'dependent_objects' // 2BP01
  | 'insufficient_privilege' // 42501
  | 'statement_too_complex' // 54001
  | 'too_many_connections' // 53300
  | 'read_only_parameter' // 55P02
  | 'active_sql_transaction' // 25001
  | 'read_only_sql_transaction' // 25006
  | 'in_failed_sql_transaction' // 25P02
  | 'serialization_failure' // 40001
  | 'query_canceled' // 57014
  | 'connection' // 08000
  | 'windowing' // 42P20
  | 'invalid_frame_offset' // 22013
  | 'null_value_not_allowed' // 22004
  | 'invalid_ntile_argument' // 22014
  | 'invalid_nth_value_argument' // 22016
  | 'untranslatable_character' // 22P05
  | 'invalid_regex' // 2201B
  | 'invalid_escape_sequence' // 22025
  | 'datetime_field_overflow' // 22008
  | 'duplicate_function' // 42723
  | 'invalid_function_definition' // 42P13
  | 'invalid_width_bucket' // 2201G
  | 'undefined_parameter' // 42P02
  | 'out_of_memory' // 53200
  | 'internal'; // XX000

const SQLSTATE: Record<ErrorCategory, string> = {
  syntax: '42601',
  undefined_table: '42P01',
  undefined_column: '42703',
  duplicate_object: '42710',
  duplicate_column: '42701',
  duplicate_table: '42P07',
  undefined_object: '42704',
  datatype_mismatch: '42804',
  grouping: '42803',
  ambiguous_column: '42702',
  undefined_function: '42883',
  wrong_object_type: '42809',
  invalid_column_reference: '42P10',
  not_supported: '0A000',
  invalid_input: '22P02',
  bad_copy_file_format: '22P04',
  invalid_datetime_format: '22007',
  numeric_out_of_range: '22003',
  division_by_zero: '22012',
  cardinality_violation: '21000',
  invalid_parameter: '22023',
  unique_violation: '23505',
  not_null_violation: '23502',
  invalid_argument_for_logarithm: '2201E',
  program_limit_exceeded: '54000',
  invalid_row_count_in_limit_clause: '2201W',
  invalid_row_count_in_result_offset_clause: '2201X',
  dependent_objects: '2BP01',
  insufficient_privilege: '42501',
  statement_too_complex: '54001',
  too_many_connections: '53300',
  read_only_parameter: '55P02',
  active_sql_transaction: '25001',
  read_only_sql_transaction: '25006',
  in_failed_sql_transaction: '25P02',
  serialization_failure: '40001',
  query_canceled: '57014',
  connection: '08000',
  windowing: '42P20',
  invalid_frame_offset: '22013',
  null_value_not_allowed: '22004',
  invalid_ntile_argument: '22014',
  invalid_nth_value_argument: '22016',
  untranslatable_character: '22P05',
  invalid_regex: '2201B',
  invalid_escape_sequence: '22025',
  datetime_field_overflow: '22008',
  duplicate_function: '42723',
  invalid_function_definition: '42P13',
  invalid_width_bucket: '2201G',
  undefined_parameter: '42P02',
  out_of_memory: '53200',
  internal: 'XX000',
};

/** Whether `s` names an error category (errors that travelled as text, e.g. through DuckDB). */
export function isErrorCategory(s: string): s is ErrorCategory {
  return Object.hasOwn(SQLSTATE, s);
}

export interface ErrorDetails {
  /** 1-based character offset into the statement text, as PostgreSQL reports it. */
  readonly position?: number;
  readonly hint?: string;
  readonly cause?: unknown;
}

export class SluiceError extends Error {
  readonly category: ErrorCategory;
  readonly position: number | undefined;
  readonly hint: string | undefined;

  constructor(category: ErrorCategory, message: string, details: ErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'SluiceError';
    this.category = category;
    this.position = details.position;
    this.hint = details.hint;
  }

  get sqlstate(): string {
    return SQLSTATE[this.category];
  }

  /** A copy of this error with a position, when the thrower did not know the statement text. */
  withPosition(position: number | undefined): SluiceError {
    if (position === undefined || this.position !== undefined) return this;
    return new SluiceError(this.category, this.message, { position, hint: this.hint, cause: this.cause });
  }
}

export function assertNever(x: never): never {
  throw new SluiceError('internal', `unexpected value: ${JSON.stringify(x)}`);
}

/** Converts any thrown value to a SluiceError (internal category for foreign errors). */
export function toSluiceError(e: unknown): SluiceError {
  if (e instanceof SluiceError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new SluiceError('internal', msg, { cause: e });
}

/** Line and column (1-based) of a 1-based character position in text. */
export function lineCol(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < position - 1 && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}
