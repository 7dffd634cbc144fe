/**
 * The HBase layout of one pipeline's table (docs/storage.md explains the reasoning). Pure: keys and
 * names only; runtime/tasks/view.ts and query/ do the I/O.
 *
 * Row kinds, each key starting with a one-byte salt bucket:
 *   [salt(campaign_id)] 'A' u16 len, campaign_id, u32 hour   one campaign-hour: one column of partial
 *                                                             sums per task (decision 0051)
 *   [0x00] 'S' 'K' u16 task                                    one task's lifetime counters
 *   [0x00] 'T' u16 task ...                                    one task's snapshots
 */

export interface Families {
  /** Long-lived: partial sums, counters and snapshots (TTL: the pipeline's aggregates retention). */
  aggregates: string;
  /** Created for every table; unused since decision 0051 (state lives in the tasks). */
  state: string;
  /** Created for every table; unused since decision 0051. */
  dedup: string;
}

export const DEFAULT_FAMILIES: Families = { aggregates: 'a', state: 's', dedup: 'd' };

export const HOUR_MS = 3_600_000;

/** FNV-1a over the UTF-8 bytes: stable across processes and versions (the salt and the task of every key). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  // Ids are nearly always ASCII, whose UTF-8 bytes are the char codes: hash them without a Buffer.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return fnv1aBytes(Buffer.from(text, 'utf8'));
    hash ^= code;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function fnv1aBytes(bytes: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function saltOf(key: string, buckets: number): number {
  return fnv1a(key) % buckets;
}

/**
 * Split keys for a table pre-split into `buckets` regions, one per salt value: the operator creates
 * the table with these so every bucket starts on its own region.
 */
export function saltSplitKeys(buckets: number): Buffer[] {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 256) throw new RangeError(`salt buckets must be 1..256, not ${buckets}`);
  return Array.from({ length: buckets - 1 }, (_, i) => Buffer.from([i + 1]));
}

/** Impression, click, conversion. */
export type EventKind = 'i' | 'c' | 'v';

/** A campaign's hour rows sort by hour: a time range is one contiguous key range. */
export function campaignPrefix(campaignId: string, buckets: number): Buffer {
  const campaign = Buffer.from(campaignId, 'utf8');
  const prefix = Buffer.allocUnsafe(4 + campaign.length);
  prefix[0] = saltOf(campaignId, buckets);
  prefix[1] = 0x41; // 'A'
  prefix.writeUInt16BE(campaign.length, 2);
  campaign.copy(prefix, 4);
  return prefix;
}

export function hourKey(campaignId: string, hourIndex: number, buckets: number): Buffer {
  const prefix = campaignPrefix(campaignId, buckets);
  const key = Buffer.allocUnsafe(prefix.length + 4);
  prefix.copy(key, 0);
  key.writeUInt32BE(hourIndex, prefix.length);
  return key;
}

/** Decodes an hour row's key. */
export function parseHourRow(row: Buffer): { campaignId: string; hourIndex: number } {
  const length = row.readUInt16BE(2);
  const campaignEnd = 4 + length;
  return { campaignId: row.subarray(4, campaignEnd).toString('utf8'), hourIndex: row.readUInt32BE(campaignEnd) };
}

/** Stats rows all live under one prefix in bucket 0: `/v1/pipeline/stats` is one short scan. */
export const STATS_PREFIX = Buffer.from([0x00, 0x53]); // 0x00 'S'
