/**
 * Line splitting for line-oriented sources. A line ends at '\n'; a '\r' before it is dropped
 * (CRLF files), a leading byte-order mark is dropped, and text after the last '\n' is a line
 * only when the stream has ended (a file is read whole; a socket's partial line waits).
 */

/** Splits a whole file's text into lines. A final '\n' does not start an empty last line. */
export function splitLines(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** Splits a stream of text chunks into lines, holding the unfinished last line between chunks. */
export class LineSplitter {
  private tail = '';
  private first = true;

  /** Appends the complete lines of `chunk` (joined with the held tail) to `out`; returns how many. */
  push(chunk: string, out: string[]): number {
    if (this.first && chunk !== '') {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    let start = 0;
    let count = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      let line = chunk.slice(start, nl);
      if (this.tail !== '') {
        line = this.tail + line;
        this.tail = '';
      }
      out.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      count++;
      start = nl + 1;
    }
    if (start < chunk.length) this.tail += chunk.slice(start);
    return count;
  }

  /** At the end of the stream: appends the unfinished last line, if any; returns how many. */
  flush(out: string[]): number {
    if (this.tail === '') return 0;
    const line = this.tail;
    this.tail = '';
    out.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
    return 1;
  }

  /** Characters held in the unfinished line. */
  get pending(): number {
    return this.tail.length;
  }
}
