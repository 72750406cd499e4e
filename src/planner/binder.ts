/**
 * The binder: typed AST → LogicalPlan. Resolves names against the catalog, types every
 * expression (through expr-binder.ts), makes coercions explicit, and reports errors with
 * SQLSTATE and position. It does not optimize (rules.ts does).
 */
import { hasScalar } from '../functions/scalar/index.js';
import { decodeInterval, durationMicros, microsInterval } from '../common/interval.js';
import { SluiceError } from '../common/errors.js';
import { commonType, typeDisplayName, type Field, type Schema, type Value } from '../common/types.js';
import type { Catalog } from '../catalog/index.js';
import { WINDOW_KINDS, windowKindList, windowKindOf } from '../functions/window/index.js';
import type { Expr, FromItem, Query, QueryBody, Select } from '../parser/index.js';
import { resolveAggregate } from './aggregate-signatures.js';
import { call, cast } from './coercion.js';
import { columnsOf, conjunction, mapColumns, splitConjunction, type AggCall, type BoundExpr } from './expr.js';
import { scannedRelations, type LogicalPlan, type SetCall, type SortKey, type TimeExpiry, type WindowSpec } from './logical.js';
import { noSetFunction, SET_FUNCTIONS, setFunctionOf } from '../functions/set/index.js';
import { isStringLit } from './coercion.js';
import { castConstant } from './constant.js';
import { WindowCollector } from './window-calls.js';
import { ExprBinder, exprKey, starOf, type AggContext, type Ctx, type Scope, type ScopeField } from './expr-binder.js';
import { SubqueryJoins, type Correlated, type SubqueryHost } from './subquery.js';
import { inlineCall } from './sql-functions.js';
import type { SqlType } from '../common/types.js';

/** A correlated subquery's correlation keys: the inner sides of its `inner = outer` conditions, and their types. */
interface Correlation {
  readonly exprs: readonly Expr[];
  readonly types: readonly SqlType[];
}

/**
 * The row a LATERAL item is bound against: the plan and scope of the FROM items to its left,
 * and whether it is the right side of a LEFT JOIN (then a row expanding to nothing is kept).
 */
interface Outer {
  readonly plan: LogicalPlan;
  readonly scope: Scope;
  readonly left: boolean;
}

/** JOIN … USING / NATURAL JOIN: the names and, per name, its column on each side. */
interface UsingColumns {
  readonly names: readonly string[];
  readonly pairs: readonly { readonly name: string; readonly left: number; readonly right: number }[];
  readonly joinType: 'inner' | 'left' | 'right' | 'full' | 'cross';
}

/** The query binder: binds a query's FROM, joins, windows, SELECT, GROUP BY and ORDER BY into a logical plan, and its expressions through ExprBinder. */
export class Binder extends ExprBinder implements SubqueryHost {
  private ctes = new Map<string, LogicalPlan>();
  /** Domains of correlated subqueries made so far (their CTE names are numbered). */
  private domains = 0;
  /** The scopes of the queries enclosing the subquery being bound, innermost last. */
  private enclosing: Scope[] = [];
  /** The models `predict` calls of the query read (a view over them depends on them). */
  readonly models = new Set<string>();
  /** The SQL functions the query calls, inlined (a view depends on them). */
  readonly sqlFunctions = new Set<string>();
  private sqlFunctionDepth = 0;

  constructor(
    private readonly catalog: Catalog,
    sql = '',
  ) {
    super(sql);
  }

  /**
   * predict(model, f1, …) / predict_proba(model, …): the first argument names a model (42704
   * when there is none); the features must be as many as the model's and numbers (42883).
   */
  protected override bindPredict(e: Extract<Expr, { kind: 'func' }>, ctx: Ctx): BoundExpr | null {
    const first = e.args[0];
    const pos = e.pos ?? this.positionOf(e.name);
    if (!first || first.kind !== 'column' || first.table !== null) {
      throw new SluiceError('undefined_function', `${e.name} takes a model name first: ${e.name}(model, feature, …)`, { position: pos, hint: 'SHOW MODELS lists the models.' });
    }
    const entry = this.catalog.get(first.name);
    if (!entry || entry.kind !== 'model') {
      throw new SluiceError('undefined_object', `model "${first.name}" does not exist`, {
        position: first.pos ?? this.positionOf(first.name) ?? pos,
        hint: entry ? `"${first.name}" is a ${entry.kind === 'view' ? 'materialized view' : entry.kind}, not a model. SHOW MODELS lists the models.` : 'SHOW MODELS lists the models.',
      });
    }
    const model = entry.model;
    const features = e.args.slice(1);
    if (features.length !== model.features) {
      throw new SluiceError('undefined_function', `function ${e.name}(${first.name}, ${features.length} feature${features.length === 1 ? '' : 's'}) does not exist: model "${first.name}" takes ${model.features} feature${model.features === 1 ? '' : 's'}`, {
        position: pos,
        hint: `Call ${e.name}(${first.name}, ${entry.features.join(', ')}) with one number per feature, in that order.`,
      });
    }
    if (e.name === 'predict_proba' && model.type !== 'logistic_regression') {
      throw new SluiceError('undefined_function', `predict_proba is defined for logistic_regression models; "${first.name}" is a ${model.type} model`, { position: pos, hint: `Use predict(${first.name}, …).` });
    }
    const args = features.map((a) => {
      const b = this.bindExpr(a, ctx);
      if (b.type === 'double') return b;
      if (b.type === 'int' || b.type === 'bigint' || b.type === 'numeric' || b.type === 'null') return cast(b, 'double');
      const at = (a.kind === 'column' ? (a.pos ?? this.positionOf(a.name)) : a.kind === 'func' || a.kind === 'binary' ? a.pos : undefined) ?? pos;
      throw new SluiceError('undefined_function', `function ${e.name}(${first.name}, ${features.map((f) => (f === a ? typeDisplayName(b.type) : '…')).join(', ')}) does not exist: features must be numbers, not ${typeDisplayName(b.type)}`, {
        position: at,
        hint: 'Cast the argument to double precision.',
      });
    });
    this.models.add(first.name);
    const type = model.type === 'linear_regression' || e.name === 'predict_proba' ? 'double' : 'int';
    return { kind: 'call', fn: e.name === 'predict' ? 'predict' : 'predict_proba', args, type, model };
  }

  protected override isSqlFunction(name: string): boolean {
    return this.catalog.getFunction(name) !== undefined;
  }

  protected override bindSqlFunction(name: string, args: BoundExpr[], pos: number | undefined): BoundExpr | null {
    const fn = this.catalog.getFunction(name);
    if (!fn) return null;
    this.sqlFunctions.add(name);
    this.sqlFunctionDepth++;
    try {
      return inlineCall(fn, args, this, this.sqlFunctionDepth - 1, pos);
    } finally {
      this.sqlFunctionDepth--;
    }
  }

  bindQuery(q: Query): LogicalPlan {
    const saved = this.ctes;
    this.ctes = new Map(saved);
    try {
      for (const w of q.with) {
        const plan = this.bindQuery(w.query);
        const names = w.columns ?? [];
        if (names.length > plan.schema.length) {
          throw new SluiceError('invalid_column_reference', `WITH query "${w.name}" has ${plan.schema.length} columns available but ${names.length} columns specified`, { position: this.positionOf(w.name) });
        }
        // WITH d(a, b): the first columns renamed, the rest keep their names.
        const schema = plan.schema.map((f, i) => ({ name: names[i] ?? f.name, type: f.type }));
        this.ctes.set(w.name, names.length === 0 ? plan : project(plan, schema.map((f, i): BoundExpr => ({ kind: 'col', index: i, type: f.type })), schema));
      }
      let body = this.bindBody(q.body);
      const distinctOn = q.body.kind === 'select' ? q.body.distinctOn : null;
      // ORDER BY without LIMIT does not change a view's contents (a relation has no order).
      if (q.limit === null && q.offset === null && !distinctOn) return body;
      const width = body.schema.length;
      const isPosition = (e: Expr): boolean => e.kind === 'literal' && typeof e.value === 'number' && Number.isInteger(e.value);
      const strip = (e: Expr): Expr => (e.kind === 'column' ? { ...e, table: null } : e);
      let scope: Scope = { fields: body.schema.map((f) => ({ qualifier: null, name: f.name, type: f.type })) };
      // Sort and DISTINCT ON expressions over columns the select list does not output (PostgreSQL
      // allows them): computed as hidden columns after the select list's, dropped after the top-N.
      const hidden: Expr[] = [];
      for (const e of [...(distinctOn ?? []), ...q.orderBy.map((o) => o.expr)]) {
        if (isPosition(e)) continue;
        try {
          this.bindExpr(strip(e), { scope, agg: null, noAggIn: 'ORDER BY' });
        } catch (err) {
          // (An aggregate binds as a select item of a grouped select: ORDER BY sum(x).)
          const aggregate = err instanceof SluiceError && err.category === 'grouping' && err.message.startsWith('aggregate functions are not allowed');
          if (q.body.kind !== 'select' || !(err instanceof SluiceError) || (err.category !== 'undefined_column' && !aggregate)) throw err;
          if (q.body.distinct) throw new SluiceError('invalid_column_reference', 'for SELECT DISTINCT, ORDER BY expressions must appear in select list', { hint: 'Add the expression to the select list, or order by one that is in it.' });
          hidden.push(e);
        }
      }
      if (hidden.length > 0 && q.body.kind === 'select') {
        body = this.bindBody({ ...q.body, items: [...q.body.items, ...hidden.map((e, k) => ({ expr: e, alias: `_sort${k}` }))] });
        scope = { fields: body.schema.map((f) => ({ qualifier: null, name: f.name, type: f.type })) };
      }
      const bindOutput = (e: Expr, where: string): BoundExpr => {
        const k = hidden.indexOf(e);
        if (k >= 0) return { kind: 'col', index: width + k, type: body.schema[width + k]!.type };
        return this.bindExpr(strip(e), { scope, agg: null, noAggIn: where });
      };
      const orderBy: SortKey[] = q.orderBy.map((o) => {
        let expr: BoundExpr;
        if (o.expr.kind === 'literal' && typeof o.expr.value === 'number' && Number.isInteger(o.expr.value)) {
          const i = o.expr.value - 1;
          if (i >= width || !body.schema[i]) throw new SluiceError('undefined_column', `ORDER BY position ${o.expr.value} is not in select list`);
          expr = { kind: 'col', index: i, type: body.schema[i]!.type };
        } else expr = bindOutput(o.expr, 'ORDER BY');
        return { expr, desc: o.desc, nullsFirst: o.nullsFirst ?? o.desc };
      });
      let top: LogicalPlan;
      if (distinctOn) {
        if (q.limit !== null || q.offset !== null) throw new SluiceError('not_supported', 'DISTINCT ON together with LIMIT/OFFSET is not supported yet', { hint: 'Put the DISTINCT ON query in a view and select from it with LIMIT.' });
        // DISTINCT ON (keys): the first row of each key group by the ORDER BY — a top-1 per key.
        top = { kind: 'top_n', input: body, partitionBy: distinctOn.map((e) => bindOutput(e, 'DISTINCT ON')), orderBy, limit: 1, offset: 0, withTies: false, rank: false, schema: body.schema, appendOnly: false };
      } else {
        top = {
          kind: 'top_n',
          input: body,
          partitionBy: [],
          orderBy,
          limit: q.limit ?? Number.MAX_SAFE_INTEGER,
          offset: q.offset ?? 0,
          withTies: q.withTies,
          rank: false,
          schema: body.schema,
          appendOnly: false,
        };
      }
      if (hidden.length === 0) return top;
      const out = body.schema.slice(0, width);
      return project(top, out.map((f, i): BoundExpr => ({ kind: 'col', index: i, type: f.type })), out);
    } finally {
      this.ctes = saved;
    }
  }

  private bindBody(b: QueryBody): LogicalPlan {
    if (b.kind === 'select') return b.groupingSets ? this.bindGroupingSets(b) : this.bindSelect(b);
    if (b.kind === 'setop') return this.bindIntersectExcept(b.op, this.bindBody(b.left), this.bindBody(b.right), b.all === true);
    const { aligned, schema } = alignSetInputs(b.inputs.map((i) => this.bindBody(i)), 'UNION');
    const union: LogicalPlan = { kind: 'union', inputs: aligned, schema, appendOnly: aligned.every((p) => p.appendOnly) };
    if (b.all) return union;
    return distinctOf(union);
  }

  /**
   * `left INTERSECT right` / `left EXCEPT right`, incrementally: both sides tagged (0 left, 1
   * right) and unioned, grouped by every column (NULLs equal, as the set operations compare),
   * each group's rows counted per side; a group is in the result while the left has it and the
   * right does (INTERSECT) or does not (EXCEPT). With ALL a row is there min(left, right) times
   * (INTERSECT ALL) or left − right times (EXCEPT ALL): generate_series(1, that) repeats it.
   */
  private bindIntersectExcept(op: 'intersect' | 'except', left: LogicalPlan, right: LogicalPlan, all = false): LogicalPlan {
    const { aligned, schema } = alignSetInputs([left, right], op.toUpperCase());
    const n = schema.length;
    const tagged = aligned.map((p, side) => project(p, [...schema.map((f, i): BoundExpr => ({ kind: 'col', index: i, type: f.type })), { kind: 'lit', value: side, type: 'int' }], [...schema, { name: '_side', type: 'int' }]));
    const union: LogicalPlan = { kind: 'union', inputs: tagged, schema: tagged[0]!.schema, appendOnly: tagged.every((p) => p.appendOnly) };
    const side: BoundExpr = { kind: 'col', index: n, type: 'int' };
    const countSide = (k: number): AggCall => ({ fn: 'count', arg: side, distinct: false, filter: call('eq', [side, { kind: 'lit', value: k, type: 'int' }], 'boolean'), type: 'bigint' });
    const grouped: LogicalPlan = {
      kind: 'aggregate',
      input: union,
      groupKeys: schema.map((f, i) => ({ kind: 'col', index: i, type: f.type })),
      aggs: [countSide(0), countSide(1)],
      schema: [...schema, { name: '_left', type: 'bigint' }, { name: '_right', type: 'bigint' }],
      appendOnly: false,
    };
    const zero: BoundExpr = { kind: 'lit', value: 0n, type: 'bigint' };
    if (all) {
      const l: BoundExpr = { kind: 'col', index: n, type: 'bigint' };
      const r: BoundExpr = { kind: 'col', index: n + 1, type: 'bigint' };
      const times = op === 'intersect' ? call('least', [l, r], 'bigint') : call('sub', [l, r], 'bigint');
      const positive = filter(grouped, call('gt', [times, zero], 'boolean'));
      const repeated = projectSet(positive, [{ fn: 'generate_series', args: [{ kind: 'lit', value: 1n, type: 'bigint' }, times], type: 'bigint' }], false, false, [{ name: '_copy', type: 'bigint' } as ScopeField]);
      return project(repeated, schema.map((f, i) => ({ kind: 'col', index: i, type: f.type })), schema);
    }
    const inLeft = call('gt', [{ kind: 'col', index: n, type: 'bigint' }, zero], 'boolean');
    const rightTest = call(op === 'intersect' ? 'gt' : 'eq', [{ kind: 'col', index: n + 1, type: 'bigint' }, zero], 'boolean');
    const kept = filter(grouped, call('and', [inLeft, rightTest], 'boolean'));
    return project(kept, schema.map((f, i) => ({ kind: 'col', index: i, type: f.type })), schema);
  }

  private bindFrom(f: FromItem | null, outer: Outer | null = null): { plan: LogicalPlan; scope: Scope } {
    if (f === null) {
      if (outer) return { plan: outer.plan, scope: outer.scope };
      return { plan: { kind: 'values', rows: [[]], schema: [], appendOnly: true }, scope: { fields: [] } };
    }
    if (outer && f.kind !== 'join' && !(f.kind === 'table_function' && setFunctionOf(f.name) !== null)) {
      throw new SluiceError('not_supported', 'a LATERAL subquery reading FROM a relation or subquery is not supported yet', {
        position: f.kind === 'relation' ? this.positionOf(f.name) : this.positionOf('lateral'),
        hint: 'Write the LATERAL subquery over the outer row only (SELECT … with set-returning functions), or join the relation outside it.',
      });
    }
    switch (f.kind) {
      case 'relation': {
        if (f.schema?.toLowerCase() === 'sluice') {
          throw new SluiceError('not_supported', `the system table sluice.${f.name} can be read with SELECT, not maintained in a view`, {
            position: this.positionOf(`sluice.${f.name}`) ?? this.positionOf(f.name),
            hint: 'Query it ad hoc (SELECT … FROM sluice.epochs); the figures change with every epoch.',
          });
        }
        const cte = this.ctes.get(f.name);
        if (cte) return { plan: cte, scope: { fields: cte.schema.map((c) => ({ qualifier: f.alias ?? f.name, name: c.name, type: c.type })) } };
        const entry = this.catalog.relation(f.name, this.positionOf(f.name));
        // One origin per occurrence of a table with a primary key (functional dependencies in GROUP BY).
        const origin = entry.kind === 'table' && entry.primaryKey.length ? { primaryKey: entry.primaryKey } : undefined;
        const appendOnly = entry.kind === 'source' || (entry.kind === 'table' && entry.appendOnly) || (entry.kind === 'view' && entry.appendOnly);
        const plan: LogicalPlan = {
          kind: 'scan',
          relation: entry.name,
          relationKind: entry.kind,
          columns: entry.schema.map((_, i) => i),
          schema: entry.schema,
          appendOnly,
        };
        return { plan, scope: { fields: entry.schema.map((c) => ({ qualifier: f.alias ?? f.name, name: c.name, type: c.type, origin })) } };
      }
      case 'subquery': {
        const plan = this.bindQuery(f.query);
        const names = f.columnAliases ?? [];
        if (names.length > plan.schema.length) {
          throw new SluiceError('syntax', `table "${f.alias}" has ${plan.schema.length} columns available but ${names.length} columns specified`, { position: this.positionOf(f.alias ?? '') });
        }
        return { plan, scope: { fields: plan.schema.map((c, i) => ({ qualifier: f.alias, name: names[i] ?? c.name, type: c.type })) } };
      }
      case 'table_function':
        if (setFunctionOf(f.name) !== null) return this.bindSetFunctionFrom(f, outer);
        // (A name no scalar function has gets the window kinds' error and hint.)
        if (windowKindOf(f.name) === null && (hasScalar(f.name) || this.isSqlFunction(f.name))) return this.bindScalarFunctionFrom(f);
        return this.bindWindowFunction(f);
      case 'join':
        return this.bindJoin(f, outer);
    }
  }

  /** A set-returning function in FROM: a ProjectSet over the row to its left (or one empty row). */
  private bindSetFunctionFrom(f: Extract<FromItem, { kind: 'table_function' }>, outer: Outer | null): { plan: LogicalPlan; scope: Scope } {
    const base = this.bindFrom(null, outer);
    const fname = setFunctionOf(f.name)!;
    const ctx: Ctx = { scope: base.scope, agg: null, noAggIn: 'functions in FROM' };
    // unnest(a, b, …) in FROM zips its arrays: one call per array.
    const calls = fname === 'unnest' && f.args.length > 1 ? f.args.map((a) => this.bindSetCall('unnest', [a], ctx, f.pos)) : [this.bindSetCall(fname, f.args, ctx, f.pos)];
    const qualifier = f.alias ?? fname;
    const names = calls.map((_, k) => f.columnAliases?.[k] ?? (calls.length === 1 ? (f.alias ?? fname) : fname));
    const ordinality = f.ordinality === true;
    if (ordinality) names.push(f.columnAliases?.[calls.length] ?? 'ordinality');
    if (f.columnAliases && f.columnAliases.length > names.length) {
      throw new SluiceError('syntax', `table "${qualifier}" has ${names.length} columns available but ${f.columnAliases.length} columns specified`, { position: f.pos });
    }
    const types = [...calls.map((c) => c.type), ...(ordinality ? ['bigint' as const] : [])];
    const fields: ScopeField[] = names.map((name, k) => ({ qualifier, name, type: types[k]! }));
    const plan = projectSet(base.plan, calls, ordinality, outer?.left === true, fields);
    return { plan, scope: { fields: [...base.scope.fields, ...fields] } };
  }

  /** A typed call of set-returning function `fn` over `ctx`'s scope. */
  private bindSetCall(fn: NonNullable<ReturnType<typeof setFunctionOf>>, argAsts: readonly Expr[], ctx: Ctx, pos: number | undefined): SetCall {
    const args = argAsts.map((a) => {
      if (containsSetFunction(a)) throw new SluiceError('not_supported', 'set-returning functions nested in the arguments of a set-returning function are not supported yet', { position: pos, hint: 'Expand in two steps: a subquery, then the outer call over its column.' });
      return this.bindExpr(a, ctx);
    });
    const sig = SET_FUNCTIONS[fn].signature(args.map((a) => (isStringLit(a) ? 'varchar' : a.type)));
    if (sig === null) throw noSetFunction(fn, args.map((a) => a.type), pos ?? this.positionOf(fn));
    const inner = args[0];
    if (fn === 'unnest' && inner?.kind === 'call' && inner.fn === 'string_to_array') {
      // unnest(string_to_array(s, d)) ≡ string_to_table(s, d), without the array in between.
      return { fn: 'string_to_table', args: inner.args, type: 'varchar' };
    }
    return { fn, args: args.map((a, i) => cast(a, sig.params[i]!)), type: sig.type };
  }

  /**
   * The right side of a LATERAL join (a set-returning function, or a subquery over the left
   * row): a plan whose rows are the left's columns followed by the right's, and its scope.
   */
  private bindLateral(right: FromItem, outer: Outer): { plan: LogicalPlan; scope: Scope } {
    if (right.kind === 'table_function') return this.bindSetFunctionFrom(right, outer);
    if (right.kind !== 'subquery') throw new SluiceError('internal', 'bindLateral on a relation');
    const q = right.query;
    if (q.with.length || q.body.kind !== 'select' || q.orderBy.length || q.limit !== null || q.offset !== null) {
      throw new SluiceError('not_supported', 'a LATERAL subquery with WITH, UNION, ORDER BY or LIMIT is not supported yet', { position: this.positionOf('lateral') });
    }
    const s = q.body;
    if (outer.left && s.where) throw new SluiceError('not_supported', 'LEFT JOIN LATERAL over a subquery with WHERE is not supported yet', { position: this.positionOf('lateral'), hint: 'Use CROSS JOIN LATERAL, or move the condition out of the subquery.' });
    const sub = this.bindSelect(s, outer);
    const n = outer.plan.schema.length;
    const fields = sub.schema.slice(n).map((c) => ({ qualifier: right.alias, name: c.name, type: c.type }));
    return { plan: sub, scope: { fields: [...outer.scope.fields, ...fields] } };
  }

  /** A join: ON splits into equi-keys (left expr = right expr) and a residual condition. */
  private bindJoin(f: Extract<FromItem, { kind: 'join' }>, outer: Outer | null): { plan: LogicalPlan; scope: Scope } {
    const l = this.bindFrom(f.left, outer);
    const lateral = (f.right.kind === 'table_function' && setFunctionOf(f.right.name) !== null) || (f.right.kind === 'subquery' && f.right.lateral === true);
    if (lateral) return this.bindLateralJoin(f, l);
    if (outer) throw new SluiceError('not_supported', 'a LATERAL subquery joining relations is not supported yet', { position: this.positionOf('lateral') });
    const r = this.bindFrom(f.right);
    const nL = l.plan.schema.length;
    const custom = l.scope.star || r.scope.star;
    let scope: Scope = { fields: [...l.scope.fields, ...r.scope.fields], ...(custom ? { star: [...starOf(l.scope), ...starOf(r.scope).map((i) => i + nL)] } : {}) };
    const leftKeys: BoundExpr[] = [];
    const rightKeys: BoundExpr[] = [];
    const residual: BoundExpr[] = [];
    let using: UsingColumns | null = null;
    if (f.using) {
      using = this.usingColumns(f, l.scope, r.scope);
      for (const u of using.pairs) {
        const [a, b] = this.coercePair({ kind: 'col', index: u.left, type: l.scope.fields[u.left]!.type }, { kind: 'col', index: u.right, type: r.scope.fields[u.right]!.type }, '=');
        leftKeys.push(a);
        rightKeys.push(b);
      }
    } else if (f.on) {
      const on = this.expectBoolean(this.bindExpr(f.on, { scope, agg: null, noAggIn: 'JOIN conditions' }), 'JOIN/ON');
      for (const c of splitConjunction(on)) {
        if (c.kind === 'call' && c.fn === 'eq') {
          const [a, b] = c.args as [BoundExpr, BoundExpr];
          const side = (e: BoundExpr) => {
            const cols = [...columnsOf(e)];
            if (cols.length === 0) return 'none';
            if (cols.every((i) => i < nL)) return 'left';
            if (cols.every((i) => i >= nL)) return 'right';
            return 'both';
          };
          const sa = side(a);
          const sb = side(b);
          const shift = (e: BoundExpr) => mapColumns(e, (i, type) => ({ kind: 'col', index: i - nL, type }));
          if (sa === 'left' && sb === 'right') {
            leftKeys.push(a);
            rightKeys.push(shift(b));
            continue;
          }
          if (sa === 'right' && sb === 'left') {
            leftKeys.push(b);
            rightKeys.push(shift(a));
            continue;
          }
        }
        residual.push(c);
      }
    } else if (f.joinType !== 'cross') {
      throw new SluiceError('syntax', `${f.joinType.toUpperCase()} JOIN needs an ON condition`, { position: this.positionOf('join') });
    }
    const unbounded = (p: LogicalPlan): boolean => [...scannedRelations(p)].some((rel) => this.catalog.get(rel)?.kind === 'source');
    // Lookup: written FOR SYSTEM_TIME AS OF PROCTIME(), or implicitly a stream joined with a
    // table loaded by a connector (a static dimension table).
    const rightEntry = f.right.kind === 'relation' ? this.catalog.get(f.right.name) : undefined;
    const lookup = (f.right.kind === 'relation' && f.right.lookup === true) || (rightEntry?.kind === 'table' && !!rightEntry.options.connector && unbounded(l.plan));
    if (lookup) {
      if (rightEntry?.kind !== 'table') throw new SluiceError('not_supported', 'FOR SYSTEM_TIME AS OF needs a table on the right side of the join', { position: this.positionOf('system_time') });
      if (f.joinType !== 'inner' && f.joinType !== 'left') throw new SluiceError('not_supported', `a lookup join is INNER or LEFT, not ${f.joinType.toUpperCase()}`, { position: this.positionOf('join') });
    }
    const timeBound = lookup ? null : this.timeBound(l.plan, r.plan, leftKeys, rightKeys, residual);
    if (!lookup && !timeBound && unbounded(l.plan) && unbounded(r.plan)) {
      throw new SluiceError('not_supported', 'a join between two unbounded streams would keep every row of both forever', {
        position: this.positionOf('join'),
        hint: 'Bound it in time: join windows (TUMBLE(a, ts, …) JOIN TUMBLE(b, ts, …) ON a.window_start = b.window_start) or add an interval condition (b.ts BETWEEN a.ts AND a.ts + INTERVAL \'1 hour\') on columns with a WATERMARK; or join a stream with a table.',
      });
    }
    const joinType = f.joinType;
    const plan: LogicalPlan = {
      kind: 'join',
      left: l.plan,
      right: r.plan,
      joinType,
      leftKeys,
      rightKeys,
      residual: conjunction(residual),
      lookup,
      timeBound,
      schema: [...l.plan.schema, ...r.plan.schema],
      // A lookup join's output only ever grows for an append-only stream: table changes emit nothing.
      appendOnly: lookup ? l.plan.appendOnly : (joinType === 'inner' || joinType === 'cross') && l.plan.appendOnly && r.plan.appendOnly,
    };
    if (using) return this.mergeUsing(plan, using, l.scope, r.scope, leftKeys, rightKeys);
    return { plan, scope };
  }

  /**
   * The column pairs of JOIN … USING (names) or NATURAL JOIN (the names both sides show), as
   * PostgreSQL resolves them: each name once among each side's visible columns.
   */
  private usingColumns(f: Extract<FromItem, { kind: 'join' }>, ls: Scope, rs: Scope): UsingColumns {
    if (f.on) throw new SluiceError('syntax', 'a join has either ON or USING, not both', { position: this.positionOf('using') });
    const visible = (s: Scope) => s.fields.flatMap((fl, i) => (fl.hidden ? [] : [{ name: fl.name, i }]));
    const lv = visible(ls);
    const rv = visible(rs);
    let names: readonly string[];
    if (f.using === 'natural') names = [...new Set(lv.map((x) => x.name))].filter((n) => rv.some((x) => x.name === n));
    else {
      names = f.using!;
      const seen = new Set<string>();
      for (const n of names) {
        if (seen.has(n)) throw new SluiceError('duplicate_column', `column name "${n}" appears more than once in USING clause`, { position: this.positionOf(n) });
        seen.add(n);
      }
    }
    const find = (v: { name: string; i: number }[], n: string, side: 'left' | 'right') => {
      const m = v.filter((x) => x.name === n);
      if (m.length === 0) throw new SluiceError('undefined_column', `column "${n}" specified in USING clause does not exist in ${side} table`, { position: this.positionOf(n) });
      if (m.length > 1) throw new SluiceError('ambiguous_column', `common column name "${n}" appears more than once in ${side} table`, { position: this.positionOf(n) });
      return m[0]!.i;
    };
    return { names, pairs: names.map((n) => ({ name: n, left: find(lv, n, 'left'), right: find(rv, n, 'right') })), joinType: f.joinType };
  }

  /**
   * The scope of a USING/NATURAL join: one merged column per name (the left side's for INNER and
   * LEFT, the right side's for RIGHT, COALESCE of both for FULL, projected after the join's
   * columns), the sides' own copies reachable only qualified, and `*` as PostgreSQL orders it:
   * the merged columns, then the left's others, then the right's.
   */
  private mergeUsing(plan: LogicalPlan, using: UsingColumns, ls: Scope, rs: Scope, leftKeys: readonly BoundExpr[], rightKeys: readonly BoundExpr[]): { plan: LogicalPlan; scope: Scope } {
    const nL = ls.fields.length;
    const fields: ScopeField[] = [...ls.fields, ...rs.fields];
    const merged: number[] = [];
    let out = plan;
    if (using.joinType === 'full') {
      const exprs: BoundExpr[] = plan.schema.map((c, i) => ({ kind: 'col', index: i, type: c.type }));
      const schema = [...plan.schema];
      using.pairs.forEach((u, k) => {
        const a = leftKeys[k]!;
        const b = mapColumns(rightKeys[k]!, (i, type) => ({ kind: 'col', index: i + nL, type }));
        exprs.push(call('coalesce', [a, b], a.type));
        schema.push({ name: u.name, type: a.type });
        fields[u.left] = { ...fields[u.left]!, hidden: true };
        fields[nL + u.right] = { ...fields[nL + u.right]!, hidden: true };
        merged.push(fields.length);
        fields.push({ qualifier: null, name: u.name, type: a.type });
      });
      out = project(plan, exprs, schema);
    } else {
      for (const u of using.pairs) {
        const keep = using.joinType === 'right' ? nL + u.right : u.left;
        const hide = using.joinType === 'right' ? u.left : nL + u.right;
        fields[hide] = { ...fields[hide]!, hidden: true };
        merged.push(keep);
      }
    }
    const isMerged = new Set(merged);
    const sides = [...starOf(ls), ...starOf(rs).map((i) => i + nL)].filter((i) => !isMerged.has(i) && !fields[i]!.hidden);
    return { plan: out, scope: { fields, star: [...merged, ...sides] } };
  }

  /**
   * `left, f(…)`, `left CROSS JOIN LATERAL …`, `left JOIN LATERAL … ON cond` and `left LEFT JOIN
   * LATERAL … ON true`: the right side expanded per left row (no join state: each left row's
   * expansion depends on that row alone).
   */
  private bindLateralJoin(f: Extract<FromItem, { kind: 'join' }>, l: { plan: LogicalPlan; scope: Scope }): { plan: LogicalPlan; scope: Scope } {
    const isTrue = (e: Expr | null) => e === null || (e.kind === 'literal' && e.value === true);
    if (f.joinType === 'right' || f.joinType === 'full') throw new SluiceError('not_supported', `${f.joinType.toUpperCase()} JOIN LATERAL is not supported`, { position: this.positionOf('lateral') });
    if (f.joinType === 'left' && !isTrue(f.on)) throw new SluiceError('not_supported', 'LEFT JOIN LATERAL is supported with ON true only', { position: this.positionOf('lateral'), hint: 'Filter inside the lateral subquery, or use CROSS JOIN LATERAL with WHERE.' });
    const r = this.bindLateral(f.right, { plan: l.plan, scope: l.scope, left: f.joinType === 'left' });
    if (isTrue(f.on)) return r;
    const on = this.expectBoolean(this.bindExpr(f.on!, { scope: r.scope, agg: null, noAggIn: 'JOIN conditions' }), 'JOIN/ON');
    return { plan: filter(r.plan, on), scope: r.scope };
  }

  /**
   * The time bound of a stream–stream join, if it has one: a window join (both inputs windows
   * over watermarked time, joined on window_start) or an interval join (conditions bounding
   * right.t − left.t from both sides, on the inputs' watermark columns).
   */
  private timeBound(l: LogicalPlan, r: LogicalPlan, leftKeys: BoundExpr[], rightKeys: BoundExpr[], residual: BoundExpr[]): { left: TimeExpiry; right: TimeExpiry } | null {
    if (l.kind === 'window' && r.kind === 'window' && l.window.watermark !== null && r.window.watermark !== null) {
      const lws = l.input.schema.length;
      const rws = r.input.schema.length;
      const joined = leftKeys.some((k, i) => k.kind === 'col' && k.index === lws && rightKeys[i]!.kind === 'col' && (rightKeys[i] as { index: number }).index === rws);
      // window_end: the window is over once the watermark reaches it.
      if (joined) return { left: { col: lws + 1, offset: 0n, lateOffset: 0n }, right: { col: rws + 1, offset: 0n, lateOffset: 0n } };
    }
    const tl = this.watermarkColumn(l);
    const tr = this.watermarkColumn(r);
    if (tl === null || tr === null) return null;
    const nL = l.schema.length;
    const term = (e: BoundExpr): { side: 'L' | 'R'; off: bigint } | null => {
      let off = 0n;
      let c = e;
      if (c.kind === 'call' && (c.fn === 'add' || c.fn === 'sub') && c.args[1]!.kind === 'lit' && c.args[1]!.type === 'interval') {
        off = durationMicros(decodeInterval(c.args[1]!.value as string), 'an interval join bound') * (c.fn === 'sub' ? -1n : 1n);
        c = c.args[0]!;
      }
      if (c.kind !== 'col') return null;
      if (c.index === tl) return { side: 'L', off };
      if (c.index === nL + tr) return { side: 'R', off };
      return null;
    };
    let lower: bigint | null = null;
    let upper: bigint | null = null;
    const flip: Record<string, string> = { ge: 'le', gt: 'lt', le: 'ge', lt: 'gt' };
    for (const c of residual) {
      if (c.kind !== 'call' || !['ge', 'gt', 'le', 'lt'].includes(c.fn)) continue;
      const x = term(c.args[0]!);
      const y = term(c.args[1]!);
      if (!x || !y || x.side === y.side) continue;
      // Normalise to  R.t  op  L.t + k.
      const [op, k] = x.side === 'R' ? [c.fn, y.off - x.off] : [flip[c.fn]!, x.off - y.off];
      if (op === 'ge' || op === 'gt') lower = lower === null || k > lower ? k : lower;
      else upper = upper === null || k < upper ? k : upper;
    }
    if (lower === null || upper === null) return null;
    // A left row can match right rows up to L.t + upper; a right row left rows down to R.t − lower.
    // Rows below the watermark are late (t + 1µs <= watermark), so kept rows are matched only by
    // rows at or above it, and these bounds make dropping the expired ones safe.
    return { left: { col: tl, offset: upper + 1n, lateOffset: 1n }, right: { col: tr, offset: -lower + 1n, lateOffset: 1n } };
  }

  /** The index of a plan's output column that is its relation's WATERMARK column, if any. */
  private watermarkColumn(p: LogicalPlan): number | null {
    if (p.kind !== 'scan') return null;
    const e = this.catalog.get(p.relation);
    if (!e || (e.kind !== 'source' && e.kind !== 'table') || !e.watermark) return null;
    const i = p.schema.findIndex((f) => f.name === e.watermark!.column);
    return i >= 0 ? i : null;
  }

  /**
   * A scalar function in FROM (`SELECT * FROM abs(-1) AS a`): as in PostgreSQL, a relation of one
   * row and one column, named by the column alias, else the table alias, else the function.
   */
  private bindScalarFunctionFrom(f: Extract<FromItem, { kind: 'table_function' }>): { plan: LogicalPlan; scope: Scope } {
    const pos = this.positionOf(f.name);
    const name = f.columnAliases?.[0] ?? f.alias ?? f.name;
    if ((f.columnAliases?.length ?? 0) > 1) throw new SluiceError('syntax', `table "${f.alias ?? f.name}" has 1 columns available but ${f.columnAliases!.length} columns specified`, { position: pos });
    const plan = this.bindSelect({ kind: 'select', distinct: false, distinctOn: null, items: [{ expr: { kind: 'func', name: f.name, args: f.args, distinct: false, star: false, filter: null, orderBy: [], over: null, ...(f.pos !== undefined ? { pos: f.pos } : {}) }, alias: name }], from: null, where: null, groupBy: [], having: null });
    return { plan, scope: { fields: plan.schema.map((c) => ({ qualifier: f.alias ?? f.name, name: c.name, type: c.type })) } };
  }

  /** A window table function in FROM (TUMBLE, HOP, SESSION, …: see src/functions/window): the relation, its time column and the kind's INTERVAL arguments. */
  private bindWindowFunction(f: Extract<FromItem, { kind: 'table_function' }>): { plan: LogicalPlan; scope: Scope } {
    const name = windowKindOf(f.name);
    const pos = this.positionOf(f.name);
    if (name === null) {
      throw new SluiceError('undefined_function', `table function ${f.name}() does not exist`, { position: pos, hint: `Window functions are ${windowKindList('and')}.` });
    }
    const kind = WINDOW_KINDS[name];
    const usage = kind.usage;
    const [relArg, timeArg, ...durations] = f.args;
    if (!relArg || relArg.kind !== 'column' || relArg.table !== null || !timeArg) throw new SluiceError('syntax', `${name.toUpperCase()} takes ${usage}`, { position: pos });
    const inner = this.bindFrom({ kind: 'relation', name: relArg.name, alias: f.alias ?? relArg.name });
    const scope: Scope = inner.scope;
    let time: BoundExpr;
    let watermark: WindowSpec['watermark'] = null;
    if (timeArg.kind === 'func' && (timeArg.name === 'proctime' || timeArg.name === 'now')) {
      time = { kind: 'call', fn: 'now', args: [], type: 'timestamp' };
      watermark = 'proctime';
    } else {
      time = this.bindExpr(timeArg, { scope, agg: null, noAggIn: 'window arguments' });
      if (time.type !== 'timestamp' && time.type !== 'timestamptz') throw new SluiceError('datatype_mismatch', `the time column of ${name.toUpperCase()} must be a timestamp, not ${typeDisplayName(time.type)}`, { position: pos });
      const entry = this.ctes.has(relArg.name) ? undefined : this.catalog.get(relArg.name);
      if (timeArg.kind === 'column' && entry && (entry.kind === 'source' || entry.kind === 'table') && entry.watermark?.column === timeArg.name) {
        watermark = { relation: entry.name, column: timeArg.name };
      }
    }
    const micros = durations.map((d) => {
      const b = this.bindExpr(d, { scope, agg: null, noAggIn: 'window arguments' });
      if (b.kind !== 'lit' || (b.type !== 'interval' && b.type !== 'varchar') || b.value === null) {
        throw new SluiceError('syntax', `${name.toUpperCase()} takes ${usage}, with INTERVAL constants`, { position: pos });
      }
      const iv = b.type === 'interval' ? (b.value as string) : (castConstant(b.value, 'varchar', 'interval') as string);
      let v: bigint;
      try {
        v = durationMicros(decodeInterval(iv), `a ${name.toUpperCase()} window duration`);
      } catch (e) {
        throw e instanceof SluiceError ? e.withPosition(pos) : e;
      }
      if (v < 0n) throw new SluiceError('invalid_parameter', `window durations must not be negative`, { position: pos });
      return v;
    });
    const [least, most] = kind.durations;
    if (micros.length < least || micros.length > most) throw new SluiceError('syntax', `${name.toUpperCase()} takes ${usage}`, { position: pos });
    const window: WindowSpec = { kind: name, time, ...kind.params(micros, pos), watermark };
    const schema: Schema = [...inner.plan.schema, { name: 'window_start', type: 'timestamp' }, { name: 'window_end', type: 'timestamp' }];
    const plan: LogicalPlan = { kind: 'window', input: inner.plan, window, schema, appendOnly: inner.plan.appendOnly };
    const q = f.alias ?? relArg.name;
    return { plan, scope: { fields: [...scope.fields, { qualifier: q, name: 'window_start', type: 'timestamp' }, { qualifier: q, name: 'window_end', type: 'timestamp' }] } };
  }

  /** `l op r` (a comparison) with PostgreSQL's coercions, for the subquery binder. */
  comparison(op: string, l: BoundExpr, r: BoundExpr, pos: number | undefined): BoundExpr {
    return this.bindBinary(op, l, r, pos);
  }

  /**
   * Binds a subquery of an expression (bound in `outer`) for decorrelation: its conditions
   * `inner expression = outer expression` in WHERE become correlation keys, leading its output
   * columns (and its GROUP BY when it aggregates). Other references to the outer query are not
   * supported yet and say so.
   */
  bindCorrelated(q: Query, outer: Ctx, pos: number | undefined): Correlated {
    const outerScope = outer.agg ? outer.agg.input : outer.scope;
    this.enclosing.push(outerScope);
    try {
      return this.bindCorrelatedIn(q, outer, outerScope, pos);
    } finally {
      this.enclosing.pop();
    }
  }

  private bindCorrelatedIn(q: Query, outer: Ctx, outerScope: Scope, pos: number | undefined): Correlated {
    const s = q.body.kind === 'select' && q.with.length === 0 ? q.body : null;
    if (!s) return { plan: this.bindQuery(q), keys: 0, outerKeys: [] };
    // The FROM's names (its ON conditions may read the outer row: bound later, over its domain).
    const withoutOn = (f: FromItem | null): FromItem | null => (f && f.kind === 'join' ? { ...f, left: withoutOn(f.left)!, right: withoutOn(f.right)!, on: f.on ? { kind: 'literal', value: true, type: 'boolean' } : null } : f);
    const inner = this.bindFrom(withoutOn(s.from)).scope;
    const resolvesIn = (scope: Scope, c: { table: string | null; name: string }) => scope.fields.some((f) => f.name === c.name && (c.table === null || f.qualifier === c.table));
    const farther = columnRefs([s.items, s.where, s.groupBy, s.having, fromConditions(s.from)]).find(
      (c) => !resolvesIn(inner, c) && !resolvesIn(outerScope, c) && this.enclosing.slice(0, -1).some((sc) => resolvesIn(sc, c)),
    );
    if (farther) {
      throw new SluiceError('not_supported', `a reference to ${farther.table ? `${farther.table}.` : ''}${farther.name} from a subquery nested two or more levels inside its query is not supported yet`, {
        position: farther.pos ?? pos,
        hint: 'Correlate each subquery with its immediate outer query only.',
      });
    }
    const resolves = (scope: Scope, c: { table: string | null; name: string }) => scope.fields.some((f) => f.name === c.name && (c.table === null || f.qualifier === c.table));
    const outerRefs = (e: unknown) => columnRefs(e).filter((c) => !resolves(inner, c) && resolves(outerScope, c));
    const innerRefs = (e: unknown) => columnRefs(e).filter((c) => resolves(inner, c));
    const local: Expr[] = [];
    const innerKeys: Expr[] = [];
    const outerKeys: Expr[] = [];
    const whereParts = s.where ? conjuncts(s.where) : [];
    // A correlated condition other than an equality (q.id <> p.id, q.t BETWEEN p.a AND p.b):
    // the subquery is bound over the distinct outer values it reads instead (see bindOverDomain).
    const general = whereParts.some((c) => outerRefs(c).length > 0 && !this.correlatedEquality(c, outerRefs, innerRefs)) || fromConditions(s.from).some((c) => outerRefs(c).length > 0);
    if (general && outer.plan && !q.limit && !q.offset && !s.distinctOn) return this.bindOverDomain(q, s, outer, outerScope, outerRefs, pos);
    for (const c of whereParts) {
      if (outerRefs(c).length === 0) {
        local.push(c);
        continue;
      }
      if (c.kind === 'binary' && c.op === '=') {
        const [l, r] = [c.left, c.right];
        if (outerRefs(l).length === 0 && innerRefs(r).length === 0) {
          innerKeys.push(l);
          outerKeys.push(r);
          continue;
        }
        if (outerRefs(r).length === 0 && innerRefs(l).length === 0) {
          innerKeys.push(r);
          outerKeys.push(l);
          continue;
        }
      }
      const ref = outerRefs(c)[0]!;
      throw new SluiceError('not_supported', `a correlated subquery condition other than an equality between the subquery's expression and the outer query's (here on ${ref.table ? `${ref.table}.` : ''}${ref.name}) is not supported yet`, {
        position: (c.kind === 'binary' ? c.pos : undefined) ?? pos,
        hint: 'Correlate with equalities (inner.col = outer.col) and move other conditions on outer columns outside the subquery.',
      });
    }
    const elsewhere = [s.items, s.groupBy, s.having, s.distinctOn, fromConditions(s.from)].flatMap((x) => outerRefs(x));
    if (elsewhere.length) {
      const ref = elsewhere[0]!;
      throw new SluiceError('not_supported', `a reference to the outer query's column ${ref.table ? `${ref.table}.` : ''}${ref.name} outside the subquery's WHERE is not supported yet`, {
        position: ref.pos ?? pos,
        hint: 'Correlate in WHERE with equalities (inner.col = outer.col).',
      });
    }
    if (innerKeys.length === 0) return { plan: this.bindQuery(q), keys: 0, outerKeys: [] };
    if (q.limit !== null || q.offset !== null || s.distinctOn) {
      throw new SluiceError('not_supported', 'LIMIT, OFFSET or DISTINCT ON in a correlated subquery is not supported yet', { position: pos, hint: 'Use an aggregate (min, max) instead of ORDER BY … LIMIT 1.' });
    }
    const types: SqlType[] = [];
    const outerBound: BoundExpr[] = [];
    innerKeys.forEach((e, i) => {
      const ib = this.bindExpr(e, { scope: inner, agg: null, noAggIn: 'WHERE' });
      const ob = this.bindExpr(outerKeys[i]!, { ...outer, subqueries: undefined });
      const [ci, co] = this.coercePair(ib, ob, '=');
      const t: SqlType = ci.type === 'null' ? 'varchar' : ci.type;
      types.push(t);
      outerBound.push(cast(co, t));
    });
    const plan = this.bindSelect({ ...s, where: conjunction0(local) }, null, { exprs: innerKeys, types });
    return { plan, keys: innerKeys.length, outerKeys: outerBound };
  }

  /** Whether conjunct `c` is `inner expression = outer expression` (either way round). */
  private correlatedEquality(c: Expr, outerRefs: (e: unknown) => ColumnRef[], innerRefs: (e: unknown) => ColumnRef[]): boolean {
    if (c.kind !== 'binary' || c.op !== '=') return false;
    return (outerRefs(c.left).length === 0 && innerRefs(c.right).length === 0) || (outerRefs(c.right).length === 0 && innerRefs(c.left).length === 0);
  }

  /**
   * A subquery whose WHERE correlates otherwise than by equalities, decorrelated over the domain
   * of its outer references: D = the distinct values of the outer columns its WHERE reads (from
   * the outer FROM rows), joined with the subquery's FROM on the correlated conditions (the outer
   * columns read from D); D's columns are then its correlation keys, equal to the outer columns.
   * An outer row whose values are NULL finds no key, as a condition on NULL holds for no row.
   */
  private bindOverDomain(q: Query, s: Select, outer: Ctx, outerScope: Scope, outerRefs: (e: unknown) => ColumnRef[], pos: number | undefined): Correlated {
    const parts = s.where ? conjuncts(s.where) : [];
    const correlated = parts.filter((c) => outerRefs(c).length > 0);
    const local = parts.filter((c) => outerRefs(c).length === 0);
    const refs: ColumnRef[] = [];
    const indexOf: number[] = [];
    const inOn = fromConditions(s.from).flatMap((c) => outerRefs(c));
    for (const r of [...correlated.flatMap((c) => outerRefs(c)), ...inOn]) {
      const i = outerScope.fields.findIndex((f) => f.name === r.name && (r.table === null || f.qualifier === r.table));
      if (i >= 0 && !indexOf.includes(i)) {
        indexOf.push(i);
        refs.push(r);
      }
    }
    const domainName = `__sluice_domain_${this.domains++}`;
    // D's rows: each outer value (d<k>, read by the conditions) and, as the keys the outer row
    // joins on, whether it is NULL (n<k>) and the value with NULL as a fixed one (z<k>): a NULL
    // outer value finds its domain row too (a condition may still hold for it, as in a LEFT JOIN).
    const valueTypes = indexOf.map((i) => outer.plan!.schema[i]!.type);
    const valueCols = indexOf.map((i, k): BoundExpr => ({ kind: 'col', index: i, type: valueTypes[k]! }));
    const fields: Field[] = [
      ...valueTypes.flatMap((t, k): Field[] => [{ name: `n${k}`, type: 'boolean' }, { name: `z${k}`, type: t }]),
      ...valueTypes.map((t, k): Field => ({ name: `d${k}`, type: t })),
    ];
    const nullSafe = (v: BoundExpr): BoundExpr[] => [call('is_null', [v], 'boolean'), call('coalesce', [v, { kind: 'lit', value: zeroOf(v.type), type: v.type }], v.type)];
    const picked = project(outer.plan!, [...valueCols.flatMap(nullSafe), ...valueCols], fields);
    const domain: LogicalPlan = { kind: 'aggregate', input: picked, groupKeys: fields.map((f, k): BoundExpr => ({ kind: 'col', index: k, type: f.type })), aggs: [], schema: fields, appendOnly: false };
    // The correlated conditions over D's columns instead of the outer ones.
    const toDomain = (e: unknown): unknown => {
      if (Array.isArray(e)) return e.map(toDomain);
      if (!e || typeof e !== 'object') return e;
      const o = e as { kind?: string };
      if (o.kind === 'column') {
        const c = o as ColumnRef;
        const k = refs.findIndex((r) => r.name === c.name && r.table === c.table);
        const isOuter = outerRefs(c).length > 0;
        return isOuter && k >= 0 ? { kind: 'column', table: domainName, name: `d${k}` } : e;
      }
      if (o.kind === 'subquery' || o.kind === 'exists' || o.kind === 'in_subquery' || o.kind === 'quantified') return e;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) out[k] = k === 'query' ? x : toDomain(x);
      return out;
    };
    const on = conjunction0(correlated.map((c) => toDomain(c) as Expr));
    const domainRel: FromItem = { kind: 'relation', name: domainName, alias: domainName };
    let from: FromItem;
    if (inOn.length === 0) {
      // D joined last, on the correlated conditions (equalities among them are the join's keys).
      from = { kind: 'join', joinType: 'inner', left: s.from!, right: domainRel, on };
    } else {
      // Outer columns in the FROM's ON conditions: D goes first (crossed with the leftmost
      // relation), so every ON sees it; the correlated WHERE conditions filter after.
      const leftmost = (f: FromItem): FromItem => (f.kind === 'join' ? { ...f, left: leftmost(f.left) } : { kind: 'join', joinType: 'cross', left: domainRel, right: f, on: null });
      from = leftmost(toDomain(s.from) as FromItem);
      local.push(...(on ? [on] : []));
    }
    const keyFields = fields.slice(0, 2 * valueTypes.length);
    const innerKeys: Expr[] = keyFields.map((f) => ({ kind: 'column', table: domainName, name: f.name }));
    const types = keyFields.map((f) => (f.type === 'null' ? 'varchar' : f.type));
    this.ctes.set(domainName, domain);
    try {
      const plan = this.bindSelect({ ...s, from, where: conjunction0(local) }, null, { exprs: innerKeys, types });
      const outerBound = refs.flatMap((r, k) => nullSafe(cast(this.bindExpr({ kind: 'column', table: r.table, name: r.name }, { ...outer, subqueries: undefined }), valueTypes[k]!)));
      void pos;
      return { plan, keys: keyFields.length, outerKeys: outerBound };
    } finally {
      this.ctes.delete(domainName);
    }
  }

  /**
   * Binds a SELECT; with `outer`, a LATERAL subquery whose output starts with the outer row's
   * columns; with `corr`, a correlated subquery whose output starts with its correlation keys
   * (added to its GROUP BY when it aggregates).
   */
  /**
   * GROUP BY GROUPING SETS / ROLLUP / CUBE (parser/grouping-sets.ts gives the sets): one
   * grouped SELECT per set, unioned (UNION ALL), as PostgreSQL defines it. In the SELECT of a
   * set, a key the set leaves out reads as NULL of its type outside aggregate arguments, and
   * `grouping(k1, …)` is the bit mask of the keys left out (k1 the highest bit). Each aggregate is
   * then an incremental aggregate of its own over the same input.
   */
  private bindGroupingSets(s: Select): LogicalPlan {
    const sets = s.groupingSets!;
    if (s.items.some((it) => it.expr.kind === 'star')) throw new SluiceError('not_supported', 'SELECT * with GROUPING SETS, ROLLUP or CUBE is not supported yet', { hint: 'Name the columns.' });
    if (s.distinctOn) throw new SluiceError('not_supported', 'DISTINCT ON with GROUPING SETS, ROLLUP or CUBE is not supported yet');
    // GROUP BY 1: the first select item.
    const keys = s.groupBy.map((k) => (k.kind === 'literal' && typeof k.value === 'number' && Number.isInteger(k.value) && s.items[k.value - 1] ? s.items[k.value - 1]!.expr : k));
    // The keys' types: a grouped SELECT of the keys alone.
    const probe = keys.length === 0 ? null : this.bindSelect({ ...s, groupingSets: undefined, distinct: false, items: keys.map((k, j) => ({ expr: k, alias: `k${j}` })), groupBy: keys, having: null, windows: [] });
    const keyTypes = keys.map((_, j) => probe!.schema[j]!.type);
    const same = (a: Expr, b: Expr): boolean => exprKey(a) === exprKey(b);
    const branches = sets.map((set) => {
      const rewrite = (e: Expr): Expr => {
        const walk = (v: unknown): unknown => {
          if (Array.isArray(v)) return v.map(walk);
          if (!v || typeof v !== 'object') return v;
          const o = v as Expr;
          if (typeof o.kind === 'string' && (o as { kind: string }).kind !== 'star') {
            const j = keys.findIndex((k) => same(k, o));
            if (j >= 0) return set.includes(j) ? o : { kind: 'cast', expr: { kind: 'literal', value: null, type: 'null' }, type: keyTypes[j]! };
            if (o.kind === 'func' && o.over === null) {
              if (o.name === 'grouping') {
                if (o.args.length === 0 || o.args.length > 31) throw new SluiceError('syntax', 'GROUPING must have between 1 and 31 arguments');
                let mask = 0;
                for (const arg of o.args) {
                  const j = keys.findIndex((k) => same(k, arg));
                  if (j < 0) throw new SluiceError('grouping', 'arguments to GROUPING must be grouping expressions of the associated query level');
                  mask = mask * 2 + (set.includes(j) ? 0 : 1);
                }
                return { kind: 'literal', value: mask, type: 'int' };
              }
              // An aggregate's arguments see the rows, keys included.
              if (resolveAggregate(o.name, o.star === true) !== undefined) return o;
            }
          }
          // (A subquery is its own query level.)
          if ((o as { kind?: string }).kind === 'subquery' || (o as { kind?: string }).kind === 'exists' || (o as { kind?: string }).kind === 'in_subquery') return o;
          const out: Record<string, unknown> = {};
          for (const [k, x] of Object.entries(o)) out[k] = walk(x);
          return out;
        };
        return walk(e) as Expr;
      };
      return this.bindSelect({
        ...s,
        groupingSets: undefined,
        items: s.items.map((it, i) => ({ expr: rewrite(it.expr), alias: it.alias ?? defaultName(it.expr, i) })),
        groupBy: set.map((j) => keys[j]!),
        having: s.having === null ? null : rewrite(s.having),
      });
    });
    const { aligned, schema } = alignSetInputs(branches, 'GROUPING SETS');
    const union: LogicalPlan = { kind: 'union', inputs: aligned, schema, appendOnly: false };
    return s.distinct ? distinctOf(union) : union;
  }

  private bindSelect(s: Select, outer: Outer | null = null, corr: Correlation | null = null): LogicalPlan {
    const { plan: fromPlan, scope: fromScope } = this.bindFrom(s.from, outer);
    let scope = fromScope;
    let plan = fromPlan;
    const plain: Ctx = { scope, agg: null, noAggIn: null };
    if (s.where) {
      const joins = new SubqueryJoins(this);
      const wctx: Ctx = { ...plain, noAggIn: 'WHERE', subqueries: joins, plan: fromPlan };
      // EXISTS (…) and x IN (…) that must hold become semi joins; the rest binds as a condition.
      const rest = conjuncts(s.where).filter((c) => !((c.kind === 'exists' || c.kind === 'in_subquery') && joins.semiJoin(c, wctx)));
      const bound = [...joins.pushed, ...rest.map((c) => this.expectBoolean(this.bindExpr(c, wctx), 'WHERE'))];
      const pred = conjunction(bound) ?? { kind: 'lit', value: true, type: 'boolean' };
      if (joins.empty) plan = filter(plan, pred);
      else {
        // The subqueries' joins, the condition over them, and back to the FROM row.
        const j = joins.apply(plan);
        plan = project(bound.length ? filter(j.plan, j.remap(pred)) : j.plan, plan.schema.map((f, i): BoundExpr => ({ kind: 'col', index: i, type: f.type })), plan.schema);
      }
    }
    const corrBound = corr ? corr.exprs.map((e, i) => cast(this.bindExpr(e, { ...plain, noAggIn: 'WHERE' }), corr.types[i]!)) : [];
    // Expand stars first so GROUP BY ordinals and aliases see the final list.
    const items: { expr: Expr; alias: string | null }[] = [];
    // Window functions in the select list: bound through the collector's hook, computed by
    // OverWindow nodes stacked over the SELECT's input (or over its GROUP BY/HAVING result).
    const windows = new WindowCollector(s.windows ?? [], (e, c) => this.bindExpr(e, c), (w) => this.positionOf(w));
    const windowed = s.items.some((it) => containsWindowFunction(it.expr));
    if (windowed && corr) throw new SluiceError('not_supported', 'window functions in a correlated subquery are not supported yet');
    const scopeNow = scope;
    const items0 = s.items;
    for (const it of items0) {
      if (it.expr.kind === 'star') {
        const q = it.expr.table;
        const matched = q === null ? starOf(scope).map((i) => scope.fields[i]!) : scope.fields.filter((f) => f.qualifier === q);
        if (q !== null && matched.length === 0) throw new SluiceError('undefined_table', `missing FROM-clause entry for table "${q}"`, { position: this.positionOf(q) });
        for (const f of matched) items.push({ expr: { kind: 'column', table: f.qualifier, name: f.name }, alias: f.name });
      } else items.push(it);
    }
    const hasAgg = s.groupBy.length > 0 || items.some((i) => containsAggregate(i.expr)) || (s.having !== null);
    if (outer && (hasAgg || s.distinct || s.distinctOn || windowed)) {
      throw new SluiceError('not_supported', 'a LATERAL subquery with aggregates, DISTINCT or window functions is not supported yet', { position: this.positionOf('lateral') });
    }
    if (items.some((i) => containsSetFunction(i.expr))) {
      if (hasAgg || windowed) {
        throw new SluiceError('not_supported', 'set-returning functions in a SELECT with GROUP BY, aggregates or window functions are not supported yet', {
          position: this.positionOf(items.find((i) => containsSetFunction(i.expr))!.expr.kind === 'func' ? (items.find((i) => containsSetFunction(i.expr))!.expr as { name: string }).name : 'unnest'),
          hint: 'Expand in a subquery and aggregate over it: SELECT w, count(*) FROM (SELECT unnest(…) AS w FROM …) s GROUP BY w.',
        });
      }
      // Calls nested in another call's arguments (unnest(regexp_matches(…))): a ProjectSet per
      // level from the lowest, as PostgreSQL evaluates them (a level holds every call with no
      // call in its arguments, zipped); each outer call then reads its inner one's column.
      let scopeSrf = scopeNow;
      const names = items.map((it, i) => it.alias ?? defaultName(it.expr, i));
      // A call bound over `scope` into `calls`, and the column that reads its output.
      const bindInto = (calls: SetCall[], scope: Scope, column: (k: number) => string) => (call: Extract<Expr, { kind: 'func' }>): Expr => {
        const fn = setFunctionOf(call.name)!;
        if (fn === 'unnest' && call.args.length !== 1) throw new SluiceError('not_supported', 'unnest() with several arrays is supported in FROM only', { position: call.pos });
        calls.push(this.bindSetCall(fn, call.args, { scope, agg: null, noAggIn: 'set-returning function arguments' }, call.pos));
        return { kind: 'column', table: null, name: column(calls.length - 1) };
      };
      for (let level = 0; items.some((it) => nestsSetFunctions(it.expr)); level++) {
        const inner: SetCall[] = [];
        const bind = bindInto(inner, scopeSrf, (k) => `__srf_${level}_${k}`);
        const next = items.map((it) => ({ ...it, expr: replaceLeafSetFunctions(it.expr, bind) }));
        const innerFields: ScopeField[] = inner.map((c, k) => ({ qualifier: null, name: `__srf_${level}_${k}`, type: c.type }));
        plan = projectSet(plan, inner, false, outer?.left === true, innerFields);
        scopeSrf = { fields: [...scopeSrf.fields, ...innerFields] };
        items.splice(0, items.length, ...next);
      }
      // Select-list set-returning functions: one ProjectSet computes them all (zipped), and
      // each item reads its call's output column.
      const calls: SetCall[] = [];
      const bind = bindInto(calls, scopeSrf, (k) => `__srf${k}`);
      const rewritten = items.map((it) => ({ ...it, expr: replaceSetFunctions(it.expr, bind) }));
      const fields: ScopeField[] = calls.map((c, k) => ({ qualifier: null, name: `__srf${k}`, type: c.type }));
      plan = projectSet(plan, calls, false, outer?.left === true, fields);
      scope = { fields: [...scopeSrf.fields, ...fields] };
      items.splice(0, items.length, ...rewritten.map((it, i) => ({ expr: it.expr, alias: names[i]! })));
    }
    let outExprs: BoundExpr[];
    let ctx: Ctx;
    if (hasAgg) {
      const groupAsts = s.groupBy.map((g) => {
        if (g.kind === 'literal' && typeof g.value === 'number' && Number.isInteger(g.value)) {
          const item = items[g.value - 1];
          if (!item) throw new SluiceError('invalid_column_reference', `GROUP BY position ${g.value} is not in select list`);
          return item.expr;
        }
        if (g.kind === 'column' && g.table === null && !scope.fields.some((f) => f.name === g.name)) {
          const byAlias = items.find((i) => i.alias === g.name);
          if (byAlias) return byAlias.expr;
        }
        return g;
      });
      // Correlation keys group first; then GROUP BY; then the columns functionally dependent on
      // a grouped primary key (PostgreSQL lets those be named without grouping by them).
      const groupBound = [...corrBound, ...groupAsts.map((g) => this.bindExpr(g, { ...plain, noAggIn: 'GROUP BY' }))];
      const groupKeys = [...corrBound.map((_, i) => `\0corr${i}`), ...groupAsts.map(exprKey)];
      const groupCols = groupBound.map((g) => (g.kind === 'col' ? g.index : -1));
      for (const i of dependentColumns(scope, groupCols)) {
        groupBound.push({ kind: 'col', index: i, type: scope.fields[i]!.type });
        groupKeys.push(`\0fd${i}`);
        groupCols.push(i);
      }
      const agg: AggContext = {
        groupKeys,
        groupTypes: groupBound.map((g) => g.type),
        groupCols,
        aggs: [],
        aggKeys: [],
        input: scope,
      };
      const joins = new SubqueryJoins(this);
      ctx = { scope, agg, noAggIn: null, subqueries: joins, window: windows.hook, plan };
      outExprs = items.map((i) => this.bindExpr(i.expr, ctx));
      let having = s.having ? this.expectBoolean(this.bindExpr(s.having, { ...ctx, window: null, noWindowIn: 'HAVING' }), 'HAVING') : null;
      const aggSchema: Field[] = [
        ...groupBound.map((g, i) => ({ name: `_key${i}`, type: g.type })),
        ...agg.aggs.map((a, i) => ({ name: `_agg${i}`, type: a.type })),
      ];
      plan = { kind: 'aggregate', input: plan, groupKeys: groupBound, aggs: agg.aggs, schema: aggSchema, appendOnly: false };
      if (!joins.empty) {
        const j = joins.apply(plan);
        plan = j.plan;
        outExprs = outExprs.map(j.remap);
        if (having) having = j.remap(having);
      }
      if (having) plan = filter(plan, having);
      if (corr) outExprs = [...corrBound.map((e, i): BoundExpr => ({ kind: 'col', index: i, type: e.type })), ...outExprs];
    } else {
      const joins = new SubqueryJoins(this);
      ctx = { scope, agg: null, noAggIn: null, subqueries: joins, window: windows.hook, plan };
      outExprs = items.map((i) => this.bindExpr(i.expr, ctx));
      if (!joins.empty) {
        const j = joins.apply(plan);
        plan = j.plan;
        outExprs = outExprs.map(j.remap);
      }
      if (corr) outExprs = [...corrBound, ...outExprs];
    }
    if (windows.size > 0) {
      const built = windows.build(plan);
      plan = built.plan;
      outExprs = outExprs.map(built.remap);
    }
    const names = [...corrBound.map((_, i) => `_sq_key${i}`), ...items.map((it, i) => it.alias ?? defaultName(it.expr, i))];
    let schema: Field[] = outExprs.map((e, i) => ({ name: names[i]!, type: e.type === 'null' ? 'varchar' : e.type }));
    let exprs = outExprs.map((e) => (e.type === 'null' ? cast(e, 'varchar') : e));
    if (outer) {
      // A LATERAL subquery's rows carry the outer row first (its columns lead every plan built on it).
      exprs = [...outer.plan.schema.map((f, i): BoundExpr => ({ kind: 'col', index: i, type: f.type })), ...exprs];
      schema = [...outer.plan.schema, ...schema];
    }
    plan = project(plan, exprs, schema);
    if (s.distinct) plan = distinctOf(plan);
    return plan;
  }

}

/** The conjuncts of an AND tree. */
function conjuncts(e: Expr): Expr[] {
  return e.kind === 'binary' && e.op === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

/** The AND of `parts`, or null for none. */
function conjunction0(parts: readonly Expr[]): Expr | null {
  return parts.length ? parts.reduce((a, b) => ({ kind: 'binary', op: 'and', left: a, right: b })) : null;
}

type ColumnRef = Extract<Expr, { kind: 'column' }>;

/** The column references in an AST fragment, outside nested subqueries. */
function columnRefs(v: unknown, out: ColumnRef[] = []): ColumnRef[] {
  if (Array.isArray(v)) for (const x of v) columnRefs(x, out);
  else if (v && typeof v === 'object') {
    const o = v as { kind?: string };
    if (o.kind === 'column') out.push(o as ColumnRef);
    else for (const [k, x] of Object.entries(o)) if (k !== 'query' && typeof x === 'object') columnRefs(x, out);
  }
  return out;
}

/** The ON conditions of a FROM clause's joins. */
function fromConditions(f: FromItem | null): Expr[] {
  if (!f || f.kind !== 'join') return [];
  return [...fromConditions(f.left), ...fromConditions(f.right), ...(f.on ? [f.on] : [])];
}

/**
 * Input columns functionally dependent on the grouped ones (`groupCols`: input indexes): every
 * column of a table occurrence whose whole primary key is grouped.
 */
function dependentColumns(scope: Scope, groupCols: readonly number[]): number[] {
  const out: number[] = [];
  const origins = new Set(scope.fields.map((f) => f.origin).filter((o) => o !== undefined));
  for (const o of origins) {
    const cols = scope.fields.map((f, i) => (f.origin === o ? i : -1)).filter((i) => i >= 0);
    const pk = cols.filter((i) => o.primaryKey.includes(scope.fields[i]!.name));
    if (pk.length === o.primaryKey.length && pk.every((i) => groupCols.includes(i))) out.push(...cols.filter((i) => !groupCols.includes(i)));
  }
  return out;
}

/** Whether an expression calls a window function (`… OVER …`). */
function containsWindowFunction(e: Expr): boolean {
  let found = false;
  JSON.stringify(e, (k, v) => {
    if (v && typeof v === 'object' && v.kind === 'func' && v.over) found = true;
    return typeof v === 'bigint' ? String(v) : v;
  });
  return found;
}

/** Whether an expression calls a set-returning function. */
function containsSetFunction(e: Expr): boolean {
  let found = false;
  JSON.stringify(e, (k, v) => {
    if (v && typeof v === 'object' && v.kind === 'func' && setFunctionOf(v.name) !== null) found = true;
    // (a subquery's own select list is its business)
    return k === 'query' ? undefined : typeof v === 'bigint' ? String(v) : v;
  });
  return found;
}

/** `e` with each set-returning function call replaced by what `f` returns for it (outermost calls first). */
function replaceSetFunctions(e: Expr, f: (call: Extract<Expr, { kind: 'func' }>) => Expr): Expr {
  if (e.kind === 'func' && setFunctionOf(e.name) !== null) return f(e);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as { kind?: string };
      // PostgreSQL 10+ refuses these: the set-returning call would run for rows the CASE skips.
      if (o.kind === 'case' && containsSetFunction(o as Expr)) throw new SluiceError('not_supported', 'set-returning functions are not allowed in CASE', { hint: 'You might be able to move the set-returning function into a LATERAL FROM item.' });
      if (o.kind === 'func' && (o as { name: string }).name === 'coalesce' && containsSetFunction(o as Expr)) throw new SluiceError('not_supported', 'set-returning functions are not allowed in COALESCE', { hint: 'You might be able to move the set-returning function into a LATERAL FROM item.' });
      if (o.kind !== undefined && typeof o.kind === 'string' && (o as Expr).kind === 'func' && setFunctionOf((o as { name: string }).name) !== null) return f(o as Extract<Expr, { kind: 'func' }>);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(e) as Expr;
}

/** Whether a set-returning call in `e` has another in its arguments. */
function nestsSetFunctions(e: Expr): boolean {
  let found = false;
  JSON.stringify(e, (k, v) => {
    if (v && typeof v === 'object' && v.kind === 'func' && setFunctionOf(v.name) !== null && (v.args as Expr[]).some((a) => containsSetFunction(a))) found = true;
    return k === 'query' ? undefined : typeof v === 'bigint' ? String(v) : v;
  });
  return found;
}

/**
 * `e` with each set-returning call that has none in its arguments (the lowest level) replaced by
 * f(call). PostgreSQL evaluates these in the lowest ProjectSet, a level under the calls whose
 * arguments hold them, whether or not they are themselves nested.
 */
function replaceLeafSetFunctions(e: Expr, f: (call: Extract<Expr, { kind: 'func' }>) => Expr): Expr {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = v as { kind?: string };
    if (o.kind === 'subquery' || o.kind === 'exists' || o.kind === 'in_subquery') return v;
    if (o.kind === 'func' && setFunctionOf((o as { name: string }).name) !== null) {
      const call = o as Extract<Expr, { kind: 'func' }>;
      if (!call.args.some((a) => containsSetFunction(a))) return f(call);
      return { ...call, args: call.args.map(walk) };
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = walk(x);
    return out;
  };
  return walk(e) as Expr;
}

/** A ProjectSet node appending `fields` (the calls' outputs, then the ordinality) to `input`'s columns. */
function projectSet(input: LogicalPlan, calls: readonly SetCall[], ordinality: boolean, outer: boolean, fields: readonly ScopeField[]): LogicalPlan {
  const keep = input.schema.map((_, i) => i);
  return { kind: 'project_set', input, keep, calls, ordinality, outer, schema: [...input.schema, ...fields.map((f) => ({ name: f.name, type: f.type }))], appendOnly: input.appendOnly };
}

function containsAggregate(e: Expr): boolean {
  let found = false;
  JSON.stringify(e, (k, v) => {
    if (v && typeof v === 'object' && v.kind === 'func' && v.over === null && resolveAggregate(v.name, v.star === true) !== undefined) found = true;
    // An aggregate inside a subquery aggregates the subquery, not this SELECT.
    return k === 'query' ? undefined : typeof v === 'bigint' ? String(v) : v;
  });
  return found;
}

function defaultName(e: Expr, i: number): string {
  switch (e.kind) {
    case 'column':
      return e.name;
    case 'func':
      return e.name;
    case 'cast':
      return defaultName(e.expr, i) === '?column?' ? e.type : defaultName(e.expr, i);
    case 'case':
      return 'case';
    case 'extract':
      return 'extract';
    default:
      return '?column?';
  }
}

export function filter(input: LogicalPlan, predicate: BoundExpr): LogicalPlan {
  return { kind: 'filter', input, predicate, schema: input.schema, appendOnly: input.appendOnly };
}

export function project(input: LogicalPlan, exprs: readonly BoundExpr[], schema: Schema): LogicalPlan {
  return { kind: 'project', input, exprs, schema, appendOnly: input.appendOnly };
}

/** The inputs of a set operation cast to their columns' common types, and the result's schema (the first input's names). */
function alignSetInputs(inputs: readonly LogicalPlan[], what: string): { aligned: LogicalPlan[]; schema: Schema } {
  const first = inputs[0]!;
  for (const other of inputs.slice(1)) {
    if (other.schema.length !== first.schema.length) {
      throw new SluiceError('syntax', `each ${what} query must have the same number of columns (${first.schema.length} vs ${other.schema.length})`);
    }
  }
  // A bare NULL in a select list (text on its own) takes the type of the other inputs' column.
  const typeOf = (p: LogicalPlan, i: number): SqlType => {
    const e = p.kind === 'project' ? p.exprs[i] : undefined;
    return e?.kind === 'lit' && e.value === null ? 'null' : p.schema[i]!.type;
  };
  const types = first.schema.map((_, i) => {
    let t = typeOf(first, i);
    for (const o of inputs.slice(1)) {
      const c = commonType(t, typeOf(o, i));
      if (c === null) throw new SluiceError('datatype_mismatch', `${what} types ${typeDisplayName(t)} and ${typeDisplayName(o.schema[i]!.type)} cannot be matched`);
      t = c;
    }
    return t === 'null' ? 'varchar' : t;
  });
  const aligned = inputs.map((p) => {
    if (p.schema.every((f, i) => f.type === types[i])) return p;
    const exprs = p.schema.map((f, i) => cast({ kind: 'col', index: i, type: f.type }, types[i]!));
    return project(p, exprs, p.schema.map((f, i) => ({ name: f.name, type: types[i]! })));
  });
  return { aligned, schema: first.schema.map((f, i) => ({ name: f.name, type: types[i]! })) };
}

function distinctOf(input: LogicalPlan): LogicalPlan {
  const keys = input.schema.map((f, i): BoundExpr => ({ kind: 'col', index: i, type: f.type }));
  return { kind: 'aggregate', input, groupKeys: keys, aggs: [], schema: input.schema, appendOnly: false };
}

export type { Value };

/** A value of type `t` standing for NULL in a null-safe join key (any fixed value of the type does). */
function zeroOf(t: SqlType): Value {
  switch (t) {
    case 'boolean': return false;
    case 'int': case 'date': case 'double': return 0;
    case 'bigint': case 'timestamp': case 'timestamptz': case 'time': return 0n;
    case 'numeric': return '0';
    case 'interval': return microsInterval(0n);
    case 'jsonb': return 'null';
    case 'bytea': return '\\x';
    case 'varchar': case 'null': return '';
    default: return [];
  }
}
