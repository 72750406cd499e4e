/**
 * sqllogictest files: records separated by blank lines. Supported: `statement ok|error
 * [regex]`, `query <types> [rowsort|valuesort|nosort] [label]` with a `----` result block,
 * `include <file>`, `halt`, `skipif|onlyif <engine>`, `control sortmode …`, `sleep <dur>`,
 * `hash-threshold` (ignored). Comments start with '#'.
 */
export type SltRecord =
  | { readonly kind: 'statement'; readonly ok: boolean; readonly error: string | null; readonly sql: string; readonly line: number }
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
        const sql = body().join('\n');
        // A statement's expected-error block may follow a ---- line (sqllogictest-rs style).
        let error: string | null = words.slice(2).join(' ') || null;
        if (i < lines.length && lines[i]!.trim() === '----') {
          i++;
          const msg: string[] = [];
          while (i < lines.length && lines[i]!.trim() !== '') msg.push(lines[i++]!);
          error = msg.join('\n');
        }
        if (skipNext) skipNext = false;
        else out.push({ kind: 'statement', ok: words[1] === 'ok', error, sql, line: start });
        continue;
      }
      case 'query': {
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
        throw new Error(`line ${start}: unknown record "${head}"`);
    }
  }
  return out;
}
