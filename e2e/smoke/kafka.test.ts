import { ConfigResourceTypes, Partitioners, type Consumer } from 'kafkajs';
import { kafka, uniqueName, eventually } from '../support/stack-clients.js';

// kafkajs 2.2.4 predates Kafka 4.0, which removed old protocol versions (KIP-896). These tests make
// every call the operator and runtime rely on against the real 4.x broker, so a version kafkajs
// would ask for and the broker no longer serves shows up here first.

const client = kafka('adpipe-smoke');
const admin = client.admin();
let consumer: Consumer | undefined;

beforeAll(() => admin.connect());
afterAll(async () => {
  await consumer?.disconnect();
  await admin.disconnect();
});

test('admin: create a topic, raise its partitions, read and change its config, delete it', async () => {
  const topic = uniqueName('smoke-admin');
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
  expect(await admin.listTopics()).toContain(topic);

  await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(metadata.topics[0]!.partitions).toHaveLength(4);

  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
  expect(described.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('3600000');

  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
  const altered = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
  expect(altered.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('7200000');

  await admin.deleteTopics({ topics: [topic] });
  await eventually('the topic to be gone', async () => ((await admin.listTopics()).includes(topic) ? undefined : true));
});

test('produce with keys and headers, consume in a group, commit, and read the committed offsets', async () => {
  const topic = uniqueName('smoke-data');
  const groupId = uniqueName('smoke-group');
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });

  const producer = client.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const sent = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 17}`, value: `value-${i}`, headers: { 'adpipe-source': 'impressions' } }));
  await producer.send({ topic, acks: -1, messages: sent });
  await producer.disconnect();

  consumer = client.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: { value: string; header: string }[] = [];
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      for (const message of batch.messages) {
        received.push({ value: message.value!.toString(), header: message.headers!['adpipe-source']!.toString() });
        resolveOffset(message.offset);
      }
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] });
      await heartbeat();
    },
  });
  await eventually('all 300 messages', async () => (received.length >= 300 ? true : undefined), 60_000);
  await consumer.stop();
  expect(received.map((r) => r.value).sort()).toEqual(sent.map((m) => m.value).sort());
  expect(new Set(received.map((r) => r.header))).toEqual(new Set(['impressions']));

  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const total = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  expect(total).toBe(300);
  const groups = await admin.describeGroups([groupId]);
  expect(groups.groups[0]!.groupId).toBe(groupId);
});
