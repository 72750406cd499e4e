/** TUMBLE(relation, time_column, size [, offset]): back-to-back windows `size` long; a row is in one. */
import { formatDuration } from '../../common/interval.js';
import { fixedWindow, paneAggregation, showOffset, slidingTagging } from './sliding.js';
import type { WindowKindDefinition } from './window-kind.js';

export const tumble: WindowKindDefinition = {
  usage: 'TUMBLE(relation, time_column, size [, offset])',
  durations: [1, 2],
  params: ([size, offset], pos) => fixedWindow(size!, size!, offset ?? 0n, pos),
  show: (w, time) => `TUMBLE(${time}, size=${formatDuration(w.size)}${showOffset(w)})`,
  tagging: slidingTagging(() => ''),
  aggregation: paneAggregation((w) => w.size, () => ''),
};
