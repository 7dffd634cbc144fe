// First: the read_committed filter this product runs with (decision 0073), before kafkajs loads.
import '../../runtime/kafka/kafkajs-fixes.js';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

/**
 * `node dist/e2e/support/dead-letters.js --bootstrap B --topic T --expect N [--uncommitted]`: every
 * dead letter a reader of the topic sees, by origin (source topic, partition, offset) and bytes,
 * with how often, as one JSON object on stdout. A process of its own so that the reader runs with
 * the same read_committed filter as the workers (Jest's module registry would load kafkajs's own).
 */
const { values } = parseArgs({ options: { bootstrap: { type: 'string' }, topic: { type: 'string' }, expect: { type: 'string' }, uncommitted: { type: 'boolean', default: false } } });
const expected = Number(values.expect);
const kafka = new Kafka({ clientId: 'adpipe-dlq-check', brokers: [values.bootstrap!], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `dlq-check-${process.pid}-${Date.now()}`, readUncommitted: values.uncommitted });
const seen: Record<string, number> = {};
let total = 0;
await consumer.connect();
await consumer.subscribe({ topic: values.topic!, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    // One message may hold several bad CSV lines: the origin and the bytes identify a dead letter.
    const origin = [...['adpipe-topic', 'adpipe-partition', 'adpipe-offset'].map((h) => message.headers?.[h]?.toString()), message.value?.toString('base64')].join('/');
    seen[origin] = (seen[origin] ?? 0) + 1;
    total++;
  },
});
// Wait for what is expected, then a little longer: a duplicate would come after.
const deadline = Date.now() + 90_000;
while (total < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
await new Promise((resolve) => setTimeout(resolve, 2000));
await consumer.disconnect();
process.stdout.write(`${JSON.stringify(seen)}\n`);
