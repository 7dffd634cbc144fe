import fs from 'node:fs';
import avro from 'avsc';
import type { RuntimeConfig } from '../../api/runtime-config.js';
import { frameId, FRAME_HEADER_BYTES, RegistryError, SchemaRegistryClient } from '../../schema-registry/index.js';
import { RuntimeError } from '../errors.js';
import type { BidRequest, InMessage, Item } from '../model.js';
import { arrivalTimes, processingTimeAt, refAt } from '../model.js';
import { bidRequestRejection, REASON, Rejection, validateBidRequest } from '../stages/validate.js';
import { readBidRequest } from './bid-request-reader.js';
import { BID_REQUEST_SCHEMA } from './bid-request-schema.js';

export type AvroSourceOptions = RuntimeConfig['sources']['bidRequests']['avro'];

/** Fetches a writer schema by id; `undefined` when the registry does not know the id. */
export type SchemaFetcher = (id: number) => Promise<string | undefined>;

/**
 * Writer schemas from the pipeline's registry (Confluent API), credentials and CA read from their
 * mounted files. An outage or a 5xx is a retriable SCHEMA_REGISTRY error: the batch waits.
 */
export function registryFetcher(options: AvroSourceOptions, onFetch: (id: number) => void = () => undefined): SchemaFetcher {
  const url = options.schemaRegistryUrl!;
  const read = (file: string) => fs.readFileSync(file, 'utf8').trim();
  const auth = options.schemaRegistryAuth;
  const client = new SchemaRegistryClient({
    url,
    ...(auth ? { basicAuth: { username: read(auth.usernameFile), password: read(auth.passwordFile) } } : {}),
    ...(options.schemaRegistryCaFile ? { ca: fs.readFileSync(options.schemaRegistryCaFile) } : {}),
  });
  return async (id) => {
    // A short outage is waited out here, with backoff; a longer one fails the batch (retriable),
    // and the task starts over and asks again. Never a dead letter.
    for (let attempt = 0; ; attempt++) {
      try {
        const schema = await client.schemaById(id);
        onFetch(id);
        return schema;
      } catch (cause) {
        const unavailable = cause instanceof RegistryError && cause.unavailable;
        if (!unavailable || attempt >= FETCH_ATTEMPTS - 1) throw new RuntimeError('SCHEMA_REGISTRY', `${(cause as Error).message} (schema id ${id})`, { retriable: unavailable, cause });
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  };
}

/** Tries of one fetch before the batch fails: about 7 s of waiting in all. */
const FETCH_ATTEMPTS = 8;

const readerType = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);

interface Reader {
  resolver?: avro.Resolver;
  type: avro.Type;
  /** The writer schema has the canonical form of the reader's: `readBidRequest` may read it. */
  canonical: boolean;
}

const CANONICAL: Reader = { type: readerType, canonical: true };

/**
 * A writer schema resolved to the canonical reader schema, or why it cannot be. A writer schema
 * with the reader's canonical form (only docs, defaults or attributes differ) is read by the fast
 * path without the resolver; the resolver stays for the bytes the fast path leaves to avsc.
 */
function readerFor(writerSchemaText: string): Reader | string {
  try {
    const writer = avro.Type.forSchema(JSON.parse(writerSchemaText) as avro.Schema);
    const resolver = readerType.createResolver(writer);
    return { type: readerType, resolver, canonical: writer.equals(readerType) };
  } catch {
    return REASON.avroSchema;
  }
}

function toBidRequest(value: Record<string, unknown>): BidRequest {
  return {
    request_id: value.request_id as string,
    ts: value.ts as number,
    exchange: value.exchange as string,
    publisher_id: value.publisher_id as string,
    site_domain: (value.site_domain as string | null) ?? null,
    app_bundle: (value.app_bundle as string | null) ?? null,
    device_type: value.device_type as string,
    country: value.country as string,
    user_id: (value.user_id as string | null) ?? null,
    floor_price_micros: value.floor_price_micros as number,
  };
}

/**
 * Bid requests. Plain binary is read with the pipeline's writer schema (default: the canonical one)
 * and resolved to the canonical reader schema; with a registry, each schema id is fetched once and
 * cached for the life of the decoder. Registry outages are retriable errors (the batch waits);
 * an id the registry does not know makes that record invalid.
 */
export class AvroBidRequestDecoder {
  private readonly plain: Reader | string;
  private readonly byId = new Map<number, Reader | string>();
  private readonly learning = new Map<number, Promise<Reader | string>>();
  private readonly fetchSchema?: SchemaFetcher;

  constructor(options: AvroSourceOptions, fetcher?: SchemaFetcher) {
    this.plain = options.writerSchema ? readerFor(options.writerSchema) : CANONICAL;
    if (options.schemaRegistryUrl) this.fetchSchema = fetcher ?? registryFetcher(options);
  }

  async decode(messages: readonly InMessage[], nowMs: number): Promise<Item<BidRequest>[]> {
    if (this.fetchSchema) await this.learnSchemas(messages);
    const items: Item<BidRequest>[] = [];
    const arrivalOf = arrivalTimes();
    for (const message of messages) items.push(this.decodeOne(message, arrivalOf(message), nowMs));
    return items;
  }

  private async learnSchemas(messages: readonly InMessage[]): Promise<void> {
    const unknown = new Set<number>();
    for (const message of messages) {
      const id = message.value ? frameId(message.value) : undefined;
      if (id !== undefined && !this.byId.has(id)) unknown.add(id);
    }
    for (const id of unknown) this.byId.set(id, await this.learn(id));
  }

  /** One fetch per id, however many tasks decode at once; a failed fetch is forgotten, so it is tried again. */
  private learn(id: number): Promise<Reader | string> {
    let learning = this.learning.get(id);
    if (!learning) {
      learning = this.fetchSchema!(id).then((text) => {
        if (text === undefined) return REASON.unknownSchemaId(id);
        const reader = readerFor(text);
        return typeof reader === 'string' ? REASON.unreadableSchemaId(id) : reader;
      });
      this.learning.set(id, learning);
      learning.catch(() => this.learning.delete(id));
    }
    return learning;
  }

  private decodeOne(message: InMessage, arrivalMs: number, nowMs: number): Item<BidRequest> {
    const ref = refAt(message, 0, arrivalMs);
    const value = message.value;
    if (!value || value.length === 0) return { ok: false, reason: REASON.emptyMessage, raw: value ?? Buffer.alloc(0), ref };
    let reader: Reader | string;
    let start = 0;
    if (this.fetchSchema) {
      const id = frameId(value);
      if (id === undefined) return { ok: false, reason: REASON.avroDecode, raw: value, ref };
      reader = this.byId.get(id) ?? REASON.unknownSchemaId(id);
      start = FRAME_HEADER_BYTES;
    } else {
      reader = this.plain;
    }
    if (typeof reader === 'string') return { ok: false, reason: reader, raw: value, ref };
    // The fast path reads well-formed canonical records; anything else gets avsc's verdict below.
    const record = reader.canonical ? readBidRequest(value, start) : undefined;
    if (record !== undefined) {
      const reason = bidRequestRejection(record, processingTimeAt(arrivalMs, nowMs));
      return reason === undefined ? { ok: true, record, ref } : { ok: false, reason, raw: value, ref };
    }
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.type.decode(value, start, reader.resolver);
    } catch {
      return { ok: false, reason: REASON.avroDecode, raw: value, ref };
    }
    // -1: the bytes ended inside a record; fewer than all: trailing garbage. Both are corrupt.
    if (decoded.offset !== value.length || typeof decoded.value !== 'object' || decoded.value === null) return { ok: false, reason: REASON.avroDecode, raw: value, ref };
    const result = validateBidRequest(toBidRequest(decoded.value as Record<string, unknown>), processingTimeAt(arrivalMs, nowMs));
    if (result instanceof Rejection) return { ok: false, reason: result.reason, raw: value, ref };
    return { ok: true, record: result, ref };
  }
}

/** Encodes a canonical bid request as plain Avro binary (tests, fixtures, the bench). */
export function encodeBidRequest(record: BidRequest): Buffer {
  return readerType.toBuffer(record);
}
