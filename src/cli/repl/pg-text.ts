/**
 * Values of a remote result, which arrive in PostgreSQL's text format, turned into what the
 * REPL prints. The server writes every value with formatValue, so only the types whose
 * printing depends on the JS value (numbers, booleans) are converted back; the rest stay text
 * and print exactly as the server wrote them.
 */
import type { Field, SqlType, Value } from '../../common/types.js';

/** Type OIDs (pg_type) of the columns the server describes. */
const OID_TYPES: Record<number, SqlType> = {
  16: 'boolean',
  20: 'bigint',
  21: 'int',
  23: 'int',
  700: 'double',
  701: 'double',
  1700: 'numeric',
};

/** A column of a remote result: its name, and the type it is printed as. */
export function fieldFromPg(name: string, dataTypeID: number): Field {
  return { name, type: OID_TYPES[dataTypeID] ?? 'varchar' };
}

/** One text-format value of a column printed as `type` (from fieldFromPg). */
export function valueFromPgText(text: string | null, type: SqlType): Value {
  if (text === null) return null;
  switch (type) {
    case 'boolean':
      return text === 't' || text === 'true';
    case 'int':
    case 'bigint':
      // Integers print with String(); only a well-formed one is converted (int8 as a bigint,
      // so values past 2^53 keep every digit).
      if (!/^-?\d+$/.test(text)) return text;
      return type === 'int' ? Number(text) : BigInt(text);
    case 'numeric':
      // The exact decimal text, as the server printed it.
      return text;
    case 'double': {
      // formatDouble on the server printed a double; Number() reads back the same double.
      const n = Number(text);
      return Number.isNaN(n) && text !== 'NaN' ? text : n;
    }
    default:
      return text;
  }
}

/** A text-format row converted column by column. */
export function rowFromPgText(row: readonly unknown[], columns: readonly Field[]): Value[] {
  return row.map((v, i) => valueFromPgText(v === null || v === undefined ? null : String(v), columns[i]?.type ?? 'varchar'));
}
