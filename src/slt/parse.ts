/**
 * sqllogictest files: records separated by blank lines. Supported: `statement ok|error
 * [regex]|count N`, `query <types> [rowsort|valuesort|nosort] [label]` with a `----` result
 * block, `query error [regex]`, `include <file>`, `halt`, `skipif|onlyif <engine>`, `control
 * sortmode …`, `sleep <dur>`, `hash-threshold` (ignored). Comments start with '#'.
 *
 * An expected error may also be a block under `----` (sqllogictest-rs): it runs to two
 * consecutive blank lines, since the message may hold one. Its text is another engine's
 * rendering of its own error (RisingWave's "db error: … Caused by: …"), so it is kept as
 * `errorText` and not compared: the record passes when the statement fails.
 *
 * A record this parser does not know (sqllogictest-rs' `let`, `system`, `connection`) is an
 * SltParseError naming its line: the file fails there, and the other files still run.
 */
export class SltParseError extends Error {}

export type SltRecord =
  | {
      readonly kind: 'statement';
      readonly ok: boolean;
      /** A regex the error message must match (inline after `error`). */
      readonly error: string | null;
      /** An expected error written as a block under `----`: not compared (see above). */
      readonly errorText?: string;
      /** `statement count N`: the rows the statement must report. */
      readonly count?: number;
      readonly sql: string;
      readonly line: number;
    }
  | {
      readonly kind: 'query';
      readonly types: string;
      readonly sort: 'rowsort' | 'valuesort' | 'nosort';
      readonly sql: string;
      readonly expected: readonly string[];
      readonly line: number;
    }
  | { readonly kind: 'include'; readonly path: string; readonly line: number }
  | { readonly kind: 'sleep'; readonly ms: number; readonly line: number }
  | { readonly kind: 'halt'; readonly line: number };

/** The engine name this runner answers to in skipif/onlyif. */
export const ENGINE_NAMES = ['sluice', 'postgresql', 'risingwave'];

export function parseSlt(text: string): SltRecord[] {
  const lines = text.split(/\r?\n/);
  const out: SltRecord[] = [];
  let i = 0;
  let defaultSort: 'rowsort' | 'valuesort' | 'nosort' = 'nosort';
  let skipNext = false;
  while (i < lines.length) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    const start = i + 1;
    const words = line.split(/\s+/);
    const head = words[0]!;
    i++;
    const body = (): string[] => {
      const b: string[] = [];
      while (i < lines.length && lines[i]!.trim() !== '' && lines[i]!.trim() !== '----') b.push(lines[i++]!);
      return b;
    };
    /** An error block under `----`: up to two consecutive blank lines (or a blank line at the end). */
    const errorBlock = (): string => {
      const msg: string[] = [];
      while (i < lines.length) {
        const l = lines[i++]!;
        if (l.trim() === '' && (i >= lines.length || lines[i]!.trim() === '')) {
          i++;
          break;
        }
        msg.push(l);
      }
      return msg.join('\n').trim();
    };
    switch (head) {
      case 'skipif':
        if (ENGINE_NAMES.includes(words[1] ?? '')) skipNext = true;
        continue;
      case 'onlyif':
        if (!ENGINE_NAMES.includes(words[1] ?? '')) skipNext = true;
        continue;
      case 'control':
        if (words[1] === 'sortmode') defaultSort = (words[2] as typeof defaultSort) ?? 'nosort';
        continue;
      case 'hash-threshold':
        continue;
      case 'halt':
        out.push({ kind: 'halt', line: start });
        return out;
      case 'include':
        out.push({ kind: 'include', path: words.slice(1).join(' '), line: start });
        continue;
      case 'sleep': {
        const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(words[1] ?? '');
        out.push({ kind: 'sleep', ms: m ? Number(m[1]) * (m[2] === 'ms' ? 1 : 1000) : 0, line: start });
        continue;
      }
      case 'statement': {
        const mode = words[1] ?? '';
        if (mode !== 'ok' && mode !== 'error' && mode !== 'count') throw new SltParseError(`line ${start}: unknown statement expectation "${mode}"`);
        const count = mode === 'count' ? Number(words[2]) : undefined;
        if (count !== undefined && !Number.isInteger(count)) throw new SltParseError(`line ${start}: statement count needs a whole number`);
        const sql = body().join('\n');
        const error: string | null = mode === 'error' ? words.slice(2).join(' ') || null : null;
        let errorText: string | undefined;
        if (i < lines.length && lines[i]!.trim() === '----') {
          i++;
          errorText = errorBlock();
        }
        if (skipNext) skipNext = false;
        else out.push({ kind: 'statement', ok: mode !== 'error', error, ...(errorText !== undefined ? { errorText } : {}), ...(count !== undefined ? { count } : {}), sql, line: start });
        continue;
      }
      case 'query': {
        if (words[1] === 'error') {
          // An expected error: run as a statement that must fail.
          const sql = body().join('\n');
          let errorText: string | undefined;
          if (i < lines.length && lines[i]!.trim() === '----') {
            i++;
            errorText = errorBlock();
          }
          if (skipNext) skipNext = false;
          else out.push({ kind: 'statement', ok: false, error: words.slice(2).join(' ') || null, ...(errorText !== undefined ? { errorText } : {}), sql, line: start });
          continue;
        }
        const types = words[1] ?? '';
        const sortWord = words.slice(2).find((w) => w === 'rowsort' || w === 'valuesort' || w === 'nosort');
        const sql = body().join('\n');
        const expected: string[] = [];
        if (i < lines.length && lines[i]!.trim() === '----') {
          i++;
          while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
        }
        if (skipNext) skipNext = false;
        else out.push({ kind: 'query', types, sort: (sortWord as 'rowsort' | 'valuesort' | 'nosort' | undefined) ?? defaultSort, sql, expected, line: start });
        continue;
      }
      default:
        throw new SltParseError(`line ${start}: unknown record "${head}"`);
    }
  }
  return out;
}
