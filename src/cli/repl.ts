/**
 * `sluice repl`: an interactive SQL shell over an in-process engine or a server (`--url`).
 * Statements end with `;` and may span lines; backslash commands end at the newline
 * (\d, \d NAME, \dt, \dm, \timing, \q, \?). History persists across runs; Tab completes
 * keywords and object names. SUBSCRIBE shows the view live: on a terminal the table is redrawn
 * in place; otherwise each change prints as a line. Ctrl-C stops a subscription.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { lineCol, toSluiceError } from '../common/errors.js';
import type { Field, Value } from '../common/types.js';
import { createEngine, type Engine, type StatementResult } from '../exec/runtime/engine.js';
import { splitStatements } from '../parser/index.js';
import { encodeValues } from '../exec/group-table.js';
import { renderRows } from './format.js';

/** What the REPL runs statements against: an engine in this process, or a server. */
export interface ReplBackend {
  run(sql: string): Promise<StatementResult[]>;
  /** Streams a SUBSCRIBE: columns, then rows (epoch, weight, …) until stop() resolves. */
  subscribe(sql: string, onColumns: (cols: readonly Field[]) => void, onRows: (rows: Value[][]) => void): { stop(): Promise<void>; done: Promise<string | null> };
  objectNames(): Promise<string[]>;
  close(): Promise<void>;
}

export function inProcessBackend(engine: Engine): ReplBackend {
  return {
    run: (sql) => engine.execute(sql),
    subscribe(sql, onColumns, onRows) {
      let stopFn: (() => void) | null = null;
      let finish: (r: string | null) => void = () => undefined;
      const done = new Promise<string | null>((res) => (finish = res));
      void engine.execute(sql).then(
        ([r]) => {
          if (!r || r.kind !== 'subscription') {
            finish('not a SUBSCRIBE');
            return;
          }
          onColumns(r.columns);
          if (r.rows.length) onRows(r.rows);
          stopFn = r.listen(onRows, (reason) => finish(reason));
        },
        (e) => finish(toSluiceError(e).message),
      );
      return {
        stop: async () => {
          stopFn?.();
          finish(null);
        },
        done,
      };
    },
    objectNames: async () => engine.catalog.list().map((e) => e.name),
    close: () => engine.close(),
  };
}

const PG_TYPES: Record<number, Field['type']> = { 16: 'boolean', 20: 'bigint', 21: 'int', 23: 'int', 700: 'double', 701: 'double', 1700: 'numeric', 1114: 'timestamp', 1184: 'timestamp', 1082: 'date', 1186: 'interval' };

export async function remoteBackend(url: string): Promise<ReplBackend> {
  const text = { getTypeParser: () => (v: string) => v };
  const client = new pg.Client({ connectionString: url, types: text });
  await client.connect();
  // Values arrive as text and are shown as text: the columns are typed only for alignment.
  const asResult = (r: pg.QueryResult): StatementResult =>
    r.fields?.length
      ? { kind: 'rows', tag: `${r.command} ${r.rowCount ?? r.rows.length}`, columns: r.fields.map((f) => ({ name: f.name, type: PG_TYPES[f.dataTypeID] ?? 'varchar' })), rows: (r.rows as unknown[][]).map((row) => row.map((v) => (v === null ? null : String(v)))) }
      : { kind: 'command', tag: r.command ?? 'OK' };
  const shown = (cols: readonly Field[]): Field[] => cols.map((c) => ({ ...c, type: ['int', 'bigint', 'double', 'numeric'].includes(c.type) ? c.type : 'varchar' }));
  return {
    async run(sql) {
      const r = await client.query({ text: sql, rowMode: 'array' });
      const list = Array.isArray(r) ? (r as pg.QueryResult[]) : [r];
      return list.map(asResult).map((x) => (x.kind === 'rows' ? { ...x, columns: shown(x.columns) } : x));
    },
    subscribe(sql, onColumns, onRows) {
      const q = new pg.Query({ text: sql, rowMode: 'array' } as pg.QueryConfig);
      let finish: (r: string | null) => void = () => undefined;
      const done = new Promise<string | null>((res) => (finish = res));
      let announced = false;
      q.on('row', (row: unknown[], result?: { fields?: { name: string }[] }) => {
        if (!announced) {
          announced = true;
          onColumns((result?.fields ?? row.map((_, i) => ({ name: `c${i}` }))).map((f) => ({ name: f.name, type: 'varchar' })));
        }
        onRows([row.map((v) => (v === null ? null : String(v)))]);
      });
      q.on('error', (e: Error & { code?: string }) => finish(e.code === '57014' ? null : e.message));
      q.on('end', () => finish(null));
      void client.query(q);
      return {
        done,
        stop: async () => {
          // A CancelRequest on a new connection with the session's key, as psql's Ctrl-C does.
          const c = client as unknown as { processID: number; secretKey: number; host: string; port: number };
          await new Promise<void>((resolve) => {
            const s = netConnect(c.port, c.host, () => {
              const b = Buffer.alloc(16);
              b.writeInt32BE(16, 0);
              b.writeInt32BE(80877102, 4);
              b.writeInt32BE(c.processID, 8);
              b.writeInt32BE(c.secretKey, 12);
              s.end(b, () => resolve());
            });
            s.on('error', () => resolve());
          });
          await done;
        },
      };
    },
    async objectNames() {
      const names: string[] = [];
      for (const w of ['SOURCES', 'TABLES', 'MATERIALIZED VIEWS', 'SINKS']) {
        const r = await client.query({ text: `SHOW ${w}`, rowMode: 'array' });
        for (const row of r.rows as unknown[][]) names.push(String(row[0]));
      }
      return names;
    },
    close: () => client.end(),
  };
}

const KEYWORDS = [
  'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'OFFSET', 'JOIN', 'LEFT JOIN', 'ON', 'AS', 'AND', 'OR', 'NOT', 'NULL',
  'CREATE SOURCE', 'CREATE TABLE', 'CREATE MATERIALIZED VIEW', 'CREATE SINK', 'DROP', 'INSERT INTO', 'VALUES', 'UPDATE', 'DELETE FROM', 'SET',
  'SHOW', 'DESCRIBE', 'EXPLAIN', 'FLUSH', 'SUBSCRIBE', 'WITH', 'APPEND ONLY', 'PRIMARY KEY', 'WATERMARK FOR', 'EMIT ON WINDOW CLOSE',
  'TUMBLE', 'HOP', 'SESSION', 'PROCTIME()', 'INTERVAL', 'DISTINCT', 'COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'FOR SYSTEM_TIME AS OF PROCTIME()',
  'MATERIALIZED VIEWS', 'SOURCES', 'TABLES', 'SINKS', 'CASCADE', 'IF EXISTS', 'batch_interval',
];

/** Completions for the word before the cursor: keywords and object names, in the user's case. */
export function complete(line: string, names: readonly string[]): [string[], string] {
  const m = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(line);
  const word = m ? m[1]! : '';
  if (!word) return [[], ''];
  const lower = word.toLowerCase();
  const upper = word === word.toUpperCase() && /[A-Z]/.test(word);
  const hits = [
    ...names.filter((n) => n.toLowerCase().startsWith(lower)),
    ...KEYWORDS.filter((k) => k.toLowerCase().startsWith(lower)).map((k) => (upper ? k : k.toLowerCase())),
  ];
  return [[...new Set(hits)], word];
}

export interface ReplOptions {
  readonly url?: string;
  readonly dataDir?: string | null;
  readonly input?: Readable;
  readonly output?: Writable;
  readonly historyFile?: string;
  readonly terminal?: boolean;
  /** Receives the readline interface (tests use it to send SIGINT). */
  readonly onInterface?: (rl: Interface) => void;
}

function errorText(e: unknown, sql: string): string {
  const err = toSluiceError(e) as { message: string; position?: number; hint?: string };
  const pgPos = (e as { position?: string }).position;
  const position = err.position ?? (pgPos ? Number(pgPos) : undefined);
  let out = `ERROR:  ${err.message}\n`;
  if (position !== undefined && position > 0) {
    const { line, column } = lineCol(sql, position);
    const text = sql.split('\n')[line - 1] ?? '';
    const prefix = `LINE ${line}: `;
    out += `${prefix}${text}\n${' '.repeat(prefix.length + column - 1)}^\n`;
  }
  const hint = err.hint ?? (e as { hint?: string }).hint;
  if (hint) out += `HINT:  ${hint}\n`;
  return out;
}

export async function runRepl(opts: ReplOptions = {}): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const terminal = opts.terminal ?? Boolean((output as NodeJS.WriteStream).isTTY);
  const historyFile = opts.historyFile ?? join(homedir(), '.sluice_history');
  const backend = opts.url ? await remoteBackend(opts.url) : inProcessBackend(await createEngine({ dataDir: opts.dataDir ?? null, log: () => undefined }));
  let names = await backend.objectNames();
  const history = existsSync(historyFile) ? readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000) : [];
  const rl = createInterface({
    input,
    output,
    terminal,
    history,
    historySize: 1000,
    completer: (line: string) => complete(line, names),
  });
  opts.onInterface?.(rl);
  const write = (s: string) => output.write(s);
  let timing = false;
  let buffer = '';
  let subscription: { stop(): Promise<void> } | null = null;
  write(`sluice repl — ${opts.url ? `connected to ${opts.url}` : 'in-process engine'}. End statements with ;  \\? for help, \\q to quit.\n`);
  const prompt = () => {
    rl.setPrompt(buffer ? 'sluice-> ' : 'sluice=> ');
    rl.prompt();
  };
  rl.on('SIGINT', () => {
    if (subscription) void subscription.stop();
    else {
      buffer = '';
      write('\n');
      prompt();
    }
  });
  const remember = (entry: string) => {
    try {
      appendFileSync(historyFile, entry.replace(/\n/g, ' ') + '\n');
    } catch {
      // History is a convenience: an unwritable file must not stop the shell.
    }
  };

  const show = (r: StatementResult) => {
    if (r.kind === 'rows') write(renderRows(r.columns, r.rows, 'table') + '\n');
    else if (r.kind === 'command') {
      if (r.notice) write(`NOTICE:  ${r.notice}\n`);
      write(`${r.tag.replace(/_/g, ' ')}\n`);
    }
  };

  const runSubscribe = async (sql: string) => {
    let columns: readonly Field[] = [];
    const rows = new Map<string, { row: Value[]; n: number }>();
    let changes = 0;
    let epoch: Value = null;
    let lastLines = 0;
    let lastDraw = 0;
    let timer: NodeJS.Timeout | null = null;
    const draw = () => {
      timer = null;
      lastDraw = Date.now();
      const body = [...rows.values()].flatMap(({ row, n }) => Array.from({ length: n }, () => row));
      const text = renderRows(columns.slice(2), body, 'table') + `epoch ${String(epoch)} · ${changes} changes · Ctrl-C to stop\n`;
      if (lastLines) write(`\x1b[${lastLines}A\x1b[0J`);
      write(text);
      lastLines = text.split('\n').length - 1;
    };
    const sub = backend.subscribe(
      sql,
      (cols) => {
        columns = cols;
        if (!terminal) write(cols.map((c) => c.name).join('\t') + '\n');
      },
      (batch) => {
        for (const r of batch) {
          changes++;
          epoch = r[0]!;
          if (!terminal) {
            write(r.map((v) => (v === null ? 'NULL' : String(v))).join('\t') + '\n');
            continue;
          }
          const w = Number(r[1]);
          const data = r.slice(2);
          const k = encodeValues(data);
          const cur = rows.get(k) ?? { row: data, n: 0 };
          cur.n += w;
          if (cur.n <= 0) rows.delete(k);
          else rows.set(k, cur);
        }
        if (terminal && !timer) timer = setTimeout(draw, Math.max(0, 100 - (Date.now() - lastDraw)));
      },
    );
    subscription = sub;
    const reason = await sub.done;
    if (timer) {
      clearTimeout(timer);
      draw();
    }
    subscription = null;
    write(reason ? `subscription ended: ${reason}\n` : 'subscription stopped\n');
  };

  const meta = async (cmd: string): Promise<boolean> => {
    const [c, arg] = cmd.trim().split(/\s+/, 2);
    switch (c) {
      case '\\q':
        return false;
      case '\\?':
        write('\\d [NAME]   list relations, or describe one\n\\dt \\dm     tables, materialized views\n\\timing     toggle timing\n\\q          quit\nStatements end with ;\n');
        return true;
      case '\\timing':
        timing = !timing;
        write(`Timing is ${timing ? 'on' : 'off'}.\n`);
        return true;
      case '\\d':
      case '\\dt':
      case '\\dm':
      case '\\dv': {
        try {
          if (c === '\\d' && arg) {
            for (const r of await backend.run(`DESCRIBE ${arg}`)) show(r);
            return true;
          }
          const kinds = c === '\\dt' ? ['TABLES'] : c === '\\d' ? ['SOURCES', 'TABLES', 'MATERIALIZED VIEWS', 'SINKS'] : ['MATERIALIZED VIEWS'];
          const rows: Value[][] = [];
          for (const k of kinds) {
            const [r] = await backend.run(`SHOW ${k}`);
            if (r?.kind === 'rows') for (const row of r.rows) rows.push([row[0]!, k.toLowerCase().replace(/s$/, '').replace('materialized view', 'materialized view')]);
          }
          write(renderRows([{ name: 'Name', type: 'varchar' }, { name: 'Type', type: 'varchar' }], rows, 'table') + '\n');
        } catch (e) {
          write(errorText(e, cmd));
        }
        return true;
      }
      default:
        write(`invalid command ${c}; try \\? for help\n`);
        return true;
    }
  };

  prompt();
  for await (const line of rl) {
    if (!buffer && line.trim().startsWith('\\')) {
      remember(line.trim());
      if (!(await meta(line))) break;
      prompt();
      continue;
    }
    buffer = buffer ? `${buffer}\n${line}` : line;
    const trimmed = buffer.trim();
    const parts = splitStatements(buffer);
    // Complete when the text ends with a semicolon outside quotes and comments.
    if (!trimmed || !trimmed.endsWith(';') || parts.length === 0 || splitStatements(buffer + ' x').length === parts.length) {
      if (!trimmed) buffer = '';
      prompt();
      continue;
    }
    const sql = buffer;
    buffer = '';
    remember(sql.trim());
    for (const part of parts) {
      const started = performance.now();
      try {
        if (/^subscribe\b/i.test(part.text)) await runSubscribe(part.text);
        else for (const r of await backend.run(part.text)) show(r);
        if (/^(create|drop)\b/i.test(part.text)) names = await backend.objectNames();
      } catch (e) {
        write(errorText(e, part.text));
        break;
      }
      if (timing) write(`Time: ${(performance.now() - started).toFixed(3)} ms\n`);
    }
    prompt();
  }
  rl.close();
  await backend.close();
  return 0;
}
