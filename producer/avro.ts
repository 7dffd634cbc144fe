import avro from 'avsc';
import { BID_REQUEST_SCHEMA } from '../generator/contract.js';
import { isRawBytes, type AvroMessage } from '../generator/types.js';
import { isWrittenRecord, writerType, type WriterVersion } from '../generator/writer-versions.js';
import { frame } from '../schema-registry/index.js';
import { ProducerError } from './errors.js';

/**
 * Avro encoding of bid requests given as JSON: plain binary, or Confluent framing (magic byte 0,
 * 4-byte big-endian schema id, then the binary) when a registry id is given. Raw-bytes lines
 * (`{"$base64": ...}`) are sent as they are in both modes: they stand for bytes a feed got wrong.
 */
export interface AvroEncoding {
  /** The writer schema (JSON); default the contract's. */
  schema?: object;
  /** With a schema id, every record is framed for a schema registry. */
  confluentSchemaId?: number;
  /** Registry ids of the writer versions of a set generated with `writerVersions` (records `{"$writer": n, ...}`). */
  writerIds?: Partial<Record<WriterVersion, number>>;
}

export function avroEncoder(encoding: AvroEncoding = {}): (message: AvroMessage, where: string) => Buffer {
  const type = avro.Type.forSchema((encoding.schema ?? BID_REQUEST_SCHEMA) as unknown as avro.Schema);
  const id = encoding.confluentSchemaId;
  if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0x7fffffff)) {
    throw new ProducerError('PRODUCE_OPTIONS', `schema id ${id} is not a registry id (an integer in 0..2147483647)`);
  }
  return (message, where) => {
    if (isRawBytes(message)) return Buffer.from(message.$base64, 'base64');
    if (isWrittenRecord(message)) {
      const writerId = encoding.writerIds?.[message.$writer];
      if (writerId === undefined) throw new ProducerError('PRODUCE_OPTIONS', `${where}: a record of writer version ${message.$writer} needs a schema registry to frame it (--registry URL)`);
      return frame(writerId, encode(writerType(message.$writer), message.record, where));
    }
    const body = encode(type, message, where);
    return id === undefined ? body : frame(id, body);
  };
}

function encode(type: avro.Type, record: object, where: string): Buffer {
  try {
    return type.toBuffer(record);
  } catch (cause) {
    throw new ProducerError('PRODUCE_INPUT', `${where}: the record does not match the Avro schema: ${(cause as Error).message}`, false, { cause });
  }
}
