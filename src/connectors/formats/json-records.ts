/**
 * The general path of JSON decoding into FastColumns: JSON.parse of one record's text, then each
 * column's field by the rules of json.ts (exact name first, then case-insensitively; a missing
 * field is NULL) coerced by json-coerce.ts. The byte scanner (json-scanner.ts) hands it every
 * record it cannot decode exactly, so errors are always worded here.
 */
import type { Schema } from '../../common/types.js';
import { errorText, isBlank } from './decoder.js';
import type { FastColumn } from './fast-column.js';
import { foldKeys } from './json-coerce.js';

/** decode() results. */
export const RECORD_ROW = 1;
export const RECORD_SKIP = 0;
export const RECORD_FAILED = -1;

/** Decodes JSON-object records (as text) into columns, one row per record. */
export class JsonRecords {
  /** After RECORD_FAILED: why. */
  error = '';
  private readonly names: readonly string[];
  private readonly lowerNames: readonly string[];
  private readonly slots: readonly number[];

  /** `fields` are the columns the JSON keys name; fields[j] is written to cols[slots[j]]. */
  constructor(fields: Schema, slots: readonly number[]) {
    this.names = fields.map((f) => f.name);
    this.lowerNames = this.names.map((n) => n.toLowerCase());
    this.slots = slots;
  }

  /**
   * Decodes `text` into `cols`: RECORD_ROW, RECORD_SKIP (blank) or RECORD_FAILED with `error`
   * set. On RECORD_FAILED some columns may hold a value of the record; the caller truncates them.
   */
  decode(text: string, cols: readonly FastColumn[]): number {
    if (isBlank(text)) return RECORD_SKIP;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      this.error = `invalid JSON: ${errorText(e)}`;
      return RECORD_FAILED;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      this.error = `expected a JSON object, got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : `a ${typeof obj}`}`;
      return RECORD_FAILED;
    }
    const rec = obj as Record<string, unknown>;
    const names = this.names;
    let folded: Map<string, unknown> | null = null;
    let j = 0;
    try {
      for (; j < names.length; j++) {
        let v = rec[names[j]!];
        // Inherited members (a column named "constructor") are never JSON values.
        if ((v === undefined || typeof v === 'function' || v === Object.prototype) && !Object.hasOwn(rec, names[j]!)) {
          folded ??= foldKeys(rec);
          v = folded.get(this.lowerNames[j]!);
        }
        cols[this.slots[j]!]!.json(v);
      }
    } catch (e) {
      this.error = `column "${names[j]}": ${errorText(e)}`;
      return RECORD_FAILED;
    }
    return RECORD_ROW;
  }
}
