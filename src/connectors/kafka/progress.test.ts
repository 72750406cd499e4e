import { describe, expect, it } from 'vitest';
import { progressEpoch, progressRecord } from './progress.js';

const message = (key: string | null, value: string | null) => ({ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value) });

describe('kafka sink progress records', () => {
  it('records an epoch under the transactional id, in partition 0', () => {
    expect(progressRecord('sluice-sink-out-t', 'out', 42)).toEqual({ key: 'sluice-sink-out-t', value: '{"sink":"out","epoch":42}', partition: 0 });
  });

  it('reads back only its own key\'s epochs, ignoring what is not a progress record', () => {
    const r = progressRecord('a', 'out', 7);
    expect(progressEpoch(message(r.key, r.value), 'a')).toBe(7);
    expect(progressEpoch(message(r.key, r.value), 'b')).toBeUndefined();
    expect(progressEpoch(message('a', null), 'a')).toBeUndefined();
    expect(progressEpoch(message('a', 'not json'), 'a')).toBeUndefined();
    expect(progressEpoch(message('a', '{"epoch":"7"}'), 'a')).toBeUndefined();
    expect(progressEpoch(message(null, '{"epoch":7}'), 'a')).toBeUndefined();
  });
});
