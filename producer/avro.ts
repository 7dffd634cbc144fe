import avro from 'avsc';
import { BID_REQUEST_SCHEMA } from '../generator/contract.js';
import { isRawBytes, type AvroMessage } from '../generator/types.js';
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
}

export function avroEncoder(encoding: AvroEncoding = {}): (message: AvroMessage, where: string) => Buffer {
  const type = avro.Type.forSchema((encoding.schema ?? BID_REQUEST_SCHEMA) as unknown as avro.Schema);
  const id = encoding.confluentSchemaId;
  if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0x7fffffff)) {
    throw new ProducerError('PRODUCE_OPTIONS', `schema id ${id} is not a registry id (an integer in 0..2147483647)`);
  }
  return (message, where) => {
    if (isRawBytes(message)) return Buffer.from(message.$base64, 'base64');
    let body: Buffer;
    try {
      body = type.toBuffer(message);
    } catch (cause) {
      throw new ProducerError('PRODUCE_INPUT', `${where}: the record does not match the Avro schema: ${(cause as Error).message}`, false, { cause });
    }
    if (id === undefined) return body;
    const framed = Buffer.allocUnsafe(5 + body.length);
    framed[0] = 0;
    framed.writeUInt32BE(id, 1);
    body.copy(framed, 5);
    return framed;
  };
}
