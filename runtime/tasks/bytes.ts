import { RecentStrings } from '../decode/recent-strings.js';
import { FINGERPRINT_BYTES, type Fingerprint } from './fingerprint.js';

/** Shared by every reader of this thread: a cache, so sharing it changes no value. */
const recentStrings = new RecentStrings(8);

/** A growing byte buffer for the task codecs (frames, snapshots, partial sums): strings, fingerprints and doubles. */
export class ByteWriter {
  private buffer: Buffer;
  at = 0;

  constructor(initial = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initial);
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(next, 0, 0, this.at);
    this.buffer = next;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.at++] = value;
  }

  /** UTF-8 with a 16-bit length: ids and dimension values are short. */
  string(text: string): void {
    // The worst case of UTF-8 is 3 bytes per UTF-16 unit.
    const n = text.length;
    this.room(2 + n * 3);
    // Ids are nearly always ASCII: copying the char codes beats Buffer#write's call for a few bytes.
    const buffer = this.buffer;
    const start = this.at + 2;
    let i = 0;
    for (; i < n; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      buffer[start + i] = code;
    }
    const written = i === n ? n : buffer.write(text, start, 'utf8');
    if (written > 0xffff) throw new RangeError(`a string of ${written} bytes does not fit a task record`);
    this.buffer.writeUInt16BE(written, this.at);
    this.at += 2 + written;
  }

  /** A fingerprint's 12 char codes as 12 bytes (no length: the size is fixed). */
  fingerprint(fp: Fingerprint): void {
    this.room(FINGERPRINT_BYTES);
    const buffer = this.buffer;
    for (let i = 0; i < FINGERPRINT_BYTES; i++) buffer[this.at + i] = fp.charCodeAt(i);
    this.at += FINGERPRINT_BYTES;
  }

  number(value: number): void {
    this.room(8);
    this.buffer.writeDoubleBE(value, this.at);
    this.at += 8;
  }

  /** A whole number from 0 to 2^53 - 1 in 7-bit groups, low first: 1 byte below 128, 3 below 2 million. */
  uvarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`a varint holds a whole number from 0 to 2^53 - 1, not ${value}`);
    this.room(8);
    const buffer = this.buffer;
    let rest = value;
    // Division, not shifts: JS bit operators would cut the value to 32 bits.
    while (rest >= 0x80) {
      buffer[this.at++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    buffer[this.at++] = rest;
  }

  /** Bytes as they are (a snapshot's table columns). */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** A copy of what was written, sized to fit. */
  bytes(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.at));
  }

  /** A copy of the first `n` bytes written; what follows them moves to the front. */
  take(n: number): Buffer {
    const head = Buffer.from(this.buffer.subarray(0, n));
    this.buffer.copy(this.buffer, 0, n, this.at);
    this.at -= n;
    return head;
  }

  /** Forgets what was written, keeping the first `keep` bytes. */
  reset(keep = 0): void {
    this.at = keep;
  }
}

export class ByteReader {
  at = 0;

  constructor(private readonly buffer: Buffer) {}

  get done(): boolean {
    return this.at >= this.buffer.length;
  }

  byte(): number {
    if (this.at >= this.buffer.length) throw new RangeError('read past the end');
    return this.buffer[this.at++]!;
  }

  /** Dimension values and campaign ids repeat: equal bytes give the same string back (`RecentStrings`), and the state's interning then finds it by its cached hash. */
  string(): string {
    const buffer = this.buffer;
    const length = (buffer[this.at]! << 8) | buffer[this.at + 1]!;
    const start = this.at + 2;
    const end = start + length;
    if (end > buffer.length) throw new RangeError('a string runs past the end');
    this.at = end;
    return recentStrings.utf8(buffer, start, end);
  }

  /** Built from its 12 char codes in JS: 3–4× faster than a native `latin1Slice` call for so few bytes. */
  fingerprint(): Fingerprint {
    const b = this.buffer;
    const at = this.at;
    if (at + FINGERPRINT_BYTES > b.length) throw new RangeError('a fingerprint runs past the end');
    this.at = at + FINGERPRINT_BYTES;
    return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!, b[at + 8]!, b[at + 9]!, b[at + 10]!, b[at + 11]!);
  }

  /** The next `n` bytes as they are (a view, not a copy). */
  raw(n: number): Buffer {
    const end = this.at + n;
    if (end > this.buffer.length) throw new RangeError('raw bytes run past the end');
    const bytes = this.buffer.subarray(this.at, end);
    this.at = end;
    return bytes;
  }

  number(): number {
    const value = this.buffer.readDoubleBE(this.at);
    this.at += 8;
    return value;
  }

  uvarint(): number {
    const buffer = this.buffer;
    let at = this.at;
    if (at >= buffer.length) throw new RangeError('read past the end');
    let byte = buffer[at++]!;
    let value = byte & 0x7f;
    for (let scale = 0x80; byte >= 0x80; scale *= 0x80) {
      if (at >= buffer.length) throw new RangeError('a varint runs past the end');
      if (scale > 2 ** 49) throw new RangeError('a varint longer than 8 bytes');
      byte = buffer[at++]!;
      value += (byte & 0x7f) * scale;
    }
    // An eighth byte above 0x0f would need more than 53 bits: the double would round it.
    if (value > Number.MAX_SAFE_INTEGER) throw new RangeError('a varint above 2^53 - 1');
    this.at = at;
    return value;
  }
}
