/**
 * Window function calls (`f(…) OVER (PARTITION BY … ORDER BY … frame)`) in a select list:
 * resolves named windows (WINDOW w AS …), types each call, checks its frame as PostgreSQL does,
 * and stacks one OverWindow node per distinct window over the SELECT's input (after GROUP BY
 * and HAVING when the SELECT aggregates). The binder binds the select list with `hook`, which
 * returns placeholder columns ({@link WINDOW_COLUMN_BASE} + k) that `build` maps to the stacked
 * nodes' output columns.
 */
import { spanOfValue } from '../common/interval.js';
import { SluiceError } from '../common/errors.js';
import { commonType, isNumeric, typeDisplayName, type SqlType, type Value } from '../common/types.js';
import type { Expr, FrameBound, WindowFrame as FrameAst, WindowSpec as SpecAst } from '../parser/index.js';
import { AGGREGATE_SIGNATURES, resolveAggregate, type AggregateSignature } from './aggregate-signatures.js';
import { cast } from './coercion.js';
import { castConstant } from './constant.js';
import { mapColumns, type BoundExpr } from './expr.js';
import type { Ctx } from './expr-binder.js';
import type { FrameEdge, LogicalPlan, SortKey, WindowCall, WindowFn, WindowFrame } from './logical.js';

/** Placeholder column indexes of window calls until their nodes are built. */
export const WINDOW_COLUMN_BASE = 1 << 24;

type FuncExpr = Extract<Expr, { kind: 'func' }>;

interface Collected {
  readonly partitionBy: readonly BoundExpr[];
  readonly orderBy: readonly SortKey[];
  readonly call: WindowCall;
  /** The window (partition and order) the call is computed over. */
  readonly windowKey: string;
  readonly key: string;
}

/** Ranking and offset functions: their argument count range and result type. */
const NON_AGGREGATE: Record<string, { readonly fn: WindowFn; readonly min: number; readonly max: number }> = {
  row_number: { fn: 'row_number', min: 0, max: 0 },
  rank: { fn: 'rank', min: 0, max: 0 },
  dense_rank: { fn: 'dense_rank', min: 0, max: 0 },
  percent_rank: { fn: 'percent_rank', min: 0, max: 0 },
  cume_dist: { fn: 'cume_dist', min: 0, max: 0 },
  ntile: { fn: 'ntile', min: 1, max: 1 },
  lag: { fn: 'lag', min: 1, max: 3 },
  lead: { fn: 'lead', min: 1, max: 3 },
  first_value: { fn: 'first_value', min: 1, max: 1 },
  last_value: { fn: 'last_value', min: 1, max: 1 },
  nth_value: { fn: 'nth_value', min: 2, max: 2 },
};

const WINDOW_AGGREGATES: ReadonlySet<string> = new Set(['sum', 'avg', 'count', 'count_star', 'min', 'max']);

const key = (x: unknown): string => JSON.stringify(x, (k, v) => (k === 'pos' ? undefined : typeof v === 'bigint' ? `${v}n` : v));

const UNBOUNDED_PRECEDING: FrameEdge = { kind: 'unbounded_preceding', rows: 0, value: null };
const CURRENT_ROW: FrameEdge = { kind: 'current_row', rows: 0, value: null };
const UNBOUNDED_FOLLOWING: FrameEdge = { kind: 'unbounded_following', rows: 0, value: null };

/** PostgreSQL's default frame: RANGE UNBOUNDED PRECEDING to CURRENT ROW (with peers; the whole partition without ORDER BY). */
const DEFAULT_FRAME: WindowFrame = { mode: 'range', start: UNBOUNDED_PRECEDING, end: CURRENT_ROW };

export class WindowCollector {
  private readonly collected: Collected[] = [];
  private readonly named = new Map<string, SpecAst>();

  /**
   * `windows`: the SELECT's WINDOW definitions. `bind` binds an expression (the binder's
   * bindExpr); `positionOf` finds a word in the statement for errors.
   */
  constructor(
    windows: readonly { readonly name: string; readonly spec: SpecAst }[],
    private readonly bind: (e: Expr, ctx: Ctx) => BoundExpr,
    private readonly positionOf: (word: string) => number | undefined,
  ) {
    for (const w of windows) {
      if (this.named.has(w.name)) throw new SluiceError('windowing', `window "${w.name}" is already defined`, { position: this.positionOf(w.name) });
      // A definition may build on an earlier one (WINDOW w1 AS (…), w2 AS (w1 ORDER BY …)).
      this.named.set(w.name, this.resolve(w.spec, false));
    }
  }

  get size(): number {
    return this.collected.length;
  }

  /** The binder's window hook: binds call `e` in `ctx` and returns its placeholder column. */
  readonly hook = (e: FuncExpr, ctx: Ctx): BoundExpr => {
    const pos = e.pos ?? this.positionOf(e.name);
    const spec = this.resolve(e.over!, true);
    const inner: Ctx = { ...ctx, window: null, noWindowIn: 'window functions' };
    const partitionBy = spec.partitionBy.map((p) => this.bind(p, inner));
    let orderBy: SortKey[] = spec.orderBy.map((o) => ({ expr: this.bind(o.expr, inner), desc: o.desc, nullsFirst: o.nullsFirst ?? o.desc }));
    if (e.distinct) throw new SluiceError('not_supported', 'DISTINCT is not implemented for window functions', { position: pos });
    if (e.filter) throw new SluiceError('not_supported', 'FILTER is not implemented for non-aggregate window functions', { position: pos });
    if (e.orderBy.length) throw new SluiceError('not_supported', 'aggregate ORDER BY is not implemented for window functions', { position: pos });
    const { fn, args, type } = this.signature(e, inner, pos);
    let frame = DEFAULT_FRAME;
    if (spec.frame) {
      const f = this.frame(spec.frame, spec, orderBy, inner);
      frame = f.frame;
      orderBy = f.orderBy;
    }
    // Ranking and offset functions ignore the frame: one window whatever the frame says.
    if (!['first_value', 'last_value', 'nth_value', ...WINDOW_AGGREGATES].includes(fn)) frame = DEFAULT_FRAME;
    const call: WindowCall = { fn, args, frame, type };
    const windowKey = key({ partitionBy, orderBy });
    const k = key({ windowKey, call });
    let i = this.collected.findIndex((c) => c.key === k);
    if (i < 0) {
      i = this.collected.length;
      this.collected.push({ partitionBy, orderBy, call, windowKey, key: k });
    }
    return { kind: 'col', index: WINDOW_COLUMN_BASE + i, type };
  };

  /**
   * Stacks one OverWindow node per window over `input` (in order of first use). Returns the
   * plan and `remap`, which rewrites the placeholder columns of expressions bound over
   * `input` with `hook` into columns of the plan.
   */
  build(input: LogicalPlan): { plan: LogicalPlan; remap: (e: BoundExpr) => BoundExpr } {
    const columnOf: number[] = new Array(this.collected.length);
    const windows: string[] = [];
    for (const c of this.collected) if (!windows.includes(c.windowKey)) windows.push(c.windowKey);
    let plan = input;
    for (const w of windows) {
      const members = this.collected.map((c, i) => ({ c, i })).filter(({ c }) => c.windowKey === w);
      const first = members[0]!.c;
      const width = plan.schema.length;
      members.forEach(({ i }, j) => (columnOf[i] = width + j));
      // Stacked nodes read only the original input's columns: the same indexes in every node.
      plan = {
        kind: 'over_window',
        input: plan,
        partitionBy: first.partitionBy,
        orderBy: first.orderBy,
        calls: members.map(({ c }) => c.call),
        schema: [...plan.schema, ...members.map(({ c, i }) => ({ name: this.collected.length === 1 && c.call.fn === 'row_number' ? '__row_number' : `__window${i}`, type: c.call.type }))],
        appendOnly: false,
      };
    }
    const remap = (e: BoundExpr): BoundExpr => mapColumns(e, (index, type) => ({ kind: 'col', index: index >= WINDOW_COLUMN_BASE ? columnOf[index - WINDOW_COLUMN_BASE]! : index, type }));
    return { plan, remap };
  }

  /** A window specification with the named window it refers to or builds on merged in (PostgreSQL's rules). */
  private resolve(spec: SpecAst, inCall: boolean): SpecAst {
    if (!spec.name) return spec;
    const base = this.named.get(spec.name);
    if (!base) throw new SluiceError('undefined_object', `window "${spec.name}" does not exist`, { position: this.positionOf(spec.name) });
    const bare = inCall && spec.partitionBy.length === 0 && spec.orderBy.length === 0 && !spec.frame;
    if (bare) return base;
    if (spec.partitionBy.length) throw new SluiceError('windowing', `cannot override PARTITION BY clause of window "${spec.name}"`, { position: this.positionOf(spec.name) });
    if (spec.orderBy.length && base.orderBy.length) throw new SluiceError('windowing', `cannot override ORDER BY clause of window "${spec.name}"`, { position: this.positionOf(spec.name) });
    if (base.frame) throw new SluiceError('windowing', `cannot copy window "${spec.name}" because it has a frame clause`, { position: this.positionOf(spec.name) });
    return { name: null, partitionBy: base.partitionBy, orderBy: spec.orderBy.length ? spec.orderBy : base.orderBy, frame: spec.frame ?? null };
  }

  /** The function, its bound arguments and its result type. */
  private signature(e: FuncExpr, ctx: Ctx, pos: number | undefined): { fn: WindowFn; args: BoundExpr[]; type: SqlType } {
    const ranking = NON_AGGREGATE[e.name];
    if (ranking) {
      if (e.star) throw new SluiceError('syntax', `${e.name}(*) is not a window function call`, { position: pos });
      const args = e.args.map((a) => this.bind(a, ctx));
      if (args.length < ranking.min || args.length > ranking.max) {
        throw new SluiceError('undefined_function', `function ${e.name}(${args.map((a) => typeDisplayName(a.type)).join(', ')}) does not exist`, { position: pos, hint: 'No function matches the given name and argument types. You might need to add explicit type casts.' });
      }
      const int = (a: BoundExpr, what: string): BoundExpr => {
        if (a.type === 'int' || a.type === 'null') return cast(a, 'int');
        if (a.type === 'bigint' && a.kind === 'lit') return cast(a, 'int');
        throw new SluiceError('undefined_function', `function ${e.name}(${args.map((x) => typeDisplayName(x.type)).join(', ')}) does not exist`, { position: pos, hint: `The ${what} must be an integer.` });
      };
      switch (ranking.fn) {
        case 'row_number':
        case 'rank':
        case 'dense_rank':
          return { fn: ranking.fn, args: [], type: 'bigint' };
        case 'percent_rank':
        case 'cume_dist':
          return { fn: ranking.fn, args: [], type: 'double' };
        case 'ntile':
          return { fn: 'ntile', args: [int(args[0]!, 'number of buckets')], type: 'int' };
        case 'first_value':
        case 'last_value': {
          const t = args[0]!.type === 'null' ? 'varchar' : args[0]!.type;
          return { fn: ranking.fn, args: [cast(args[0]!, t)], type: t };
        }
        case 'nth_value': {
          const t = args[0]!.type === 'null' ? 'varchar' : args[0]!.type;
          return { fn: 'nth_value', args: [cast(args[0]!, t), int(args[1]!, 'position')], type: t };
        }
        default: {
          // lag/lead(value [, offset [, default]]): value and default in a common type.
          let t: SqlType = args[0]!.type;
          if (args[2]) {
            const c = commonType(t, args[2].type) ?? (args[2].kind === 'lit' && args[2].type === 'varchar' ? t : null);
            if (c === null) throw new SluiceError('datatype_mismatch', `${e.name} types ${typeDisplayName(t)} and ${typeDisplayName(args[2].type)} cannot be matched`, { position: pos });
            t = c;
          }
          if (t === 'null') t = 'varchar';
          const offset: BoundExpr = args[1] ? int(args[1], 'offset') : { kind: 'lit', value: 1, type: 'int' };
          const dflt: BoundExpr = args[2] ? cast(args[2], t) : { kind: 'lit', value: null, type: t };
          return { fn: ranking.fn, args: [cast(args[0]!, t), offset, dflt], type: t };
        }
      }
    }
    const agg = resolveAggregate(e.name, e.star);
    if (agg === undefined) {
      const args = e.args.map((a) => this.bind(a, ctx));
      throw new SluiceError('undefined_function', `function ${e.name}(${args.map((a) => typeDisplayName(a.type)).join(', ')}) does not exist`, { position: pos, hint: 'OVER takes window functions and the aggregates sum, avg, count, min and max.' });
    }
    if (!WINDOW_AGGREGATES.has(agg)) throw new SluiceError('not_supported', `aggregate ${e.name}() as a window function is not supported yet`, { position: pos, hint: 'sum, avg, count, min and max are.' });
    const sig: AggregateSignature = AGGREGATE_SIGNATURES[agg];
    if (sig.star) return { fn: 'count_star', args: [], type: sig.returnType('null') };
    if (e.args.length !== 1) throw new SluiceError('undefined_function', `function ${e.name} takes exactly one argument`, { position: pos });
    const arg = this.bind(e.args[0]!, ctx);
    const argType = sig.argType(arg.type);
    if (argType === null) throw new SluiceError('undefined_function', `function ${e.name}(${typeDisplayName(arg.type)}) does not exist`, { position: pos, hint: sig.hint });
    return { fn: agg as WindowFn, args: [cast(arg, argType)], type: sig.returnType(argType) };
  }

  /** A frame clause checked as PostgreSQL checks it; RANGE offsets may recast the ORDER BY key. */
  private frame(f: FrameAst, spec: SpecAst, orderBy: SortKey[], ctx: Ctx): { frame: WindowFrame; orderBy: SortKey[] } {
    if (f.mode === 'groups') throw new SluiceError('not_supported', 'window frames in GROUPS mode are not supported yet', { position: f.pos, hint: 'Use ROWS or RANGE.' });
    if (f.exclude !== null && f.exclude !== 'no others') throw new SluiceError('not_supported', `EXCLUDE ${f.exclude.toUpperCase()} in a window frame is not supported yet`, { position: f.pos });
    const start = f.start;
    const end: FrameBound = f.end ?? { kind: 'current_row', offset: null, pos: f.pos };
    if (start.kind === 'unbounded_following') throw new SluiceError('windowing', 'frame start cannot be UNBOUNDED FOLLOWING', { position: start.pos });
    if (end.kind === 'unbounded_preceding') throw new SluiceError('windowing', 'frame end cannot be UNBOUNDED PRECEDING', { position: end.pos });
    if (start.kind === 'current_row' && end.kind === 'preceding') throw new SluiceError('windowing', 'frame starting from current row cannot have preceding rows', { position: end.pos });
    if (start.kind === 'following' && (end.kind === 'preceding' || end.kind === 'current_row')) {
      throw new SluiceError('windowing', end.kind === 'current_row' ? 'frame starting from following row cannot end with current row' : 'frame starting from following row cannot have preceding rows', { position: end.pos });
    }
    let keys = orderBy;
    const edge = (b: FrameBound, which: 'starting' | 'ending'): FrameEdge => {
      if (b.offset === null) return b.kind === 'unbounded_preceding' ? UNBOUNDED_PRECEDING : b.kind === 'unbounded_following' ? UNBOUNDED_FOLLOWING : CURRENT_ROW;
      if (containsColumn(b.offset)) throw new SluiceError('invalid_column_reference', `argument of ${f.mode.toUpperCase()} must not contain variables`, { position: b.pos });
      const off = this.bind(b.offset, { scope: { fields: [] }, agg: null, noAggIn: f.mode.toUpperCase(), window: null });
      const value = constantOf(off);
      if (value === undefined) throw new SluiceError('not_supported', `only constant ${f.mode.toUpperCase()} offsets are supported`, { position: b.pos });
      if (value === null) throw new SluiceError('null_value_not_allowed', `frame ${which} offset must not be null`, { position: b.pos });
      if (f.mode === 'rows') {
        if (off.type !== 'int' && off.type !== 'bigint') throw new SluiceError('datatype_mismatch', `argument of ROWS must be type bigint, not type ${typeDisplayName(off.type)}`, { position: b.pos });
        if (Number(value) < 0) throw new SluiceError('invalid_frame_offset', `frame ${which} offset must not be negative`, { position: b.pos });
        return { kind: b.kind, rows: Number(value), value: null };
      }
      // RANGE n PRECEDING/FOLLOWING: one ORDER BY key, the bound = key ∓ n (in the key's direction).
      if (spec.orderBy.length !== 1) throw new SluiceError('windowing', 'RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column', { position: b.pos });
      const sk = keys[0]!;
      const kt = sk.expr.type;
      const ot = off.type;
      const fits = ((kt === 'int' || kt === 'bigint') && (ot === 'int' || ot === 'bigint')) || ((kt === 'double' || kt === 'numeric') && isNumeric(ot)) || ((kt === 'timestamp' || kt === 'timestamptz' || kt === 'date') && ot === 'interval');
      if (!fits) throw new SluiceError('not_supported', `RANGE with offset PRECEDING/FOLLOWING is not supported for column type ${typeDisplayName(kt)} and offset type ${typeDisplayName(ot)}`, { position: b.pos, hint: 'Cast the offset expression to the appropriate type.' });
      if (isNegative(value, ot)) throw new SluiceError('invalid_frame_offset', 'invalid preceding or following size in window function', { position: b.pos });
      const backwards = (b.kind === 'preceding') !== sk.desc;
      const bound = this.bind({ kind: 'binary', op: backwards ? '-' : '+', left: spec.orderBy[0]!.expr, right: b.offset }, ctx);
      if (bound.type !== kt) keys = [{ ...sk, expr: cast(sk.expr, bound.type) }];
      return { kind: b.kind, rows: 0, value: bound };
    };
    const s = edge(start, 'starting');
    const e = edge(end, 'ending');
    return { frame: { mode: f.mode, start: s, end: e }, orderBy: keys };
  }
}

function containsColumn(e: Expr): boolean {
  let found = false;
  JSON.stringify(e, (k, v) => {
    if (v && typeof v === 'object' && (v.kind === 'column' || v.kind === 'star')) found = true;
    return typeof v === 'bigint' ? String(v) : v;
  });
  return found;
}

/** The value of a constant expression (a literal, or casts and negations of one), undefined otherwise. */
function constantOf(e: BoundExpr): Value | undefined {
  if (e.kind === 'lit') return e.value;
  if (e.kind === 'cast') {
    const v = constantOf(e.arg);
    return v === undefined ? undefined : castConstant(v, e.arg.type, e.type);
  }
  if (e.kind === 'call' && e.fn === 'neg') {
    const v = constantOf(e.args[0]!);
    if (v === undefined || v === null) return v;
    return typeof v === 'bigint' ? -v : typeof v === 'number' ? -v : undefined;
  }
  return undefined;
}

function isNegative(v: Value, type: SqlType): boolean {
  if (type === 'interval') return spanOfValue(v as string) < 0n;
  return (typeof v === 'number' && v < 0) || (typeof v === 'bigint' && v < 0n);
}
