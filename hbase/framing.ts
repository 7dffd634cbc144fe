import { decodeDelimitedAt, encode, encodeDelimited, type MessageName, type PbRequestHeader, type PbResponseHeader } from './proto.js';

/**
 * HBase RPC framing (pure; the socket lives in rpc-connection.ts).
 * - connection preamble: "HBas", version 0, auth 0x50 (SIMPLE), then int32 length + ConnectionHeader;
 * - each call: int32 total length | delimited RequestHeader | delimited parameter | optional cell block;
 * - each response: int32 total length | delimited ResponseHeader | delimited result (absent when the
 *   header carries an exception) | optional cell block (length in the header).
 */

const PREAMBLE = Buffer.from([0x48, 0x42, 0x61, 0x73, 0x00, 0x50]);

/** The codec for cell blocks; the Java client's default, understood by every 2.x server. */
export const KEYVALUE_CODEC = 'org.apache.hadoop.hbase.codec.KeyValueCodec';

export function connectionPreamble(service: string, user: string, cellBlocks: boolean): Buffer {
  const header = encode('ConnectionHeader', {
    user_info: { effective_user: user },
    service_name: service,
    ...(cellBlocks ? { cell_block_codec_class: KEYVALUE_CODEC } : {}),
  });
  const length = Buffer.alloc(4);
  length.writeInt32BE(header.length);
  return Buffer.concat([PREAMBLE, length, header]);
}

export function requestFrame(header: PbRequestHeader, paramType: MessageName, param: object, cellBlock?: Buffer): Buffer {
  const headerBytes = encodeDelimited('RequestHeader', cellBlock ? { ...header, cell_block_meta: { length: cellBlock.length } } : header);
  const paramBytes = encodeDelimited(paramType, param);
  const total = headerBytes.length + paramBytes.length + (cellBlock?.length ?? 0);
  const frame = Buffer.allocUnsafe(4 + total);
  frame.writeInt32BE(total, 0);
  frame.set(headerBytes, 4);
  frame.set(paramBytes, 4 + headerBytes.length);
  if (cellBlock) frame.set(cellBlock, 4 + headerBytes.length + paramBytes.length);
  return frame;
}

export interface ResponseFrame {
  header: PbResponseHeader;
  /** The delimited result message's bytes (without its length prefix); undefined on exception. */
  body?: Uint8Array;
  cellBlock?: Buffer;
}

/** Splits one response frame (without its int32 length) into header, result bytes and cells. */
export function parseResponse(frame: Buffer): ResponseFrame {
  const { message: header, end } = decodeDelimitedAt<PbResponseHeader>('ResponseHeader', frame, 0);
  if (header.exception) return { header };
  const cellLength = header.cell_block_meta?.length ?? 0;
  const bodyEnd = frame.length - cellLength;
  let body: Uint8Array | undefined;
  if (end < bodyEnd) {
    // The result is itself length-delimited; strip the varint.
    let at = end;
    let length = 0;
    let shift = 0;
    for (;;) {
      const byte = frame[at++]!;
      length |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7;
    }
    body = frame.subarray(at, at + length);
  }
  return { header, ...(body ? { body } : {}), ...(cellLength > 0 ? { cellBlock: frame.subarray(bodyEnd) } : {}) };
}

/**
 * Reassembles length-prefixed frames from socket chunks without re-copying the buffered bytes on
 * every chunk (a 2 MB scan batch arrives in many small chunks).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readInt32BE(0);
      if (this.buffered < 4 + length) break;
      const all = this.take(4 + length);
      frames.push(all.subarray(4));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
