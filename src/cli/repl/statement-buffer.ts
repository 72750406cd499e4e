/**
 * The query buffer of the REPL: lines accumulate until a `;` outside quotes and comments ends
 * a statement, as in psql. Statement boundaries come from the parser's splitStatements, so
 * the REPL and the engine agree on where a statement ends.
 */
import { splitStatements } from '../../parser/index.js';

/** Where the end of the buffer is: plain SQL, or inside a literal or comment that is still open. */
export type BufferState = 'sql' | 'quote' | 'identifier' | 'dollar' | 'comment';

/** What one line completed. */
export interface Completed {
  /** The statements the line ended, in order, each without its `;`. */
  readonly statements: string[];
  /** The text those statements were typed as (lines joined), for the history; '' if none. */
  readonly entry: string;
}

/** The query buffer: accumulates input lines into complete statements. */
export class StatementBuffer {
  private text = '';

  /** True while part of a statement is waiting for more lines. */
  get pending(): boolean {
    return this.text !== '';
  }

  /** The text waiting for its `;`. */
  get contents(): string {
    return this.text;
  }

  /** Whether the end of the buffer is inside a string, quoted identifier or block comment. */
  get state(): BufferState {
    return bufferState(this.text);
  }

  /** Forgets the waiting text (Ctrl-C, \r). */
  clear(): void {
    this.text = '';
  }

  /**
   * Adds a line. Returns the statements it completed; text after the last `;` waits for the
   * next line, unless it is only whitespace and closed comments.
   */
  push(line: string): Completed {
    this.text = this.text === '' ? line : `${this.text}\n${line}`;
    let parts: { text: string; offset: number }[];
    try {
      parts = splitStatements(this.text);
    } catch {
      // The lexer rejects an unterminated string or dollar quote: the statement goes on.
      return { statements: [], entry: '' };
    }
    const statements: string[] = [];
    let consumed = 0;
    for (const p of parts) {
      // A part is followed by its `;` (after whitespace) or by the end of the text.
      const end = p.offset + p.text.length;
      const semi = /^\s*;/.exec(this.text.slice(end));
      if (!semi) break;
      statements.push(p.text);
      consumed = end + semi[0].length;
    }
    const entry = this.text.slice(0, consumed).trim();
    const rest = this.text.slice(consumed);
    this.text = isBlank(rest) ? '' : rest.replace(/^\s*\n/, '');
    return { statements, entry };
  }

  /** Takes whatever is waiting as a final statement (end of input without a `;`). */
  takeRest(): string | null {
    const rest = this.text;
    this.text = '';
    if (bufferState(rest) !== 'sql') return null;
    try {
      return splitStatements(rest)[0]?.text ?? null;
    } catch {
      return null;
    }
  }
}

/** Text with no tokens that does not leave a comment open. */
function isBlank(text: string): boolean {
  if (text.trim() === '') return true;
  try {
    return splitStatements(text).length === 0 && bufferState(text) === 'sql';
  } catch {
    return false;
  }
}

/** The state at the end of `text`: probes whether a `;x` on a new line would stand on its own. */
export function bufferState(text: string): BufferState {
  let parts: { text: string; offset: number }[];
  try {
    parts = splitStatements(`${text}\n;x`);
  } catch (e) {
    const m = (e as Error).message;
    return m.includes('dollar') ? 'dollar' : m.includes('identifier') ? 'identifier' : 'quote';
  }
  const last = parts[parts.length - 1];
  return last && last.text === 'x' && last.offset === text.length + 2 ? 'sql' : 'comment';
}
