import { AssignerProtocol, type Assigner, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';

/**
 * A kafkajs partition assigner that hands out TASKS, not partitions.
 *
 * A pipeline has a fixed task count N. Task t owns partition t of every internal topic (those have
 * exactly N partitions) and every source partition p with p mod N == t (source topics may have any
 * partition count), so all records one task needs meet in one member. Every partition of a task goes
 * to the same member; the rule is the same for both kinds of topic, so the assigner needs no list of
 * which topics are internal.
 *
 * Tasks are spread evenly over the members (counts differ by at most one; members sorted by id for
 * determinism) and sticky: each member tells the leader in its subscription's userData which tasks
 * it owned before, and a task stays with its previous owner whenever the even spread allows it. A
 * member joining therefore takes only the tasks it needs from the others, and a member leaving hands
 * on only its own tasks.
 *
 * A task with no partition in any subscribed topic (a source with fewer partitions than N and no
 * internal topic subscribed) is still counted in the spread, but it has nothing to read and
 * `tasksOf` cannot see it; it is then not sticky either. Pipelines subscribe to their internal
 * topics, which have a partition for every task.
 *
 * Every member is expected to subscribe to the same topics; kafkajs drops (with a warning) assigned
 * partitions of topics a member did not subscribe to.
 */

export const TASK_ASSIGNER_NAME = 'adpipe-tasks';
const ASSIGNER_VERSION = 1;
/** Version of the userData layout: int16 version, int32 task count, int32 n, n × int32 task. */
const USER_DATA_VERSION = 1;

export interface TaskAssignerOptions {
  /** The pipeline's fixed task count N (≥ 1). */
  taskCount: number;
  /**
   * The tasks this member owns right now (read at every join, so it reports the latest
   * assignment). Typically `tasksOf(<the last GROUP_JOIN memberAssignment>, taskCount)`.
   */
  ownedTasks?: () => readonly number[];
}

/** The task that owns partition `partition` of any topic. */
export function taskOfPartition(partition: number, taskCount: number): number {
  checkTaskCount(taskCount);
  if (!Number.isInteger(partition) || partition < 0) throw new Error(`partition must be a non-negative integer, got ${partition}`);
  return partition % taskCount;
}

/**
 * The tasks a member received, from its assignment (topic → partitions, as kafkajs's GROUP_JOIN
 * event gives it): the distinct `taskOfPartition` of every partition, ascending.
 */
export function tasksOf(assignment: Readonly<Record<string, readonly number[]>>, taskCount: number): number[] {
  const tasks = new Set<number>();
  for (const partitions of Object.values(assignment)) for (const partition of partitions) tasks.add(taskOfPartition(partition, taskCount));
  return [...tasks].sort((a, b) => a - b);
}

/** What the leader knows about one member: its id and the tasks it says it owned before. */
export interface TaskMember {
  memberId: string;
  previousTasks: readonly number[];
}

/**
 * Which tasks each member gets (member id → tasks ascending; every member present, possibly with
 * none). Pure and deterministic: the result depends only on the set of members, their previous
 * tasks and N, not on the order of `members`.
 *
 * With M members, `extra` = N mod M of them own ⌈N/M⌉ tasks and the rest ⌊N/M⌋. A member keeps as
 * many of its previous tasks as its share allows (lowest task ids first); the ⌈N/M⌉ shares go
 * first to members that owned more than ⌊N/M⌋ before, which keeps the most tasks in place. The tasks
 * nobody kept are then dealt out, lowest first, to the members below their share. A task two members
 * both claim (stale userData during a rebalance) stays with the member whose id sorts first.
 */
export function planTasks(members: readonly TaskMember[], taskCount: number): Map<string, number[]> {
  checkTaskCount(taskCount);
  const sorted = [...members].sort((a, b) => compareIds(a.memberId, b.memberId));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.memberId === sorted[i - 1]!.memberId) throw new Error(`member ${sorted[i]!.memberId} appears twice`);
  }
  const plan = new Map<string, number[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return plan;

  // The valid previous claims of each member: in range, deduplicated, first claimant (by id) wins.
  const claimed = new Set<number>();
  const claims = sorted.map((member) => {
    const own: number[] = [];
    for (const task of [...new Set(member.previousTasks)].sort((a, b) => a - b)) {
      if (Number.isInteger(task) && task >= 0 && task < taskCount && !claimed.has(task)) {
        claimed.add(task);
        own.push(task);
      }
    }
    return own;
  });

  const base = Math.floor(taskCount / sorted.length);
  let extra = taskCount % sorted.length;
  // Shares: ⌈N/M⌉ first for members whose claims exceed ⌊N/M⌋ (most claims first, then by id).
  const shares = sorted.map(() => base);
  const byClaims = sorted.map((_, i) => i).filter((i) => claims[i]!.length > base);
  byClaims.sort((a, b) => claims[b]!.length - claims[a]!.length || a - b);
  for (const i of byClaims) {
    if (extra === 0) break;
    shares[i] = base + 1;
    extra--;
  }
  // Remaining ⌈N/M⌉ shares go to the other members in id order.
  for (let i = 0; i < sorted.length && extra > 0; i++) {
    if (shares[i] === base) {
      shares[i] = base + 1;
      extra--;
    }
  }

  const kept = new Set<number>();
  sorted.forEach((member, i) => {
    const keep = claims[i]!.slice(0, shares[i]!);
    for (const task of keep) kept.add(task);
    plan.set(member.memberId, keep);
  });
  const free: number[] = [];
  for (let task = 0; task < taskCount; task++) if (!kept.has(task)) free.push(task);
  let next = 0;
  sorted.forEach((member, i) => {
    const tasks = plan.get(member.memberId)!;
    while (tasks.length < shares[i]!) tasks.push(free[next++]!);
    tasks.sort((a, b) => a - b);
  });
  return plan;
}

/**
 * The partitions of each topic that a set of tasks owns: every partition p of the topic with
 * p mod N in `tasks`. `partitionCounts` maps topic → partition count.
 */
export function partitionsOfTasks(tasks: readonly number[], partitionCounts: Readonly<Record<string, number>>, taskCount: number): Record<string, number[]> {
  checkTaskCount(taskCount);
  const owned = new Set(tasks);
  const assignment: Record<string, number[]> = {};
  for (const topic of Object.keys(partitionCounts).sort()) {
    const partitions: number[] = [];
    for (let p = 0; p < partitionCounts[topic]!; p++) if (owned.has(p % taskCount)) partitions.push(p);
    if (partitions.length > 0) assignment[topic] = partitions;
  }
  return assignment;
}

/** The userData a member sends with its subscription: its task count and the tasks it owns. */
export function encodeOwnedTasks(taskCount: number, tasks: readonly number[]): Buffer {
  const buffer = Buffer.alloc(2 + 4 + 4 + 4 * tasks.length);
  buffer.writeInt16BE(USER_DATA_VERSION, 0);
  buffer.writeInt32BE(taskCount, 2);
  buffer.writeInt32BE(tasks.length, 6);
  tasks.forEach((task, i) => buffer.writeInt32BE(task, 10 + 4 * i));
  return buffer;
}

/**
 * The tasks a member says it owns, or [] when its userData is missing, unreadable, of another
 * layout version, or for another task count (its tasks then mean nothing under this N).
 */
export function decodeOwnedTasks(userData: Buffer | null | undefined, taskCount: number): number[] {
  if (!userData || userData.length < 10) return [];
  if (userData.readInt16BE(0) !== USER_DATA_VERSION || userData.readInt32BE(2) !== taskCount) return [];
  const n = userData.readInt32BE(6);
  if (n < 0 || userData.length < 10 + 4 * n) return [];
  const tasks: number[] = [];
  for (let i = 0; i < n; i++) tasks.push(userData.readInt32BE(10 + 4 * i));
  return tasks;
}

/**
 * The kafkajs assigner factory: pass it in a consumer's `partitionAssigners`, e.g.
 * `kafka.consumer({ groupId, partitionAssigners: [taskAssigner({ taskCount, ownedTasks })] })`.
 * Partition counts are read from the leader's cluster metadata, which kafkajs refreshes for the
 * subscribed topics before it calls `assign`.
 */
export function taskAssigner(options: TaskAssignerOptions): PartitionAssigner {
  const { taskCount } = options;
  checkTaskCount(taskCount);
  const ownedTasks = options.ownedTasks ?? (() => []);
  return ({ cluster }): Assigner => ({
    name: TASK_ASSIGNER_NAME,
    version: ASSIGNER_VERSION,

    protocol({ topics }) {
      return {
        name: TASK_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: ASSIGNER_VERSION, topics, userData: encodeOwnedTasks(taskCount, ownedTasks()) }),
      };
    },

    async assign({ members, topics }): Promise<GroupMemberAssignment[]> {
      const partitionCounts: Record<string, number> = {};
      // Partition ids run 0..count-1 (Kafka never removes partitions).
      for (const topic of topics) partitionCounts[topic] = cluster.findTopicPartitionMetadata(topic).reduce((n, { partitionId }) => Math.max(n, partitionId + 1), 0);
      const plan = planTasks(
        members.map(({ memberId, memberMetadata }) => ({ memberId, previousTasks: decodeOwnedTasks(readMetadata(memberMetadata)?.userData, taskCount) })),
        taskCount,
      );
      return [...plan].map(([memberId, tasks]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: ASSIGNER_VERSION,
          assignment: partitionsOfTasks(tasks, partitionCounts, taskCount),
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

function readMetadata(buffer: Buffer): ReturnType<typeof AssignerProtocol.MemberMetadata.decode> | undefined {
  try {
    return AssignerProtocol.MemberMetadata.decode(buffer);
  } catch {
    return undefined;
  }
}

function checkTaskCount(taskCount: number): void {
  if (!Number.isInteger(taskCount) || taskCount < 1) throw new Error(`taskCount must be a positive integer, got ${taskCount}`);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
