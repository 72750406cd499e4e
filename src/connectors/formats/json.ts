/**
 * The JSON decoder: one JSON object per record. Fields are matched to columns by name, an exact
 * match first and then case-insensitively; a missing field is NULL, fields that name no column
 * are ignored, and each value is coerced to its column's type (see json-coerce.ts). Blank
 * records are skipped.
 */
import type { Schema } from '../../common/types.js';
import type { DeadLetter } from '../api.js';
import { deadLetterOf, errorText, isBlank, type DecodeResult, type Decoder, type PositionOf } from './decoder.js';
import { coerceJson, foldKeys } from './json-coerce.js';
import { RowAssembler } from './row-assembler.js';

/** Decodes JSON-object records into rows of `schema`. */
export class JsonDecoder implements Decoder {
  private readonly schema: Schema;
  private readonly names: readonly string[];
  private readonly lowerNames: readonly string[];

  constructor(schema: Schema) {
    this.schema = schema;
    this.names = schema.map((f) => f.name);
    this.lowerNames = schema.map((f) => f.name.toLowerCase());
  }

  decode(records: readonly string[], positionOf: PositionOf): DecodeResult {
    const out = new RowAssembler(this.schema, records.length);
    const dead: DeadLetter[] = [];
    const row = out.row;
    const ncol = this.names.length;
    for (let i = 0; i < records.length; i++) {
      const raw = records[i]!;
      if (isBlank(raw)) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(raw);
      } catch (e) {
        dead.push(deadLetterOf(positionOf(i), raw, `invalid JSON: ${errorText(e)}`));
        continue;
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
        const kind = obj === null ? 'null' : Array.isArray(obj) ? 'an array' : `a ${typeof obj}`;
        dead.push(deadLetterOf(positionOf(i), raw, `expected a JSON object, got ${kind}`));
        continue;
      }
      const rec = obj as Record<string, unknown>;
      // Built only when some column has no exact-case field, which is rare for a steady feed.
      let folded: Map<string, unknown> | null = null;
      let j = 0;
      try {
        for (; j < ncol; j++) {
          let v = rec[this.names[j]!];
          // Inherited members (a column named "constructor") are functions or the prototype,
          // never JSON values, so only those and undefined need the own-property check.
          if ((v === undefined || typeof v === 'function' || v === Object.prototype) && !Object.hasOwn(rec, this.names[j]!)) {
            folded ??= foldKeys(rec);
            v = folded.get(this.lowerNames[j]!);
          }
          row[j] = coerceJson(v, this.schema[j]!.type);
        }
      } catch (e) {
        out.discard();
        dead.push(deadLetterOf(positionOf(i), raw, `column "${this.names[j]}": ${errorText(e)}`));
        continue;
      }
      out.commit();
    }
    return { batch: out.finish(), deadLetters: dead };
  }
}
