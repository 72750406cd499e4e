/**
 * Runs sqllogictest files against a sluice server over pg-wire (the `pg` driver, simple query
 * protocol), each file on a fresh engine. Values print as sqllogictest expects: NULL, t/f for
 * booleans, (empty) for the empty string; rows compare as whitespace-separated tokens.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import pg from 'pg';
import { parseSlt, SltParseError, type SltRecord } from './parse.js';

export interface SltFailure {
  readonly file: string;
  readonly line: number;
  readonly sql: string;
  readonly message: string;
}

export interface SltFileResult {
  readonly file: string;
  readonly records: number;
  readonly failures: readonly SltFailure[];
}

/** Starts a server on a fresh engine and returns its port and a stop function. */
export type ServerFactory = () => Promise<{ port: number; stop: () => Promise<void> }>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v === '') return '(empty)';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return String(v);
}

function tokens(row: string): string[] {
  return row.trim().split(/\s+/).filter((t) => t !== '');
}

function compareRows(actual: string[][], expected: readonly string[], sort: string): string | null {
  let a = actual.map((r) => r.flatMap(tokens));
  let e = expected.map(tokens);
  if (sort === 'rowsort') {
    const key = (r: string[]) => r.join(' ');
    a = [...a].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    e = [...e].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  } else if (sort === 'valuesort') {
    a = [a.flat().sort()];
    e = [e.flat().sort()];
  }
  const as = a.map((r) => r.join(' ')).join('\n');
  const es = e.map((r) => r.join(' ')).join('\n');
  return as === es ? null : `expected:\n${es || '(no rows)'}\nactual:\n${as || '(no rows)'}`;
}

export async function runSltFile(file: string, server: ServerFactory, log: (m: string) => void = () => undefined): Promise<SltFileResult> {
  const { port, stop } = await server();
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'slt', database: 'slt' });
  // Keep every value as text so formatting matches the files, not the driver's parsers.
  const textTypes = { getTypeParser: () => (v: string) => v };
  const failures: SltFailure[] = [];
  let records = 0;
  try {
    await client.connect();
    const runRecords = async (recs: readonly SltRecord[], path: string): Promise<boolean> => {
      for (const r of recs) {
        switch (r.kind) {
          case 'halt':
            return false;
          case 'include': {
            const inc = resolve(dirname(path), r.path);
            let recs: SltRecord[];
            try {
              recs = parseSlt(readFileSync(inc, 'utf8'));
            } catch (e) {
              failures.push({ file: path, line: r.line, sql: `include ${r.path}`, message: `cannot run the included file: ${(e as Error).message}` });
              return false;
            }
            if (!(await runRecords(recs, inc))) return false;
            continue;
          }
          case 'sleep':
            await new Promise((res) => setTimeout(res, r.ms));
            continue;
          case 'statement': {
            records++;
            try {
              const res = await client.query({ text: r.sql, types: textTypes });
              if (!r.ok) failures.push({ file: path, line: r.line, sql: r.sql, message: 'statement succeeded but an error was expected' });
              else if (r.count !== undefined && res.rowCount !== r.count) failures.push({ file: path, line: r.line, sql: r.sql, message: `statement reported ${String(res.rowCount)} rows, expected ${r.count}` });
            } catch (e) {
              if (r.ok) failures.push({ file: path, line: r.line, sql: r.sql, message: `statement failed: ${(e as Error).message}` });
              else if (r.error && !new RegExp(r.error.trim()).test((e as Error).message)) {
                failures.push({ file: path, line: r.line, sql: r.sql, message: `error "${(e as Error).message}" does not match /${r.error.trim()}/` });
              }
            }
            continue;
          }
          case 'query': {
            records++;
            try {
              const res = await client.query({ text: r.sql, rowMode: 'array', types: textTypes });
              const rows = (res.rows as unknown[][]).map((row) => row.map(cell));
              const diff = compareRows(rows, r.expected, r.sort);
              if (diff) failures.push({ file: path, line: r.line, sql: r.sql, message: diff });
            } catch (e) {
              failures.push({ file: path, line: r.line, sql: r.sql, message: `query failed: ${(e as Error).message}` });
            }
            continue;
          }
        }
      }
      return true;
    };
    let recs: SltRecord[] | null = null;
    try {
      recs = parseSlt(readFileSync(file, 'utf8'));
    } catch (e) {
      if (!(e instanceof SltParseError)) throw e;
      failures.push({ file, line: 0, sql: '', message: `cannot parse the file: ${e.message}` });
    }
    if (recs !== null) await runRecords(recs, file);
  } finally {
    await client.end().catch(() => undefined);
    await stop();
  }
  log(`${file}: ${records} records, ${failures.length} failed`);
  return { file, records, failures };
}

export interface ExpectedFailure {
  readonly file: string;
  readonly reason: string;
}

/** Parses the expected-failures list: `file-name  # reason` per line (matched by file name). */
export function readExpectedFailures(path: string): ExpectedFailure[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [file, ...reason] = l.split('#');
      return { file: basename(file!.trim()), reason: reason.join('#').trim() };
    });
}
