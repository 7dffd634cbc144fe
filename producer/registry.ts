import { BID_REQUEST_SCHEMA } from '../generator/contract.js';
import { BID_REQUEST_WRITER_SCHEMAS, WRITER_VERSIONS } from '../generator/writer-versions.js';
import { RegistryError, SchemaRegistryClient, valueSubject, type RegistryConnection } from '../schema-registry/index.js';
import type { AvroEncoding } from './avro.js';
import { ProducerError } from './errors.js';

/** Where `adpipe produce --registry` registers writer schemas: the registry and the subject. */
export interface RegistryTarget extends RegistryConnection {
  /** Default: `<topic>-value` (the registry's default naming). */
  subject?: string;
}

/**
 * Registers the writer schemas the input uses under the topic's subject (or finds them there: a
 * registry answers the existing id for a schema it has) and returns the encoding with their ids,
 * so every record is Confluent-framed. Writer versions register in order (v1, v2, v3), the order
 * in which producers would have evolved, so a BACKWARD subject accepts each.
 */
export async function registerWriterSchemas(target: RegistryTarget, topic: string, encoding: AvroEncoding = {}, writerVersions = false): Promise<AvroEncoding> {
  const client = new SchemaRegistryClient(target);
  const subject = target.subject ?? valueSubject(topic);
  const register = async (schema: object, what: string): Promise<number> => {
    try {
      return await client.register(subject, JSON.stringify(schema));
    } catch (cause) {
      const message = cause instanceof RegistryError ? cause.message : String(cause);
      throw new ProducerError('PRODUCE_OPTIONS', `cannot register ${what} under subject ${subject}: ${message}`, cause instanceof RegistryError && cause.unavailable, { cause });
    }
  };
  const result: AvroEncoding = { ...encoding, confluentSchemaId: await register(encoding.schema ?? BID_REQUEST_SCHEMA, 'the writer schema') };
  if (writerVersions) {
    result.writerIds = {};
    for (const version of WRITER_VERSIONS) result.writerIds[version] = await register(BID_REQUEST_WRITER_SCHEMAS[version], `writer version ${version}`);
  }
  return result;
}
