import { describe, expect, it } from 'vitest';
import { stickyAssign, type Assignment } from './sticky-assigner.js';

const parts = (n: number) => [...Array(n).keys()];
const topics = new Map([['src', parts(6)], ['x', parts(6)]]);

/** Every partition of every topic exactly once, and shares within one of each other. */
function checkBalanced(a: Map<string, Record<string, number[]>>): void {
  for (const [topic, all] of topics) {
    const got = [...a.values()].flatMap((m) => m[topic] ?? []).sort((x, y) => x - y);
    expect(got).toEqual(all);
    const sizes = [...a.values()].map((m) => (m[topic] ?? []).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  }
}

/** Partitions that changed owner between two assignments. */
function moved(before: Map<string, Record<string, number[]>>, after: Map<string, Record<string, number[]>>): number {
  let n = 0;
  for (const [topic] of topics) {
    const owner = new Map<number, string>();
    for (const [id, a] of before) for (const p of a[topic] ?? []) owner.set(p, id);
    for (const [id, a] of after) for (const p of a[topic] ?? []) if (owner.get(p) !== id) n++;
  }
  return n;
}

describe('the sticky assigner', () => {
  it('deals everything evenly to members that held nothing', () => {
    const a = stickyAssign(topics, new Map<string, Assignment>([['m1', {}], ['m2', {}], ['m3', {}]]));
    checkBalanced(a);
    expect(a.get('m1')!.src!.length).toBe(2);
  });

  it('moves only what a joining member needs, and only what a leaving member held', () => {
    const one = stickyAssign(topics, new Map<string, Assignment>([['m1', {}]]));
    const two = stickyAssign(topics, new Map<string, Assignment>([['m1', one.get('m1')!], ['m2', {}]]));
    checkBalanced(two);
    // m2 takes 3 of each topic's 6: 6 moves, not more.
    expect(moved(one, two)).toBe(6);
    const three = stickyAssign(topics, new Map<string, Assignment>([['m1', two.get('m1')!], ['m2', two.get('m2')!], ['m3', {}]]));
    checkBalanced(three);
    expect(moved(two, three)).toBe(4);
    // m2 dies: only its partitions move.
    const back = stickyAssign(topics, new Map<string, Assignment>([['m1', three.get('m1')!], ['m3', three.get('m3')!]]));
    checkBalanced(back);
    expect(moved(three, back)).toBe(three.get('m2')!.src!.length + three.get('m2')!.x!.length);
  });

  it('settles claims of the same partition (stale metadata) and ignores partitions that no longer exist', () => {
    const a = stickyAssign(topics, new Map<string, Assignment>([['m1', { src: [0, 1, 2, 3, 9] }], ['m2', { src: [0, 1, 2] }]]));
    checkBalanced(a);
    expect(a.get('m1')!.src).toEqual([0, 1, 2]);
    expect(a.get('m2')!.src).toEqual([3, 4, 5]);
  });

  it('is the same on any leader: the member order decides, not the input order', () => {
    const m = new Map<string, Assignment>([['b', { src: [1] }], ['a', { src: [2] }], ['c', {}]]);
    const r = new Map<string, Assignment>([['c', {}], ['a', { src: [2] }], ['b', { src: [1] }]]);
    expect([...stickyAssign(topics, m)].sort()).toEqual([...stickyAssign(topics, r)].sort());
  });
});
