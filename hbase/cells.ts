/**
 * Cells and the KeyValue cell-block codec (`org.apache.hadoop.hbase.codec.KeyValueCodec`), the
 * encoding the Java client uses for cells outside the protobuf messages. Each cell is
 *   int32 size | int32 keyLength | int32 valueLength | key | value
 * with key = int16 rowLength | row | int8 familyLength | family | qualifier | int64 timestamp | int8 type.
 * Pure functions: no I/O.
 */

/** One stored value. `timestamp` is milliseconds since the epoch, as HBase keeps it. */
export interface Cell {
  row: Buffer;
  family: Buffer;
  qualifier: Buffer;
  timestamp: number;
  type: CellType;
  value: Buffer;
}

export const CellType = {
  Put: 4,
  Delete: 8,
  DeleteFamilyVersion: 10,
  DeleteColumn: 12,
  DeleteFamily: 14,
} as const;
export type CellType = (typeof CellType)[keyof typeof CellType];

/** HBase's LATEST_TIMESTAMP (Long.MAX_VALUE): the server replaces it with its clock on write. */
export const LATEST_TIMESTAMP = 0x7fffffffffffffffn;

export interface CellToEncode {
  row: Buffer;
  family: Buffer;
  qualifier: Buffer;
  /** Milliseconds; undefined means "server time". */
  timestamp?: number;
  type: CellType;
  value: Buffer;
}

export function encodedCellSize(cell: CellToEncode): number {
  return 4 + 8 + keyLength(cell) + cell.value.length;
}

function keyLength(cell: CellToEncode): number {
  return 2 + cell.row.length + 1 + cell.family.length + cell.qualifier.length + 8 + 1;
}

/** Writes the cells one after another into one buffer (one allocation for the whole block). */
export function encodeCellBlock(cells: readonly CellToEncode[]): Buffer {
  let total = 0;
  for (const cell of cells) total += encodedCellSize(cell);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const cell of cells) {
    const keyLen = keyLength(cell);
    at = out.writeInt32BE(8 + keyLen + cell.value.length, at);
    at = out.writeInt32BE(keyLen, at);
    at = out.writeInt32BE(cell.value.length, at);
    at = out.writeInt16BE(cell.row.length, at);
    at += cell.row.copy(out, at);
    at = out.writeUInt8(cell.family.length, at);
    at += cell.family.copy(out, at);
    at += cell.qualifier.copy(out, at);
    at = out.writeBigInt64BE(cell.timestamp === undefined ? LATEST_TIMESTAMP : BigInt(cell.timestamp), at);
    at = out.writeUInt8(cell.type, at);
    at += cell.value.copy(out, at);
  }
  return out;
}

/**
 * Reads every cell of a block. The returned buffers are views into `block` (no copies), so a caller
 * that keeps a cell keeps the block alive; blocks are per-response, so that is bounded.
 */
export function decodeCellBlock(block: Buffer): Cell[] {
  const cells: Cell[] = [];
  let at = 0;
  while (at < block.length) {
    if (at + 12 > block.length) throw new RangeError(`truncated cell block at byte ${at} of ${block.length}`);
    const size = block.readInt32BE(at);
    const end = at + 4 + size;
    if (end > block.length || size < 8) throw new RangeError(`cell of ${size} bytes at byte ${at} overruns a block of ${block.length}`);
    const keyLen = block.readInt32BE(at + 4);
    const valueLen = block.readInt32BE(at + 8);
    const keyAt = at + 12;
    const rowLen = block.readUInt16BE(keyAt);
    const rowAt = keyAt + 2;
    const familyLen = block.readUInt8(rowAt + rowLen);
    const familyAt = rowAt + rowLen + 1;
    const qualifierAt = familyAt + familyLen;
    const timestampAt = keyAt + keyLen - 9;
    cells.push({
      row: block.subarray(rowAt, rowAt + rowLen),
      family: block.subarray(familyAt, qualifierAt),
      qualifier: block.subarray(qualifierAt, timestampAt),
      timestamp: Number(block.readBigInt64BE(timestampAt)),
      type: block.readUInt8(timestampAt + 8) as CellType,
      value: block.subarray(keyAt + keyLen, keyAt + keyLen + valueLen),
    });
    // Tags (when a server sends them) sit between the value and the next cell; `size` skips them.
    at = end;
  }
  return cells;
}
