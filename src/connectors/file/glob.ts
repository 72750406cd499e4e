/**
 * File-name globs for the file source's `pattern` option: `*` matches any run of characters,
 * `?` one character, everything else itself. The whole name must match.
 */

/** The anchored RegExp for a glob such as '*.csv' or 'events-????.jsonl'. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
