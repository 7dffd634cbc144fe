/**
 * The HBase layout of one pipeline's table (docs/storage.md explains the reasoning). Pure: keys,
 * column names and value codecs only; sinks/hbase.ts and query/ do the I/O.
 *
 * Row kinds, each key starting with a one-byte salt bucket:
 *   [b % salt] kind u16 b      state bucket b of a fact kind (R bid requests, I impressions,
 *                              C clicks, V conversions): the claims, facts and partner index of
 *                              every id with hash(id) % stateBuckets = b, one column each
 *   [salt(campaign_id)] 'A' u16 len, campaign_id, u32 hour   one campaign-hour: one column per counted event
 *   [0x00]              'S' ...                                 pipeline stats (partition ledgers, attribution shards)
 *
 * Wide rows are the point (decision 0046): a batch's claims in one bucket are one compare-and-set,
 * its index entries and counted events are a few multi-cell puts, and HBase's cost per row (lock,
 * WAL entry, RPC action) is paid per bucket or campaign-hour instead of per event.
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

export type FactKind = 'R' | 'I' | 'C' | 'V';

/**
 * State buckets per fact kind: the salt buckets times this. More buckets keep rows narrower (a
 * row holds the ids of its bucket for as long as the state lives); fewer put more of a batch's ids
 * into each compare-and-set. Fixed for a table: changing it would move ids to other rows and let a
 * replayed copy be claimed twice.
 */
export const STATE_BUCKETS_PER_SALT = 16;

export function stateBucketsFor(saltBuckets: number): number {
  return saltBuckets * STATE_BUCKETS_PER_SALT;
}

/** The state-bucket row an id of `kind` lives in. */
export function stateRow(kind: FactKind, id: string, saltBuckets: number): Buffer {
  const bucket = fnv1a(id) % stateBucketsFor(saltBuckets);
  const row = Buffer.allocUnsafe(4);
  row[0] = bucket % saltBuckets;
  row[1] = kind.charCodeAt(0);
  row.writeUInt16BE(bucket, 2);
  return row;
}

/**
 * Qualifiers inside a state-bucket row. Every id is written as `<length>:<id>` so that no id's
 * column is a prefix of another id's (a child index entry appends the child id after its parent's).
 */
const lengthPrefixed = (id: string): string => `${id.length}:${id}`;

export const STATE_COLUMN = {
  /** dedup family: the bucket's version, moved by every claim compare-and-set. */
  version: 'v',
} as const;

/** dedup family: the claim of an id, `partition:offset:index` of the accepted copy. */
export const claimQualifier = (id: string): string => `c${lengthPrefixed(id)}`;
/** state family: the fact of an id (JSON). */
export const factQualifier = (id: string): string => `f${lengthPrefixed(id)}`;
/** state family: every child (impression of a request, click of an impression, ...) of a parent id. */
export const childPrefix = (parentId: string): string => `x${lengthPrefixed(parentId)}`;
export const childQualifier = (parentId: string, childId: string): string => childPrefix(parentId) + childId;

/** Reads a fact or child qualifier back: the id it belongs to and, for a child entry, the child's id. */
export function parseStateQualifier(qualifier: string): { tag: string; id: string; childId: string } | undefined {
  const colon = qualifier.indexOf(':');
  const length = Number(qualifier.slice(1, colon));
  if (colon < 2 || !Number.isInteger(length)) return undefined;
  const end = colon + 1 + length;
  return { tag: qualifier[0]!, id: qualifier.slice(colon + 1, end), childId: qualifier.slice(end) };
}

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

/**
 * A counted event has one column per level of knowledge in its hour row: level 1 computed without
 * the impression's bid request (dimensions `unknown`), level 2 with it. Facts only ever grow, so a
 * writer that saw less can only write the lower column: a stale writer can never overwrite a better
 * answer, and readers take the highest level present.
 */
export function countedQualifier(enriched: boolean, kind: EventKind, eventId: string): string {
  return `${enriched ? 2 : 1}${kind}${eventId}`;
}

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

/**
 * A campaign-hour row's roll-up columns (runtime/stages/rollup.ts, decision 0048). They start with
 * '#' (chunks: '~'), which no counted column does, and reads of counted cells ask for
 * COUNTED_PREFIXES only.
 * `#w` is put with every write of counted cells, so its timestamp is the row's last write: a query
 * whose summary covers it reads nothing else.
 */
export const ROLLUP = { generation: '#g', summary: '#s', clock: '#t', written: '#w' } as const;
export const COUNTED_PREFIXES = ['1', '2'];

/** Chunks sort after the counted columns, so a row's first cell (what listing rows reads) is small. */
export function chunkQualifier(index: number): string {
  return `~c${index}`;
}

const TAB = 0x09;

/** The amount alone of an encoded counted event (what a query without a breakdown needs). */
export function countedAmount(value: Buffer): number {
  let amount = 0;
  for (let i = 0; i < value.length; i++) {
    const byte = value[i]!;
    if (byte === TAB) return amount;
    if (byte < 0x30 || byte > 0x39) return decodeCounted(value).amount; // not written by encodeCounted today
    amount = amount * 10 + (byte - 0x30);
  }
  return amount;
}

const LEVEL_1 = 0x31; // '1'
const LEVEL_2 = 0x32; // '2'

/** Whether a qualifier is a counted event's (not one of its row's roll-up columns). */
export function isCountedQualifier(qualifier: Buffer): boolean {
  return qualifier.length > 2 && (qualifier[0] === LEVEL_1 || qualifier[0] === LEVEL_2);
}

/**
 * Calls `take` once per counted event of one campaign-hour row, with the best level written
 * (countedQualifier). A row's cells come in qualifier byte order, so the level-1 columns all precede
 * the level-2 ones and each run is ordered by kind and event id: merging the two runs finds the
 * events written at both levels without a map of event ids (a query may read millions of cells).
 */
export function forEachBestCounted(cells: readonly { qualifier: Buffer; value: Buffer }[], take: (kind: EventKind, value: Buffer) => void): void {
  // Only counted columns, each once (a store may return other columns or several versions).
  let ordered = cells.filter((cell) => isCountedQualifier(cell.qualifier));
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i - 1]!.qualifier.compare(ordered[i]!.qualifier) > 0) {
      ordered = [...ordered].sort((a, b) => a.qualifier.compare(b.qualifier));
      break;
    }
  }
  ordered = ordered.filter((cell, i) => i === 0 || !cell.qualifier.equals(ordered[i - 1]!.qualifier));
  let split = 0;
  while (split < ordered.length && ordered[split]!.qualifier[0] === LEVEL_1) split++;
  const emit = (cell: { qualifier: Buffer; value: Buffer }) => take(String.fromCharCode(cell.qualifier[1]!) as EventKind, cell.value);
  let one = 0;
  let two = split;
  while (one < split && two < ordered.length) {
    const low = ordered[one]!.qualifier;
    const high = ordered[two]!.qualifier;
    const order = low.compare(high, 1, high.length, 1, low.length);
    if (order < 0) emit(ordered[one++]!);
    else {
      if (order === 0) one++; // written at both levels: level 2 knows more
      emit(ordered[two++]!);
    }
  }
  while (one < split) emit(ordered[one++]!);
  while (two < ordered.length) emit(ordered[two++]!);
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
