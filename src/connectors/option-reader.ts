/**
 * Reading a connector's WITH options: checks option names against the connector's list and
 * reads typed values. Every problem is a SluiceError 'invalid_parameter' that names the option
 * and says what is expected, so CREATE SOURCE/SINK fails at once instead of at the first poll.
 */
import { SluiceError } from '../common/errors.js';
import type { Options } from '../parser/ast.js';
import { parseDuration } from '../common/interval.js';

/** Options the engine itself reads from every WITH list; every connector accepts them. */
export const ENGINE_OPTIONS: readonly string[] = ['connector'];

/** A family of option names such as `fields.<column>.kind`. */
export interface OptionPattern {
  /** How the family is shown in the list of valid options, e.g. `fields.<column>.kind`. */
  readonly display: string;
  readonly test: (key: string) => boolean;
}

/** The WITH options of one connector instance, with typed getters that validate as they read. */
export class OptionReader {
  /** How errors name the connector, e.g. `connector 'datagen'`. */
  readonly subject: string;
  readonly options: Options;

  constructor(connector: string, options: Options) {
    this.subject = `connector '${connector}'`;
    this.options = options;
  }

  /** Throws for the first option that is neither in `known`, an engine option, nor matches a pattern. */
  checkNames(known: readonly string[], patterns: readonly OptionPattern[] = []): void {
    for (const key of Object.keys(this.options)) {
      if (ENGINE_OPTIONS.includes(key) || known.includes(key)) continue;
      if (patterns.some((p) => p.test(key))) continue;
      const valid = [...ENGINE_OPTIONS, ...known, ...patterns.map((p) => p.display)].join(', ');
      throw new SluiceError('invalid_parameter', `unknown option "${key}" for ${this.subject}; valid options are: ${valid}`);
    }
  }

  has(key: string): boolean {
    return Object.hasOwn(this.options, key);
  }

  string(key: string): string | undefined {
    return this.has(key) ? this.options[key] : undefined;
  }

  /** A required option; `what` describes it for the error (e.g. 'the directory to read'). */
  required(key: string, what: string): string {
    const v = this.string(key);
    if (v === undefined || v.trim() === '') {
      throw new SluiceError('invalid_parameter', `${this.subject} needs option "${key}" (${what}); add ${key} = '…' to the WITH list`);
    }
    return v;
  }

  /** The error for a value that does not fit: names the option, what it expects, what it got. */
  bad(key: string, expected: string, detail?: string): SluiceError {
    const got = this.options[key] ?? '';
    return new SluiceError('invalid_parameter', `option "${key}" of ${this.subject} must be ${expected}, got '${got}'${detail ? ` (${detail})` : ''}`);
  }

  integer(key: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const t = v.trim().replace(/_/g, '');
    const n = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw this.bad(key, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer between ${min} and ${max}`);
    }
    return n;
  }

  bigint(key: string): bigint | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const t = v.trim().replace(/_/g, '');
    if (!/^[+-]?\d+$/.test(t)) throw this.bad(key, 'an integer');
    return BigInt(t);
  }

  /** A finite number greater than `exclusiveMin`. */
  positiveNumber(key: string, exclusiveMin = 0): number | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const t = v.trim().replace(/_/g, '');
    const n = t === '' ? NaN : Number(t);
    if (!Number.isFinite(n) || n <= exclusiveMin) throw this.bad(key, `a number greater than ${exclusiveMin}`);
    return n;
  }

  boolean(key: string): boolean | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const t = v.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
    throw this.bad(key, "'true' or 'false'");
  }

  /** One of `values`, compared case-insensitively; returns the canonical (listed) spelling. */
  choice<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const t = v.trim().toLowerCase();
    const hit = values.find((x) => x.toLowerCase() === t);
    if (hit === undefined) throw this.bad(key, `one of '${values.join("', '")}'`);
    return hit;
  }

  /** A duration such as '5 seconds' or '500ms', in microseconds (must be positive). */
  duration(key: string): bigint | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    let micros: bigint;
    try {
      micros = parseDuration(v, key);
    } catch {
      throw this.bad(key, "a duration such as '5 seconds' or '500 milliseconds'");
    }
    if (micros <= 0n) throw this.bad(key, 'a positive duration');
    return micros;
  }
}
