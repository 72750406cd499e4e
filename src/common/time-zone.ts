/**
 * Time zones as PostgreSQL's TimeZone setting names them: IANA names (case-insensitive), UTC/GMT,
 * and fixed offsets — POSIX forms (`UTC+5`, `<+0530>-05:30`, a bare `+05:30`), whose sign counts
 * hours WEST of Greenwich as POSIX does, and `SET TIME ZONE 5.5` / `INTERVAL '+05:30'`, whose
 * sign counts east (ISO). Offsets of IANA zones come from Node's ICU (Intl); each zone caches the
 * transitions of every span of time it was asked about, so a column of values costs a binary
 * search per value, not an Intl call (one is ~15 µs).
 */
import { SluiceError } from './errors.js';

/** A time zone: the offset (seconds east of UTC) at every instant, and its name as SHOW prints it. */
export interface TimeZone {
  /** The name as SHOW TimeZone prints it (PostgreSQL's spelling: canonical case of an IANA name, a POSIX form as written). */
  readonly name: string;
  /** The IANA name for DuckDB's ICU, or for a fixed offset an ICU custom zone (`GMT+05:30`). */
  readonly icuName: string;
  /** The offset from UTC, in seconds east, at the instant `utcSeconds` (seconds since 1970 UTC). */
  offsetAt(utcSeconds: number): number;
  /** The abbreviation to_char's TZ prints at that instant. */
  abbrevAt(utcSeconds: number): string;
}

/** Seconds per cache bucket: 2^22 s ≈ 48.5 days, so a bucket holds at most a transition or two. */
const BUCKET = 4_194_304;
/** Sampling step inside a bucket (transitions closer than this are not seen: none in tzdata since 1970). */
const STEP = 86_400 * 7;

/** Zones that have kept one offset that is not whole hours (since 1970 or longer): their ICU names. */
const FIXED_ICU: Readonly<Record<number, string>> = {
  [5.5 * 3600]: 'Asia/Kolkata', [6.5 * 3600]: 'Asia/Yangon', [9.5 * 3600]: 'Australia/Darwin', [-9.5 * 3600]: 'Pacific/Marquesas',
};

class FixedZone implements TimeZone {
  constructor(readonly name: string, readonly offset: number, private readonly abbrev: string) {}
  /**
   * ICU (DuckDB) has no custom-offset zones: whole hours are `Etc/GMT∓h` (POSIX sign), the
   * offsets that zones have kept since before 1970 are those zones; others fall back to UTC, so
   * DuckDB's own conversions in one-shot SELECTs are off there (README: limits).
   */
  get icuName(): string {
    if (this.offset === 0) return 'UTC';
    if (this.offset % 3600 === 0 && this.offset >= -12 * 3600 && this.offset <= 14 * 3600) return `Etc/GMT${this.offset > 0 ? '-' : '+'}${Math.abs(this.offset / 3600)}`;
    return FIXED_ICU[this.offset] ?? 'UTC';
  }
  offsetAt(): number {
    return this.offset;
  }
  abbrevAt(): string {
    return this.abbrev;
  }
}

/** A bucket's offsets: the offset at its start, then each transition (second it starts, offset after). */
type Bucket = { readonly first: number; readonly at: readonly number[]; readonly offsets: readonly number[] };

class IanaZone implements TimeZone {
  private readonly format: Intl.DateTimeFormat;
  private readonly buckets = new Map<number, Bucket>();
  private abbrevFormats: Intl.DateTimeFormat[] | null = null;
  private readonly abbrevs = new Map<number, string>();

  constructor(readonly name: string, readonly icuName: string) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone: icuName, timeZoneName: 'longOffset' });
  }

  offsetAt(utcSeconds: number): number {
    const k = Math.floor(utcSeconds / BUCKET);
    let b = this.buckets.get(k);
    if (b === undefined) {
      b = this.scan(k * BUCKET);
      this.buckets.set(k, b);
    }
    let off = b.first;
    for (let i = 0; i < b.at.length && utcSeconds >= b.at[i]!; i++) off = b.offsets[i]!;
    return off;
  }

  abbrevAt(utcSeconds: number): string {
    const off = this.offsetAt(utcSeconds);
    const hit = this.abbrevs.get(off);
    if (hit !== undefined) return hit;
    // Intl's short names in English locales where one spells a letters-only abbreviation
    // (EST, CET, BST); else PostgreSQL's numeric form (+0530, -03).
    this.abbrevFormats ??= ['en-US', 'en-GB'].map((l) => new Intl.DateTimeFormat(l, { timeZone: this.icuName, timeZoneName: 'short' }));
    let name = offsetText(off).replace(':', '');
    for (const f of this.abbrevFormats) {
      const s = f.formatToParts(new Date(utcSeconds * 1000)).find((p) => p.type === 'timeZoneName')?.value ?? '';
      if (/^[A-Z]{2,5}$/.test(s) && s !== 'GMT') {
        name = s;
        break;
      }
      if (s === 'GMT' && off === 0) name = 'GMT';
    }
    this.abbrevs.set(off, name);
    return name;
  }

  /** Samples the bucket starting at `start` and finds each change of offset to the second. */
  private scan(start: number): Bucket {
    const first = this.intlOffset(start);
    const at: number[] = [];
    const offsets: number[] = [];
    let prevT = start;
    let prev = first;
    for (let t = Math.min(start + STEP, start + BUCKET); ; t = Math.min(t + STEP, start + BUCKET)) {
      const o = this.intlOffset(t);
      if (o !== prev) {
        // The offset changed in (prevT, t]: bisect to the first second of the new offset.
        let lo = prevT;
        let hi = t;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.intlOffset(mid) === prev) lo = mid;
          else hi = mid;
        }
        if (hi < start + BUCKET) {
          at.push(hi);
          offsets.push(o);
        }
        prev = o;
      }
      prevT = t;
      if (t >= start + BUCKET) break;
    }
    return { first, at, offsets };
  }

  private intlOffset(utcSeconds: number): number {
    const s = this.format.formatToParts(new Date(utcSeconds * 1000)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /^GMT(?:([+-])(\d{1,2}):(\d\d)(?::(\d\d))?)?$/.exec(s);
    if (!m || m[1] === undefined) return 0;
    const v = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? -v : v;
  }
}

/** An offset (seconds east) as PostgreSQL prints one after a timestamp: `+05`, `-03:30`, `+00:19:32`. */
export function offsetText(offset: number): string {
  const a = Math.abs(offset);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const s = a % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  let t = `${offset < 0 ? '-' : '+'}${p2(h)}`;
  if (m !== 0 || s !== 0) t += `:${p2(m)}`;
  if (s !== 0) t += `:${p2(s)}`;
  return t;
}

export const UTC: TimeZone = new FixedZone('UTC', 0, 'UTC');

const zones = new Map<string, TimeZone>();
let canonical: Map<string, string> | null = null;

/** IANA names by lower-cased spelling (Intl's canonical list and the aliases PostgreSQL users write). */
function canonicalNames(): Map<string, string> {
  if (canonical) return canonical;
  canonical = new Map();
  for (const n of [...Intl.supportedValuesOf('timeZone'), 'UTC', 'GMT', 'Etc/UTC', 'Etc/GMT', 'Zulu', 'Universal', 'Greenwich', 'US/Eastern', 'US/Central', 'US/Mountain', 'US/Pacific', 'Asia/Calcutta']) canonical.set(n.toLowerCase(), n);
  return canonical;
}

/**
 * The zone a TimeZone setting or a zone in a timestamp's text names, or null when it names none.
 * A plain number is hours east for SET (`numbersEast`), a POSIX offset (west) elsewhere (AT TIME
 * ZONE '5' is UTC-5 in PostgreSQL). Resolved zones are shared (their caches with them).
 */
export function findTimeZone(text: string, numbersEast = false): TimeZone | null {
  const raw = text.trim();
  const key = numbersEast ? raw : `@${raw}`;
  const hit = zones.get(key);
  if (hit) return hit;
  const z = resolve(raw, numbersEast);
  if (z) zones.set(key, z);
  return z;
}

/** The zone of a TimeZone setting; 22023 as PostgreSQL for a name it does not know. */
export function timeZoneOf(text: string): TimeZone {
  const z = findTimeZone(text, true);
  if (!z) throw new SluiceError('invalid_parameter', `invalid value for parameter "TimeZone": "${text}"`, { hint: "Use an IANA name ('America/New_York'), UTC, or an offset ('UTC+5', which is 5 hours west, as POSIX counts)." });
  return z;
}

/** A fixed zone `hours` east of UTC, as SET TIME ZONE <number> or an interval makes it (PostgreSQL names it `<+05:30>-05:30`). */
export function fixedZoneEast(offsetSeconds: number): TimeZone {
  const name = offsetText(offsetSeconds);
  return new FixedZone(`<${name}>${offsetText(-offsetSeconds)}`, offsetSeconds, name);
}

function resolve(raw: string, numbersEast: boolean): TimeZone | null {
  const lower = raw.toLowerCase();
  if (lower === 'utc' || lower === 'z' || lower === 'zulu') return lower === 'utc' ? UTC : new FixedZone(raw, 0, 'UTC');
  if (lower === 'gmt') return new FixedZone('GMT', 0, 'GMT');
  // A plain number is hours east of Greenwich (PostgreSQL tries it as a number first).
  if (numbersEast && /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(raw)) {
    const hours = Number(raw);
    return Math.abs(hours) <= 15 ? fixedZoneEast(Math.round(hours * 3600)) : null;
  }
  const posix = posixOffset(raw);
  if (posix) return posix;
  const name = canonicalNames().get(lower);
  if (name !== undefined) return new IanaZone(name, name);
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(raw)) return null;
  try {
    const icu = new Intl.DateTimeFormat('en-US', { timeZone: raw }).resolvedOptions().timeZone;
    return new IanaZone(raw, icu);
  } catch {
    return null;
  }
}

/**
 * A POSIX zone without daylight rules: an optional standard name (letters, or anything in
 * `<…>`) and an offset `[+-]hh[:mm[:ss]]` counted west of Greenwich.
 */
function posixOffset(raw: string): TimeZone | null {
  const m = /^(?:([A-Za-z]{3,})|<([^<>]+)>)?([+-]?)(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?$/.exec(raw);
  if (!m) return null;
  const h = Number(m[4]);
  const min = Number(m[5] ?? 0);
  const s = Number(m[6] ?? 0);
  if (h > 24 || min > 59 || s > 59) return null;
  const west = h * 3600 + min * 60 + s;
  const east = m[3] === '-' ? west : -west;
  const abbrev = m[1] ?? m[2] ?? offsetText(east);
  return new FixedZone(raw, east, abbrev);
}

/** The offset (seconds east) of a zone that has one offset at every instant, else null. */
export function fixedOffset(zone: TimeZone): number | null {
  return zone instanceof FixedZone ? zone.offset : null;
}

/**
 * The UTC instant (µs) of the local wall-clock time `localMicros` (µs since 1970 on the zone's
 * clock), by PostgreSQL's rules: a time in a gap (spring forward) takes the offset before the
 * transition, an ambiguous one (fall back) the offset after it — both the smaller offset.
 */
export function localToUtc(zone: TimeZone, localMicros: bigint): bigint {
  if (zone instanceof FixedZone) return localMicros - BigInt(zone.offset) * 1_000_000n;
  const localSec = Number(localMicros / 1_000_000n) - (localMicros % 1_000_000n < 0n ? 1 : 0);
  const before = zone.offsetAt(localSec - 86_400);
  const after = zone.offsetAt(localSec + 86_400);
  const at = zone.offsetAt(localSec);
  let best: number | null = null;
  for (const o of [before, at, after]) {
    if (zone.offsetAt(localSec - o) === o && (best === null || o < best)) best = o;
  }
  if (best === null) best = Math.min(before, after);
  return localMicros - BigInt(best) * 1_000_000n;
}

/** The zone's wall-clock time (µs since 1970 on its clock) at the UTC instant `utcMicros`. */
export function utcToLocal(zone: TimeZone, utcMicros: bigint): bigint {
  return utcMicros + BigInt(zone.offsetAt(floorSeconds(utcMicros))) * 1_000_000n;
}

/** Whole seconds of a µs instant, rounded down. */
export function floorSeconds(micros: bigint): number {
  return Number(micros / 1_000_000n) - (micros % 1_000_000n < 0n ? 1 : 0);
}
