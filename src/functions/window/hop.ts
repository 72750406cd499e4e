/**
 * HOP(relation, time_column, slide, size [, offset]): windows `size` long starting every
 * `slide`, so a row is in size/slide of them; aggregated over panes gcd(slide, size) wide.
 */
import { formatDuration } from '../../common/interval.js';
import { fixedWindow, paneAggregation, showOffset, slidingTagging } from './sliding.js';
import type { WindowKindDefinition } from './window-kind.js';

export const hop: WindowKindDefinition = {
  usage: 'HOP(relation, time_column, slide, size [, offset])',
  durations: [2, 3],
  params: ([slide, size, offset], pos) => fixedWindow(size!, slide!, offset ?? 0n, pos),
  show: (w, time) => `HOP(${time}, slide=${formatDuration(w.slide)}, size=${formatDuration(w.size)}${showOffset(w)})`,
  tagging: slidingTagging((w) => ` (each row copied into size/slide = ${w.size / w.slide} windows)`),
  aggregation: paneAggregation(
    (w) => gcd(w.slide, w.size),
    (w, pane) => ` (${w.size / pane} panes per window; invertible aggregates slide by adding the entering pane and subtracting the leaving one)`,
  ),
};

/** The greatest common divisor of two positive durations. */
export function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
