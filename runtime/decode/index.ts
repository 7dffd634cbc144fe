import type { RuntimeConfig, SourceName } from '../../api/runtime-config.js';
import type { InMessage, Item, RecordOf } from '../model.js';
import { AvroBidRequestDecoder, type SchemaFetcher } from './avro.js';
import { clickDecoder, conversionDecoder } from './csv.js';
import { impressionDecoder } from './json.js';

/** Decodes and validates one batch of one source's messages: every record or its failure, in order. */
export type BatchDecoder<S extends SourceName> = (messages: readonly InMessage[], nowMs: number) => Promise<Item<RecordOf[S]>[]>;

export type Decoders = { [S in SourceName]: BatchDecoder<S> };

/** The format → decoder map for one pipeline's sources (bid requests Avro, impressions JSON, clicks and conversions CSV). */
export function decodersFor(sources: RuntimeConfig['sources'], fetcher?: SchemaFetcher): Decoders {
  const avro = new AvroBidRequestDecoder(sources.bidRequests.avro, fetcher);
  const impressions = impressionDecoder(sources.impressions);
  const clicks = clickDecoder(sources.clicks);
  const conversions = conversionDecoder(sources.conversions);
  return {
    bidRequests: (messages, nowMs) => avro.decode(injectFault(messages), nowMs),
    impressions: async (messages, nowMs) => impressions(injectFault(messages), nowMs),
    clicks: async (messages, nowMs) => clicks(injectFault(messages), nowMs),
    conversions: async (messages, nowMs) => conversions(injectFault(messages), nowMs),
  };
}

/**
 * Test hook (like ADPIPE_TASK_CRASH_AT): with `ADPIPE_TEST_FAULT_MARKER` set, a message whose bytes
 * contain the marker makes the decode stage throw, as a stage with a bug would (issue 18's poison
 * records). Unset in production: the check is one comparison per batch.
 */
const FAULT_MARKER = process.env.ADPIPE_TEST_FAULT_MARKER ? Buffer.from(process.env.ADPIPE_TEST_FAULT_MARKER) : undefined;
function injectFault(messages: readonly InMessage[]): readonly InMessage[] {
  if (FAULT_MARKER && messages.some((m) => m.value?.includes(FAULT_MARKER))) throw Object.assign(new Error('injected fault: the decode stage threw'), { code: 'INJECTED_FAULT' });
  return messages;
}
