/** Node's Buffer has had these since its first versions (avsc reads strings with `utf8Slice`). */
interface SliceDecoders {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const direct = typeof (Buffer.prototype as unknown as Partial<SliceDecoders>).latin1Slice === 'function' && typeof (Buffer.prototype as unknown as Partial<SliceDecoders>).utf8Slice === 'function';

/** `bytes.toString('latin1', start, end)` without its argument handling (strings of a few bytes). */
export const latin1 = direct ? (bytes: Buffer, start: number, end: number): string => (bytes as unknown as SliceDecoders).latin1Slice(start, end) : (bytes: Buffer, start: number, end: number): string => bytes.toString('latin1', start, end);

/** `bytes.toString('utf8', start, end)`, likewise. */
export const utf8 = direct ? (bytes: Buffer, start: number, end: number): string => (bytes as unknown as SliceDecoders).utf8Slice(start, end) : (bytes: Buffer, start: number, end: number): string => bytes.toString('utf8', start, end);

/**
 * Text of a field with few distinct values (exchange, country, campaign, ...) decoded once: bytes
 * equal to a recently decoded value give that same string back instead of a new one, so a batch of
 * records holds far fewer strings (and the garbage collector copies fewer). Values are unchanged:
 * equal bytes decode to equal text. A direct-mapped table: a collision only costs a decode.
 */
export class RecentStrings {
  private readonly slots: (string | undefined)[];
  private readonly mask: number;

  constructor(bits = 7) {
    this.mask = (1 << bits) - 1;
    this.slots = new Array<string | undefined>(this.mask + 1).fill(undefined);
  }

  /** bytes[start..end) decoded as UTF-8 (as `Buffer#toString('utf8', start, end)` does). */
  utf8(bytes: Buffer, start: number, end: number): string {
    let hash = end - start;
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      // Only ASCII is kept (there, one byte is one UTF-16 unit, as compared below).
      if (b >= 0x80) return utf8(bytes, start, end);
      hash = (Math.imul(hash, 31) + b) | 0;
    }
    const slot = (hash ^ (hash >>> 11)) & this.mask;
    const known = this.slots[slot];
    if (known !== undefined && known.length === end - start) {
      let i = 0;
      while (i < known.length && known.charCodeAt(i) === bytes[start + i]) i++;
      if (i === known.length) return known;
    }
    const text = latin1(bytes, start, end);
    this.slots[slot] = text;
    return text;
  }
}
