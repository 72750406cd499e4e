/**
 * SESSION(relation, time_column, gap): per key, rows closer than `gap` form one session, which
 * ends `gap` after its last row; a session is known only once grouped, so it needs an aggregate.
 */
import { SluiceError } from '../../common/errors.js';
import { formatDuration } from '../../common/interval.js';
import { SessionAggOp } from '../../exec/session-agg.js';
import type { WindowKindDefinition } from './window-kind.js';

export const session: WindowKindDefinition = {
  usage: 'SESSION(relation, time_column, gap)',
  durations: [1, 1],
  params: ([gap], pos) => {
    if (gap === 0n) throw new SluiceError('invalid_parameter', 'the session gap must be positive', { position: pos });
    return { size: 0n, slide: 0n, offset: 0n, gap: gap! };
  },
  show: (w, time) => `SESSION(${time}, gap=${formatDuration(w.gap)})`,
  tagging: {
    kind: 'refuse',
    message: 'SESSION windows need an aggregate grouped by window_start or window_end',
    hint: 'Write SELECT key, window_start, window_end, count(*) FROM SESSION(src, ts, INTERVAL …) GROUP BY key, window_start, window_end.',
  },
  aggregation: {
    pane: () => 0n,
    state: () => 'per-key rows of open sessions',
    cleanup: 'drop a session once the watermark passes its end (last row + gap)',
    operator: (id, plan) => new SessionAggOp(id, plan),
  },
};
