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
    bidRequests: (messages, nowMs) => avro.decode(messages, nowMs),
    impressions: async (messages, nowMs) => impressions(messages, nowMs),
    clicks: async (messages, nowMs) => clicks(messages, nowMs),
    conversions: async (messages, nowMs) => conversions(messages, nowMs),
  };
}
