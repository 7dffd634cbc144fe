/**
 * The HBase layout of one pipeline's table (docs/storage.md explains the reasoning). Pure: keys,
 * column names and value codecs only; sinks/hbase.ts and query/ do the I/O.
 *
 * Row kinds, each key starting with a one-byte salt bucket:
 *   [salt(request_id)]    'R' request_id     bid request fact  + index of impressions naming it
 *   [salt(impression_id)] 'I' impression_id  impression fact   + index of clicks naming it
 *   [salt(click_id)]      'C' click_id       click fact        + index of conversions naming it
 *   [salt(conversion_id)] 'V' conversion_id  conversion claim
 *   [salt(campaign_id)]   'A' u16 len, campaign_id, u32 hour, kind, event_id   one counted event
 *   [0x00]                'S' ...            pipeline stats (partition ledgers, attribution shards)
 */

export interface Families {
  /** Long-lived: counted events and stats (TTL: the pipeline's aggregates retention). */
  aggregates: string;
  /** Join state: facts and their partner indexes. */
  state: string;
  /** First-copy claims per event id. */
  dedup: string;
}

export const DEFAULT_FAMILIES: Families = { aggregates: 'a', state: 's', dedup: 'd' };

export const HOUR_MS = 3_600_000;

/** FNV-1a over the UTF-8 bytes: stable across processes and versions (the salt is part of every key). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
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

export type FactKind = 'R' | 'I' | 'C' | 'V';

export function factRow(kind: FactKind, id: string, buckets: number): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const row = Buffer.allocUnsafe(2 + idBytes.length);
  row[0] = saltOf(id, buckets);
  row[1] = kind.charCodeAt(0);
  idBytes.copy(row, 2);
  return row;
}

export function factIdOf(row: Buffer): string {
  return row.subarray(2).toString('utf8');
}

/** Columns of the fact rows. */
export const COLUMN = {
  /** dedup family: the claim, `partition:offset:index` of the accepted copy. */
  claim: 'c',
  /** state family: the fact itself (JSON). */
  fact: 'f',
  /** state family: `x:<child id>` → the child's fact (JSON), one per impression/click/conversion naming this row. */
  childPrefix: 'x:',
} as const;

export type EventKind = 'i' | 'c' | 'v';

/** Counted-event rows of one campaign sort by hour: a time range is one contiguous key range. */
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

export function eventRow(campaignId: string, hourIndex: number, kind: EventKind, eventId: string, buckets: number): Buffer {
  return Buffer.concat([hourKey(campaignId, hourIndex, buckets), Buffer.from(kind + eventId, 'utf8')]);
}

/** Decodes the parts of a counted-event row key that the query needs. */
export function parseEventRow(row: Buffer): { campaignId: string; hourIndex: number; kind: EventKind; eventId: string } {
  const length = row.readUInt16BE(2);
  const campaignEnd = 4 + length;
  return {
    campaignId: row.subarray(4, campaignEnd).toString('utf8'),
    hourIndex: row.readUInt32BE(campaignEnd),
    kind: String.fromCharCode(row[campaignEnd + 4]!) as EventKind,
    eventId: row.subarray(campaignEnd + 5).toString('utf8'),
  };
}

/**
 * A counted event has one column per level of knowledge: `e1` computed without the impression's bid
 * request (dimensions `unknown`), `e2` with it. Facts only ever grow, so a writer that saw less can
 * only write the lower column: a stale writer can never overwrite a better answer, and readers take
 * the highest level present.
 */
export const EVENT_COLUMNS = ['e1', 'e2'] as const;

export interface CountedEvent {
  kind: EventKind;
  campaignId: string;
  hourIndex: number;
  eventId: string;
  /** price_micros of an impression, value_micros of a conversion, 0 for a click. */
  amount: number;
  country: string;
  deviceType: string;
  enriched: boolean;
}

export function encodeCounted(event: CountedEvent): Buffer {
  return Buffer.from(`${event.amount}\t${event.country}\t${event.deviceType}`, 'utf8');
}

export function decodeCounted(value: Buffer): { amount: number; country: string; deviceType: string } {
  const [amount, country, deviceType] = value.toString('utf8').split('\t');
  return { amount: Number(amount), country: country ?? 'unknown', deviceType: deviceType ?? 'unknown' };
}

/** Stats rows all live under one prefix in bucket 0: `/v1/pipeline/stats` is one short scan. */
export const STATS_PREFIX = Buffer.from([0x00, 0x53]); // 0x00 'S'

/** The ledger of one source partition: counts of the records of offsets up to `through`. */
export function ledgerRow(source: string, partition: number): Buffer {
  return Buffer.concat([STATS_PREFIX, Buffer.from(`L${source}\u0000${partition}`, 'utf8')]);
}

export const LEDGER = { through: 'o', accepted: 'na', invalid: 'ni', duplicates: 'nd' } as const;

/** An attribution shard: how many clicks / conversions were attributed, and which (markers). */
export function attributionRow(shard: number): Buffer {
  return Buffer.concat([STATS_PREFIX, Buffer.from([0x54, shard])]); // 'T'
}

export const ATTRIBUTION = { version: 'v', clicks: 'nc', conversions: 'nv', markerPrefix: 'm' } as const;

/**
 * Attribution counters are spread over this many rows: each holds the markers of its ids, so more
 * shards keep rows narrow (markers live as long as the aggregates) at the cost of more rows to
 * update per batch. Fixed: changing it would re-count ids already marked in another shard.
 */
export const ATTRIBUTION_SHARDS = 64;

export function marker(kind: 'c' | 'v', eventId: string): string {
  return `${ATTRIBUTION.markerPrefix}${kind}${eventId}`;
}

export function hourIndexOf(ts: number): number {
  return Math.floor(ts / HOUR_MS);
}
