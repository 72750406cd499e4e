/**
 * ColumnarJoinOp: HashJoinExec over two append-only inputs (window joins, interval joins,
 * stream–stream joins of sources) with its state held column by column. It computes what
 * JoinOp (join.ts) computes — Δ(L ⋈ R) = ΔL ⋈ R + L' ⋈ ΔR, outer joins' NULL-padded rows
 * inserted and retracted as match counts leave and reach zero, late rows dropped, rows past
 * the watermark cleaned — and emits the same changes in the same order, but keeps no row
 * object per stored row:
 *
 *   join key ──► KeyDict (one hash table over the keys of both sides) ──► key id
 *   key id ──► each side's chain of slots (head/tail per key id, next/prev per slot)
 *   slot ──► the row's columns in slot columns, its count and match count
 *
 * A delta batch is probed key id by key id, its output gathered a column at a time (the delta's
 * columns taken by row, the other side's gathered by slot), and then scattered into its own
 * side's slots. An append-only side never retracts, so a stored row needs no identity: every
 * arrival is its own entry, as in JoinOp's append-only sides, and its state table is the same.
 */
import { getBit, getValue, isValid, newBitmap, setBit, takeColumn, type Batch, type Column } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import type { TimeExpiry } from '../planner/logical.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { bigintColumnOf, loadBigintAsNumbers } from '../functions/aggregate/group-arrays.js';
import { compile, type Kernel } from './eval.js';
import { JoinOp, joinKey, keyKernel, RESTORE_CTX, sideSpec } from './join.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { grownCapacity, SlotColumn, wordsOf } from './slot-columns.js';
import { batchBytes, type StateTable } from './state/state-table.js';
import { storageOf } from './storage.js';
import { grow, HASH_ENTRY, unlink } from './probe-table.js';

type JoinPlan = Extract<PhysicalPlan, { kind: 'HashJoinExec' }>;

/**
 * Whether ColumnarJoinOp runs this join: a stream join (not a lookup) of two append-only
 * inputs whose output is the left columns then the right ones, of the same types, and whose
 * time bound (if any) is on 64-bit time columns.
 */
export function columnarJoinApplies(plan: JoinPlan): boolean {
  if (plan.lookup || !plan.left.appendOnly || !plan.right.appendOnly) return false;
  const inputs = [...plan.left.schema, ...plan.right.schema];
  if (inputs.length !== plan.schema.length || inputs.some((f, j) => f.type !== plan.schema[j]!.type)) return false;
  const tb = plan.timeBound;
  if (tb && (storageOf(plan.left.schema[tb.left.col]!.type) !== 'i64' || storageOf(plan.right.schema[tb.right.col]!.type) !== 'i64')) return false;
  return true;
}

/** The join keys of both sides as dense ids (see {@link WordKeyDict}, {@link ValueKeyDict}). */
interface KeyDict {
  /**
   * The key id of each row i < n of the key columns (a new key gets a fresh id); −1 for a key
   * with a NULL (it matches nothing); rows with `skip[i]` set are left alone.
   */
  ids(keyCols: readonly Column[], n: number, out: Int32Array, skip: Uint8Array | null): void;
  /** Frees a key id that no stored row uses any more (again: nothing). */
  free(id: number): void;
  /** Ids in use are below this. */
  readonly high: number;
}

/** Key ids handed out densely with a free list, shared by both dictionaries. */
class IdPool {
  high = 0;
  private freeIds = new Int32Array(64);
  private freeTop = 0;
  private inUse = new Uint8Array(64);
  take(): number {
    const id = this.freeTop > 0 ? this.freeIds[--this.freeTop]! : this.high++;
    if (id >= this.inUse.length) {
      const u = new Uint8Array(grownCapacity(this.inUse.length, id + 1));
      u.set(this.inUse);
      this.inUse = u;
    }
    this.inUse[id] = 1;
    return id;
  }
  /** Takes back an id; false when it was free already. */
  give(id: number): boolean {
    if (this.inUse[id] !== 1) return false;
    this.inUse[id] = 0;
    if (this.freeTop === this.freeIds.length) {
      const f = new Int32Array(this.freeIds.length * 2);
      f.set(this.freeIds);
      this.freeIds = f;
    }
    this.freeIds[this.freeTop++] = id;
    return true;
  }
}

/**
 * Keys of fixed-width columns (int, date, bigint, timestamp, boolean: the same type on both
 * sides) as runs of 32-bit words in open addressing: a row costs a hash of its words and a
 * compare, no BigInt or string. Equal words are equal keys, as the values are for JoinOp's Map.
 * Linear probing with backward-shift deletion, so freed keys leave no tombstones.
 */
class WordKeyDict implements KeyDict {
  private readonly width: number;
  private readonly pool = new IdPool();
  /** Pairs (id + 1, hash), probe-table.ts's HASH_ENTRY layout: 0 = empty; a probe compares hashes without touching the keys. */
  private table = new Int32Array(32);
  private mask = 15;
  private live = 0;
  /** Each key id's words (id · width …): a freed key's hash is computed again from them. */
  private words: Int32Array;
  /** The batch's keys, row-major (row i: words i·width …), and which rows have a NULL in theirs. */
  private buf = new Int32Array(0);
  private nulls = new Uint8Array(0);

  constructor(private readonly storages: readonly ('i32' | 'i64' | 'bool')[]) {
    this.width = storages.reduce((a, s) => a + (s === 'i64' ? 2 : 1), 0);
    this.words = new Int32Array(64 * Math.max(1, this.width));
  }

  get high(): number {
    return this.pool.high;
  }

  /** The hash of the key at buf[at … at + width). */
  private static hash(buf: Int32Array, at: number, width: number): number {
    let h = 0x9e3779b1 ^ width;
    for (let j = 0; j < width; j++) h = Math.imul(h ^ buf[at + j]!, 0x85ebca6b) ^ (h >>> 13);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    return h ^ (h >>> 15);
  }

  /** The keys of rows 0…n-1 into `buf`, a column at a time, NULLs noted in `nulls`. */
  private load(keyCols: readonly Column[], n: number): void {
    const width = this.width;
    if (this.nulls.length < n) {
      this.buf = new Int32Array(2 * n * Math.max(1, width));
      this.nulls = new Uint8Array(2 * n);
    }
    const buf = this.buf;
    const nulls = this.nulls;
    nulls.fill(0, 0, n);
    let off = 0;
    for (let k = 0; k < keyCols.length; k++) {
      const c = keyCols[k]!;
      switch (this.storages[k]!) {
        case 'i64': {
          const src = wordsOf(c.values as BigInt64Array);
          for (let i = 0, at = off; i < n; i++, at += width) {
            buf[at] = src[2 * i]!;
            buf[at + 1] = src[2 * i + 1]!;
          }
          off += 2;
          break;
        }
        case 'i32': {
          const src = c.values as Int32Array;
          for (let i = 0, at = off; i < n; i++, at += width) buf[at] = src[i]!;
          off++;
          break;
        }
        case 'bool': {
          const src = c.values as Uint8Array;
          for (let i = 0, at = off; i < n; i++, at += width) buf[at] = getBit(src, i) ? 1 : 0;
          off++;
          break;
        }
      }
      const validity = c.validity;
      if (validity !== null) for (let i = 0; i < n; i++) if (((validity[i >> 3]! >> (i & 7)) & 1) === 0) nulls[i] = 1;
    }
  }

  ids(keyCols: readonly Column[], n: number, out: Int32Array, skip: Uint8Array | null): void {
    this.load(keyCols, n);
    const buf = this.buf;
    const nulls = this.nulls;
    const width = this.width;
    for (let i = 0, at = 0; i < n; i++, at += width) {
      if (skip !== null && skip[i] === 1) continue;
      if (nulls[i] === 1) {
        out[i] = -1;
        continue;
      }
      const h = WordKeyDict.hash(buf, at, width);
      const t = this.table;
      let p = h & this.mask;
      for (;;) {
        const e = t[2 * p]!;
        if (e === 0) {
          out[i] = this.insert(p, h, at);
          break;
        }
        if (t[2 * p + 1] === h && this.same(e - 1, at)) {
          out[i] = e - 1;
          break;
        }
        p = (p + 1) & this.mask;
      }
    }
  }

  /** Whether key id `id` is the key at buf[at …]. */
  private same(id: number, at: number): boolean {
    const words = this.words;
    const buf = this.buf;
    const from = id * this.width;
    for (let j = 0; j < this.width; j++) if (words[from + j] !== buf[at + j]) return false;
    return true;
  }

  /** A new key id for the key at buf[at …], entered at table position p. */
  private insert(p: number, h: number, at: number): number {
    const id = this.pool.take();
    const width = this.width;
    if ((id + 1) * width > this.words.length) {
      const ws = new Int32Array(grownCapacity(this.words.length, (id + 1) * width));
      ws.set(this.words);
      this.words = ws;
    }
    for (let j = 0; j < width; j++) this.words[id * width + j] = this.buf[at + j]!;
    this.table[2 * p] = id + 1;
    this.table[2 * p + 1] = h;
    if (++this.live * 2 > this.mask) {
      this.table = grow(this.table, HASH_ENTRY, 2 * (this.mask + 1));
      this.mask = 2 * this.mask + 1;
    }
    return id;
  }

  free(id: number): void {
    if (!this.pool.give(id)) return;
    const t = this.table;
    const mask = this.mask;
    let p = WordKeyDict.hash(this.words, id * this.width, this.width) & mask;
    while (t[2 * p] !== id + 1) p = (p + 1) & mask;
    unlink(t, HASH_ENTRY, mask, p);
    this.live--;
  }
}

/** Any other keys (text, double, numeric, interval, arrays, or types differing by side): JoinOp's Map keys. */
class ValueKeyDict implements KeyDict {
  private readonly map = new Map<unknown, number>();
  private readonly keyOf: unknown[] = [];
  private readonly pool = new IdPool();
  private readonly kv: Value[];
  constructor(width: number) {
    this.kv = new Array<Value>(width);
  }
  get high(): number {
    return this.pool.high;
  }
  ids(keyCols: readonly Column[], n: number, out: Int32Array, skip: Uint8Array | null): void {
    const kv = this.kv;
    rows: for (let i = 0; i < n; i++) {
      if (skip !== null && skip[i] === 1) continue;
      for (let k = 0; k < kv.length; k++) {
        const c = keyCols[k]!;
        if (!isValid(c, i)) {
          out[i] = -1;
          continue rows;
        }
        kv[k] = getValue(c, i);
      }
      const key = joinKey(kv);
      let id = this.map.get(key);
      if (id === undefined) {
        id = this.pool.take();
        this.map.set(key, id);
        this.keyOf[id] = key;
      }
      out[i] = id;
    }
  }
  free(id: number): void {
    if (!this.pool.give(id)) return;
    this.map.delete(this.keyOf[id]);
    this.keyOf[id] = undefined;
  }
}

/**
 * One side's stored rows. Slot 0 is never used and stays NULL in every column, so gathering
 * slot 0 gives the NULLs of a padded row, and 0 ends a chain (an empty chain's head and tail,
 * the last slot's next, the first's prev): arrays grown zeroed need no filling, and the pages
 * of their unused room are never touched. Chains are indexed by key id + 1; chain 0 holds the
 * rows with a NULL key (they match nothing, but are state all the same).
 */
class Side {
  readonly cols: SlotColumn[];
  count: Float64Array = new Float64Array(64);
  matches: Float64Array = new Float64Array(64);
  next: Int32Array = new Int32Array(64);
  prev: Int32Array = new Int32Array(64);
  chainOf: Int32Array = new Int32Array(64);
  head = new Int32Array(64);
  tail = new Int32Array(64);
  /** A lower bound of the live rows' times (their least, as of the last scan), or none yet. */
  hasMin = false;
  minLo = 0;
  minHi = 0;
  live: Uint8Array = new Uint8Array(64);
  private free = new Int32Array(64);
  private freeTop = 0;
  /** Slots ever used (1 + …): live and free ones are below it. */
  high = 1;
  /** Rows stored, with multiplicity. */
  size = 0;
  entries = 0;
  private slotScratch = new Int32Array(64);
  private rowScratch = new Int32Array(64);

  constructor(readonly types: readonly SqlType[], readonly keys: readonly Kernel[], readonly preserved: boolean, readonly expiry: TimeExpiry | null) {
    this.cols = types.map((t) => new SlotColumn(t));
  }

  /** Room for chains of key ids below `ids`. */
  ensureChains(ids: number): void {
    if (ids + 1 <= this.head.length) return;
    const cap = grownCapacity(this.head.length, ids + 1);
    const h = new Int32Array(cap);
    h.set(this.head);
    this.head = h;
    const t = new Int32Array(cap);
    t.set(this.tail);
    this.tail = t;
  }

  private grow(need: number): void {
    if (need <= this.live.length) return;
    const cap = grownCapacity(this.live.length, need);
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.count = f64(this.count);
    this.matches = f64(this.matches);
    this.next = i32(this.next);
    this.prev = i32(this.prev);
    this.chainOf = i32(this.chainOf);
    this.live = u8(this.live);
    for (const c of this.cols) c.ensure(cap);
  }

  private alloc(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop]!;
    const s = this.high++;
    if (s >= this.live.length) this.grow(s + 1);
    return s;
  }

  /**
   * Stores rows `rows[k]` of `b` (k < m) under key ids `ids[rows[k]]`, each with count
   * `counts[k]` and match count `matches[k]`, at the tails of their chains.
   */
  store(b: Batch, rows: Int32Array, m: number, ids: Int32Array, counts: Float64Array, matches: Float64Array): void {
    if (m === 0) return;
    if (this.slotScratch.length < m) this.slotScratch = new Int32Array(m * 2);
    const slots = this.slotScratch;
    this.grow(this.high + m);
    for (let k = 0; k < m; k++) {
      const s = this.alloc();
      slots[k] = s;
      const chain = ids[rows[k]!]! + 1;
      this.chainOf[s] = chain;
      this.count[s] = counts[k]!;
      this.matches[s] = matches[k]!;
      this.live[s] = 1;
      const t = this.tail[chain]!;
      this.prev[s] = t;
      this.next[s] = 0;
      if (t === 0) this.head[chain] = s;
      else this.next[t] = s;
      this.tail[chain] = s;
      this.size += counts[k]!;
    }
    this.entries += m;
    for (let j = 0; j < this.cols.length; j++) this.cols[j]!.scatter(b.columns[j]!, rows, slots, m);
    if (this.expiry !== null) {
      const c = b.columns[this.expiry.col]!;
      const w = wordsOf(c.values as BigInt64Array);
      const validity = c.validity;
      for (let k = 0; k < m; k++) {
        const i = rows[k]!;
        if (validity === null || ((validity[i >> 3]! >> (i & 7)) & 1) === 1) this.lowerMin(w[2 * i]!, w[2 * i + 1]!);
      }
    }
  }

  /** Lowers the time bound to hi·2^32 + lo (lo unsigned) if that is below it. */
  lowerMin(lo: number, hi: number): void {
    if (this.hasMin && atOrBelow(this.minLo, this.minHi, lo, hi)) return;
    this.hasMin = true;
    this.minLo = lo;
    this.minHi = hi;
  }

  /** Unlinks and frees slot s; returns its chain when that became empty, else −1. */
  remove(s: number): number {
    const chain = this.chainOf[s]!;
    const p = this.prev[s]!;
    const q = this.next[s]!;
    if (p === 0) this.head[chain] = q;
    else this.next[p] = q;
    if (q === 0) this.tail[chain] = p;
    else this.prev[q] = p;
    this.live[s] = 0;
    this.size -= this.count[s]!;
    this.entries--;
    // Text and array values are JS values: let them go with the row.
    for (const c of this.cols) c.setNull(s);
    if (this.freeTop === this.free.length) {
      const f = new Int32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeTop++] = s;
    return this.head[chain] === 0 ? chain : -1;
  }

  /** The live slots, chain by chain (key ids in order, NULL keys first), each chain in arrival order. */
  slotsInChainOrder(): Int32Array {
    const out = new Int32Array(this.entries);
    let k = 0;
    for (let c = 0; c < this.head.length; c++) for (let s = this.head[c]!; s !== 0; s = this.next[s]!) out[k++] = s;
    return out;
  }

  /** The rows as the state table's batch: the input columns, `_count` and `_matches`. */
  snapshot(): Batch {
    const slots = this.slotsInChainOrder();
    const n = slots.length;
    return { columns: [...this.cols.map((c) => c.gather(slots, n)), bigintColumnOf(this.count, n, slots), bigintColumnOf(this.matches, n, slots)], length: n, weights: null };
  }

  /** Row scratch for callers that list row indexes. */
  rowIndexes(n: number): Int32Array {
    if (this.rowScratch.length < n) this.rowScratch = new Int32Array(n * 2);
    return this.rowScratch;
  }
}

/** A threshold's 32-bit words; past the 64-bit range, `all` (every time is at or below it) or `none`. */
function thresholdWords(x: bigint): { lo: number; hi: number; all: boolean; none: boolean } {
  if (x >= 2n ** 63n - 1n) return { lo: 0, hi: 0, all: true, none: false };
  if (x < -(2n ** 63n)) return { lo: 0, hi: 0, all: false, none: true };
  return { lo: Number(BigInt.asIntN(32, x)), hi: Number(BigInt.asIntN(32, x >> 32n)), all: false, none: false };
}

/** Whether the 64-bit value hi·2^32 + (lo unsigned) is at or below the threshold's. */
function atOrBelow(lo: number, hi: number, tLo: number, tHi: number): boolean {
  return hi < tHi || (hi === tHi && lo >>> 0 <= tLo >>> 0);
}

/** A column's rows `idx[k]`, NULL where idx[k] is −1 (the padded side of an outer join's row). */
function takeOrNull(c: Column, idx: Int32Array, n: number, anyNull: boolean): Column {
  if (!anyNull) return takeColumn(c, idx, n);
  const safe = new Int32Array(n);
  for (let k = 0; k < n; k++) safe[k] = idx[k]! < 0 ? 0 : idx[k]!;
  const t = takeColumn(c, safe, n);
  const validity = t.validity ? t.validity.slice() : newBitmap(n, true);
  for (let k = 0; k < n; k++) if (idx[k]! < 0) setBit(validity, k, false);
  return { ...t, validity };
}

/** The operator of a stream HashJoinExec: ColumnarJoinOp where it applies, else JoinOp. */
export function createJoinOp(id: string, plan: JoinPlan): Operator {
  return columnarJoinApplies(plan) ? new ColumnarJoinOp(id, plan) : new JoinOp(id, plan);
}

export class ColumnarJoinOp implements Operator {
  readonly name = 'HashJoinExec';
  /** `left` and `right`: each side's stored rows, as JoinOp's append-only sides store them. */
  readonly state: readonly StateTable[];
  private readonly left: Side;
  private readonly right: Side;
  private readonly dict: KeyDict;
  private readonly residual: Kernel | null;
  // Scratch, grown as needed: per delta row, and per output entry.
  private ids = new Int32Array(64);
  private late = new Uint8Array(64);
  private totals = new Float64Array(64);
  private counts = new Float64Array(64);
  private outRow: Int32Array = new Int32Array(64);
  private outSlot: Int32Array = new Int32Array(64);
  private outW: Int32Array = new Int32Array(64);
  private nOut = 0;
  private emptied: number[] = [];

  constructor(readonly id: string, private readonly plan: JoinPlan) {
    const t = plan.joinType;
    const tb = plan.timeBound;
    this.left = new Side(plan.left.schema.map((f) => f.type), plan.leftKeys.map(keyKernel), t === 'left' || t === 'full', tb?.left ?? null);
    this.right = new Side(plan.right.schema.map((f) => f.type), plan.rightKeys.map(keyKernel), t === 'right' || t === 'full', tb?.right ?? null);
    const storages = plan.leftKeys.map((k, j) => (k.type === plan.rightKeys[j]!.type ? storageOf(k.type) : null));
    const fixed = storages.every((s) => s === 'i32' || s === 'i64' || s === 'bool');
    this.dict = fixed ? new WordKeyDict(storages as ('i32' | 'i64' | 'bool')[]) : new ValueKeyDict(plan.leftKeys.length);
    this.residual = plan.residual ? compile(plan.residual) : null;
    this.state = [this.sideTable('left', this.left, plan.left.schema, tb?.left ?? null), this.sideTable('right', this.right, plan.right.schema, tb?.right ?? null)];
  }

  private sideTable(name: string, side: Side, input: Schema, expiry: TimeExpiry | null): StateTable {
    const spec = sideSpec(name, input, expiry, true);
    const width = input.length;
    return {
      spec,
      snapshot: () => [side.snapshot()],
      restore: (batches) => {
        if (side.entries !== 0) throw new SluiceError('internal', `join state ${name} is restored only when empty`);
        for (const b of batches) {
          if (b.columns.length !== width + 2) throw new SluiceError('internal', `state table ${name}: snapshot has ${b.columns.length} columns, expected ${width + 2}`);
          this.load(side, b, width);
        }
      },
      rows: () => side.entries,
      bytes: () => batchBytes(side.snapshot()),
    };
  }

  /** Loads a snapshot batch into a side: keys recomputed from the row's columns, as JoinOp does. */
  private load(side: Side, b: Batch, width: number): void {
    const n = b.length;
    if (n === 0) return;
    const data: Batch = { columns: b.columns.slice(0, width), length: n, weights: null };
    const keyCols = side.keys.map((k) => k(data, RESTORE_CTX));
    const ids = new Int32Array(n);
    this.dict.ids(keyCols, n, ids, null);
    this.left.ensureChains(this.dict.high);
    this.right.ensureChains(this.dict.high);
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    const counts = new Float64Array(n);
    const matches = new Float64Array(n);
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    loadBigintAsNumbers(b.columns[width]!, all, n, counts);
    loadBigintAsNumbers(b.columns[width + 1]!, all, n, matches);
    side.store(data, rows, n, ids, counts, matches);
  }

  stateRows(): number {
    return this.plan.timeBound ? this.left.size + this.right.size : 0;
  }

  /** Input 0 is the left side, input 1 the right. */
  processBatch(input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    if (input === 0) this.pushSide(b, this.left, this.right, true, ctx, out);
    else this.pushSide(b, this.right, this.left, false, ctx, out);
  }

  /** Drops the rows no future row can match (their time + offset at or below the watermark). */
  endEpoch(ctx: OperatorContext): void {
    const after = this.plan.timeBound ? ctx.watermark?.after ?? null : null;
    if (after === null) return;
    for (const side of [this.left, this.right]) {
      const th = thresholdWords(after - side.expiry!.offset);
      // No row can go while the least time is past the threshold: no scan.
      if (th.none || !side.hasMin || (!th.all && !atOrBelow(side.minLo, side.minHi, th.lo, th.hi))) continue;
      const emptied = this.emptied;
      side.hasMin = false;
      // The time column's slots (removing rows does not grow it).
      const time = side.cols[side.expiry!.col]!;
      const w = time.words;
      const ok = time.validBytes;
      for (let s = 1; s < side.high; s++) {
        if (side.live[s] !== 1 || ok[s] !== 1) continue;
        if (!th.all && !atOrBelow(w[2 * s]!, w[2 * s + 1]!, th.lo, th.hi)) {
          side.lowerMin(w[2 * s]!, w[2 * s + 1]!);
          continue;
        }
        const chain = side.remove(s);
        if (chain > 0) emptied.push(chain - 1);
      }
      // A key goes when neither side holds a row with it (checked after each side's scan, so
      // a key both sides emptied is freed once: by the second).
      this.freeUnused(emptied);
    }
  }

  /** Frees the key ids of `ids` that neither side's chains use; empties the list. */
  private freeUnused(ids: number[]): void {
    for (const id of ids) if (this.left.head[id + 1] === 0 && this.right.head[id + 1] === 0) this.dict.free(id);
    ids.length = 0;
  }

  private emit(row: number, slot: number, w: number): void {
    if (w === 0) return;
    const k = this.nOut++;
    if (k === this.outRow.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.outRow = grow(this.outRow);
      this.outSlot = grow(this.outSlot);
      this.outW = grow(this.outW);
    }
    this.outRow[k] = row;
    this.outSlot[k] = slot;
    this.outW[k] = w;
  }

  /**
   * Joins a delta of one side with the other side's stored rows, then stores it: late rows
   * dropped, key ids assigned, the residual ON evaluated over all candidate pairs at once,
   * each row's matches emitted (and padded rows as match counts change), the rows stored with
   * their match counts.
   */
  private pushSide(b: Batch, own: Side, other: Side, isLeft: boolean, ctx: OperatorContext, out: Collector): void {
    const n = b.length;
    if (n === 0) return;
    if (this.ids.length < n) {
      this.ids = new Int32Array(n * 2);
      this.late = new Uint8Array(n * 2);
      this.totals = new Float64Array(n * 2);
      this.counts = new Float64Array(n * 2);
    }
    const ids = this.ids;
    // Which rows are late: all 0 until the join has a watermark. Always an array: an access V8
    // first met after optimizing this method (when the watermark came) deoptimized it batch after
    // batch (docs/decisions.md, "Deoptimization loops").
    const late = this.late;
    const before = this.plan.timeBound ? ctx.watermark?.before ?? null : null;
    if (before === null) late.fill(0, 0, n);
    else {
      // A row the watermark has passed (or with a NULL time) is late: dropped and counted.
      const th = thresholdWords(before - own.expiry!.lateOffset);
      const c = b.columns[own.expiry!.col]!;
      const w = wordsOf(c.values as BigInt64Array);
      let nLate = 0;
      for (let i = 0; i < n; i++) {
        const isLate = !isValid(c, i) || th.all || (!th.none && atOrBelow(w[2 * i]!, w[2 * i + 1]!, th.lo, th.hi));
        late[i] = isLate ? 1 : 0;
        if (isLate) nLate++;
      }
      if (nLate > 0) ctx.countLate(nLate);
    }
    const keyCols = own.keys.map((k) => k(b, ctx));
    this.dict.ids(keyCols, n, ids, late);
    own.ensureChains(this.dict.high);
    other.ensureChains(this.dict.high);
    const verdicts = this.residual ? this.residualVerdicts(b, other, isLeft, ids, late, ctx) : null;
    const weights = b.weights;
    const head = other.head;
    const next = other.next;
    const oc = other.count;
    const preservedOther = other.preserved;
    const preservedOwn = own.preserved;
    const totals = this.totals;
    const stored = own.rowIndexes(n);
    let m = 0;
    let p = 0;
    this.nOut = 0;
    for (let i = 0; i < n; i++) {
      if (late[i] === 1) continue;
      const w = weights === null ? 1 : weights[i]!;
      let total = 0;
      const id = ids[i]!;
      if (id >= 0) {
        for (let s = head[id + 1]!; s !== 0; s = next[s]!) {
          if (verdicts !== null && verdicts[p++] !== 1) continue;
          const c = oc[s]!;
          total += c;
          this.emit(i, s, w * c);
          if (preservedOther) {
            const was = other.matches[s]!;
            const now = (other.matches[s] = was + w);
            if (was === 0 && now > 0) this.emit(-1, s, -c);
            else if (was > 0 && now === 0) this.emit(-1, s, c);
          }
        }
      }
      if (preservedOwn && total === 0) this.emit(i, 0, w);
      if (w === 0) {
        // Not stored: its key may have no row on either side.
        if (id >= 0) this.emptied.push(id);
        continue;
      }
      stored[m] = i;
      totals[m] = total;
      this.counts[m++] = w;
    }
    own.store(b, stored, m, ids, this.counts, totals);
    if (this.emptied.length > 0) this.freeUnused(this.emptied);
    this.flush(b, other, isLeft, out);
  }

  /** The residual's verdict (1: passes) on every candidate pair, in probe order. */
  private residualVerdicts(b: Batch, other: Side, isLeft: boolean, ids: Int32Array, late: Uint8Array | null, ctx: OperatorContext): Uint8Array {
    const rows: number[] = [];
    const slots: number[] = [];
    for (let i = 0; i < b.length; i++) {
      if ((late !== null && late[i] === 1) || ids[i]! < 0) continue;
      for (let s = other.head[ids[i]! + 1]!; s !== 0; s = other.next[s]!) {
        rows.push(i);
        slots.push(s);
      }
    }
    const np = rows.length;
    const verdicts = new Uint8Array(np);
    if (np === 0) return verdicts;
    const ri = Int32Array.from(rows);
    const si = Int32Array.from(slots);
    const mine = b.columns.map((c) => takeColumn(c, ri, np));
    const theirs = other.cols.map((c) => c.gather(si, np));
    const cond = this.residual!({ columns: isLeft ? [...mine, ...theirs] : [...theirs, ...mine], length: np, weights: null }, ctx);
    for (let k = 0; k < np; k++) verdicts[k] = isValid(cond, k) && getBit(cond.values as Uint8Array, k) ? 1 : 0;
    return verdicts;
  }

  /** Sends the entries emitted by the last delta as one batch: its columns taken by row, the other side's gathered by slot. */
  private flush(b: Batch, other: Side, isLeft: boolean, out: Collector): void {
    const m = this.nOut;
    if (m === 0) return;
    const rows = this.outRow.slice(0, m);
    const slots = this.outSlot.slice(0, m);
    let anyNull = false;
    let ones = true;
    for (let k = 0; k < m; k++) {
      if (rows[k]! < 0) anyNull = true;
      if (this.outW[k] !== 1) ones = false;
    }
    // The output columns are filled in place, without array spreads (a deoptimization site).
    const nMine = b.columns.length;
    const nTheirs = other.cols.length;
    const columns = new Array<Column>(nMine + nTheirs);
    const mineAt = isLeft ? 0 : nTheirs;
    const theirsAt = isLeft ? nMine : 0;
    for (let j = 0; j < nMine; j++) columns[mineAt + j] = takeOrNull(b.columns[j]!, rows, m, anyNull);
    for (let j = 0; j < nTheirs; j++) columns[theirsAt + j] = other.cols[j]!.gather(slots, m);
    out({ columns, length: m, weights: ones ? null : this.outW.slice(0, m) });
  }
}
