/**
 * SQL text → typed AST. The only importer of node-sql-parser. Every error thrown from here is a
 * SluiceError of category 'syntax' (or 'not_supported') with a 1-based position, or, from
 * parseSqlGuarded, 'statement_too_complex' for a statement the parser could not afford.
 * Client SQL goes through parseSqlGuarded; parseSql is for trusted text (the stored catalog).
 */
export * from './ast.js';
export { parseSql, parseStatement, parseExpression, parseQueryText, relationsOf } from './parse.js';
export { lex, splitStatements, type Token } from './lexer.js';
export { rewriteValuesQueries } from './values-query.js';
export { parseInterval, formatInterval } from '../common/interval.js';
export { parseSqlGuarded, warmParser } from './guarded-parse.js';
export { scanInsertValues, LiteralKind, type InsertValues, type ScannedInsert } from './insert-values.js';
