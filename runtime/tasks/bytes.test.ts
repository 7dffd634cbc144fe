import { ByteReader, ByteWriter } from './bytes.js';

test('varints read back every whole number from 0 to 2^53 - 1, in 1 byte below 128 and 8 at most', () => {
  const values = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 1_234_567_890_123, Number.MAX_SAFE_INTEGER];
  const out = new ByteWriter(4);
  const sizes = values.map((value) => {
    const before = out.at;
    out.uvarint(value);
    return out.at - before;
  });
  expect(sizes.slice(0, 4)).toEqual([1, 1, 1, 2]);
  expect(sizes.at(-1)).toBe(8);
  const reader = new ByteReader(out.bytes());
  expect(values.map(() => reader.uvarint())).toEqual(values);
  expect(reader.done).toBe(true);
});

test.each([-1, 0.5, 2 ** 53, Number.NaN])('a varint refuses %p', (value) => {
  expect(() => new ByteWriter().uvarint(value)).toThrow(/whole number from 0 to 2\^53 - 1/);
});

test('a varint cut short or longer than 8 bytes is refused, never guessed', () => {
  expect(() => new ByteReader(Buffer.from([0x80, 0x80])).uvarint()).toThrow(/runs past the end/);
  expect(() => new ByteReader(Buffer.alloc(0)).uvarint()).toThrow(/past the end/);
  expect(() => new ByteReader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).uvarint()).toThrow(/longer than 8 bytes/);
  // 8 bytes hold 56 bits: one that needs more than 53 would come back rounded.
  expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10])).uvarint()).toThrow(/above 2\^53 - 1/);
  expect(new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])).uvarint()).toBe(Number.MAX_SAFE_INTEGER);
});
