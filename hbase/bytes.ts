/**
 * Byte-string helpers. HBase keys are raw bytes ordered lexicographically as unsigned bytes;
 * callers may pass strings (encoded as UTF-8) wherever bytes are expected.
 */

/** Row keys, families, qualifiers and values: raw bytes, or a string taken as UTF-8. */
export type Bytes = Buffer | Uint8Array | string;

export const EMPTY = Buffer.alloc(0);

// Family names and short fixed qualifiers repeat on every cell: their bytes are made once. The
// client never writes into a caller's or this cache's buffers.
const SHORT_STRINGS = new Map<string, Buffer>();

export function toBuffer(value: Bytes): Buffer {
  if (typeof value === 'string') {
    if (value.length > 2) return Buffer.from(value, 'utf8');
    let bytes = SHORT_STRINGS.get(value);
    if (!bytes) {
      // Its own memory, not a slice of Node's shared 8 KB pool, which a cached slice would pin.
      bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(value, 'utf8'));
      bytes.write(value, 'utf8');
      if (SHORT_STRINGS.size < 4096) SHORT_STRINGS.set(value, bytes);
    }
    return bytes;
  }
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Printable form of a key for error messages: UTF-8 when it is plain text, hex otherwise. */
export function printable(value: Uint8Array | undefined): string {
  if (!value || value.length === 0) return "''";
  const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const text = buffer.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? `'${text}'` : `0x${buffer.toString('hex')}`;
}

/** The smallest key greater than every key that starts with `prefix` (empty: no upper bound). */
export function prefixUpperBound(prefix: Uint8Array): Buffer {
  const bound = Buffer.from(prefix);
  for (let i = bound.length - 1; i >= 0; i--) {
    if (bound[i]! < 0xff) {
      bound[i] = bound[i]! + 1;
      return bound.subarray(0, i + 1);
    }
  }
  return EMPTY;
}

/** Big-endian signed 64-bit, the encoding HBase uses for counters. */
export function int64ToBuffer(value: bigint | number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return buffer;
}

export function bufferToInt64(value: Uint8Array): bigint {
  if (value.length !== 8) throw new RangeError(`a counter cell holds 8 bytes, this one ${value.length}`);
  return Buffer.from(value.buffer, value.byteOffset, 8).readBigInt64BE(0);
}
