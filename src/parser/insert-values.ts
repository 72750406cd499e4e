/**
 * The bulk INSERT's fast path: one hand-written linear scan that recognizes a script which is
 * exactly `INSERT INTO t [(c, …)] VALUES (v, …), … [;]` where every v is a plain literal — a
 * number, a string ('' escapes), NULL, TRUE/FALSE, or `TIMESTAMP|DATE|INTERVAL '…'` — and
 * records where each value lies in the text, without copying it. Anything else (a function call,
 * an expression, a comment the scan does not expect, several statements) gives null, and the
 * statement takes the general path, which reports errors as before.
 *
 * The text of an 18 MB, 1 M-row INSERT is scanned in well under a second; the general path
 * (lexing it for the guard, DuckDB parsing it) took a minute.
 */

/** What a value of a VALUES list is (the codes in {@link InsertValues.kinds}). */
export const LiteralKind = {
  Null: 0,
  /** A string constant: its text (between the quotes) is cast to the column's type. */
  String: 1,
  /** A string constant with '' inside: the text needs unescaping. */
  EscapedString: 2,
  /** A number without a fraction or exponent. */
  Integer: 3,
  /** Any other number. */
  Decimal: 4,
  True: 5,
  False: 6,
} as const;
export type LiteralKind = (typeof LiteralKind)[keyof typeof LiteralKind];

/** The VALUES rows of a fast-path INSERT, row-major: value k of row r is at r * width + k. */
export interface InsertValues {
  /** The script the positions point into. */
  readonly text: string;
  /** Target columns as written, or null for all of the table's columns. */
  readonly columns: readonly string[] | null;
  readonly width: number;
  readonly rows: number;
  readonly kinds: Uint8Array;
  /** Start and end (exclusive) of each value's text: a number with its sign, a string without its quotes. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** For a typed literal (TIMESTAMP '…'), the type it names, lower case; otherwise undefined. */
  readonly typed: ReadonlyMap<number, string>;
}

/** A recognized fast-path INSERT: the table, its 1-based position, and the values. */
export interface ScannedInsert {
  readonly table: string;
  readonly pos: number;
  /** The statement's text: the script without its trailing semicolon and white space. */
  readonly statement: string;
  readonly values: InsertValues;
}

// Scripts shorter than this take the general path: the fast path pays off on bulk loads only,
// and short INSERTs keep the exact behaviour they always had.
const MIN_FAST_CHARS = 4096;

const TYPED_LITERALS = new Set(['timestamp', 'date', 'interval']);

let lastText: string | null = null;
let lastResult: ScannedInsert | null = null;
// The same INSERT cut out of its script (splitStatements' text): the same scan.
let lastStatement: ScannedInsert | null = null;

/**
 * Scans `text` as a whole-script bulk INSERT of literals; null when it is not one. The last
 * answer is remembered, since the session, the engine and the parser each ask about the same
 * script, or about the statement cut out of it.
 */
export function scanInsertValues(text: string): ScannedInsert | null {
  if (text === lastText) return lastResult;
  if (lastStatement && text.length === lastStatement.statement.length && text === lastStatement.statement) return lastStatement;
  const r = text.length >= MIN_FAST_CHARS && /^\s*insert\s/i.test(text) ? new Scanner(text).insert() : null;
  lastText = text;
  lastResult = r;
  if (r) {
    const lead = text.length - text.trimStart().length;
    lastStatement = { ...r, pos: r.pos - lead };
  } else lastStatement = null;
  return r;
}

/** Scans any INSERT statement's text as a bulk INSERT of literals (no minimum length); null when it is not one. */
export function scanInsertLiterals(text: string): InsertValues | null {
  return /^\s*insert\s/i.test(text) ? (new Scanner(text).insert()?.values ?? null) : null;
}

class Growable {
  kinds = new Uint8Array(1024);
  starts = new Int32Array(1024);
  ends = new Int32Array(1024);
  n = 0;

  push(kind: number, start: number, end: number): void {
    if (this.n === this.kinds.length) {
      const cap = this.n * 2;
      const k = new Uint8Array(cap);
      k.set(this.kinds);
      this.kinds = k;
      const s = new Int32Array(cap);
      s.set(this.starts);
      this.starts = s;
      const e = new Int32Array(cap);
      e.set(this.ends);
      this.ends = e;
    }
    this.kinds[this.n] = kind;
    this.starts[this.n] = start;
    this.ends[this.n] = end;
    this.n++;
  }
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c) || c === 36;

class Scanner {
  private i = 0;

  constructor(private readonly s: string) {}

  insert(): ScannedInsert | null {
    if (!this.keyword('insert') || !this.keyword('into')) return null;
    this.space();
    const pos = this.i + 1;
    const table = this.name();
    if (table === null) return null;
    this.space();
    let columns: string[] | null = null;
    if (this.s.charCodeAt(this.i) === 40) {
      this.i++;
      columns = [];
      for (;;) {
        this.space();
        const c = this.name();
        if (c === null) return null;
        columns.push(c);
        this.space();
        const d = this.s.charCodeAt(this.i++);
        if (d === 41) break;
        if (d !== 44) return null;
      }
    }
    if (!this.keyword('values')) return null;
    const vals = new Growable();
    const typed = new Map<number, string>();
    let width = -1;
    let rows = 0;
    let end = 0;
    for (;;) {
      this.space();
      if (this.s.charCodeAt(this.i) !== 40) return null;
      this.i++;
      let w = 0;
      for (;;) {
        this.space();
        if (!this.value(vals, typed)) return null;
        w++;
        this.space();
        const d = this.s.charCodeAt(this.i++);
        if (d === 41) break;
        if (d !== 44) return null;
      }
      if (width < 0) width = w;
      else if (w !== width) return null;
      rows++;
      end = this.i;
      this.space();
      const d = this.s.charCodeAt(this.i);
      if (d === 44) {
        this.i++;
        continue;
      }
      if (d === 59) {
        this.i++;
        this.space();
      }
      break;
    }
    if (this.i !== this.s.length) return null;
    return {
      table,
      pos,
      statement: this.s.slice(0, end).trimStart(),
      values: { text: this.s, columns, width, rows, kinds: vals.kinds.subarray(0, vals.n), starts: vals.starts.subarray(0, vals.n), ends: vals.ends.subarray(0, vals.n), typed },
    };
  }

  /** Skips white space and `--` comments. */
  private space(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 10 || c === 13 || c === 9) this.i++;
      else if (c === 45 && s.charCodeAt(this.i + 1) === 45) {
        const e = s.indexOf('\n', this.i);
        this.i = e < 0 ? s.length : e + 1;
      } else return;
    }
  }

  /** Reads the keyword `word` (after white space), followed by a non-identifier character. */
  private keyword(word: string): boolean {
    this.space();
    const end = this.i + word.length;
    if (this.s.slice(this.i, end).toLowerCase() !== word || isIdentPart(this.s.charCodeAt(end))) return false;
    this.i = end;
    return true;
  }

  /** A plain or double-quoted identifier (folded to lower case when plain); null otherwise. */
  private name(): string | null {
    const s = this.s;
    const start = this.i;
    if (s.charCodeAt(start) === 34) {
      let out = '';
      let j = start + 1;
      for (;;) {
        const e = s.indexOf('"', j);
        if (e < 0) return null;
        out += s.slice(j, e);
        if (s.charCodeAt(e + 1) === 34) {
          out += '"';
          j = e + 2;
          continue;
        }
        this.i = e + 1;
        return out.length ? out : null;
      }
    }
    if (!isIdentStart(s.charCodeAt(start))) return null;
    let j = start + 1;
    while (j < s.length && isIdentPart(s.charCodeAt(j))) j++;
    // A qualified name (schema.table) takes the general path.
    if (s.charCodeAt(j) === 46) return null;
    this.i = j;
    return s.slice(start, j).toLowerCase();
  }

  /** One literal of a VALUES row, pushed to `vals`; false when it is not a plain literal. */
  private value(vals: Growable, typed: Map<number, string>): boolean {
    const s = this.s;
    const start = this.i;
    const c = s.charCodeAt(start);
    if (c === 39) return this.string(vals);
    if (isDigit(c) || c === 46 || c === 45 || c === 43) return this.number(vals);
    if (!isIdentStart(c)) return false;
    let j = start + 1;
    while (j < s.length && isIdentPart(s.charCodeAt(j))) j++;
    const word = s.slice(start, j).toLowerCase();
    this.i = j;
    if (word === 'null') vals.push(LiteralKind.Null, start, j);
    else if (word === 'true') vals.push(LiteralKind.True, start, j);
    else if (word === 'false') vals.push(LiteralKind.False, start, j);
    else if (TYPED_LITERALS.has(word)) {
      this.space();
      if (s.charCodeAt(this.i) !== 39) return false;
      typed.set(vals.n, word);
      return this.string(vals);
    } else return false;
    return true;
  }

  private string(vals: Growable): boolean {
    const s = this.s;
    const start = this.i + 1;
    let j = start;
    let escaped = false;
    for (;;) {
      const e = s.indexOf("'", j);
      if (e < 0) return false;
      if (s.charCodeAt(e + 1) === 39) {
        escaped = true;
        j = e + 2;
        continue;
      }
      vals.push(escaped ? LiteralKind.EscapedString : LiteralKind.String, start, e);
      this.i = e + 1;
      // 'a' 'b' on separate lines is one constant in SQL: the general path handles that.
      const save = this.i;
      this.space();
      const next = s.charCodeAt(this.i);
      this.i = save;
      return next !== 39;
    }
  }

  private number(vals: Growable): boolean {
    const s = this.s;
    const start = this.i;
    let j = start;
    let c = s.charCodeAt(j);
    if (c === 45 || c === 43) c = s.charCodeAt(++j);
    let digits = 0;
    while (isDigit(c)) {
      digits++;
      c = s.charCodeAt(++j);
    }
    let integer = true;
    if (c === 46) {
      integer = false;
      c = s.charCodeAt(++j);
      while (isDigit(c)) {
        digits++;
        c = s.charCodeAt(++j);
      }
    }
    if (digits === 0) return false;
    if (c === 101 || c === 69) {
      integer = false;
      c = s.charCodeAt(++j);
      if (c === 45 || c === 43) c = s.charCodeAt(++j);
      if (!isDigit(c)) return false;
      while (isDigit(c)) c = s.charCodeAt(++j);
    }
    // 12abc, 0x1F, 1_000: not a plain number here.
    if (isIdentPart(c) || c === 46) return false;
    vals.push(integer ? LiteralKind.Integer : LiteralKind.Decimal, start, j);
    this.i = j;
    return true;
  }
}
