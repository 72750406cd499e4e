/** Renders a result as an aligned table (psql style), CSV or JSON lines. */
import type { Field, Value } from '../common/types.js';
import { formatValue } from '../common/values.js';

export type OutputFormat = 'table' | 'csv' | 'json';

export function renderRows(columns: readonly Field[], rows: readonly (readonly Value[])[], format: OutputFormat): string {
  const text = rows.map((r) => r.map((v, i) => formatValue(v, columns[i]!.type)));
  switch (format) {
    case 'csv': {
      const q = (s: string | null) => (s === null ? '' : /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
      return [columns.map((c) => q(c.name)).join(','), ...text.map((r) => r.map(q).join(','))].join('\n') + '\n';
    }
    case 'json':
      return rows.map((r, k) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, jsonValue(r[i]!, text[k]![i]!, c.type)])))).join('\n') + (rows.length ? '\n' : '');
    case 'table': {
      const widths = columns.map((c, i) => Math.max(c.name.length, ...text.map((r) => (r[i] ?? '').length)));
      const numeric = columns.map((c) => ['int', 'bigint', 'double', 'numeric'].includes(c.type));
      const head = columns.map((c, i) => ` ${center(c.name, widths[i]!)} `).join('|');
      const sep = widths.map((w) => '-'.repeat(w + 2)).join('+');
      const body = text.map((r) => r.map((s, i) => ` ${numeric[i] ? (s ?? '').padStart(widths[i]!) : (s ?? '').padEnd(widths[i]!)} `).join('|').replace(/\s+$/, ''));
      return [head.replace(/\s+$/, ''), sep, ...body, `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
    }
  }
}

function center(s: string, w: number): string {
  const left = Math.floor((w - s.length) / 2);
  return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
}

/** Numbers and booleans stay JSON scalars; 64-bit integers too when exact; the rest as text. */
function jsonValue(v: Value, text: string | null, type: Field['type']): unknown {
  if (v === null) return null;
  if (typeof v === 'number' || typeof v === 'boolean') return type === 'date' ? text : v;
  if (typeof v === 'bigint' && type === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return text;
}
