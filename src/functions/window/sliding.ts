/**
 * What TUMBLE and HOP share: both are fixed windows `size` long starting every `slide` (shifted
 * by `offset`), so rows are tagged by WindowOp and aggregated by WindowAggOp over panes.
 */
import { SluiceError } from '../../common/errors.js';
import { formatDuration } from '../../common/interval.js';
import { WindowAggOp } from '../../exec/window-agg.js';
import { WindowOp } from '../../exec/window-tag.js';
import type { WindowSpec } from '../../planner/logical.js';
import type { WindowAggregation, WindowParams, WindowTagging } from './window-kind.js';

/** The parameters of a fixed window; refuses a zero size or slide. */
export function fixedWindow(size: bigint, slide: bigint, offset: bigint, pos: number | undefined): WindowParams {
  if (size === 0n || slide === 0n) throw new SluiceError('invalid_parameter', 'window size and slide must be positive', { position: pos });
  return { size, slide, offset, gap: 0n };
}

/** `, offset=…` when the window has an offset. */
export function showOffset(w: WindowSpec): string {
  return w.offset ? `, offset=${formatDuration(w.offset)}` : '';
}

/** Rows tagged with every window containing them; `note` is EXPLAIN's remark. */
export function slidingTagging(note: (w: WindowSpec) => string): WindowTagging {
  return { kind: 'tag', note, operator: (id, plan) => new WindowOp(id, plan) };
}

/** An aggregate over panes `pane` wide; `panesNote` is EXPLAIN's remark on a window's panes. */
export function paneAggregation(pane: (w: WindowSpec) => bigint, panesNote: (w: WindowSpec, pane: bigint) => string): WindowAggregation {
  return {
    pane,
    state: (w, p) => `panes of ${formatDuration(p)}${panesNote(w, p)}`,
    cleanup: 'drop a pane once the watermark passes the end of the last window containing it',
    operator: (id, plan) => new WindowAggOp(id, plan),
  };
}
