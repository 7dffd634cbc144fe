import avro from 'avsc';
import { BID_REQUEST_SCHEMA, type BidRequest } from './contract.js';

/**
 * Bid requests written by producers on three versions of their schema, all readable as the
 * contract's (docs/schema-evolution.md): v1 is the contract's; v2 adds an optional field with a
 * default (`tmax_ms`); v3 also drops `user_id`, which the contract's reader fills with its default
 * (null). A set generated with `writerVersions` interleaves them record by record.
 */

export type WriterVersion = 1 | 2 | 3;
export const WRITER_VERSIONS: readonly WriterVersion[] = [1, 2, 3];

const TMAX_FIELD = { name: 'tmax_ms', type: ['null', 'int'], default: null };
const contractFields = BID_REQUEST_SCHEMA.fields as readonly object[];

export const BID_REQUEST_WRITER_SCHEMAS: Record<WriterVersion, object> = {
  1: BID_REQUEST_SCHEMA,
  2: { ...BID_REQUEST_SCHEMA, doc: 'Bid request, producer schema v2: adds tmax_ms.', fields: [...contractFields, TMAX_FIELD] },
  3: { ...BID_REQUEST_SCHEMA, doc: 'Bid request, producer schema v3: adds tmax_ms, drops user_id.', fields: [...contractFields.filter((f) => (f as { name: string }).name !== 'user_id'), TMAX_FIELD] },
};

/** A record as one writer version writes it (a line `{"$writer": 2, "record": {...}}` of a set). */
export interface WrittenRecord {
  $writer: WriterVersion;
  record: Record<string, unknown>;
}

export function isWrittenRecord(message: unknown): message is WrittenRecord {
  return typeof message === 'object' && message !== null && typeof (message as Partial<WrittenRecord>).$writer === 'number';
}

/** The `index`-th bid request of a set as its writer version has it (versions in turn: 1, 2, 3, 1, ...). */
export function asWritten(record: BidRequest, index: number): WrittenRecord {
  const version = WRITER_VERSIONS[index % WRITER_VERSIONS.length]!;
  if (version === 1) return { $writer: 1, record: { ...record } };
  const { user_id: userId, ...rest } = record;
  const tmax = 80 + (index % 7) * 20;
  return version === 2 ? { $writer: 2, record: { ...rest, user_id: userId, tmax_ms: tmax } } : { $writer: 3, record: { ...rest, tmax_ms: tmax } };
}

const types = new Map<WriterVersion, avro.Type>();

/** The avsc type of a writer version (made once). */
export function writerType(version: WriterVersion): avro.Type {
  let type = types.get(version);
  if (!type) {
    const schema = BID_REQUEST_WRITER_SCHEMAS[version];
    if (!schema) throw new Error(`bid-request writer version ${String(version)} is not one of ${WRITER_VERSIONS.join(', ')}`);
    type = avro.Type.forSchema(schema as avro.Schema);
    types.set(version, type);
  }
  return type;
}
