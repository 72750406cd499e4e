/**
 * A sticky partition assigner for the cluster's consumer groups. kafkajs' default (round robin)
 * deals every partition again at each rebalance, so one member joining moves most partitions —
 * and a moved exchange partition costs its new owner a restore and a replay. Here each member
 * sends the partitions it holds (in its join metadata), and the group leader lets every member
 * keep what it held up to an even share, and deals out only the rest.
 *
 *   per topic: quota = ⌊P/n⌋ or ⌈P/n⌉ (the larger quotas to the members that held the most),
 *              1. each member keeps its held partitions up to its quota,
 *              2. the partitions left go to the members below quota, in member order.
 */
import { AssignerProtocol, type Assigner, type PartitionAssigner } from 'kafkajs';

/** Partitions per topic. */
export type Assignment = Readonly<Record<string, readonly number[]>>;

/**
 * The sticky assignment of `partitions` (per topic) to `members` (member id → what it held).
 * Deterministic: the same inputs give the same result on any leader.
 */
export function stickyAssign(partitions: ReadonlyMap<string, readonly number[]>, members: ReadonlyMap<string, Assignment>): Map<string, Record<string, number[]>> {
  const ids = [...members.keys()].sort();
  const out = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]));
  if (ids.length === 0) return out;
  for (const [topic, all] of [...partitions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const exists = new Set(all);
    const held = (id: string) => (members.get(id)?.[topic] ?? []).filter((p) => exists.has(p));
    // Who held the most gets the larger quotas (ties by member id).
    const order = [...ids].sort((a, b) => held(b).length - held(a).length || (a < b ? -1 : 1));
    const base = Math.floor(all.length / ids.length);
    const extra = all.length % ids.length;
    const quota = new Map(order.map((id, i) => [id, base + (i < extra ? 1 : 0)]));
    const taken = new Set<number>();
    const mine = new Map<string, number[]>(ids.map((id) => [id, []]));
    for (const id of order) {
      for (const p of [...held(id)].sort((a, b) => a - b)) {
        if (mine.get(id)!.length >= quota.get(id)!) break;
        if (taken.has(p)) continue;
        taken.add(p);
        mine.get(id)!.push(p);
      }
    }
    const left = [...all].sort((a, b) => a - b).filter((p) => !taken.has(p));
    for (const id of order) {
      while (mine.get(id)!.length < quota.get(id)! && left.length) mine.get(id)!.push(left.shift()!);
    }
    for (const id of ids) out.get(id)![topic] = mine.get(id)!.sort((a, b) => a - b);
  }
  return out;
}

/** The kafkajs assigner: `held()` is what this member holds now (sent when it joins). */
export function stickyAssigner(held: () => Assignment): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: 'SluiceStickyAssigner',
    version: 0,
    async assign({ members, topics }) {
      const partitions = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((m) => m.partitionId)]));
      const previous = new Map<string, Assignment>();
      for (const m of members) {
        let a: Assignment = {};
        try {
          const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
          if (meta?.userData?.length) a = JSON.parse(meta.userData.toString('utf8')) as Assignment;
        } catch {
          // A member whose metadata is not ours starts with nothing held.
        }
        previous.set(m.memberId, a);
      }
      return [...stickyAssign(partitions, previous)].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'SluiceStickyAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(JSON.stringify(held()), 'utf8') }) };
    },
  });
}
