import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { eventually, kafka, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { createTopicsReady } from './test-support.js';
import { TASK_ASSIGNER_NAME, taskAssigner, tasksOf } from './assigner.js';

// The task assigner in a real consumer group on the shared stack's Kafka: kafkajs consumers (two,
// then three), two topics of 4 partitions, N = 4. Fresh topics and group; the topics are deleted afterwards.

const TASKS = 4;
const client = kafka('adpipe-assigner-test');
/** For the consumers: kafkajs logs every rebalance a member goes through at ERROR level. */
const consumerClient = new Kafka({ clientId: 'adpipe-assigner-test-member', brokers: [stack().kafka.bootstrap], logLevel: logLevel.NOTHING });
let admin: Admin;
const topics = [uniqueName('tasks-a'), uniqueName('tasks-b')];
const groupId = uniqueName('tasks-group');
const consumers: Consumer[] = [];

beforeAll(async () => {
  admin = client.admin();
  await admin.connect();
  await createTopicsReady(admin, topics.map((topic) => ({ topic, numPartitions: TASKS })));
}, 30_000);

afterAll(async () => {
  for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
  await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
}, 30_000);

interface Member {
  consumer: Consumer;
  /** The last assignment this member received (topic → partitions) and how often it joined. */
  assignment: Record<string, number[]>;
  joins: number;
  protocol?: string;
}

async function join(): Promise<Member> {
  const member: Member = { consumer: undefined as unknown as Consumer, assignment: {}, joins: 0 };
  member.consumer = consumerClient.consumer({
    groupId,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 250,
    partitionAssigners: [taskAssigner({ taskCount: TASKS, ownedTasks: () => tasksOf(member.assignment, TASKS) })],
  });
  consumers.push(member.consumer);
  member.consumer.on(member.consumer.events.GROUP_JOIN, ({ payload }) => {
    member.assignment = payload.memberAssignment;
    member.protocol = payload.groupProtocol;
    member.joins++;
  });
  await member.consumer.connect();
  await member.consumer.subscribe({ topics });
  await member.consumer.run({ eachMessage: async () => undefined });
  return member;
}

test('consumers with the task assigner: each gets partition t of both topics for each of its tasks, and a third takes tasks only from the others', async () => {
  const first = await join();
  await eventually('the first member owns all tasks', async () => (tasksOf(first.assignment, TASKS).length === TASKS ? true : undefined), 30_000);
  expect(first.protocol).toBe(TASK_ASSIGNER_NAME);

  const second = await join();
  await eventually(
    'both members own two tasks',
    async () => ([first, second].every((m) => tasksOf(m.assignment, TASKS).length === TASKS / 2) ? true : undefined),
    30_000,
  );
  const firstTasks = tasksOf(first.assignment, TASKS);
  const secondTasks = tasksOf(second.assignment, TASKS);
  expect([...firstTasks, ...secondTasks].sort()).toEqual([0, 1, 2, 3]);
  for (const [member, tasks] of [
    [first, firstTasks],
    [second, secondTasks],
  ] as const) {
    expect(member.protocol).toBe(TASK_ASSIGNER_NAME);
    expect(Object.keys(member.assignment).sort()).toEqual([...topics].sort());
    for (const topic of topics) expect([...member.assignment[topic]!].sort()).toEqual(tasks);
  }

  // a third member joins: the two others only give tasks away (their tasks travelled in userData)
  const third = await join();
  const members = [first, second, third];
  await eventually(
    'three members share the four tasks',
    async () => {
      const all = members.flatMap((m) => tasksOf(m.assignment, TASKS)).sort();
      return all.join() === '0,1,2,3' && members.every((m) => tasksOf(m.assignment, TASKS).length >= 1) ? true : undefined;
    },
    30_000,
  );
  expect(firstTasks).toEqual(expect.arrayContaining(tasksOf(first.assignment, TASKS)));
  expect(secondTasks).toEqual(expect.arrayContaining(tasksOf(second.assignment, TASKS)));
  expect(tasksOf(third.assignment, TASKS)).toHaveLength(1);

  // the second and third members leave: the first takes all tasks back
  await second.consumer.disconnect();
  await third.consumer.disconnect();
  await eventually('the first member owns all tasks again', async () => (tasksOf(first.assignment, TASKS).length === TASKS ? true : undefined), 30_000);
  for (const topic of topics) expect([...first.assignment[topic]!].sort()).toEqual([0, 1, 2, 3]);
}, 90_000);
