/**
 * SET and SHOW of runtime parameters: the engine's own (batch_interval, rw_implicit_flush,
 * watermark_idle_timeout, enable_window_panes, statement_timeout), any other name a client SETs, and read-only
 * parameters a front end installs (the pg-wire server's client parameters).
 */
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { intervalSpan, parseDuration, parseIntervalParts } from '../../common/interval.js';
import type { RuntimeSettings, StatementResult } from './state.js';
import { COST_CAP_TARGET } from './rate-controller.js';
import { fixedZoneEast, timeZoneOf, UTC, type TimeZone } from '../../common/time-zone.js';

/** A client session's TimeZone (PostgreSQL's: SET TIME ZONE changes it for that session only). */
export interface SessionZone {
  zone: TimeZone;
}

/** Whether a SET/SHOW name is the TimeZone setting. */
export function isTimeZoneSetting(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'timezone' || n === 'time zone' || n === 'time_zone';
}

/**
 * The zone a SET TimeZone value names: DEFAULT (LOCAL, RESET) is the server's, UTC; `INTERVAL '…'`
 * a fixed zone that far east; anything else as timeZoneOf reads it (22023 if unknown).
 */
export function timeZoneSetting(value: string): TimeZone {
  if (/^default$/i.test(value.trim())) return UTC;
  const iv = /^interval\s+'(.*)'$/is.exec(value.trim());
  if (iv) return fixedZoneEast(Number(intervalSpan(parseIntervalParts(iv[1]!.replace(/''/g, "'"))) / 1_000_000n));
  return timeZoneOf(value);
}

/** DuckDB settings that would reopen file, network or extension access: no client may SET them. */
const LOCKED_SETTINGS = new Set([
  'enable_external_access', 'allowed_directories', 'allowed_paths', 'lock_configuration', 'allowed_configs',
  'autoinstall_known_extensions', 'autoload_known_extensions', 'allow_community_extensions', 'allow_unsigned_extensions',
  'allow_extensions_metadata_mismatch', 'extension_directory', 'extension_directories', 'custom_extension_repository',
  'autoinstall_extension_repository', 'allow_persistent_secrets', 'secret_directory', 'temp_directory', 'allow_unredacted_secrets',
]);

/** Limits the pg-wire server answers SHOW for, fixed when it starts. */
const SERVER_LIMITS = new Set(['max_connections', 'max_message_size', 'max_inflight_size', 'authentication_timeout']);

/**
 * checkpoint_full_interval's default: a view's state is written whole at most this many
 * checkpoints apart (deltas in between), so recovery reads one full file and at most this many
 * deltas; a chain whose deltas outweigh its full file starts over sooner.
 */
export const DEFAULT_FULL_EVERY = 8;

const MIN_INTERVAL = 50;
const MAX_INTERVAL = 3_600_000;

/** The settings of a new engine, with its batch interval checked. */
export function initialSettings(batchIntervalMs: number, statementTimeoutMs = 0, parallelism = 1): RuntimeSettings {
  return {
    parallelism: checkParallelism(String(parallelism)),
    batchIntervalMs: checkInterval(batchIntervalMs), implicitFlush: false, idleTimeoutMs: 10_000, windowPanes: true,
    statementTimeoutMs, checkpointEvery: { auto: true }, checkpointFullEvery: DEFAULT_FULL_EVERY, backpressure: true, backpressureInitialRate: 100_000, backpressureTarget: COST_CAP_TARGET, custom: new Map(), parameters: null,
  };
}

/** SHOW name: the engine's settings first, then SET values, then the installed read-only parameters. */
export function showVariable(settings: RuntimeSettings, name: string): StatementResult {
  const n = name.toLowerCase();
  let value: string | undefined;
  if (n === 'batch_interval') value = formatMs(settings.batchIntervalMs);
  else if (n === 'rw_implicit_flush') value = settings.implicitFlush ? 'true' : 'false';
  else if (n === 'watermark_idle_timeout') value = formatMs(settings.idleTimeoutMs);
  else if (n === 'enable_window_panes') value = settings.windowPanes ? 'true' : 'false';
  else if (n === 'statement_timeout') value = settings.statementTimeoutMs === 0 ? '0' : formatMs(settings.statementTimeoutMs);
  else if (n === 'backpressure') value = settings.backpressure ? 'on' : 'off';
  else if (n === 'backpressure_initial_rate') value = String(settings.backpressureInitialRate);
  else if (n === 'backpressure_target') value = String(settings.backpressureTarget);
  else if (n === 'checkpoint_interval') {
    const every = settings.checkpointEvery;
    value = 'auto' in every ? 'auto' : 'epochs' in every ? `${every.epochs} epochs` : formatMs(every.ms);
  } else if (n === 'checkpoint_full_interval') value = String(settings.checkpointFullEvery);
  else if (n === 'parallelism') value = String(settings.parallelism);
  else value = settings.custom.get(n) ?? settings.parameters?.(n);
  if (value === undefined) {
    throw new SluiceError('invalid_parameter', `unrecognized configuration parameter "${name}"`, { hint: 'Known: batch_interval, rw_implicit_flush, and any parameter set with SET.' });
  }
  const rows: Value[][] = [[value]];
  return { kind: 'rows', tag: 'SHOW', columns: [{ name: n, type: 'varchar' }], rows };
}

/**
 * SET name = value. Refuses the locked DuckDB settings; `onBatchInterval` runs after the batch
 * interval changed (so the epoch timer can be restarted).
 */
export function setVariable(settings: RuntimeSettings, name: string, value: string, onBatchInterval: () => void): StatementResult {
  const n = name.toLowerCase();
  if (LOCKED_SETTINGS.has(n)) {
    throw new SluiceError('insufficient_privilege', `permission denied to set parameter "${n}"`, {
      hint: 'The embedded DuckDB runs locked down (no external access, no extensions); server options decide what it may read.',
    });
  }
  if (SERVER_LIMITS.has(n)) {
    throw new SluiceError('read_only_parameter', `parameter "${n}" cannot be changed without restarting the server`, {
      hint: 'Start the server with another value (sluice serve --max-connections N; the other limits are startPgServer options).',
    });
  }
  if (n === 'batch_interval') {
    settings.batchIntervalMs = checkInterval(intervalMs(value));
    onBatchInterval();
  } else if (n === 'rw_implicit_flush') {
    settings.implicitFlush = ['true', 'on', '1', 't'].includes(value.toLowerCase());
  } else if (n === 'enable_window_panes') {
    settings.windowPanes = !['false', 'off', '0', 'f'].includes(value.toLowerCase());
  } else if (n === 'watermark_idle_timeout') {
    settings.idleTimeoutMs = intervalMs(value);
  } else if (n === 'statement_timeout') {
    // PostgreSQL: a bare number is milliseconds, 0 turns the limit off.
    const ms = value === '0' ? 0 : intervalMs(value);
    if (!Number.isFinite(ms) || ms < 0) throw new SluiceError('invalid_parameter', `statement_timeout must be 0 or a duration, not "${value}"`, { hint: "Write it like '5s' or '500ms'; 0 turns it off." });
    settings.statementTimeoutMs = ms;
  } else if (n === 'checkpoint_interval') {
    settings.checkpointEvery = checkpointInterval(value);
  } else if (n === 'checkpoint_full_interval') {
    const v = Number(value.trim());
    if (!Number.isInteger(v) || v < 1) {
      throw new SluiceError('invalid_parameter', `checkpoint_full_interval must be a whole number of checkpoints (at least 1), not "${value}"`, {
        hint: "1 writes every view's state whole at each checkpoint; N writes it whole every N checkpoints and only the changed keys in between (default 8).",
      });
    }
    settings.checkpointFullEvery = v;
  } else if (n === 'parallelism') {
    settings.parallelism = checkParallelism(value);
  } else if (n === 'backpressure') {
    settings.backpressure = onOff(n, value);
  } else if (n === 'backpressure_initial_rate') {
    const r = Number(value.trim().replace(/_/g, ''));
    if (!Number.isFinite(r) || r < 0) throw new SluiceError('invalid_parameter', `backpressure_initial_rate must be a number of rows per second (0: none), not "${value}"`);
    settings.backpressureInitialRate = r;
  } else if (n === 'backpressure_target') {
    const r = Number(value.trim());
    if (!Number.isFinite(r) || r < 0 || r > 1) throw new SluiceError('invalid_parameter', `backpressure_target must be a share of the batch interval between 0 and 1 (0: no cost cap), not "${value}"`);
    settings.backpressureTarget = r;
  } else settings.custom.set(n, value);
  return { kind: 'command', tag: 'SET' };
}

/** A boolean setting: on/off, true/false, 1/0 (PostgreSQL's spellings). */
function onOff(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['on', 'true', '1', 't', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'f', 'no'].includes(v)) return false;
  throw new SluiceError('invalid_parameter', `parameter "${name}" requires a Boolean value, not "${value}"`, { hint: "Write 'on' or 'off'." });
}

/** checkpoint_interval: 'auto', 'N epochs' (a bare number too) or a duration. */
function checkpointInterval(value: string): { epochs: number } | { ms: number } | { auto: true } {
  if (/^\s*auto\s*$/i.test(value)) return { auto: true };
  const m = /^\s*(\d+)\s*(epochs?)?\s*$/i.exec(value);
  if (m) {
    const epochs = Number(m[1]);
    if (epochs >= 1) return { epochs };
  } else {
    let ms = NaN;
    try {
      ms = intervalMs(value);
    } catch {
      // reported below
    }
    if (ms > 0) return { ms };
  }
  throw new SluiceError('invalid_parameter', `checkpoint_interval must be 'auto', a number of epochs (at least 1) or a duration, not "${value}"`, {
    hint: "Write it like 'auto' (the default), '1 epoch', '10 epochs' or '30s'. Between checkpoints epochs still commit; recovery replays them from the offsets log.",
  });
}

/** An interval setting in ms: a bare number is milliseconds. */
function intervalMs(value: string): number {
  return Number(parseDuration(/^\d+$/.test(value) ? `${value} ms` : value, 'a setting') / 1000n);
}

function checkInterval(ms: number): number {
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL || ms > MAX_INTERVAL) {
    throw new SluiceError('invalid_parameter', `batch_interval must be between ${MIN_INTERVAL} ms and 1 hour, not ${ms} ms`, { hint: "Write it like '500ms', '2 seconds' or '1 minute'." });
  }
  return ms;
}

function formatMs(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The TimeZone a view's expressions run in: the session's when it was created (UTC for models and views older than TIMESTAMPTZ). */
export function viewZone(entry: { readonly kind: string; readonly timeZone?: string }): TimeZone {
  return entry.kind === 'view' && entry.timeZone !== undefined ? timeZoneOf(entry.timeZone) : UTC;
}

/** Most instances of an operator a view may ask for. */
export const MAX_PARALLELISM = 64;

/** A parallelism setting or view option: a whole number from 1 to MAX_PARALLELISM. */
export function checkParallelism(value: string): number {
  const v = Number(value.trim());
  if (!Number.isInteger(v) || v < 1 || v > MAX_PARALLELISM) {
    throw new SluiceError('invalid_parameter', `parallelism must be a whole number from 1 to ${MAX_PARALLELISM}, not "${value}"`, {
      hint: 'It is how many instances run each keyed operator (aggregates, joins, partitioned top-N and window functions) of views created from now on.',
    });
  }
  return v;
}
