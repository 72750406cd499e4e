/**
 * The check behind a scalar subquery that is not an aggregate: its rows are counted per outer
 * key, and more than one is PostgreSQL's error 21000 — in a view a row-level error (the value
 * is NULL and the error is counted, as for a division by zero).
 */
import { ColumnBuilder, getValue, isValid } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { evalAll, syntaxFunctions, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';

/** subquery_one_row(n, v): v when n (the subquery's row count) is at most 1; otherwise NULL and a row error. */
const oneRow: ScalarFunction = (args, _argExprs, type) => (b, ctx) => {
  const [n, v] = evalAll(args, b, ctx);
  const out = new ColumnBuilder(type, b.length);
  for (let i = 0; i < b.length; i++) {
    if (isValid(n!, i) && (getValue(n!, i) as bigint) > 1n) {
      ctx.onRowError(new SluiceError('cardinality_violation', 'more than one row returned by a subquery used as an expression'));
      out.appendNull();
    } else out.appendFrom(v!, i);
  }
  return out.finish();
};

/** The functions scalar subqueries are planned with (bound from syntax only). */
export const SUBQUERY_FUNCTIONS = syntaxFunctions({ subquery_one_row: oneRow }) satisfies Record<string, ScalarDefinition>;
