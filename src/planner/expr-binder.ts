/**
 * The expression binder: typed AST expressions → BoundExpr. Resolves column names against a
 * scope, types operators and SQL syntax (comparisons, arithmetic, IN, LIKE, CASE, …), binds
 * function calls through the scalar and aggregate signatures, and makes every coercion an
 * explicit cast. The query binder (binder.ts) builds on it.
 */
import { SluiceError } from '../common/errors.js';
import { arrayOf, commonType, elementType, isArrayType, isNumeric, typeDisplayName, type SqlType } from '../common/types.js';
import type { Expr } from '../parser/index.js';
import { AGGREGATE_SIGNATURES, resolveAggregate, type AggregateSignature } from './aggregate-signatures.js';
import { call, cast, constCast, isStringLit } from './coercion.js';
import { columnsOf, type AggCall, type AggOrderKey, type BoundExpr, type ScalarFn } from './expr.js';
import { bindScalar, hasScalar } from '../functions/scalar/index.js';
import { setFunctionOf } from '../functions/set/index.js';
import type { LogicalPlan } from './logical.js';

/** A column in scope: its table qualifier, name and type. */
export interface ScopeField {
  readonly qualifier: string | null;
  readonly name: string;
  readonly type: SqlType;
  /**
   * The table occurrence in FROM the column comes from, shared by all its columns, with the
   * table's primary key: grouping by the key makes the other columns functionally dependent.
   */
  readonly origin?: { readonly primaryKey: readonly string[] };
  /**
   * Not reachable by its bare name nor by a bare `*`: a side's copy of a JOIN … USING column
   * (the merged column answers to the name), still reachable qualified.
   */
  readonly hidden?: boolean;
}

/** The columns an expression can name, in input order. */
export interface Scope {
  readonly fields: readonly ScopeField[];
  /** What a bare `*` expands to, in order (default: every field not hidden, in order). */
  readonly star?: readonly number[];
}

/** The fields a bare `*` expands to (see Scope.star). */
export function starOf(scope: Scope): number[] {
  if (scope.star) return [...scope.star];
  const out: number[] = [];
  scope.fields.forEach((f, i) => {
    if (!f.hidden) out.push(i);
  });
  return out;
}

/** An aggregating SELECT's group keys and the aggregate calls collected so far. */
export interface AggContext {
  readonly groupKeys: readonly string[];
  readonly groupTypes: readonly SqlType[];
  /** For each group key that is a plain input column, its index in `input` (else -1). */
  readonly groupCols?: readonly number[];
  readonly aggs: AggCall[];
  readonly aggKeys: string[];
  readonly input: Scope;
}

/** Where an expression is bound: its scope, the aggregation it is inside of, and whether aggregates are allowed. */
export interface Ctx {
  readonly scope: Scope;
  readonly agg: AggContext | null;
  /** Where aggregates are not allowed, the clause name for the error. */
  readonly noAggIn: string | null;
  /** Binds subqueries in expressions (decorrelated into joins); absent where they are not supported. */
  readonly subqueries?: SubqueryBinder;
  /** Binds a window function call (`f(…) OVER …`) where the select list allows them. */
  readonly window?: ((e: Extract<Expr, { kind: 'func' }>, ctx: Ctx) => BoundExpr) | null;
  /** Where window functions are not allowed and aggregates are (HAVING), the clause for the error. */
  readonly noWindowIn?: string;
  /** The plan `scope` describes (its columns in order), where a correlated subquery may need the outer rows (WHERE, a select list without aggregates). */
  readonly plan?: LogicalPlan;
}

/** A subquery expression node of the AST. */
export type SubqueryExpr = Extract<Expr, { kind: 'subquery' | 'exists' | 'in_subquery' | 'quantified' }>;

/** Binds a subquery expression found while binding an expression in `ctx`. */
export interface SubqueryBinder {
  bind(e: SubqueryExpr, ctx: Ctx): BoundExpr;
}

/** Structural identity of an AST expression, ignoring positions. */
export function exprKey(e: Expr): string {
  return JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : typeof v === 'bigint' ? `${v}n` : v));
}

/** Binds expressions within one SQL statement (`sql`, for error positions). */
export class ExprBinder {
  constructor(protected readonly sql: string) {}

  /** `e` as a boolean (an untyped NULL becomes one), or a datatype_mismatch naming `clause`. */
  protected expectBoolean(e: BoundExpr, clause: string): BoundExpr {
    if (e.type === 'boolean') return e;
    if (e.type === 'null') return cast(e, 'boolean');
    throw new SluiceError('datatype_mismatch', `argument of ${clause} must be type boolean, not type ${typeDisplayName(e.type)}`);
  }

  /** 1-based position of the first whole-word occurrence of `word` in the statement. */
  protected positionOf(word: string): number | undefined {
    if (!this.sql) return undefined;
    const re = new RegExp(`(^|[^A-Za-z0-9_"])"?${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?(?![A-Za-z0-9_])`, 'i');
    const m = re.exec(this.sql);
    return m ? m.index + m[1]!.length + 1 : undefined;
  }

  /** Binds an expression: resolves its names, types it and makes its coercions explicit. */
  bindExpr(e: Expr, ctx: Ctx): BoundExpr {
    if (e.kind === 'func' && e.over !== null) {
      if (ctx.window) return ctx.window(e, ctx);
      const where = ctx.noWindowIn ?? ctx.noAggIn;
      const position = e.pos ?? this.positionOf(e.name);
      if (where === 'aggregate function calls') throw new SluiceError('grouping', 'aggregate function calls cannot contain window function calls', { position });
      // PostgreSQL allows these; sluice binds them over the select list's output only.
      if (where === 'ORDER BY' || where === 'DISTINCT ON') throw new SluiceError('not_supported', `window functions in ${where} are not supported yet`, { position, hint: 'Compute the window function in the select list and order by its alias.' });
      throw new SluiceError('windowing', where === 'window functions' ? 'window function calls cannot be nested' : `window functions are not allowed in ${where ?? 'this context'}`, { position });
    }
    if (ctx.agg) {
      const key = exprKey(e);
      const gi = ctx.agg.groupKeys.indexOf(key);
      if (gi >= 0) return { kind: 'col', index: gi, type: ctx.agg.groupTypes[gi]! };
      if (e.kind === 'func' && e.over === null) {
        const fn = resolveAggregate(e.name, e.star);
        if (fn !== undefined) return this.bindAggregate(e, fn, ctx.agg);
        // PostgreSQL looks a function up before it checks grouping: an unknown one is 42883.
        if (!isFunctionName(e.name) && !this.isSqlFunction(e.name)) throw this.unknownFunction(e, ctx.agg.input);
      }
      if (e.kind === 'column') {
        const gc = ctx.agg.groupCols ? ctx.agg.groupCols.indexOf(this.resolveIndex(ctx.agg.input, e.table, e.name)) : -1;
        if (gc >= 0) return { kind: 'col', index: gc, type: ctx.agg.groupTypes[gc]! };
        const f = this.resolve(ctx.agg.input, e.table, e.name);
        throw new SluiceError('grouping', `column "${f.qualifier ? f.qualifier + '.' : ''}${e.name}" must appear in the GROUP BY clause or be used in an aggregate function`, { position: this.positionOf(e.name) });
      }
    }
    switch (e.kind) {
      case 'column': {
        const idx = this.resolveIndex(ctx.scope, e.table, e.name);
        return { kind: 'col', index: idx, type: ctx.scope.fields[idx]!.type };
      }
      case 'literal':
        return { kind: 'lit', value: e.value, type: e.type };
      case 'star':
        throw new SluiceError('syntax', '"*" is only allowed in a select list or count(*)');
      case 'binary':
        return this.bindBinary(e.op, this.bindExpr(e.left, ctx), this.bindExpr(e.right, ctx), e.pos);
      case 'unary': {
        const a = this.bindExpr(e.expr, ctx);
        if (e.op === 'not') return call('not', [this.expectBoolean(a, 'NOT')], 'boolean');
        if (!isNumeric(a.type) && a.type !== 'interval') throw opError('-', a.type, null);
        return call('neg', [a], a.type);
      }
      case 'is_null':
        return call(e.negated ? 'is_not_null' : 'is_null', [this.bindExpr(e.expr, ctx)], 'boolean');
      case 'is_bool': {
        const a = this.expectBoolean(this.bindExpr(e.expr, ctx), 'IS');
        const fn: ScalarFn = e.value ? (e.negated ? 'is_not_true' : 'is_true') : e.negated ? 'is_not_false' : 'is_false';
        return call(fn, [a], 'boolean');
      }
      case 'is_distinct': {
        const [l, r] = this.coercePair(this.bindExpr(e.left, ctx), this.bindExpr(e.right, ctx), 'IS DISTINCT FROM');
        return call(e.negated ? 'is_not_distinct' : 'is_distinct', [l, r], 'boolean');
      }
      case 'func':
        return this.bindFunction(e, ctx);
      case 'cast': {
        // ARRAY[]::int[]: the empty array, whose type only the cast gives.
        if (e.expr.kind === 'func' && e.expr.name === 'array' && e.expr.args.length === 0 && isArrayType(e.type)) return { kind: 'lit', value: [], type: e.type };
        const a = this.bindExpr(e.expr, ctx);
        if (isArrayType(e.type) && a.type !== 'varchar' && a.type !== 'null' && !isArrayType(a.type)) throw new SluiceError('datatype_mismatch', `cannot cast type ${typeDisplayName(a.type)} to ${typeDisplayName(e.type)}`);
        return cast(a, e.type);
      }
      case 'case': {
        const operand = e.operand ? this.bindExpr(e.operand, ctx) : null;
        const whens = e.whens.map((w) => {
          let cond = this.bindExpr(w.when, ctx);
          if (operand) cond = this.bindBinary('=', operand, cond, undefined);
          return { when: this.expectBoolean(cond, 'CASE/WHEN'), then: this.bindExpr(w.then, ctx) };
        });
        const otherwise = e.otherwise ? this.bindExpr(e.otherwise, ctx) : null;
        let t: SqlType = 'null';
        for (const r of [...whens.map((w) => w.then), ...(otherwise ? [otherwise] : [])]) {
          const c: SqlType | null = commonType(t, r.type) ?? (isStringLit(r) ? t : null);
          if (c === null) throw new SluiceError('datatype_mismatch', `CASE types ${typeDisplayName(t)} and ${typeDisplayName(r.type)} cannot be matched`);
          t = c;
        }
        if (t === 'null') t = 'varchar';
        return { kind: 'case', whens: whens.map((w) => ({ when: w.when, then: cast(w.then, t) })), otherwise: otherwise ? cast(otherwise, t) : null, type: t };
      }
      case 'in': {
        const a = this.bindExpr(e.expr, ctx);
        let t = a.type;
        const list = e.list.map((x) => this.bindExpr(x, ctx));
        for (const x of list) {
          const c = commonType(t, x.type) ?? (isStringLit(x) ? t : null);
          if (c === null) throw opError('IN', a.type, x.type);
          t = c;
        }
        const r = call('in', [cast(a, t), ...list.map((x) => cast(x, t))], 'boolean');
        return e.negated ? call('not', [r], 'boolean') : r;
      }
      case 'between': {
        const a = this.bindExpr(e.expr, ctx);
        const lo = this.bindBinary('>=', a, this.bindExpr(e.low, ctx), undefined);
        const hi = this.bindBinary('<=', a, this.bindExpr(e.high, ctx), undefined);
        const r = call('and', [lo, hi], 'boolean');
        return e.negated ? call('not', [r], 'boolean') : r;
      }
      case 'like': {
        const a = this.bindExpr(e.expr, ctx);
        const p = this.bindExpr(e.pattern, ctx);
        if (a.type !== 'varchar' && a.type !== 'null') throw opError(e.insensitive ? 'ILIKE' : 'LIKE', a.type, p.type);
        const r = call(e.insensitive ? 'ilike' : 'like', [cast(a, 'varchar'), cast(p, 'varchar')], 'boolean');
        return e.negated ? call('not', [r], 'boolean') : r;
      }
      case 'extract': {
        const a = this.bindExpr(e.expr, ctx);
        if (a.type === 'time') {
          // A time's fields are those of the interval since midnight (24:00:00 has hour 24).
          if (!/^(hours?|minutes?|seconds?|milliseconds?|microseconds?|epoch)$/i.test(e.field)) {
            throw new SluiceError('invalid_parameter', `unit "${e.field.toLowerCase()}" not supported for type time without time zone`);
          }
          return call('extract_numeric', [{ kind: 'lit', value: e.field, type: 'varchar' }, cast(a, 'interval')], 'numeric');
        }
        if (a.type !== 'timestamp' && a.type !== 'timestamptz' && a.type !== 'date' && a.type !== 'interval') throw new SluiceError('undefined_function', `function extract(unknown, ${typeDisplayName(a.type)}) does not exist`);
        return call('extract_numeric', [{ kind: 'lit', value: e.field, type: 'varchar' }, a.type === 'date' ? cast(a, 'timestamp') : a], 'numeric');
      }
      case 'subquery':
      case 'exists':
      case 'in_subquery':
      case 'quantified':
        if (!ctx.subqueries) {
          throw new SluiceError('not_supported', `subqueries in ${ctx.noAggIn ?? 'this clause'} are not supported yet`, {
            position: e.pos,
            hint: 'Subqueries are supported in WHERE, HAVING and the select list.',
          });
        }
        return ctx.subqueries.bind(e, ctx);
    }
  }

  private bindAggregate(e: Extract<Expr, { kind: 'func' }>, fn: AggCall['fn'], agg: AggContext): BoundExpr {
    const key = exprKey(e);
    const existing = agg.aggKeys.indexOf(key);
    const index = agg.groupKeys.length + (existing >= 0 ? existing : agg.aggs.length);
    if (existing >= 0) return { kind: 'col', index, type: agg.aggs[existing]!.type };
    const inner: Ctx = { scope: agg.input, agg: null, noAggIn: 'aggregate function calls' };
    const filterExpr = e.filter ? this.expectBoolean(this.bindExpr(e.filter, inner), 'FILTER') : null;
    const sig: AggregateSignature = AGGREGATE_SIGNATURES[fn];
    const pos = e.pos ?? this.positionOf(e.name);
    if (!!sig.orderedSet !== !!e.withinGroup) {
      throw new SluiceError('wrong_object_type', sig.orderedSet ? `WITHIN GROUP is required for ordered-set aggregate ${e.name}` : `${e.name} is not an ordered-set aggregate, so it cannot have WITHIN GROUP`, { position: pos });
    }
    const call = sig.orderedSet ? this.bindOrderedSet(e, fn, sig, inner, pos) : this.bindPlainAggregate(e, fn, sig, inner, pos);
    agg.aggs.push({ ...call, filter: filterExpr });
    agg.aggKeys.push(key);
    return { kind: 'col', index, type: call.type };
  }

  /** `f(args [ORDER BY …])`: the argument, any further ones (string_agg's delimiter) and, when the function reads it, the ORDER BY. */
  private bindPlainAggregate(e: Extract<Expr, { kind: 'func' }>, fn: AggCall['fn'], sig: AggregateSignature, inner: Ctx, pos: number | undefined): AggCall {
    if (sig.star) return { fn, arg: null, distinct: e.distinct, filter: null, type: sig.returnType('null') };
    const extraTypes = sig.extraArgs ?? [];
    const bound = e.args.map((x) => this.bindExpr(x, inner));
    if (bound.length !== 1 + extraTypes.length) {
      throw new SluiceError('undefined_function', `function ${e.name}(${bound.map((b) => typeDisplayName(b.type)).join(', ')}) does not exist`, {
        position: pos,
        hint: sig.hint ?? `${e.name}() takes ${1 + extraTypes.length === 1 ? 'one argument' : `${1 + extraTypes.length} arguments`}.`,
      });
    }
    const argType = sig.argType(bound[0]!.type);
    const extraOk = extraTypes.every((t, i) => { const b = bound[i + 1]!; return b.type === t || b.type === 'null' || isStringLit(b) || (isNumeric(b.type) && isNumeric(t)); });
    if (argType === null || !extraOk) {
      throw new SluiceError('undefined_function', `function ${e.name}(${bound.map((b) => typeDisplayName(b.type)).join(', ')}) does not exist`, { position: pos, hint: sig.hint });
    }
    const arg = cast(bound[0]!, argType);
    const args = extraTypes.map((t, i) => cast(bound[i + 1]!, t));
    let orderBy: AggOrderKey[] = [];
    if (e.orderBy.length > 0) {
      if (e.distinct) {
        // PostgreSQL: with DISTINCT, each ORDER BY expression must be one of the arguments.
        const argKeys = e.args.map(exprKey);
        const bad = e.orderBy.find((o) => !argKeys.includes(exprKey(o.expr)));
        if (bad) throw new SluiceError('invalid_column_reference', 'in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list', { position: pos });
      }
      if (sig.ordered) orderBy = e.orderBy.map((o) => ({ expr: this.bindExpr(o.expr, inner), desc: o.desc, nullsFirst: o.nullsFirst ?? o.desc }));
    } else if (e.distinct && sig.ordered) {
      // PostgreSQL sorts a DISTINCT aggregate's input by its arguments to drop duplicates.
      orderBy = [{ expr: arg, desc: false, nullsFirst: false }];
    }
    return { fn, arg, distinct: e.distinct, filter: null, type: sig.returnType(argType), ...(args.length ? { args } : {}), ...(sig.ordered ? { orderBy } : {}) };
  }

  /** `f(direct args) WITHIN GROUP (ORDER BY x)`: x is the argument, sorted as written; the direct arguments are constants. */
  private bindOrderedSet(e: Extract<Expr, { kind: 'func' }>, fn: AggCall['fn'], sig: AggregateSignature, inner: Ctx, pos: number | undefined): AggCall {
    const extraTypes = sig.extraArgs ?? [];
    const direct = e.args.map((x) => this.bindExpr(x, inner));
    const sorted = e.orderBy.map((o) => this.bindExpr(o.expr, inner));
    const argType = sorted.length === 1 ? sig.argType(sorted[0]!.type) : null;
    const directOk = direct.length === extraTypes.length && extraTypes.every((t, i) => { const b = direct[i]!; return b.type === t || b.type === 'null' || isStringLit(b) || (isNumeric(b.type) && isNumeric(t)); });
    if (argType === null || !directOk) {
      throw new SluiceError('undefined_function', `function ${e.name}(${[...direct, ...sorted].map((b) => typeDisplayName(b.type)).join(', ')}) does not exist`, { position: pos, hint: sig.hint });
    }
    if (e.distinct) throw new SluiceError('not_supported', `DISTINCT is not implemented for ordered-set aggregates`, { position: pos });
    const args = extraTypes.map((t, i) => cast(direct[i]!, t));
    for (const a of args) {
      if (columnsOf(a).size > 0) throw new SluiceError('not_supported', `the direct argument of ${e.name}() must be a constant`, { position: pos, hint: 'Write the fraction as a literal, e.g. percentile_cont(0.5) WITHIN GROUP (ORDER BY x).' });
    }
    const arg = cast(sorted[0]!, argType);
    const o = e.orderBy[0]!;
    return { fn, arg, distinct: false, filter: null, type: sig.returnType(argType), ...(args.length ? { args } : {}), orderBy: [{ expr: arg, desc: o.desc, nullsFirst: o.nullsFirst ?? o.desc }] };
  }

  /** undefined_function for a call of a name no function has, its arguments typed where they bind. */
  private unknownFunction(e: Extract<Expr, { kind: 'func' }>, input: Scope): SluiceError {
    const types = e.args.map((a) => {
      try {
        return typeDisplayName(this.bindExpr(a, { scope: input, agg: null, noAggIn: null }).type);
      } catch {
        return 'unknown';
      }
    });
    return new SluiceError('undefined_function', `function ${e.name}(${types.join(', ')}) does not exist`, {
      position: e.pos ?? this.positionOf(e.name),
      hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
    });
  }

  private bindFunction(e: Extract<Expr, { kind: 'func' }>, ctx: Ctx): BoundExpr {
    // `x AT TIME ZONE z` is timezone(z, x).
    if (e.name === '__at_time_zone') return bindScalar('timezone', [this.bindExpr(e.args[1]!, ctx), this.bindExpr(e.args[0]!, ctx)], e.pos ?? this.positionOf('at'));
    if (e.over === null && resolveAggregate(e.name, e.star) !== undefined) {
      if (ctx.noAggIn) throw new SluiceError('grouping', `aggregate functions are not allowed in ${ctx.noAggIn}`, { position: e.pos ?? this.positionOf(e.name) });
      throw new SluiceError('internal', 'aggregate outside aggregate context');
    }
    if ((e.name === 'array_join' || e.name === 'array_to_string') && e.args[0]?.kind === 'func' && e.args[0].name === 'array' && e.args.length === 2) {
      // array_join(ARRAY[a, b, …], sep): the elements' text joined by sep, NULLs skipped.
      const elems = e.args[0].args.map((a) => cast(this.bindExpr(a, ctx), 'varchar'));
      return call('concat_ws', [cast(this.bindExpr(e.args[1]!, ctx), 'varchar'), ...elems], 'varchar');
    }
    if (setFunctionOf(e.name) !== null) {
      throw new SluiceError('not_supported', `set-returning function ${e.name}() is not allowed ${ctx.noAggIn ? `in ${ctx.noAggIn}` : 'here'}`, {
        position: e.pos ?? this.positionOf(e.name),
        hint: 'Set-returning functions go in FROM (… CROSS JOIN LATERAL unnest(…)) or at the top of a select list.',
      });
    }
    if (e.name === 'array') return this.bindArrayConstructor(e, ctx);
    if (e.name === '__subscript') {
      const a = this.bindExpr(e.args[0]!, ctx);
      if (!isArrayType(a.type)) throw new SluiceError('datatype_mismatch', `cannot subscript type ${typeDisplayName(a.type)} because it does not support subscripting`, { position: e.pos });
      const i = this.bindExpr(e.args[1]!, ctx);
      if (!isNumeric(i.type) && i.type !== 'null' && !isStringLit(i)) throw new SluiceError('datatype_mismatch', 'array subscript must have type integer', { position: e.pos });
      return call('array_index', [a, cast(i, 'int')], elementType(a.type));
    }
    if (e.name === '__any' || e.name === '__all') return this.bindQuantified(e, ctx);
    if (e.name === '__similar') {
      const [x, p] = e.args.map((a) => this.bindExpr(a, ctx));
      for (const a of [x!, p!]) if (a.type !== 'varchar' && a.type !== 'null') throw new SluiceError('undefined_function', `operator does not exist: ${typeDisplayName(x!.type)} ~ ${typeDisplayName(p!.type)}`, { position: e.pos, hint: 'SIMILAR TO compares text with a text pattern.' });
      return call('similar_to', [cast(x!, 'varchar'), cast(p!, 'varchar')], 'boolean');
    }
    if (e.name === 'predict' || e.name === 'predict_proba') {
      const bound = this.bindPredict(e, ctx);
      if (bound) return bound;
    }
    const args = e.args.map((a) => this.bindExpr(a, ctx));
    const pos = e.pos ?? this.positionOf(e.name);
    // mod(a, b) is the % operator (integers stay their type, NUMERIC is exact).
    const sqlFn = this.bindSqlFunction(e.name, args, pos);
    if (sqlFn) return sqlFn;
    if (e.name === 'mod' && args.length === 2) return bindArithmetic('%', args[0]!, args[1]!, pos);
    // make_timestamptz(y, mo, d, h, mi, s [, zone]): the local time in the zone (the session's by default).
    if (e.name === 'make_timestamptz' && (args.length === 6 || args.length === 7)) {
      const local = bindScalar('make_timestamp', args.slice(0, 6), pos);
      return args.length === 6 ? cast(local, 'timestamptz') : bindScalar('timezone', [args[6]!, local], pos);
    }
    return bindScalar(e.name, args, pos);
  }

  /** Whether `name` is a SQL function of the catalog's (the query binder knows them). */
  protected isSqlFunction(_name: string): boolean {
    return false;
  }

  /** A call of a SQL function inlined (the query binder knows them); null: not one. */
  protected bindSqlFunction(_name: string, _args: BoundExpr[], _pos: number | undefined): BoundExpr | null {
    return null;
  }

  /** predict(model, …): bound where models are known (the query binder); null: an ordinary call. */
  protected bindPredict(_e: Extract<Expr, { kind: 'func' }>, _ctx: Ctx): BoundExpr | null {
    return null;
  }

  /** ARRAY[a, b, …]: the elements coerced to their common type. */
  private bindArrayConstructor(e: Extract<Expr, { kind: 'func' }>, ctx: Ctx): BoundExpr {
    const pos = e.pos ?? this.positionOf('array');
    if (e.args.length === 0) throw new SluiceError('datatype_mismatch', 'cannot determine type of empty array', { position: pos, hint: 'Explicitly cast to the desired type, for example ARRAY[]::integer[].' });
    const elems = e.args.map((a) => this.bindExpr(a, ctx));
    let t: SqlType = 'null';
    for (const x of elems) {
      const c: SqlType | null = commonType(t, x.type) ?? (isStringLit(x) ? t : null);
      if (c === null) throw new SluiceError('datatype_mismatch', `ARRAY types ${typeDisplayName(t)} and ${typeDisplayName(x.type)} cannot be matched`, { position: pos });
      t = c;
    }
    if (t === 'null') t = 'varchar';
    if (t === 'numeric') t = 'double';
    const at = arrayOf(t);
    if (at === null) throw new SluiceError('not_supported', `arrays of ${typeDisplayName(t)} are not supported yet`, { position: pos, hint: 'Arrays hold BOOLEAN, INT, BIGINT, DOUBLE PRECISION or VARCHAR elements.' });
    return call('array_ctor', elems.map((x) => cast(x, t)), at);
  }

  /** `a || b` with an array on either side: concatenation, or an element appended or prepended. */
  private bindArrayConcat(left: BoundExpr, right: BoundExpr, pos: number | undefined): BoundExpr {
    let l = left;
    let r = right;
    const asArray = (e: BoundExpr, elem: SqlType): BoundExpr => (isArrayType(e.type) ? e : call('array_ctor', [cast(e, elem)], arrayOf(elem)!));
    const elemOf = (e: BoundExpr): SqlType => (isArrayType(e.type) ? elementType(e.type) : e.type);
    // A string literal next to an array is an array literal when it looks like one ('{a}'), as
    // PostgreSQL reads an untyped one; otherwise an element ('a'::text, which sluice's binder
    // cannot tell from an untyped 'a').
    const arrayLit = (e: BoundExpr) => isStringLit(e) && /^\s*\{/.test(String(e.value));
    if (arrayLit(l)) l = cast(l, r.type);
    if (arrayLit(r)) r = cast(r, l.type);
    let t: SqlType | null = commonType(elemOf(l), elemOf(r));
    if (t === 'numeric') t = 'double';
    const at = t === null ? null : arrayOf(t);
    if (t === null || at === null) throw new SluiceError('undefined_function', `operator does not exist: ${typeDisplayName(l.type)} || ${typeDisplayName(r.type)}`, { position: pos, hint: 'You might need to add explicit type casts.' });
    return call('array_cat', [cast(asArray(l, t), at), cast(asArray(r, t), at)], at);
  }

  /** `x op ANY (array)` / `x op ALL (array)`: x and the elements coerced to a common type. */
  private bindQuantified(e: Extract<Expr, { kind: 'func' }>, ctx: Ctx): BoundExpr {
    const quant = e.name === '__all' ? 'ALL' : 'ANY';
    const op = (e.args[2] as { value: string }).value;
    let x = this.bindExpr(e.args[0]!, ctx);
    let arr = this.bindExpr(e.args[1]!, ctx);
    if (isStringLit(arr)) {
      const t = arrayOf(x.type === 'null' ? 'varchar' : x.type === 'numeric' ? 'double' : x.type);
      if (t === null) throw opError(`${op} ${quant}`, x.type, arr.type);
      arr = cast(arr, t);
    }
    if (!isArrayType(arr.type)) throw new SluiceError('datatype_mismatch', `op ${quant} (array) requires array on right side`, { position: e.pos });
    let elem: SqlType = elementType(arr.type);
    if (isStringLit(x)) x = cast(x, elem);
    const c = commonType(x.type, elem);
    if (c === null) throw opError(`${op} ${quant}`, x.type, arr.type);
    const ct = arrayOf(c === 'numeric' ? 'double' : c)!;
    elem = elementType(ct);
    return call(e.name === '__all' ? 'array_all' : 'array_any', [cast(x, elem), cast(arr, ct), { kind: 'lit', value: op, type: 'varchar' }], 'boolean');
  }

  protected coercePair(l: BoundExpr, r: BoundExpr, op: string): [BoundExpr, BoundExpr] {
    if (isArrayType(l.type) || isArrayType(r.type)) throw new SluiceError('not_supported', `comparing arrays with ${op} is not supported yet`, { hint: 'Compare elements (a[1] = …), cardinality(a), or x = ANY(a).' });
    if (l.type === r.type) return [l, r];
    if (isStringLit(r) && l.type !== 'varchar' && l.type !== 'null') return [l, constCast(r, l.type)];
    if (isStringLit(l) && r.type !== 'varchar' && r.type !== 'null') return [constCast(l, r.type), r];
    const t = commonType(l.type, r.type);
    if (t === null) throw opError(op, l.type, r.type);
    return [cast(l, t), cast(r, t)];
  }

  protected bindBinary(op: string, l: BoundExpr, r: BoundExpr, pos: number | undefined): BoundExpr {
    switch (op) {
      case 'and':
      case 'or':
        return call(op, [this.expectBoolean(l, op.toUpperCase()), this.expectBoolean(r, op.toUpperCase())], 'boolean');
      case '=':
      case '<>':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const [a, b] = this.coercePair(l, r, op);
        const fn: ScalarFn = ({ '=': 'eq', '<>': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge' } as const)[op];
        return call(fn, [a, b], 'boolean');
      }
      case '||':
        if (l.type === 'jsonb' || r.type === 'jsonb') return bindScalar('__jsonb_concat', [l, r], pos);
        if (isArrayType(l.type) || isArrayType(r.type)) return this.bindArrayConcat(l, r, pos);
        return call('concat', [cast(l, 'varchar'), cast(r, 'varchar')], 'varchar');
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        if (op === '-' && l.type === 'jsonb') return bindScalar('__jsonb_delete', [l, r], pos);
        return bindArithmetic(op, l, r, pos);
      default:
        throw new SluiceError('not_supported', `operator ${op} is not supported`, { position: pos });
    }
  }

  /** The index in `scope` of column `name` (qualified by `table` when given); errors when absent or ambiguous. */
  protected resolveIndex(scope: Scope, table: string | null, name: string): number {
    const matches: number[] = [];
    scope.fields.forEach((f, i) => {
      if (f.name === name && (table === null ? !f.hidden : f.qualifier === table)) matches.push(i);
    });
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new SluiceError('ambiguous_column', `column reference "${name}" is ambiguous`, { position: this.positionOf(name) });
    const full = table ? `${table}.${name}` : name;
    const known = scope.fields.map((f) => f.name);
    throw new SluiceError('undefined_column', `column "${full}" does not exist`, {
      position: this.positionOf(name),
      hint: known.length ? `Available columns: ${known.join(', ')}.` : undefined,
    });
  }

  /** The field in `scope` that column `name` names (see resolveIndex). */
  protected resolve(scope: Scope, table: string | null, name: string): ScopeField {
    return scope.fields[this.resolveIndex(scope, table, name)]!;
  }
}

/** Whether some scalar, aggregate or set-returning function, or the binder's own syntax, goes by `name`. */
function isFunctionName(name: string): boolean {
  return hasScalar(name) || resolveAggregate(name, false) !== undefined || setFunctionOf(name) !== null || name.startsWith('__') || ['array', 'array_join', 'array_to_string', 'now', 'proctime'].includes(name);
}

function opError(op: string, a: SqlType, b: SqlType | null): SluiceError {
  const sig = b === null ? `${op} ${typeDisplayName(a)}` : `${typeDisplayName(a)} ${op} ${typeDisplayName(b)}`;
  return new SluiceError('undefined_function', `operator does not exist: ${sig}`, { hint: 'You might need to add an explicit type cast.' });
}

function bindArithmetic(op: '+' | '-' | '*' | '/' | '%', l: BoundExpr, r: BoundExpr, pos: number | undefined): BoundExpr {
  const fn: ScalarFn = ({ '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod' } as const)[op];
  if (isStringLit(l) && r.type !== 'varchar') l = constCast(l, r.type === 'timestamp' && op === '-' ? 'timestamp' : r.type);
  if (isStringLit(r) && l.type !== 'varchar') r = constCast(r, l.type === 'timestamp' || l.type === 'timestamptz' || l.type === 'date' || (l.type === 'time' && op === '+') ? 'interval' : l.type);
  const lt = l.type === 'null' ? r.type : l.type;
  const rt = r.type === 'null' ? l.type : r.type;
  if (isNumeric(lt) && isNumeric(rt)) {
    const t = commonType(lt, rt)!;
    const resultType: SqlType = t === 'bigint' && lt === 'int' && rt === 'int' ? 'int' : t;
    return call(fn, [cast(l, resultType), cast(r, resultType)], resultType);
  }
  if ((lt === 'timestamp' && rt === 'interval') && (op === '+' || op === '-')) return call(fn, [l, cast(r, 'interval')], 'timestamp');
  if (lt === 'interval' && rt === 'timestamp' && op === '+') return call(fn, [cast(r, 'timestamp'), l], 'timestamp');
  if (lt === 'date' && rt === 'interval' && (op === '+' || op === '-')) return call(fn, [cast(l, 'timestamp'), cast(r, 'interval')], 'timestamp');
  if (lt === 'interval' && rt === 'date' && op === '+') return call(fn, [cast(r, 'timestamp'), l], 'timestamp');
  if (lt === 'timestamp' && rt === 'timestamp' && op === '-') return call('sub', [l, r], 'interval');
  // timestamptz ± interval: months and days on the calendar of the view's zone, the time part absolute.
  if ((lt === 'timestamptz' && rt === 'interval') && (op === '+' || op === '-')) return call(fn, [l, cast(r, 'interval')], 'timestamptz');
  if (lt === 'interval' && rt === 'timestamptz' && op === '+') return call(fn, [r, l], 'timestamptz');
  // A timestamp or date meeting a timestamptz is read in the zone (PostgreSQL's implicit cast).
  if ((lt === 'timestamptz' || rt === 'timestamptz') && op === '-' && (lt === 'timestamp' || lt === 'date' || lt === 'timestamptz') && (rt === 'timestamp' || rt === 'date' || rt === 'timestamptz')) {
    return call('sub', [cast(l, 'timestamptz'), cast(r, 'timestamptz')], 'interval');
  }
  if (lt === 'interval' && rt === 'interval' && (op === '+' || op === '-')) return call(fn, [cast(l, 'interval'), cast(r, 'interval')], 'interval');
  // time: ± interval wraps around the day (days and months change nothing), time − time is an
  // interval, date + time a timestamp. Computed on the timestamp of that time on 1970-01-01.
  if (lt === 'time' || rt === 'time') {
    const midnight: BoundExpr = { kind: 'lit', value: 0n, type: 'timestamp' };
    const onDay = (t: BoundExpr): BoundExpr => call('add', [midnight, cast(t, 'interval')], 'timestamp');
    if (lt === 'time' && rt === 'interval' && (op === '+' || op === '-')) return cast(call(fn, [onDay(l), cast(r, 'interval')], 'timestamp'), 'time');
    if (lt === 'interval' && rt === 'time' && op === '+') return cast(call('add', [onDay(r), cast(l, 'interval')], 'timestamp'), 'time');
    if (lt === 'time' && rt === 'time' && op === '-') return call('sub', [cast(l, 'interval'), cast(r, 'interval')], 'interval');
    if (lt === 'date' && rt === 'time' && op === '+') return call('add', [cast(l, 'timestamp'), cast(r, 'interval')], 'timestamp');
    if (lt === 'time' && rt === 'date' && op === '+') return call('add', [cast(r, 'timestamp'), cast(l, 'interval')], 'timestamp');
  }
  if (lt === 'date' && rt === 'int' && (op === '+' || op === '-')) return call(fn, [cast(l, 'date'), cast(r, 'int')], 'date');
  if (lt === 'date' && rt === 'date' && op === '-') return call('sub', [cast(l, 'date'), cast(r, 'date')], 'int');
  if (lt === 'interval' && isNumeric(rt) && (op === '*' || op === '/')) return call(fn, [cast(l, 'interval'), cast(r, 'double')], 'interval');
  if (isNumeric(lt) && rt === 'interval' && op === '*') return call(fn, [cast(r, 'interval'), cast(l, 'double')], 'interval');
  throw new SluiceError('undefined_function', `operator does not exist: ${typeDisplayName(lt)} ${op} ${typeDisplayName(rt)}`, {
    position: pos,
    hint: 'You might need to add an explicit type cast.',
  });
}
