/**
 * CREATE FUNCTION and DROP FUNCTION: scalar SQL functions. A function lives in the catalog (in
 * a namespace of its own, persisted with the objects and replayed in creation order); views
 * inline its body where they call it (planner/sql-functions.ts), and ad-hoc SELECTs, which run
 * in DuckDB, call a pair of DuckDB macros made from it:
 *
 *   name(a, b)           AS sluice_fn_name(CAST(a AS t1), CAST(b AS t2))    (typed parameters)
 *   sluice_fn_name(a, b) AS CAST((body, rewritten for DuckDB) AS ret)
 *
 * Because views hold the body inlined, a function a view calls can be neither dropped (2BP01,
 * unless CASCADE) nor replaced.
 */
import { SluiceError } from '../../common/errors.js';
import { typeDisplayName } from '../../common/types.js';
import { KIND_LABEL, type FunctionEntry } from '../../catalog/catalog.js';
import { hasScalar } from '../../functions/scalar/index.js';
import { setFunctionOf } from '../../functions/set/index.js';
import type { Statement } from '../../parser/index.js';
import { Binder } from '../../planner/binder.js';
import { resolveAggregate } from '../../planner/aggregate-signatures.js';
import { bindBody } from '../../planner/sql-functions.js';
import { duckType, quoteIdent } from '../duck.js';
import { rewriteForDuck } from './pg-functions.js';
import { pipelines, type EngineState, type StatementResult } from './state.js';

type Stmt<K extends Statement['kind']> = Extract<Statement, { kind: K }>;

/** `name(type, …)` as PostgreSQL names a function in messages. */
export function signatureText(name: string, types: readonly string[]): string {
  return `${name}(${types.join(', ')})`;
}

function signatureOf(fn: Pick<FunctionEntry, 'name' | 'params'>): string {
  return signatureText(fn.name, fn.params.map((p) => typeDisplayName(p.type)));
}

/** The views, models and query sinks whose plans inline `name`. */
function callers(state: EngineState, name: string): string[] {
  return [...pipelines(state)].filter((v) => v.planned?.sqlFunctions.includes(name)).map((v) => v.entry.name);
}

const macroName = (name: string) => `sluice_fn_${name}`;

/** Creates (or replaces) the DuckDB macros ad-hoc SELECTs call. */
async function createMacros(state: EngineState, fn: FunctionEntry): Promise<void> {
  const params = fn.params.map((p) => quoteIdent(p.name));
  const inner = quoteIdent(macroName(fn.name));
  let body: string;
  try {
    const rewritten = await rewriteForDuck(state.duck, `SELECT ${fn.bodyText}`);
    body = `CAST((${rewritten.replace(/^\s*SELECT\s+/i, '')}) AS ${duckType(fn.returns)})`;
    await state.duck.run(`CREATE OR REPLACE MACRO ${inner}(${params.join(', ')}) AS ${body}`);
  } catch (e) {
    // DuckDB cannot take this body (PostgreSQL-only syntax): the function still works in views.
    const msg = `function ${fn.name} cannot run in an ad-hoc SELECT: ${(e as Error).message.split('\n')[0]}`.replace(/'/g, "''");
    await state.duck.run(`CREATE OR REPLACE MACRO ${inner}(${params.join(', ')}) AS error('${msg}')`);
  }
  const typed = fn.params.map((p, i) => `CAST(${params[i]} AS ${duckType(p.type)})`);
  let outer = `${inner}(${typed.join(', ')})`;
  if (fn.strict && params.length > 0) outer = `CASE WHEN ${params.map((p) => `${p} IS NULL`).join(' OR ')} THEN NULL ELSE ${outer} END`;
  await state.duck.run(`CREATE OR REPLACE MACRO ${quoteIdent(fn.name)}(${params.join(', ')}) AS ${outer}`);
}

/** CREATE [OR REPLACE] FUNCTION. On replay (`replaying`) the body is not bound again: functions it calls may come later. */
export async function createFunction(state: EngineState, stmt: Stmt<'create_function'>, replaying: boolean): Promise<StatementResult> {
  const { catalog } = state;
  const sig = signatureText(stmt.name, stmt.params.map((p) => typeDisplayName(p.type)));
  if (hasScalar(stmt.name) || resolveAggregate(stmt.name, false) !== undefined || setFunctionOf(stmt.name) !== null) {
    throw new SluiceError('duplicate_function', `function ${stmt.name} is built in`, { position: stmt.pos, hint: 'A SQL function cannot take the name of a built-in function here; choose another name.' });
  }
  const existing = catalog.getFunction(stmt.name);
  if (existing) {
    const sameArgs = existing.params.length === stmt.params.length && existing.params.every((p, i) => p.type === stmt.params[i]!.type);
    if (!sameArgs) {
      throw new SluiceError('not_supported', `function ${signatureOf(existing)} already exists; overloading a SQL function name is not supported`, { position: stmt.pos, hint: `DROP FUNCTION ${stmt.name} first, or choose another name.` });
    }
    if (!stmt.orReplace) throw new SluiceError('duplicate_function', `function ${sig} already exists with same argument types`, { position: stmt.pos, hint: 'Use CREATE OR REPLACE FUNCTION to change its body.' });
    if (existing.returns !== stmt.returns) {
      throw new SluiceError('invalid_function_definition', 'cannot change return type of existing function', { position: stmt.pos, hint: `Use DROP FUNCTION ${sig} first.` });
    }
    const users = callers(state, stmt.name);
    if (users.length > 0) {
      throw new SluiceError('dependent_objects', `cannot replace function ${sig} because materialized view ${users.join(', ')} calls it`, {
        position: stmt.pos,
        hint: 'A view holds the body of each SQL function it calls, inlined; drop the view first, or create a function of another name.',
      });
    }
  }
  const entry: FunctionEntry = {
    kind: 'function', name: stmt.name, sql: stmt.text, createdAt: ++state.order, params: stmt.params, returns: stmt.returns,
    body: stmt.body, bodyText: stmt.bodyText, strict: stmt.strict, volatility: stmt.volatility,
  };
  if (!replaying) {
    try {
      bindBody(entry, new Binder(catalog, stmt.bodyText));
    } catch (e) {
      throw e instanceof SluiceError ? e.withPosition(stmt.pos) : e;
    }
  }
  await createMacros(state, entry);
  catalog.putFunction(entry);
  return { kind: 'command', tag: 'CREATE_FUNCTION' };
}

/** DROP FUNCTION: refused (2BP01) while a view calls it, unless CASCADE, which drops those views first. */
export async function dropFunction(state: EngineState, stmt: Stmt<'drop_function'>, dropView: (name: string) => Promise<void>): Promise<StatementResult> {
  const fn = state.catalog.getFunction(stmt.name);
  const argsMatch = fn && (stmt.argTypes === null || (stmt.argTypes.length === fn.params.length && stmt.argTypes.every((t, i) => t === fn.params[i]!.type)));
  if (!fn || !argsMatch) {
    const sig = stmt.argTypes === null ? stmt.name : signatureText(stmt.name, stmt.argTypes.map(typeDisplayName));
    if (stmt.ifExists) return { kind: 'command', tag: 'DROP_FUNCTION', notice: `function ${sig} does not exist, skipping` };
    throw new SluiceError('undefined_function', `function ${sig} does not exist`, { position: stmt.pos });
  }
  const users = callers(state, fn.name);
  if (users.length > 0 && !stmt.cascade) {
    throw new SluiceError('dependent_objects', `cannot drop function ${signatureOf(fn)} because other objects depend on it`, {
      position: stmt.pos,
      hint: `${users.map((u) => `${KIND_LABEL[state.catalog.get(u)?.kind ?? 'view']} ${u}`).join(', ')} depend(s) on it. Use DROP … CASCADE to drop them too.`,
    });
  }
  for (const u of users) if (state.views.has(u) || state.sinks.has(u)) await dropView(u);
  await state.duck.run(`DROP MACRO IF EXISTS ${quoteIdent(fn.name)}`);
  await state.duck.run(`DROP MACRO IF EXISTS ${quoteIdent(macroName(fn.name))}`);
  state.catalog.removeFunction(fn.name);
  return { kind: 'command', tag: 'DROP_FUNCTION' };
}
