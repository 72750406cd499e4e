/**
 * Expanded display (`\x`): one block per row, a line per column, as psql prints it:
 *
 *   -[ RECORD 1 ]-
 *   k     | a
 *   total | 1
 */
import type { Field, Value } from '../../common/types.js';
import { formatValue } from '../../common/values.js';

/** Rows as psql's expanded display, one `-[ RECORD n ]-` block per row. */
export function renderExpanded(columns: readonly Field[], rows: readonly (readonly Value[])[]): string {
  if (rows.length === 0) return '(0 rows)\n';
  const nameWidth = Math.max(...columns.map((c) => c.name.length));
  const texts = rows.map((r) => r.map((v, i) => formatValue(v, columns[i]!.type) ?? ''));
  const valueWidth = Math.max(0, ...texts.flat().map((t) => t.length));
  const out: string[] = [];
  texts.forEach((row, k) => {
    const head = `-[ RECORD ${k + 1} ]`;
    out.push(head + '-'.repeat(Math.max(1, nameWidth + 3 + valueWidth - head.length)));
    row.forEach((t, i) => out.push(`${columns[i]!.name.padEnd(nameWidth)} | ${t}`.replace(/\s+$/, '')));
  });
  return out.join('\n') + '\n';
}
