import type { Producer } from 'kafkajs';
import { ProducerError } from './errors.js';
import type { OutMessage } from './read.js';

/**
 * Sends a stream of messages to one topic in batches, with a few batches in flight (kafkajs sends
 * one request per batch; overlapping them keeps the broker busy while the next batch is read).
 * With a rate, sends small batches on a clock instead: a steady stream, the seed's real-time mode.
 */
export interface SendOptions {
  topic: string;
  /** Messages per batch (default 2000) and bytes per batch (default 512 KiB), whichever comes first. */
  batchMessages?: number;
  batchBytes?: number;
  /**
   * Produce requests in flight at once (default 1). More can be faster, but kafkajs does not keep
   * concurrent sends in order (each awaits metadata before writing), so messages of one partition
   * may then land out of file order.
   */
  inFlight?: number;
  /** Messages per second; unset sends as fast as the broker takes them. */
  rate?: number;
  /** Called with running totals about every `progressEveryMs` (default 500) and once at the end. */
  onProgress?: (progress: Progress) => void;
  progressEveryMs?: number;
  /** The producer's acks (default -1: all in-sync replicas). */
  acks?: number;
}

export interface Progress {
  topic: string;
  messages: number;
  bytes: number;
  elapsedMs: number;
  done: boolean;
}

export interface SendSummary {
  topic: string;
  messages: number;
  bytes: number;
  seconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages one by one or in chunks (as readMessageChunks gives them); the batching is the same. */
export type MessageStream = AsyncIterable<OutMessage | OutMessage[]> | Iterable<OutMessage | OutMessage[]>;

export async function sendMessages(producer: Producer, messages: MessageStream, options: SendOptions): Promise<SendSummary> {
  const { topic, rate } = options;
  if (rate !== undefined && !(rate > 0)) throw new ProducerError('PRODUCE_OPTIONS', `rate must be a positive number of messages per second, got ${rate}`);
  const batchMessages = rate ? Math.max(1, Math.min(options.batchMessages ?? 2000, Math.ceil(rate / 20))) : (options.batchMessages ?? 2000);
  // Kafka refuses record batches over message.max.bytes (default ~1 MiB); half that leaves room.
  const batchBytes = options.batchBytes ?? 512 * 1024;
  const inFlight = rate ? 1 : (options.inFlight ?? 1);
  const every = options.progressEveryMs ?? 500;
  const acks = options.acks ?? -1;
  const started = Date.now();
  let sentMessages = 0;
  let sentBytes = 0;
  let queuedMessages = 0;
  let lastReport = started;
  const report = (done: boolean): void => options.onProgress?.({ topic, messages: sentMessages, bytes: sentBytes, elapsedMs: Date.now() - started, done });

  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const send = (batch: OutMessage[], bytes: number): Promise<void> => {
    const p = producer
      .send({ topic, acks, messages: batch })
      .then(() => {
        sentMessages += batch.length;
        sentBytes += bytes;
        const now = Date.now();
        if (now - lastReport >= every) {
          lastReport = now;
          report(false);
        }
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
    return p;
  };

  let batch: OutMessage[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    if (rate) {
      // The batch may go once the stream is on schedule for it.
      const due = started + (queuedMessages / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    // Wait for room before sending, not after: the next batch is read while this one is in flight.
    while (pending.size >= inFlight) await Promise.race(pending);
    if (failure) throw failure;
    queuedMessages += batch.length;
    void send(batch, bytes);
    batch = [];
    bytes = 0;
  };

  try {
    for await (const item of messages) {
      for (const message of Array.isArray(item) ? item : [item]) {
        batch.push(message);
        bytes += message.value.length + (message.key ? message.key.length : 0);
        if (batch.length >= batchMessages || bytes >= batchBytes) await flush();
      }
    }
    await flush();
    while (pending.size) await Promise.race(pending);
    if (failure) throw failure;
  } catch (error) {
    await Promise.allSettled(pending);
    if (error instanceof ProducerError) throw error;
    throw new ProducerError('PRODUCE_KAFKA', `sending to topic ${topic} failed after ${sentMessages} messages: ${(error as Error).message}`, true, { cause: error });
  }
  report(true);
  const seconds = (Date.now() - started) / 1000;
  return {
    topic,
    messages: sentMessages,
    bytes: sentBytes,
    seconds,
    messagesPerSecond: seconds > 0 ? sentMessages / seconds : sentMessages,
    megabytesPerSecond: seconds > 0 ? sentBytes / 1e6 / seconds : 0,
  };
}
