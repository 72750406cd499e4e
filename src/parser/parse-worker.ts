/**
 * A parse worker thread: parses the statements the main thread sends, one at a time, and
 * answers each with the Statement (plain data, structured-cloned) or the SluiceError's fields.
 * Started by parse-pool.ts through parse-worker-boot.mjs.
 */
import { parentPort } from 'node:worker_threads';
import { toSluiceError, type ErrorCategory } from '../common/errors.js';
import type { Statement } from './ast.js';
import { inspectStatement, parseChecked } from './guard.js';

/** A statement to parse: its text and its 0-based offset in the script. */
export interface ParseRequest {
  readonly text: string;
  readonly offset: number;
}

/** A SluiceError as it crosses threads (an Error's own fields do not survive structured clone as a SluiceError). */
export interface ErrorFields {
  readonly category: ErrorCategory;
  readonly message: string;
  readonly position: number | undefined;
  readonly hint: string | undefined;
}

/** What a worker posts: once `ready` when it has loaded the parser, then one answer per request. */
export type WorkerMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'parsed'; readonly statement: Statement }
  | { readonly kind: 'failed'; readonly error: ErrorFields };

const port = parentPort!;

port.on('message', (req: ParseRequest) => {
  try {
    inspectStatement(req.text, req.offset);
    // Positions and token slices only ever index inside the statement, so the script it came
    // from can be stood in for by padding; sending the whole script with every statement would not scale.
    const statement = parseChecked(req.text, req.offset, ' '.repeat(req.offset) + req.text);
    post({ kind: 'parsed', statement });
  } catch (e) {
    const err = toSluiceError(e);
    post({ kind: 'failed', error: { category: err.category, message: err.message, position: err.position, hint: err.hint } });
  }
});

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

post({ kind: 'ready' });
