/**
 * A cluster view's copy on one member (cluster mode, src/cluster/cluster.ts) is filled by the
 * epoch runner from its replica's changes. Cluster mode needs a Kafka broker (test/kafka/
 * cluster.test.ts); here a stand-in replica handle on an ordinary keyed view checks the runner's
 * side: changes count as applied (for checkpoints) only once in the store, and a change the copy
 * cannot apply empties the copy and asks the replica to read the changes topic again from its
 * start.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/exec/runtime/engine.js';
import type { Batch } from '../src/common/column.js';

describe('a cluster view copy in the epoch runner', () => {
  it('marks changes applied after the store took them, and rebuilds a copy out of step', async () => {
    const logs: string[] = [];
    const engine = await createEngine({ autoStart: false, log: (m) => logs.push(m) });
    try {
      await engine.execute('CREATE TABLE t (k INT PRIMARY KEY, n BIGINT)');
      await engine.execute('CREATE MATERIALIZED VIEW v AS SELECT k, sum(n) AS s FROM t GROUP BY k');
      const views = (engine as unknown as { state: { views: Map<string, { cluster?: unknown }> } }).state.views;
      const calls: string[] = [];
      let next: Batch[] = [];
      const row = (k: number, s: string, w: number): Batch => ({
        columns: [
          { type: 'int', length: 1, values: Int32Array.of(k), validity: null },
          { type: 'numeric', length: 1, values: new TextEncoder().encode(s), offsets: Int32Array.of(0, s.length), validity: null },
        ],
        length: 1,
        weights: Int32Array.of(w),
      });
      views.get('v')!.cluster = {
        take: () => {
          calls.push('take');
          const out = next;
          next = [];
          return out;
        },
        applied: () => calls.push('applied'),
        restart: () => calls.push('restart'),
        position: () => ({ incarnation: 1, offsets: {} }),
      };
      next = [row(1, '10', 1)];
      await engine.execute('FLUSH');
      expect(await engine.viewRows('v')).toEqual([[1, '10']]);
      expect(calls).toEqual(['take', 'applied']);
      // A change the copy cannot apply (here a row missing a column): not marked applied, and
      // the copy starts over.
      calls.length = 0;
      const broken = row(2, '5', 1);
      next = [{ ...broken, columns: broken.columns.slice(0, 1) }];
      await engine.execute('FLUSH');
      expect(calls).toEqual(['take', 'restart']);
      expect(await engine.viewRows('v')).toEqual([]);
      expect(logs.join('\n')).toMatch(/cluster view v: this member's copy is out of step with the view's changes topic .*read again from the topic's start/);
      // And it fills again from what the replica reads.
      calls.length = 0;
      next = [row(1, '10', 1)];
      await engine.execute('FLUSH');
      expect(await engine.viewRows('v')).toEqual([[1, '10']]);
      expect(calls).toEqual(['take', 'applied']);
    } finally {
      await engine.close();
    }
  });
});
