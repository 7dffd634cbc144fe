/**
 * Confluent wire framing: magic byte 0, the schema's global id as 4 bytes big-endian, then the
 * Avro binary body.
 */

export const FRAME_HEADER_BYTES = 5;

export function frame(id: number, body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  framed[0] = 0;
  framed.writeUInt32BE(id, 1);
  body.copy(framed, FRAME_HEADER_BYTES);
  return framed;
}

/** The schema id of a framed message, or undefined when the bytes are not Confluent-framed. */
export function frameId(value: Buffer): number | undefined {
  return value.length >= FRAME_HEADER_BYTES && value[0] === 0 ? value.readInt32BE(1) : undefined;
}
