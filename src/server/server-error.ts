/**
 * Errors of the wire protocol layer and their ErrorResponse/NoticeResponse fields.
 */
import { SluiceError, toSluiceError, type ErrorCategory } from '../common/errors.js';

/** Options of a {@link PgServerError}. */
export interface PgServerErrorOptions {
  /** The closest engine category; the SQLSTATE sent is the explicit one regardless. */
  readonly category?: ErrorCategory;
  readonly hint?: string;
  /** A FATAL error ends the connection after it is sent. */
  readonly fatal?: boolean;
}

/**
 * A SluiceError with an explicit SQLSTATE, for protocol conditions the engine's categories do
 * not name (08P01 protocol violation, 28P01 bad password, 57014 cancel, 26000/34000 unknown
 * statement or portal, …).
 */
export class PgServerError extends SluiceError {
  readonly code: string;
  readonly fatal: boolean;

  constructor(code: string, message: string, opts: PgServerErrorOptions = {}) {
    super(opts.category ?? 'connection', message, { hint: opts.hint });
    this.code = code;
    this.fatal = opts.fatal ?? false;
  }

  override get sqlstate(): string {
    return this.code;
  }
}

/** A protocol violation (08P01); fatal ones end the connection. */
export function protocolViolation(message: string, fatal = false): PgServerError {
  return new PgServerError('08P01', message, { fatal });
}

/** The error a cancelled statement reports, as PostgreSQL words it. */
export function queryCanceled(): PgServerError {
  return new PgServerError('57014', 'canceling statement due to user request', { category: 'internal' });
}

/** The fields of one ErrorResponse or NoticeResponse, keyed by their one-letter codes. */
export type ErrorFields = ReadonlyArray<readonly [string, string]>;

/**
 * The ErrorResponse fields for any thrown value. `offset` shifts the error position (given
 * relative to one statement) to the whole query text `text`, and the position is converted
 * from UTF-16 units to characters, as PostgreSQL counts it.
 */
export function errorFields(e: unknown, text?: string, offset = 0): ErrorFields {
  const err = toSluiceError(e);
  const severity = err instanceof PgServerError && err.fatal ? 'FATAL' : 'ERROR';
  const fields: [string, string][] = [
    ['S', severity],
    ['V', severity],
    ['C', err.sqlstate],
    ['M', err.message],
  ];
  if (err.hint !== undefined) fields.push(['H', err.hint]);
  if (err.position !== undefined) fields.push(['P', String(characterPosition(text, err.position + offset))]);
  return fields;
}

/** The NoticeResponse fields of an engine notice. */
export function noticeFields(message: string): ErrorFields {
  return [
    ['S', 'NOTICE'],
    ['V', 'NOTICE'],
    ['C', '00000'],
    ['M', message],
  ];
}

/** The NoticeResponse fields of a WARNING with its SQLSTATE (BEGIN inside a block, COMMIT outside one). */
export function warningFields(w: { readonly code: string; readonly message: string }): ErrorFields {
  return [
    ['S', 'WARNING'],
    ['V', 'WARNING'],
    ['C', w.code],
    ['M', w.message],
  ];
}

/** Converts a 1-based UTF-16 position in `text` to a 1-based character (code point) position. */
function characterPosition(text: string | undefined, position: number): number {
  if (text === undefined || position <= 1) return position;
  let chars = 0;
  const end = Math.min(position - 1, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by its low surrogate is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    chars++;
  }
  return chars + 1 + Math.max(0, position - 1 - text.length);
}

/** The error with its position mapped through `map` (for errors in rewritten statement text). */
export function relocated(e: unknown, map: (position: number) => number): unknown {
  if (!(e instanceof SluiceError) || e.position === undefined || e instanceof PgServerError) return e;
  return new SluiceError(e.category, e.message, { position: map(e.position), hint: e.hint, cause: e.cause });
}
