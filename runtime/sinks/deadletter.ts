import type { Producer } from 'kafkajs';
import type { SourceName } from '../../api/runtime-config.js';
import type { Invalid } from '../model.js';

/** The contract's dead-letter headers (§2.1). */
export function deadLetterHeaders(source: SourceName, topic: string, item: Invalid): Record<string, string> {
  return {
    'adpipe-source': source,
    'adpipe-reason': item.reason,
    'adpipe-topic': topic,
    'adpipe-partition': String(item.ref.partition),
    'adpipe-offset': item.ref.offset,
    ...(item.errorCode ? { 'adpipe-error-code': item.errorCode } : {}),
  };
}

/** Sends invalid records, original bytes as the value, to the pipeline's dead-letter topic (acks from all replicas). */
export class DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    readonly topic: string,
  ) {}

  async send(source: SourceName, sourceTopic: string, items: readonly Invalid[]): Promise<void> {
    if (items.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: items.map((item) => ({ key: `${sourceTopic}/${item.ref.partition}/${item.ref.offset}`, value: item.raw, headers: deadLetterHeaders(source, sourceTopic, item) })),
    });
  }
}
