/**
 * The printed form of a statement's result: an aligned table (or `\x` records) with a blank
 * line after it, or the notice and command tag, as psql prints them.
 */
import { renderRows } from '../format.js';
import type { ReplResult } from './backend.js';
import { renderExpanded } from './expanded.js';

/** Text of one result; `expanded` selects `\x` records over an aligned table. */
export function formatResult(r: ReplResult, expanded: boolean): string {
  if (r.kind === 'rows') return (expanded ? renderExpanded(r.columns, r.rows) : renderRows(r.columns, r.rows, 'table')) + '\n';
  return (r.warning ? `WARNING:  ${r.warning}\n` : '') + (r.notice ? `NOTICE:  ${r.notice}\n` : '') + `${r.tag}\n`;
}
