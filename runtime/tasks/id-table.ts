import { fingerprintHi, fingerprintLo, fingerprintOf, type Fingerprint } from './fingerprint.js';

type Column = Float64Array | Int32Array | Uint16Array | Uint8Array;
export type Columns = Record<string, Column>;

const EMPTY = -1;

/**
 * The entries of one kind of id a task keeps (decision 0071): typed arrays, not a JS object per id,
 * so the state costs tens of bytes per live id and gives the garbage collector nothing to trace.
 *
 * Entries live in a ring in the order they were created, which is close to arrival order, so
 * eviction pops from the oldest end and stops at the first entry still young. An open-addressing
 * index (linear probing, at most half full) maps a fingerprint to its entry's ring position. Each
 * entry has its fingerprint's two halves, the newest arrival that touched it, and the columns of
 * its kind (`C`), which start at zero.
 *
 * Ring positions stay valid until the next `insert` (which may grow the ring) or `evictBefore`.
 */
export class IdTable<C extends Columns> {
  private columnsOf!: C;
  /** The columns of `C` as a list: `insert` zeroes them without building one per call. */
  private columnList!: Column[];
  private hi: Float64Array;
  private lo: Float64Array;
  private last: Float64Array;
  private index: Int32Array;
  private capacity: number;
  private head = 0;
  size = 0;

  constructor(private readonly makeColumns: (capacity: number) => C, capacity = 1024) {
    this.capacity = capacity;
    this.useColumns(makeColumns(capacity));
    this.hi = new Float64Array(capacity);
    this.lo = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.index = new Int32Array(capacity * 2).fill(EMPTY);
  }

  get columns(): C {
    return this.columnsOf;
  }

  /** The only way the columns change, so the list `insert` walks never goes stale. */
  private useColumns(columns: C): void {
    this.columnsOf = columns;
    this.columnList = Object.values(columns);
  }

  /** The ring position of the entry with this fingerprint, or -1. */
  find(hi: number, lo: number): number {
    const index = this.index;
    const slotMask = index.length - 1;
    for (let slot = (lo | 0) & slotMask; ; slot = (slot + 1) & slotMask) {
      const at = index[slot]!;
      if (at === EMPTY) return EMPTY;
      if (this.lo[at] === lo && this.hi[at] === hi) return at;
    }
  }

  /** The ring position of the entry of fingerprint `fp`, or -1. */
  findId(fp: Fingerprint): number {
    return this.find(fingerprintHi(fp), fingerprintLo(fp));
  }

  /** A new entry (the fingerprint must not be in the table), its columns zero. */
  insert(hi: number, lo: number, arrivalMs: number): number {
    if (this.size === this.capacity) this.grow();
    const at = (this.head + this.size) & (this.capacity - 1);
    this.size++;
    this.hi[at] = hi;
    this.lo[at] = lo;
    this.last[at] = arrivalMs;
    const columns = this.columnList;
    for (let c = 0; c < columns.length; c++) columns[c]![at] = 0;
    this.place(at);
    return at;
  }

  /** Moves the entry's newest arrival up to `arrivalMs`: eviction ages it from there. */
  touch(at: number, arrivalMs: number): void {
    if (arrivalMs > this.last[at]!) this.last[at] = arrivalMs;
  }

  lastArrival(at: number): number {
    return this.last[at]!;
  }

  fingerprintAt(at: number): Fingerprint {
    return fingerprintOf(this.hi[at]!, this.lo[at]!);
  }

  /** Removes entries from the oldest while their newest arrival is before `cutoffMs`; `onEvict` sees each first. */
  evictBefore(cutoffMs: number, onEvict?: (at: number) => void): number {
    let evicted = 0;
    while (this.size > 0 && this.last[this.head]! < cutoffMs) {
      const at = this.head;
      onEvict?.(at);
      this.unplace(at);
      this.head = (this.head + 1) & (this.capacity - 1);
      this.size--;
      evicted++;
    }
    return evicted;
  }

  /** Every entry's ring position, oldest first, one at a time (the table must not change meanwhile). */
  *positions(): Generator<number> {
    const mask = this.capacity - 1;
    for (let k = 0; k < this.size; k++) yield (this.head + k) & mask;
  }

  /**
   * The live entries as raw bytes, column by column (fingerprint halves, newest arrival, then the
   * columns of `C` in the order `makeColumns` creates them), oldest entry first: two views per
   * column when the ring wraps. A snapshot copies these as they are instead of walking entries
   * (decision 0076). The bytes are the platform's (little-endian on every platform Node supports
   * here); the table must not change while they are read.
   */
  *liveBytes(): Generator<Uint8Array> {
    const tail = Math.min(this.size, this.capacity - this.head);
    for (const column of this.allColumns()) {
      const width = column.BYTES_PER_ELEMENT;
      yield new Uint8Array(column.buffer, column.byteOffset + this.head * width, tail * width);
      if (this.size > tail) yield new Uint8Array(column.buffer, column.byteOffset, (this.size - tail) * width);
    }
  }

  /** Fills this empty table with `size` entries laid out as `liveBytes` gives them; `read(n)` returns the next n bytes. */
  load(size: number, read: (bytes: number) => Uint8Array): void {
    if (this.size !== 0) throw new Error('load needs an empty table');
    let capacity = this.capacity;
    while (capacity < size) capacity *= 2;
    if (capacity !== this.capacity) {
      this.capacity = capacity;
      this.useColumns(this.makeColumns(capacity));
      this.hi = new Float64Array(capacity);
      this.lo = new Float64Array(capacity);
      this.last = new Float64Array(capacity);
      this.index = new Int32Array(capacity * 2).fill(EMPTY);
    }
    for (const column of this.allColumns()) {
      const width = column.BYTES_PER_ELEMENT;
      new Uint8Array(column.buffer, column.byteOffset, size * width).set(read(size * width));
    }
    this.head = 0;
    this.size = size;
    for (let at = 0; at < size; at++) this.place(at);
  }

  private allColumns(): Column[] {
    return [this.hi, this.lo, this.last, ...Object.values(this.columns)];
  }

  /** Bytes the table holds, used or not. */
  get bytes(): number {
    let bytes = this.hi.byteLength + this.lo.byteLength + this.last.byteLength + this.index.byteLength;
    for (const column of Object.values(this.columns)) bytes += column.byteLength;
    return bytes;
  }

  private place(at: number): void {
    const index = this.index;
    const slotMask = index.length - 1;
    let slot = (this.lo[at]! | 0) & slotMask;
    while (index[slot] !== EMPTY) slot = (slot + 1) & slotMask;
    index[slot] = at;
  }

  /** Deletes the index slot of entry `at`, shifting later entries of its probe run back (no tombstones). */
  private unplace(at: number): void {
    const index = this.index;
    const slotMask = index.length - 1;
    let hole = (this.lo[at]! | 0) & slotMask;
    while (index[hole] !== at) hole = (hole + 1) & slotMask;
    for (let next = (hole + 1) & slotMask; ; next = (next + 1) & slotMask) {
      const moving = index[next]!;
      if (moving === EMPTY) break;
      const home = (this.lo[moving]! | 0) & slotMask;
      // The entry at `next` may fill the hole only if its home is not cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      index[hole] = moving;
      hole = next;
    }
    index[hole] = EMPTY;
  }

  /** Twice the room: the ring is laid out again from position 0 and the index rebuilt. */
  private grow(): void {
    const capacity = this.capacity * 2;
    const order = (from: Column, to: Column) => {
      const tail = Math.min(this.size, this.capacity - this.head);
      to.set(from.subarray(this.head, this.head + tail), 0);
      to.set(from.subarray(0, this.size - tail), tail);
    };
    const columns = this.makeColumns(capacity);
    for (const name of Object.keys(columns)) order(this.columns[name]!, columns[name]!);
    const hi = new Float64Array(capacity);
    const lo = new Float64Array(capacity);
    const last = new Float64Array(capacity);
    order(this.hi, hi);
    order(this.lo, lo);
    order(this.last, last);
    this.useColumns(columns);
    this.hi = hi;
    this.lo = lo;
    this.last = last;
    this.capacity = capacity;
    this.head = 0;
    this.index = new Int32Array(capacity * 2).fill(EMPTY);
    for (let at = 0; at < this.size; at++) this.place(at);
  }
}
