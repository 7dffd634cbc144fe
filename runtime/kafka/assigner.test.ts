import { AssignerProtocol, type Cluster, type PartitionMetadata } from 'kafkajs';
import {
  TASK_ASSIGNER_NAME,
  decodeOwnedTasks,
  encodeOwnedTasks,
  partitionsOfTasks,
  planTasks,
  taskAssigner,
  taskOfPartition,
  tasksOf,
  type TaskMember,
} from './assigner.js';

// The task assigner through kafkajs's assigner interface, with a fake cluster that only answers
// partition metadata. No servers.

type Assignment = Record<string, number[]>;

/** A cluster stub: only findTopicPartitionMetadata is used by the assigner. */
function fakeCluster(partitionCounts: Record<string, number>): Cluster {
  const findTopicPartitionMetadata = (topic: string): PartitionMetadata[] => {
    const count = partitionCounts[topic];
    if (count === undefined) throw new Error(`unknown topic ${topic}`);
    return Array.from({ length: count }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0] }));
  };
  return { findTopicPartitionMetadata } as unknown as Cluster;
}

interface Member {
  id: string;
  owned: number[];
}

/**
 * One rebalance as kafkajs runs it: every member encodes its subscription with its own assigner
 * instance (its own ownedTasks), the leader's instance assigns, each member decodes its share.
 */
async function rebalance(members: readonly Member[], taskCount: number, partitionCounts: Record<string, number>): Promise<Map<string, Assignment>> {
  const topics = Object.keys(partitionCounts);
  const cluster = fakeCluster(partitionCounts);
  const context = { cluster, groupId: 'g', logger: undefined as never };
  const groupMembers = members.map((member) => {
    const assigner = taskAssigner({ taskCount, ownedTasks: () => member.owned })(context);
    const { name, metadata } = assigner.protocol({ topics });
    expect(name).toBe(TASK_ASSIGNER_NAME);
    return { memberId: member.id, memberMetadata: metadata };
  });
  const leader = taskAssigner({ taskCount })(context);
  const result = await leader.assign({ members: groupMembers, topics });
  const out = new Map<string, Assignment>();
  for (const { memberId, memberAssignment } of result) {
    const decoded = AssignerProtocol.MemberAssignment.decode(memberAssignment);
    expect(decoded).not.toBeNull();
    out.set(memberId, decoded!.assignment);
  }
  return out;
}

/** Every partition of every topic exactly once; all partitions of one task at one member; counts even. */
function checkInvariants(result: Map<string, Assignment>, members: readonly Member[], taskCount: number, partitionCounts: Record<string, number>): void {
  expect([...result.keys()].sort()).toEqual(members.map((m) => m.id).sort());
  const seen = new Map<string, string>();
  const ownerOfTask = new Map<number, string>();
  for (const [memberId, assignment] of result) {
    for (const [topic, partitions] of Object.entries(assignment)) {
      expect(partitionCounts[topic]).toBeDefined();
      for (const partition of partitions) {
        const key = `${topic}/${partition}`;
        expect(seen.get(key)).toBeUndefined();
        seen.set(key, memberId);
        const task = taskOfPartition(partition, taskCount);
        expect(ownerOfTask.get(task) ?? memberId).toBe(memberId);
        ownerOfTask.set(task, memberId);
      }
    }
  }
  const expected = Object.entries(partitionCounts).reduce((n, [, count]) => n + count, 0);
  expect(seen.size).toBe(expected);
  const counts = [...result.values()].map((assignment) => tasksOf(assignment, taskCount).length);
  expect(counts.reduce((a, b) => a + b, 0)).toBe(taskCount);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
}

/** An internal topic (N partitions) and source topics with other partition counts. */
function topicsFor(taskCount: number): Record<string, number> {
  return { internal: taskCount, 'source-a': taskCount, 'source-b': 3 * taskCount + 1, 'source-c': 7, 'source-d': 1 };
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `member-${String.fromCharCode(97 + ((i * 7) % 26))}-${i}`);

test('taskOfPartition and tasksOf: partition p belongs to task p mod N', () => {
  expect(taskOfPartition(0, 4)).toBe(0);
  expect(taskOfPartition(5, 4)).toBe(1);
  expect(taskOfPartition(3, 1)).toBe(0);
  expect(() => taskOfPartition(-1, 4)).toThrow(/partition/);
  expect(() => taskOfPartition(1, 0)).toThrow(/taskCount/);
  expect(tasksOf({ internal: [1, 3], source: [5, 7, 11], other: [] }, 4)).toEqual([1, 3]);
  expect(tasksOf({}, 4)).toEqual([]);
  expect(partitionsOfTasks([1, 3], { internal: 4, source: 13, small: 2, none: 1 }, 4)).toEqual({ internal: [1, 3], source: [1, 3, 5, 7, 9, 11], small: [1] });
});

test('owned tasks round-trip through userData; other task counts and garbage read as none', () => {
  expect(decodeOwnedTasks(encodeOwnedTasks(6, [0, 5, 3]), 6)).toEqual([0, 5, 3]);
  expect(decodeOwnedTasks(encodeOwnedTasks(6, []), 6)).toEqual([]);
  expect(decodeOwnedTasks(encodeOwnedTasks(4, [1]), 6)).toEqual([]);
  expect(decodeOwnedTasks(Buffer.alloc(0), 6)).toEqual([]);
  expect(decodeOwnedTasks(null, 6)).toEqual([]);
  expect(decodeOwnedTasks(encodeOwnedTasks(6, [1, 2]).subarray(0, 12), 6)).toEqual([]);
});

describe.each([1, 4, 6, 12])('N = %i', (taskCount) => {
  test.each([1, 2, 3, 4, 5])('%i member(s) from scratch: even, complete, one member per task', async (memberCount) => {
    const members = ids(memberCount).map((id) => ({ id, owned: [] }));
    const partitionCounts = topicsFor(taskCount);
    const result = await rebalance(members, taskCount, partitionCounts);
    checkInvariants(result, members, taskCount, partitionCounts);
    // task t owns partition t of the internal topic
    for (const assignment of result.values()) expect(assignment['internal'] ?? []).toEqual(tasksOf(assignment, taskCount));
  });

  test('deterministic: the same group in any order gives byte-identical assignments', async () => {
    const members: Member[] = ids(5).map((id, i) => ({ id, owned: i % 2 === 0 ? [i % taskCount] : [] }));
    const partitionCounts = topicsFor(taskCount);
    const encode = async (order: Member[]) => {
      const context = { cluster: fakeCluster(partitionCounts), groupId: 'g', logger: undefined as never };
      const groupMembers = order.map((m) => ({ memberId: m.id, memberMetadata: taskAssigner({ taskCount, ownedTasks: () => m.owned })(context).protocol({ topics: Object.keys(partitionCounts) }).metadata }));
      const result = await taskAssigner({ taskCount })(context).assign({ members: groupMembers, topics: Object.keys(partitionCounts) });
      return Object.fromEntries(result.map((r) => [r.memberId, r.memberAssignment.toString('hex')]));
    };
    const first = await encode(members);
    expect(await encode([...members].reverse())).toEqual(first);
    expect(await encode([members[2]!, members[0]!, members[4]!, members[1]!, members[3]!])).toEqual(first);
  });

  test('sticky: adding members one by one moves tasks only to the new member; removing one moves only its tasks', async () => {
    const partitionCounts = topicsFor(taskCount);
    const all = ids(5);
    let members: Member[] = [];
    const step = async (next: string[]): Promise<void> => {
      const before = new Map(members.map((m) => [m.id, m.owned]));
      const group = next.map((id) => ({ id, owned: before.get(id) ?? [] }));
      const result = await rebalance(group, taskCount, partitionCounts);
      checkInvariants(result, group, taskCount, partitionCounts);
      const after = new Map([...result].map(([id, assignment]) => [id, tasksOf(assignment, taskCount)]));
      const added = next.filter((id) => !before.has(id));
      const removed = [...before.keys()].filter((id) => !next.includes(id));
      const stayed = next.filter((id) => before.has(id));
      if (added.length > 0 && removed.length === 0) {
        // members that stay only give tasks away (to the new member)
        for (const id of stayed) expect(before.get(id)).toEqual(expect.arrayContaining(after.get(id)!));
        // and give away no more than the new member's share needs (on top of tasks nobody owned)
        const moved = stayed.reduce((n, id) => n + before.get(id)!.length - after.get(id)!.length, 0);
        const unowned = taskCount - [...before.values()].reduce((n, tasks) => n + tasks.length, 0);
        expect(moved + unowned).toBe(added.reduce((n, id) => n + after.get(id)!.length, 0));
      }
      if (removed.length > 0 && added.length === 0) {
        // members that stay keep every task they had; only the removed members' tasks move
        for (const id of stayed) expect(after.get(id)).toEqual(expect.arrayContaining(before.get(id)!));
      }
      members = group.map((m) => ({ id: m.id, owned: after.get(m.id)! }));
    };
    for (let n = 1; n <= all.length; n++) await step(all.slice(0, n));
    // remove the members in a scrambled order, then add two back
    for (const leaving of [all[2]!, all[0]!, all[4]!, all[1]!]) await step(members.map((m) => m.id).filter((id) => id !== leaving));
    await step([...members.map((m) => m.id), 'member-late-1']);
    await step([...members.map((m) => m.id), 'member-late-2']);
  });

  test('a restarted group keeps every task where it was (same members, same owned tasks)', async () => {
    const partitionCounts = topicsFor(taskCount);
    // an even spread the fresh plan would not have chosen (round robin, backwards)
    const group: Member[] = ids(3).map((id) => ({ id, owned: [] }));
    for (let t = 0; t < taskCount; t++) group[(taskCount - 1 - t) % 3]!.owned.push(t);
    const result = await rebalance(group, taskCount, partitionCounts);
    for (const m of group) expect(tasksOf(result.get(m.id)!, taskCount)).toEqual([...m.owned].sort((a, b) => a - b));
  });
});

test('planTasks: uneven previous ownership is evened out with the fewest moves', () => {
  // one member owned all 12 tasks; two new members join: it keeps 4, each new one gets 4
  const plan = planTasks(
    [
      { memberId: 'b', previousTasks: [] },
      { memberId: 'a', previousTasks: Array.from({ length: 12 }, (_, t) => t) },
      { memberId: 'c', previousTasks: [] },
    ],
    12,
  );
  expect(plan.get('a')).toEqual([0, 1, 2, 3]);
  expect(plan.get('b')).toEqual([4, 5, 6, 7]);
  expect(plan.get('c')).toEqual([8, 9, 10, 11]);
  // the ⌈N/M⌉ share goes to the member that already has the most tasks
  const uneven = planTasks(
    [
      { memberId: 'a', previousTasks: [0] },
      { memberId: 'b', previousTasks: [1, 2, 3, 4] },
      { memberId: 'c', previousTasks: [] },
    ],
    7,
  );
  expect(uneven.get('b')).toEqual([1, 2, 3]);
  expect(uneven.get('a')).toEqual([0, 4]);
  expect(uneven.get('c')).toEqual([5, 6]);
});

test('planTasks: conflicting, out-of-range and duplicate claims; more members than tasks', () => {
  const members: TaskMember[] = [
    { memberId: 'x', previousTasks: [1, 1, 9, -1, 0.5] },
    { memberId: 'w', previousTasks: [1, 2] },
  ];
  // both claim task 1: w (first by id) keeps it; 9, -1 and 0.5 are not tasks of N = 4
  const plan = planTasks(members, 4);
  expect(plan.get('w')).toEqual([1, 2]);
  expect(plan.get('x')).toEqual([0, 3]);
  const crowded = planTasks(['e', 'd', 'c', 'b', 'a'].map((memberId) => ({ memberId, previousTasks: memberId === 'e' ? [1] : [] })), 2);
  expect(crowded.get('e')).toEqual([1]);
  expect(crowded.get('a')).toEqual([0]);
  expect([...crowded.values()].filter((tasks) => tasks.length === 0)).toHaveLength(3);
  expect(planTasks([], 4).size).toBe(0);
  expect(() => planTasks([{ memberId: 'a', previousTasks: [] }, { memberId: 'a', previousTasks: [] }], 4)).toThrow(/twice/);
  expect(() => taskAssigner({ taskCount: 0 })).toThrow(/taskCount/);
});

test('members beyond the task count get an empty but valid assignment', async () => {
  const members = ids(5).map((id) => ({ id, owned: [] }));
  const result = await rebalance(members, 2, { internal: 2, source: 5 });
  checkInvariants(result, members, 2, { internal: 2, source: 5 });
  expect([...result.values()].filter((a) => Object.keys(a).length === 0)).toHaveLength(3);
});
