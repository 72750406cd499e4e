/**
 * Backslash commands: a line that starts with `\` outside a string or comment, ending at the
 * newline. `\d` and friends list and describe the catalog through the backend, so they work
 * the same in process and against a server.
 */
import { renderRows } from '../format.js';
import type { RelationKind, ReplBackend, ReplRelation } from './backend.js';
import { formatError } from './error-text.js';
import { formatResult } from './result-text.js';

/** Every backslash command, for Tab completion. */
export const META_COMMAND_NAMES: readonly string[] = ['\\?', '\\d', '\\dm', '\\dt', '\\dv', '\\i', '\\q', '\\r', '\\replay', '\\timing', '\\x'];

const HELP = `General
  \\q                  quit
  \\?                  this help
Query buffer
  \\r                  reset (clear) the query buffer
  \\i FILE             run the statements and commands in FILE
Informational
  \\d [PATTERN]        list sources, tables, materialized views and sinks
  \\d NAME             describe a relation (its columns and types)
  \\dt [PATTERN]       list tables
  \\dv, \\dm [PATTERN]  list materialized views
  \\replay N           re-run committed epoch N from its checkpoint: its input ranges and
                      every view's changes (the live state is not touched)
Formatting
  \\timing [on|off]    show how long each statement takes
  \\x [on|off]         expanded display: one line per column
Statements end with ; and may span lines. SUBSCRIBE view shows it live; Ctrl-C stops it.
`;

/** What a backslash command can see and change of the session. */
export interface MetaContext {
  readonly backend: ReplBackend;
  readonly settings: { timing: boolean; expanded: boolean };
  write(text: string): void;
  /** Empties the query buffer (\r). */
  resetBuffer(): void;
  /** Feeds a file's lines to the session as if typed (\i). */
  runFile(path: string): Promise<void>;
}

/** Runs one backslash command line; 'quit' ends the session. */
export async function runMetaCommand(line: string, ctx: MetaContext): Promise<'continue' | 'quit'> {
  const m = /^\\(\S*)\s*(.*?)\s*$/s.exec(line.trim());
  const name = m?.[1] ?? '';
  const arg = m?.[2] ?? '';
  // psql's `+` (more detail) is accepted and ignored.
  switch (name.replace(/\+$/, '')) {
    case 'q':
      return 'quit';
    case '?':
      ctx.write(HELP);
      break;
    case 'r':
      ctx.resetBuffer();
      ctx.write('Query buffer reset (cleared).\n');
      break;
    case 'timing':
      ctx.settings.timing = toggle(arg, ctx.settings.timing);
      ctx.write(`Timing is ${ctx.settings.timing ? 'on' : 'off'}.\n`);
      break;
    case 'x':
      ctx.settings.expanded = toggle(arg, ctx.settings.expanded);
      ctx.write(`Expanded display is ${ctx.settings.expanded ? 'on' : 'off'}.\n`);
      break;
    case 'i':
      if (!arg) ctx.write('\\i: missing required argument\n');
      else await ctx.runFile(arg);
      break;
    case 'd':
      if (arg && !/[*?]/.test(arg)) await describe(ctx, arg);
      else await list(ctx, null, arg);
      break;
    case 'dt':
      await list(ctx, 'table', arg);
      break;
    case 'dv':
    case 'dm':
      await list(ctx, 'materialized view', arg);
      break;
    case 'replay':
      if (!/^\d+$/.test(arg)) ctx.write('\\replay: needs an epoch number\n');
      else await runAndShow(ctx, `REPLAY EPOCH ${arg}`);
      break;
    default:
      ctx.write(`invalid command \\${name}\nTry \\? for help.\n`);
  }
  return 'continue';
}

function toggle(arg: string, current: boolean): boolean {
  const a = arg.toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(a)) return true;
  if (['off', 'false', '0', 'no'].includes(a)) return false;
  return !current;
}

/** An unquoted name folds to lower case, as SQL does; a "quoted" one is taken as written. */
function unquote(name: string): string {
  return /^".*"$/s.test(name) ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

/** psql's patterns: `*` any text, `?` one character; unquoted letters fold to lower case. */
function patternRegExp(pattern: string): RegExp {
  const text = unquote(pattern);
  const body = [...text].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

const KIND_PLURAL: Record<RelationKind, string> = { source: 'sources', table: 'tables', 'materialized view': 'materialized views', sink: 'sinks', model: 'models' };

async function list(ctx: MetaContext, kind: RelationKind | null, pattern: string): Promise<void> {
  let rels: ReplRelation[];
  try {
    rels = await ctx.backend.relations();
  } catch (e) {
    ctx.write(formatError(e, ''));
    return;
  }
  const re = pattern ? patternRegExp(pattern) : null;
  const shown = rels.filter((r) => (kind === null || r.kind === kind) && (!re || re.test(r.name)));
  if (shown.length === 0) {
    ctx.write(pattern ? `Did not find any relation named "${pattern}".\n` : `Did not find any ${kind ? KIND_PLURAL[kind] : 'relations'}.\n`);
    return;
  }
  const table = renderRows([{ name: 'Name', type: 'varchar' }, { name: 'Type', type: 'varchar' }], shown.map((r) => [r.name, r.kind]), 'table');
  ctx.write(titled(kind ? `List of ${KIND_PLURAL[kind]}` : 'List of relations', table) + '\n');
}

/** Runs a statement through the backend and writes its result (or its error). */
async function runAndShow(ctx: MetaContext, sql: string): Promise<void> {
  try {
    for (const r of await ctx.backend.run(sql)) ctx.write(formatResult(r, ctx.settings.expanded));
  } catch (e) {
    ctx.write(formatError(e, sql));
  }
}

async function describe(ctx: MetaContext, arg: string): Promise<void> {
  const name = unquote(arg);
  let rel: ReplRelation | undefined;
  try {
    rel = (await ctx.backend.relations()).find((r) => r.name === name);
  } catch (e) {
    ctx.write(formatError(e, ''));
    return;
  }
  if (!rel) {
    ctx.write(`Did not find any relation named "${arg}".\n`);
    return;
  }
  const title = `${rel.kind[0]!.toUpperCase()}${rel.kind.slice(1)} "${rel.name}"`;
  if (rel.kind === 'sink') {
    ctx.write(`${title}\nA sink has no columns: it writes the changes of the view it reads.\n\n`);
    return;
  }
  const sql = `DESCRIBE ${/^[a-z_][a-z0-9_$]*$/.test(rel.name) ? rel.name : `"${rel.name.replace(/"/g, '""')}"`}`;
  try {
    for (const r of await ctx.backend.run(sql)) {
      const text = formatResult(r, false);
      ctx.write(r.kind === 'rows' ? titled(title, text) : text);
    }
  } catch (e) {
    ctx.write(formatError(e, sql));
  }
}

/** A table with its title centred over it, as psql prints `\d` output. */
function titled(title: string, table: string): string {
  const width = Math.max(...table.split('\n').slice(0, 2).map((l) => l.length));
  return `${' '.repeat(Math.max(0, Math.floor((width - title.length) / 2)))}${title}\n${table}`;
}
