import type { EachBatchPayload, Kafka } from 'kafkajs';
import { cpuSeconds } from '../e2e/stack/proc.js';
import { DEFAULT_PARTITION_CONCURRENCY, FETCH_LIMITS } from '../runtime/kafka.js';

export interface ConsumeFigures {
  messagesPerSecond: number;
  seconds: number;
  /** CPU of this process (all its threads) per message, µs. */
  selfCpuUs: number;
  /** CPU of each named server process per message, µs. */
  serverCpuUs: Record<string, number>;
}

/**
 * Consumes every message of `topics` once with a fresh group, with the worker's fetch settings,
 * and times it from `run()` (group join included) to the last message. `work` is what each batch
 * does (nothing, for the raw rate); it must resolve the offsets it has finished.
 */
export async function consumeAll(
  kafka: Kafka,
  options: { groupId: string; topics: string[]; total: number; servers: Record<string, number | undefined>; work?: (payload: EachBatchPayload) => Promise<void> },
): Promise<ConsumeFigures> {
  const consumer = kafka.consumer({ groupId: options.groupId, ...FETCH_LIMITS });
  await consumer.connect();
  await consumer.subscribe({ topics: options.topics, fromBeginning: true });
  const serverCpu = () => Object.fromEntries(Object.entries(options.servers).map(([name, pid]) => [name, pid === undefined ? 0 : (cpuSeconds(pid) ?? 0)]));
  const before = { self: process.cpuUsage(), servers: serverCpu() };
  const start = Date.now();
  let consumed = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: options.work === undefined,
        partitionsConsumedConcurrently: DEFAULT_PARTITION_CONCURRENCY,
        eachBatch: async (payload) => {
          if (options.work) await options.work(payload);
          consumed += payload.batch.messages.length;
          if (consumed >= options.total) resolve();
        },
      })
      .catch(reject);
  });
  const ms = Date.now() - start;
  const self = process.cpuUsage(before.self);
  const servers = serverCpu();
  await consumer.disconnect();
  const perMessageUs = (seconds: number) => Math.round((seconds / options.total) * 1e7) / 10;
  return {
    messagesPerSecond: Math.round((options.total / ms) * 1000),
    seconds: ms / 1000,
    selfCpuUs: perMessageUs((self.user + self.system) / 1e6),
    serverCpuUs: Object.fromEntries(Object.entries(servers).map(([name, seconds]) => [name, perMessageUs(seconds - (before.servers[name] ?? 0))])),
  };
}
