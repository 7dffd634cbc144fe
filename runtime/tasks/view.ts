import { hourKey, parseHourRow, STATS_PREFIX } from '../storage/layout.js';
import { prefixEnd } from '../storage/keys.js';
import { cellValue, type Store, type StorePut, type StoreRowCell } from '../storage/store.js';
import type { EventContribution } from '../stages/aggregate.js';
import { eachContribution, eachViewContribution } from './sums.js';
import type { TaskState, TaskStats } from './state.js';

/**
 * HBase as the tasks' queryable view (decision 0051). Everything here is written whole, with a
 * version (the cell timestamp) taken before the Kafka commit it belongs to, so a rewrite is
 * harmless and an old owner's late write loses to the new owner's:
 *   campaign-hour row (`hourKey`)        column `q<task>`: the task's partial sums of that hour
 *                                         (`p<task>` before decision 0148: read while it is newer)
 *   [0x00] 'S' 'K' u16 task               column `s`: the task's lifetime counters
 *   [0x00] 'T' u16 task slot 'h'          a snapshot's head: generation, chunk count, position
 *   [0x00] 'T' u16 task slot 'c' u32 i    its chunks (8-byte generation, then bytes)
 * Snapshots alternate between two slots, so a crash while writing one leaves the other whole.
 */

export interface ViewSettings {
  saltBuckets: number;
  family: string;
}

/** The column of a task's partial sums (`HourSums#encodeForView`), and the one views before decision 0148 wrote (`HourSums#encode`). */
export const SUMS_PREFIX = 'q';
const LEGACY_SUMS_PREFIX = 'p';
const STATS_QUALIFIER = 's';
const SNAPSHOT_PREFIX = Buffer.from([0x00, 0x54]); // 0x00 'T'
const TASK_STATS_PREFIX = Buffer.concat([STATS_PREFIX, Buffer.from('K')]);
/** Below HBase's 10 MiB cell limit, and small enough for one put request each. */
export const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;

const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
export function taskStatsRow(task: number): Buffer {
  return Buffer.concat([TASK_STATS_PREFIX, u16(task)]);
}
function snapshotHeadRow(task: number, slot: number): Buffer {
  return Buffer.concat([SNAPSHOT_PREFIX, u16(task), Buffer.from([slot]), Buffer.from('h')]);
}
function snapshotChunkRow(task: number, slot: number, index: number): Buffer {
  const i = Buffer.alloc(4);
  i.writeUInt32BE(index);
  return Buffer.concat([SNAPSHOT_PREFIX, u16(task), Buffer.from([slot]), Buffer.from('c'), i]);
}

export function encodeStats(stats: TaskStats): Buffer {
  return Buffer.from(JSON.stringify(stats));
}

export function decodeStats(bytes: Buffer): TaskStats {
  return JSON.parse(bytes.toString('utf8')) as TaskStats;
}

/** The puts that bring the view up to the state for the given campaign-hours, and the task's counters. */
export function viewPuts(task: number, state: TaskState, dirty: Iterable<string>, version: number, settings: ViewSettings): { sums: StorePut[]; stats: StorePut } {
  const puts: StorePut[] = [];
  const qualifier = `${SUMS_PREFIX}${task}`;
  for (const key of dirty) {
    const sums = state.sums.get(key);
    if (!sums) continue;
    const at = key.lastIndexOf('\u0000');
    const row = hourKey(key.slice(0, at), Number(key.slice(at + 1)), settings.saltBuckets);
    puts.push({ row, cells: [{ family: settings.family, qualifier, value: sums.encodeForView(), timestamp: version }] });
  }
  return { sums: puts, stats: { row: taskStatsRow(task), cells: [{ family: settings.family, qualifier: STATS_QUALIFIER, value: encodeStats(state.stats), timestamp: version }] } };
}

/** Writes puts in requests of bounded size (a restore may rewrite every campaign-hour a task has). */
export async function putInBatches(store: Store, puts: readonly StorePut[], perRequest = 2000): Promise<void> {
  for (let at = 0; at < puts.length; at += perRequest) await store.putMany(puts.slice(at, at + perRequest));
}

/** Every task's counters, in one short scan. */
export async function readTaskStats(store: Store, family: string): Promise<TaskStats[]> {
  const stats: TaskStats[] = [];
  for await (const row of store.scan({ startRow: TASK_STATS_PREFIX, stopRow: prefixEnd(TASK_STATS_PREFIX), columns: [{ family, qualifier: STATS_QUALIFIER }] })) {
    const value = cellValue(row, family, STATS_QUALIFIER);
    if (value) stats.push(decodeStats(value));
  }
  return stats;
}

/** The highest version a task has written to its stats row (a new owner's versions must be above it). */
export async function lastVersionOf(store: Store, task: number, family: string): Promise<number> {
  const [row] = await store.getMany([{ row: taskStatsRow(task), columns: [{ family, qualifier: STATS_QUALIFIER }] }]);
  return row?.cells[0]?.timestamp ?? 0;
}

export interface SnapshotHead {
  generation: number;
  chunks: number;
  bytes: number;
  /** The next offset of the task's internal partition that the state has not applied. */
  position: string;
  version: number;
}

/**
 * Writes a snapshot into the slot its generation selects: chunks first, the head last. `chunks`
 * gives the state in pieces of SNAPSHOT_CHUNK_BYTES (the last one shorter), each written before the
 * next is asked for.
 */
export async function writeSnapshot(store: Store, family: string, task: number, chunks: Iterable<Buffer>, head: Omit<SnapshotHead, 'chunks' | 'bytes'>): Promise<void> {
  const slot = head.generation % 2;
  const generation = Buffer.alloc(8);
  generation.writeDoubleBE(head.generation);
  let count = 0;
  let bytes = 0;
  for (const chunk of chunks) {
    if (chunk.length > SNAPSHOT_CHUNK_BYTES) throw new RangeError(`a snapshot chunk of ${chunk.length} bytes is over ${SNAPSHOT_CHUNK_BYTES}`);
    await store.putMany([{ row: snapshotChunkRow(task, slot, count), cells: [{ family, qualifier: 'v', value: Buffer.concat([generation, chunk]), timestamp: head.version }] }]);
    count++;
    bytes += chunk.length;
  }
  const full: SnapshotHead = { ...head, chunks: count, bytes };
  await store.putMany([{ row: snapshotHeadRow(task, slot), cells: [{ family, qualifier: 'h', value: Buffer.from(JSON.stringify(full)), timestamp: head.version }] }]);
}

/** The newest whole snapshot of a task (a slot whose chunks all carry its head's generation), if any. */
export async function readSnapshot(store: Store, family: string, task: number): Promise<{ head: SnapshotHead; state: Buffer } | undefined> {
  const heads = (await store.getMany([0, 1].map((slot) => ({ row: snapshotHeadRow(task, slot), columns: [{ family, qualifier: 'h' }] }))))
    .map((row) => cellValue(row, family, 'h'))
    .flatMap((value) => (value ? [JSON.parse(value.toString('utf8')) as SnapshotHead] : []))
    .sort((a, b) => b.generation - a.generation);
  for (const head of heads) {
    const slot = head.generation % 2;
    const rows = await store.getMany(Array.from({ length: head.chunks }, (_, i) => ({ row: snapshotChunkRow(task, slot, i), columns: [{ family, qualifier: 'v' }] })));
    const parts = rows.map((row) => cellValue(row, family, 'v'));
    if (parts.some((part) => !part || part.readDoubleBE(0) !== head.generation)) continue;
    const state = Buffer.concat(parts.map((part) => part!.subarray(8)));
    if (state.length === head.bytes) return { head, state };
  }
  return undefined;
}

/**
 * Every contribution of a campaign's partial sums over an hour range, into `each` as the scan reads
 * them. A task's column of either encoding counts, and when a row has both (a view written before
 * and after the upgrade of decision 0148, or by old and new workers during a rolling update) only
 * the one with the higher version does.
 */
export async function scanCampaignContributions(store: Store, settings: ViewSettings, campaignId: string, firstHour: number, endHour: number, each: (contribution: EventContribution) => void): Promise<void> {
  if (endHour <= firstHour) return;
  const current = SUMS_PREFIX.charCodeAt(0);
  const legacy = LEGACY_SUMS_PREFIX.charCodeAt(0);
  for await (const row of store.scan({ startRow: hourKey(campaignId, firstHour, settings.saltBuckets), stopRow: hourKey(campaignId, endHour, settings.saltBuckets), columns: [{ family: settings.family }] })) {
    const { campaignId: rowCampaign, hourIndex } = parseHourRow(row.row);
    if (rowCampaign !== campaignId) continue;
    // Columns come sorted: every `p<task>` before any `q<task>`.
    let older: Map<string, StoreRowCell> | undefined;
    for (const cell of row.cells) {
      const prefix = cell.qualifier[0];
      if (prefix === legacy) (older ??= new Map()).set(taskOfColumn(cell), cell);
      else if (prefix === current) {
        const old = older?.size ? take(older, taskOfColumn(cell)) : undefined;
        if (old && old.timestamp > cell.timestamp) eachContribution(hourIndex, old.value, each);
        else eachViewContribution(hourIndex, cell.value, each);
      }
    }
    if (older) for (const cell of older.values()) eachContribution(hourIndex, cell.value, each);
  }
}

/** The task a sums column belongs to: what follows its one-letter prefix. */
const taskOfColumn = (cell: StoreRowCell): string => cell.qualifier.toString('latin1', 1);

function take<K, V>(map: Map<K, V>, key: K): V | undefined {
  const value = map.get(key);
  map.delete(key);
  return value;
}
