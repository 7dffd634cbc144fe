import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';

/**
 * IncrementalAlterConfigs (Kafka API key 44, KIP-339), which kafkajs 2.2.4 lacks: it sets or
 * deletes the named config keys of a topic and leaves every other override as it is (the plain
 * AlterConfigs kafkajs has replaces a topic's whole override set). Written on kafkajs's own protocol
 * layer (its Encoder/Decoder and a broker connection of a kafkajs Cluster), so TLS, SASL and
 * timeouts are the admin client's. Decision 0100 records why this and not a Java client.
 */

const require = createRequire(import.meta.url);

interface Encoder {
  writeInt8(value: number): Encoder;
  writeString(value: string | null): Encoder;
  writeBoolean(value: boolean): Encoder;
  writeArray(items: Encoder[]): Encoder;
}
interface Decoder {
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readString(): string | null;
  readArray<T>(read: (decoder: Decoder) => T): T[];
}
const EncoderClass = require('kafkajs/src/protocol/encoder') as new () => Encoder;
const DecoderClass = require('kafkajs/src/protocol/decoder') as new (data: Buffer) => Decoder;

export const INCREMENTAL_ALTER_CONFIGS = 44;
const TOPIC = 2;
const OPERATION = { set: 0, delete: 1 } as const;

export interface ConfigChange {
  /** Topic name. */
  name: string;
  set?: Record<string, string>;
  delete?: string[];
}

export interface ResourceResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

/** The request (version 0, not flexible) as kafkajs's connection sends it. Pure. */
export function incrementalAlterConfigsRequest(changes: ConfigChange[], validateOnly = false) {
  const request = {
    apiKey: INCREMENTAL_ALTER_CONFIGS,
    apiVersion: 0,
    apiName: 'IncrementalAlterConfigs',
    encode: async () =>
      new EncoderClass()
        .writeArray(
          changes.map((change) =>
            new EncoderClass()
              .writeInt8(TOPIC)
              .writeString(change.name)
              .writeArray([
                ...Object.entries(change.set ?? {}).map(([key, value]) => new EncoderClass().writeString(key).writeInt8(OPERATION.set).writeString(value)),
                ...(change.delete ?? []).map((key) => new EncoderClass().writeString(key).writeInt8(OPERATION.delete).writeString(null)),
              ]),
          ),
        )
        .writeBoolean(validateOnly),
  };
  const response = {
    decode: async (data: Buffer) => {
      const decoder = new DecoderClass(data);
      const throttleTimeMs = decoder.readInt32();
      const resources = decoder.readArray((d) => {
        const errorCode = d.readInt16();
        const errorMessage = d.readString();
        d.readInt8();
        return { errorCode, errorMessage, name: d.readString() ?? '' };
      });
      return { throttleTimeMs, resources };
    },
    // Errors are per topic: the caller fails each topic alone, never the batch.
    parse: async (decoded: { resources: ResourceResult[] }) => decoded,
  };
  return { request, response };
}

interface ProtocolBroker {
  versions?: Record<number, { minVersion: number; maxVersion: number }>;
  connectionPool: { send(request: ReturnType<typeof incrementalAlterConfigsRequest>): Promise<{ resources: ResourceResult[] }> };
}
interface ProtocolCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findControllerBroker(): Promise<ProtocolBroker>;
}

/** A kafkajs Cluster of the given client (its private factory, found by the symbol's description). */
export function protocolCluster(kafka: Kafka): ProtocolCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') throw new Error('this kafkajs version has no cluster factory; IncrementalAlterConfigs needs kafkajs 2.2.x');
  return (create as (options: object) => ProtocolCluster)({ allowAutoTopicCreation: false });
}

/** Sends the changes to the controller (KRaft forwards topic configs there anyway). */
export async function incrementalAlterConfigs(cluster: ProtocolCluster, changes: ConfigChange[]): Promise<ResourceResult[]> {
  await cluster.refreshMetadataIfNecessary();
  const broker = await cluster.findControllerBroker();
  const supported = broker.versions?.[INCREMENTAL_ALTER_CONFIGS];
  if (supported && supported.minVersion > 0) throw new Error(`the broker takes IncrementalAlterConfigs from version ${supported.minVersion} only`);
  if (broker.versions && !supported) throw new Error('the broker does not support IncrementalAlterConfigs (Kafka 2.3 or later needed)');
  const result = await broker.connectionPool.send(incrementalAlterConfigsRequest(changes));
  return result.resources;
}
