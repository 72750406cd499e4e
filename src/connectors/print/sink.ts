/**
 * The print sink (`connector = 'print'`): writes each change of each epoch to stdout as one
 * line, `<sink>[<epoch>] + (a, b)` for an insert and `<sink>[<epoch>] - (a, b)` for a delete,
 * values printed as PostgreSQL's text format prints them and NULL as NULL. A row of weight w
 * prints |w| lines. Not exactly-once: stdout holds no record of what it printed, so `open()`
 * returns null and an epoch handed again after a restart is printed again.
 */
import { getValue, type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { formatValue } from '../../common/values.js';
import type { SinkConnector, SinkContext, SinkFactory } from '../api.js';
import { readPrintOptions } from './options.js';

/** Where printed text goes; resolves once the text is accepted (so a slow pipe slows epochs). */
export type TextWriter = (text: string) => Promise<void>;

const stdoutWriter: TextWriter = (text) =>
  new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });

/** Formats the changes of one epoch as print-sink lines, each ending in '\n'. */
export function formatChanges(prefix: string, schema: Schema, batches: readonly Batch[]): string {
  let out = '';
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const w = b.weights === null ? 1 : b.weights[i]!;
      if (w === 0) continue;
      let row = '';
      for (let j = 0; j < schema.length; j++) {
        if (j > 0) row += ', ';
        row += formatValue(getValue(b.columns[j]!, i), schema[j]!.type) ?? 'NULL';
      }
      const line = `${prefix} ${w > 0 ? '+' : '-'} (${row})\n`;
      for (let k = Math.abs(w); k > 0; k--) out += line;
    }
  }
  return out;
}

/** A print sink writing to `writer` (stdout unless a test says otherwise). */
export class PrintSink implements SinkConnector {
  private readonly ctx: SinkContext;
  private readonly writer: TextWriter;

  constructor(ctx: SinkContext, writer: TextWriter = stdoutWriter) {
    readPrintOptions(ctx.options);
    this.ctx = ctx;
    this.writer = writer;
  }

  /** Null: stdout keeps no record of the epochs it printed. */
  async open(): Promise<null> {
    return null;
  }

  async write(epoch: number, batches: readonly Batch[]): Promise<void> {
    const text = formatChanges(`${this.ctx.name}[${epoch}]`, this.ctx.schema, batches);
    if (text !== '') await this.writer(text);
  }

  async close(): Promise<void> {}
}

/** The SinkFactory of `connector = 'print'`. */
export const createPrintSink: SinkFactory = (ctx) => new PrintSink(ctx);
