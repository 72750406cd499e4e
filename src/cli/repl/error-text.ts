/**
 * Errors printed the way psql prints them:
 *
 *   ERROR:  column "nope" does not exist
 *   LINE 1: SELECT nope FROM m
 *                  ^
 *   HINT:  …
 *
 * from a SluiceError (in process: `.position` 1-based, `.hint`) or a pg error (over the wire:
 * `.severity`, `.position` as a string, `.detail`, `.hint`).
 */
import { lineCol, SluiceError } from '../../common/errors.js';

/** Widest statement line shown under an error; longer lines are cut around the caret, as psql does. */
const LINE_WIDTH = 60;

interface ErrorFields {
  readonly severity: string;
  readonly message: string;
  readonly position?: number;
  readonly detail?: string;
  readonly hint?: string;
}

function fieldsOf(e: unknown): ErrorFields {
  if (e instanceof SluiceError) return { severity: 'ERROR', message: e.message, position: e.position, hint: e.hint };
  if (e instanceof Error) {
    const pg = e as Error & { severity?: string; position?: string | number; detail?: string; hint?: string };
    const position = pg.position === undefined || pg.position === '' ? undefined : Number(pg.position);
    return { severity: pg.severity ?? 'ERROR', message: pg.message, position: Number.isFinite(position) ? position : undefined, detail: pg.detail, hint: pg.hint };
  }
  return { severity: 'ERROR', message: String(e) };
}

/** The psql-style text of an error raised by the statement `sql` (positions count into it). */
export function formatError(e: unknown, sql: string): string {
  const f = fieldsOf(e);
  let out = `${f.severity}:  ${f.message}\n`;
  if (f.position !== undefined && f.position > 0 && f.position <= sql.length + 1) out += caretLines(sql, f.position);
  if (f.detail) out += `DETAIL:  ${f.detail}\n`;
  if (f.hint) out += `HINT:  ${f.hint}\n`;
  return out;
}

/** `LINE n: text` and a caret under the 1-based position. */
function caretLines(sql: string, position: number): string {
  const { line, column } = lineCol(sql, position);
  // A tab would move the text but not the caret: show it as one space.
  let text = (sql.split('\n')[line - 1] ?? '').replace(/[\t\r]/g, ' ');
  let caret = column - 1;
  if (text.length > LINE_WIDTH) {
    // Keep the caret in view with some text to its right; mark the cuts with "...".
    const start = Math.max(0, Math.min(caret - (LINE_WIDTH - 10), text.length - LINE_WIDTH));
    const end = start + LINE_WIDTH;
    const cut = text.slice(start, end);
    text = (start > 0 ? '...' : '') + cut + (end < text.length ? '...' : '');
    caret = caret - start + (start > 0 ? 3 : 0);
  }
  const prefix = `LINE ${line}: `;
  return `${prefix}${text}\n${' '.repeat(prefix.length + caret)}^\n`;
}
