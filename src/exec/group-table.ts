/**
 * Group tables map group keys to dense group ids (0, 1, 2, …) so aggregate state lives in flat
 * typed arrays indexed by id. IntKeyTable is open addressing over the key's 64-bit pattern
 * (int, date, bigint, timestamp, boolean keys) with no BigInt or object per row; StringKeyTable
 * and CompositeKeyTable use a Map over decoded or encoded keys.
 */
import { ColumnBuilder, decodeUtf8, getValue, getBit, newBitmap, setBit, type Column } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import type { KeyStrategy } from '../planner/physical.js';
import { intervalKey } from '../common/interval.js';
import { capacityFor, grow, pairHash, PAIR_ENTRY, setPair } from './probe-table.js';
import { wordsOf } from './slot-columns.js';

export interface GroupTable {
  /** Assigns a group id to each of rows 0…n-1 (inserting new groups). */
  assign(keys: readonly Column[], n: number, gids: Int32Array): void;
  readonly size: number;
  /** The value of key column k for group gid. */
  keyValue(gid: number, k: number): Value;
  /** Key column k of groups `gids[0…n-1]` (null: groups 0…n-1) as a column. */
  keyColumn(k: number, gids: Int32Array | null, n: number): Column;
  /** Makes room for `n` more groups at once (a restore), where the table sizes itself in steps. */
  reserve?(n: number): void;
}

/** Key column k of the groups, through `keyValue` (the tables that hold JS values). */
function keyColumnOf(t: GroupTable, type: SqlType, k: number, gids: Int32Array | null, n: number): Column {
  const b = new ColumnBuilder(type, n);
  for (let i = 0; i < n; i++) b.append(t.keyValue(gids === null ? i : gids[i]!, k));
  return b.finish();
}

export function createGroupTable(strategy: KeyStrategy, keyTypes: readonly SqlType[]): GroupTable {
  switch (strategy) {
    case 'global':
      return new GlobalTable();
    case 'int':
      return new IntKeyTable(keyTypes[0]!);
    case 'string':
      return new StringKeyTable(keyTypes[0]!);
    case 'composite':
      return new CompositeKeyTable(keyTypes);
  }
}

class GlobalTable implements GroupTable {
  size = 1;
  assign(_keys: readonly Column[], n: number, gids: Int32Array): void {
    gids.fill(0, 0, n);
  }
  keyValue(): Value {
    return null;
  }
  keyColumn(_k: number, _gids: Int32Array | null, n: number): Column {
    return keyColumnOf(this, 'null', 0, null, n);
  }
}

class IntKeyTable implements GroupTable {
  size = 0;
  /** Triples (gid + 1, lo, hi), gid + 1 = 0 empty: a probe finds the key beside the id (one cache line, not two). */
  private slots = new Int32Array(3 * 1024);
  private mask = 1023;
  private lo = new Int32Array(512);
  private hi = new Int32Array(512);
  private nullGid = -1;
  private readonly wide: boolean;
  private readonly bool: boolean;

  constructor(private readonly type: SqlType) {
    this.wide = type === 'bigint' || type === 'timestamp' || type === 'timestamptz' || type === 'time';
    this.bool = type === 'boolean';
  }

  assign(keys: readonly Column[], n: number, gids: Int32Array): void {
    const c = keys[0]!;
    const validity = c.validity;
    const wide = this.wide;
    const bool = this.bool;
    const words = wide ? wordsOf(c.values as BigInt64Array) : (c.values as Int32Array);
    // The table in locals, reloaded only after a new group (which may grow it): the loop of a
    // row with a known key reads no field, whatever V8 inlines.
    let t = this.slots;
    let mask = this.mask;
    for (let i = 0; i < n; i++) {
      if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) {
        // (The NULL group is never in the table.)
        if (this.nullGid < 0) this.nullGid = this.newGroup(0, 0);
        gids[i] = this.nullGid;
        continue;
      }
      let lo: number;
      let hi = 0;
      if (wide) {
        lo = words[2 * i]!;
        hi = words[2 * i + 1]!;
      } else if (bool) lo = getBit(c.values as Uint8Array, i) ? 1 : 0;
      else lo = words[i]!;
      let s = pairHash(lo, hi) & mask;
      for (;;) {
        const g = t[3 * s]!;
        if (g === 0) {
          const gid = this.newGroup(lo, hi);
          setPair(t, s, gid, lo, hi);
          gids[i] = gid;
          if (this.size * 2 > mask) {
            this.rehash(2 * (mask + 1));
            t = this.slots;
            mask = this.mask;
          }
          break;
        }
        if (t[3 * s + 1] === lo && t[3 * s + 2] === hi) {
          gids[i] = g - 1;
          break;
        }
        s = (s + 1) & mask;
      }
    }
  }

  reserve(n: number): void {
    const need = this.size + n;
    this.growKeys(need);
    const cap = capacityFor(need, this.mask + 1);
    if (cap !== this.mask + 1) this.rehash(cap);
  }

  private growKeys(need: number): void {
    if (need > this.lo.length) {
      const nl = new Int32Array(Math.max(need, this.lo.length * 2));
      nl.set(this.lo);
      this.lo = nl;
      const nh = new Int32Array(nl.length);
      nh.set(this.hi);
      this.hi = nh;
    }
  }

  private newGroup(lo: number, hi: number): number {
    const gid = this.size++;
    this.growKeys(gid + 1);
    this.lo[gid] = lo;
    this.hi[gid] = hi;
    return gid;
  }

  private rehash(cap: number): void {
    this.slots = grow(this.slots, PAIR_ENTRY, cap);
    this.mask = cap - 1;
  }

  keyValue(gid: number): Value {
    if (gid === this.nullGid) return null;
    const lo = this.lo[gid]!;
    if (this.bool) return lo === 1;
    if (!this.wide) return lo;
    return BigInt.asIntN(64, (BigInt(this.hi[gid]!) << 32n) | BigInt(lo >>> 0));
  }

  keyColumn(_k: number, gids: Int32Array | null, n: number): Column {
    let validity: Uint8Array | null = null;
    if (this.nullGid >= 0) {
      for (let i = 0; i < n; i++) {
        if ((gids === null ? i : gids[i]!) !== this.nullGid) continue;
        validity ??= newBitmap(n, true);
        setBit(validity, i, false);
      }
    }
    const type = this.type;
    if (this.bool) {
      const v = newBitmap(n, false);
      for (let i = 0; i < n; i++) if (this.lo[gids === null ? i : gids[i]!] === 1) setBit(v, i, true);
      return { type, length: n, values: v, validity };
    }
    if (!this.wide) {
      const v = new Int32Array(n);
      for (let i = 0; i < n; i++) v[i] = this.lo[gids === null ? i : gids[i]!]!;
      return { type, length: n, values: v, validity };
    }
    const v = new BigInt64Array(n);
    const w = new Int32Array(v.buffer, 0, 2 * n);
    for (let i = 0; i < n; i++) {
      const g = gids === null ? i : gids[i]!;
      w[2 * i] = this.lo[g]!;
      w[2 * i + 1] = this.hi[g]!;
    }
    return { type, length: n, values: v, validity };
  }
}

/**
 * VARCHAR keys by their UTF-8 bytes: open addressing over a hash of the bytes, the keys' bytes
 * kept in one arena in group order, so a row costs a hash and a byte compare and no string
 * (columns hold well-formed UTF-8, so equal bytes are equal strings). A key is decoded to a
 * string only when asked for by keyValue.
 */
class StringKeyTable implements GroupTable {
  size = 0;
  private slots = new Int32Array(1024); // gid + 1, 0 = empty
  private mask = 1023;
  private hashes = new Int32Array(256);
  /** Group gid's key is arena[starts[gid], starts[gid + 1]). */
  private starts = new Int32Array(257);
  private arena = new Uint8Array(4096);
  private readonly strings: (string | undefined)[] = [];
  private nullGid = -1;
  constructor(private readonly type: SqlType) {}

  assign(cols: readonly Column[], n: number, gids: Int32Array): void {
    const c = cols[0]!;
    const bytes = c.values as Uint8Array;
    const o = c.offsets!;
    const validity = c.validity;
    // The table's arrays in locals, reloaded only after a new group (which may grow them): the
    // loop of a row with a known key reads no field.
    let slots = this.slots;
    let mask = this.mask;
    let hashes = this.hashes;
    let starts = this.starts;
    let arena = this.arena;
    for (let i = 0; i < n; i++) {
      if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) {
        if (this.nullGid < 0) this.nullGid = this.newGroup(bytes, 0, 0, 0);
        gids[i] = this.nullGid;
        ({ slots, mask, hashes, starts, arena } = this);
        continue;
      }
      const s = o[i]!;
      const e = o[i + 1]!;
      const len = e - s;
      let h = 0x811c9dc5 ^ len;
      for (let k = s; k < e; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
      h ^= h >>> 15;
      let slot = h & mask;
      for (;;) {
        const g = slots[slot]!;
        if (g === 0) {
          const gid = this.newGroup(bytes, s, e, h);
          this.slots[slot] = gid + 1;
          gids[i] = gid;
          if (this.size * 2 > this.mask) this.rehash((this.mask + 1) * 2);
          ({ slots, mask, hashes, starts, arena } = this);
          break;
        }
        const gid = g - 1;
        if (hashes[gid] === h && gid !== this.nullGid) {
          // Same hash: compare the key's bytes with the arena's.
          const a = starts[gid]!;
          let same = starts[gid + 1]! - a === len;
          for (let k = 0; same && k < len; k++) same = arena[a + k] === bytes[s + k];
          if (same) {
            gids[i] = gid;
            break;
          }
        }
        slot = (slot + 1) & mask;
      }
    }
  }

  private newGroup(bytes: Uint8Array, s: number, e: number, h: number): number {
    const gid = this.size++;
    if (gid + 1 >= this.hashes.length) {
      const nh = new Int32Array(this.hashes.length * 2);
      nh.set(this.hashes);
      this.hashes = nh;
      const ns = new Int32Array(nh.length + 1);
      ns.set(this.starts);
      this.starts = ns;
    }
    const at = this.starts[gid]!;
    if (at + (e - s) > this.arena.length) {
      const na = new Uint8Array(Math.max(this.arena.length * 2, at + (e - s)));
      na.set(this.arena.subarray(0, at));
      this.arena = na;
    }
    for (let k = s; k < e; k++) this.arena[at + k - s] = bytes[k]!;
    this.starts[gid + 1] = at + (e - s);
    this.hashes[gid] = h;
    return gid;
  }

  private rehash(cap: number): void {
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    for (let gid = 0; gid < this.size; gid++) {
      if (gid === this.nullGid) continue;
      let s = this.hashes[gid]! & this.mask;
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = gid + 1;
    }
  }

  reserve(n: number): void {
    let cap = this.mask + 1;
    while ((this.size + n) * 2 > cap - 1) cap *= 2;
    if (cap !== this.mask + 1) this.rehash(cap);
  }

  keyValue(gid: number): Value {
    if (gid === this.nullGid) return null;
    return (this.strings[gid] ??= decodeUtf8(this.arena, this.starts[gid]!, this.starts[gid + 1]!));
  }

  keyColumn(_k: number, gids: Int32Array | null, n: number): Column {
    const offsets = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const g = gids === null ? i : gids[i]!;
      total += this.starts[g + 1]! - this.starts[g]!;
      offsets[i + 1] = total;
    }
    const values = new Uint8Array(total);
    let validity: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const g = gids === null ? i : gids[i]!;
      if (g === this.nullGid) {
        validity ??= newBitmap(n, true);
        setBit(validity, i, false);
      }
      values.set(this.arena.subarray(this.starts[g]!, this.starts[g + 1]!), offsets[i]!);
    }
    return { type: this.type, length: n, values, offsets, validity };
  }
}

/** An injective text encoding of a row of values (type tag, length prefix for strings). */
export function encodeValues(vals: readonly Value[]): string {
  let s = '';
  for (const v of vals) {
    if (v === null) s += 'N|';
    else if (typeof v === 'string') s += `S${v.length}:${v}|`;
    else if (typeof v === 'bigint') s += `B${v}|`;
    else if (typeof v === 'boolean') s += v ? 'T|' : 'F|';
    else if (typeof v === 'object') s += `A${v.length}[${encodeValues(v)}]|`;
    else s += `D${Object.is(v, -0) ? 0 : v}|`;
  }
  return s;
}

class CompositeKeyTable implements GroupTable {
  private readonly map = new Map<string, number>();
  private readonly keys: Value[][] = [];
  private readonly width: number;
  /** Interval keys group by their span, as PostgreSQL's equality ('1 mon' and '30 days' are one group). */
  private readonly intervals: readonly number[];
  constructor(private readonly types: readonly SqlType[]) {
    this.width = types.length;
    this.intervals = types.flatMap((t, k) => (t === 'interval' ? [k] : []));
  }
  get size(): number {
    return this.keys.length;
  }
  assign(cols: readonly Column[], n: number, gids: Int32Array): void {
    const row: Value[] = new Array(this.width);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < this.width; k++) row[k] = getValue(cols[k]!, i);
      let key: string;
      if (this.intervals.length === 0) key = encodeValues(row);
      else {
        const norm = row.slice();
        for (const k of this.intervals) if (norm[k] !== null) norm[k] = intervalKey(norm[k] as string);
        key = encodeValues(norm);
      }
      let g = this.map.get(key);
      if (g === undefined) {
        g = this.keys.length;
        this.keys.push(row.slice());
        this.map.set(key, g);
      }
      gids[i] = g;
    }
  }
  keyValue(gid: number, k: number): Value {
    return this.keys[gid]![k]!;
  }
  keyColumn(k: number, gids: Int32Array | null, n: number): Column {
    return keyColumnOf(this, this.types[k]!, k, gids, n);
  }
}
