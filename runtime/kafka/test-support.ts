import type { Admin } from 'kafkajs';
import { eventually } from '../../e2e/support/stack-clients.js';

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own `waitForLeaders`
 * retries only LEADER_NOT_AVAILABLE, and a metadata request right after creation can also answer
 * UNKNOWN_TOPIC_OR_PARTITION (1 run in ~10 of the transactions test failed on it), so the wait is
 * done here, tolerating both.
 */
export async function createTopicsReady(admin: Admin, topics: ReadonlyArray<{ topic: string; numPartitions: number }>): Promise<void> {
  await admin.createTopics({ topics: topics.map(({ topic, numPartitions }) => ({ topic, numPartitions, replicationFactor: 1 })), waitForLeaders: false });
  await eventually(
    `leaders for ${topics.map((t) => t.topic).join(', ')}`,
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      const ready = topics.every(({ topic, numPartitions }) => {
        const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
        return partitions.length === numPartitions && partitions.every((p) => p.leader >= 0);
      });
      return ready ? true : undefined;
    },
    30_000,
    100,
  );
}
