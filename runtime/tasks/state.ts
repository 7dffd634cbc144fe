import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
/** The dimension value of an impression without a matching bid request (contract §2.3). */
export const UNKNOWN = 'unknown';
import { HOUR_MS, type EventKind } from '../storage/layout.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { fingerprintHi, fingerprintLo, fingerprintOf, type Fingerprint } from './fingerprint.js';
import { IdTable, type Columns } from './id-table.js';
import { HourSums } from './sums.js';
import { ReusedRecords } from './records.js';
import type {
  BidRecord,
  ClickAtImpressionRecord,
  ClickRecord,
  ConversionAtClickRecord,
  ConversionAtImpressionRecord,
  ConversionRecord,
  DimensionsRecord,
  ImpressionRecord,
  ImpressionRefRecord,
  ProgressRecord,
  TaskRecord,
} from './records.js';

/**
 * The state one task owns (decision 0051) and its transitions. Pure: `apply` takes one record of
 * the task's partition of the internal topic, changes the state, and hands the records it causes
 * to `send`; nothing here reads a clock or does I/O, so re-applying the partition's records from a
 * snapshot rebuilds exactly the state the task had.
 *
 * Keys it owns: the request ids, impression ids, click ids and conversion ids that hash to it.
 * The impression's entry is the owner of everything counted about it: the impression, its clicks
 * and their conversions, with the dimensions of its bid request, so a late bid request or a late
 * impression moves contributions within one task.
 */

/** Contract §2.4's windows, and how far apart (Kafka arrival time) two partners may arrive and still join. */
export interface CorrelationRules {
  attributionWindowMs: number;
  conversionWindowMs: number;
  latenessMs: number;
}

/** Takes a record the state causes. The object is reused for the next record of its kind once `send` returns: copy what you keep (a frame does). */
export type Send = (record: Exclude<TaskRecord, ProgressRecord>) => void;

/** The records the state sends, filled into its own `ReusedRecords` (every impression causes a Q and a D). */
class SentRecords {
  private readonly reused = new ReusedRecords();

  impressionRef(requestId: Fingerprint, impressionId: Fingerprint, arrivalMs: number): ImpressionRefRecord {
    const r = this.reused.Q;
    r.requestId = requestId; r.impressionId = impressionId; r.arrivalMs = arrivalMs;
    return r;
  }
  dimensions(impressionId: Fingerprint, requestId: Fingerprint, country: string, deviceType: string): DimensionsRecord {
    const r = this.reused.D;
    r.impressionId = impressionId; r.requestId = requestId; r.country = country; r.deviceType = deviceType;
    return r;
  }
  clickAtImpression(impressionId: Fingerprint, clickId: Fingerprint, ts: number, arrivalMs: number): ClickAtImpressionRecord {
    const r = this.reused.K;
    r.impressionId = impressionId; r.clickId = clickId; r.ts = ts; r.arrivalMs = arrivalMs;
    return r;
  }
  conversionAtClick(clickId: Fingerprint, conversionId: Fingerprint, ts: number, valueMicros: number, arrivalMs: number): ConversionAtClickRecord {
    const r = this.reused.W;
    r.clickId = clickId; r.conversionId = conversionId; r.ts = ts; r.valueMicros = valueMicros; r.arrivalMs = arrivalMs;
    return r;
  }
  conversionAtImpression(impressionId: Fingerprint, clickId: Fingerprint, conversionId: Fingerprint, ts: number, valueMicros: number, arrivalMs: number): ConversionAtImpressionRecord {
    const r = this.reused.X;
    r.impressionId = impressionId; r.clickId = clickId; r.conversionId = conversionId; r.ts = ts; r.valueMicros = valueMicros; r.arrivalMs = arrivalMs;
    return r;
  }
}

/** Flags of an entry: the id's own record arrived; it has side data (waiting partners, clicks); its dimensions are known. */
const HAS = 1;
const MORE = 2;
const ENRICHED = 4;
/** A bid entry holds one waiting impression in its own columns (the common case: no list, no object). */
const WAITING = 8;

interface Waiting {
  impressionId: Fingerprint;
  arrivalMs: number;
}

interface ConversionNode {
  conversionId: Fingerprint;
  ts: number;
  valueMicros: number;
  arrivalMs: number;
  attributed: boolean;
}

interface ClickNode {
  clickId: Fingerprint;
  /** Whether the click itself has arrived (a conversion may be attached first). */
  known: boolean;
  ts: number;
  arrivalMs: number;
  attributed: boolean;
  conversions?: ConversionNode[];
}

type WaitingConversion = Omit<ConversionAtClickRecord, 'kind'>;

/** Lifetime counters of one task; the pipeline's stats are their sum over tasks (each never negative). */
export interface TaskStats {
  accepted: number[];
  invalid: number[];
  duplicates: number[];
  clicksAtImpressions: number;
  clicksAttributed: number;
  conversionsWaiting: number;
  conversionsAtImpressions: number;
  conversionsAttributed: number;
}

export const SOURCE_INDEX: Record<SourceName, number> = { bidRequests: 0, impressions: 1, clicks: 2, conversions: 3 };

const hourOf = (ts: number): number => Math.floor(ts / HOUR_MS);
const KIND_NUMBER: Record<EventKind, number> = { i: 0, c: 1, v: 2 };
const zero4 = (): number[] => [0, 0, 0, 0];

const bidColumns = (n: number) => ({
  flags: new Uint8Array(n),
  country: new Int32Array(n),
  device: new Int32Array(n),
  arrival: new Float64Array(n),
  waitingHi: new Float64Array(n),
  waitingLo: new Float64Array(n),
  waitingArrival: new Float64Array(n),
});
const impressionColumns = (n: number) => ({
  flags: new Uint8Array(n),
  requestHi: new Float64Array(n),
  requestLo: new Float64Array(n),
  campaign: new Int32Array(n),
  ts: new Float64Array(n),
  price: new Float64Array(n),
  arrival: new Float64Array(n),
  country: new Int32Array(n),
  device: new Int32Array(n),
});
const clickColumns = (n: number) => ({ flags: new Uint8Array(n), impressionHi: new Float64Array(n), impressionLo: new Float64Array(n) });
const noColumns = () => ({});

/** The few distinct values of campaign ids, countries and device types, each kept once and named by a small number. */
class Interner {
  private readonly numbers = new Map<string, number>();
  private readonly values: string[] = [];

  constructor(first: string) {
    this.of(first);
  }

  of(value: string): number {
    let n = this.numbers.get(value);
    if (n === undefined) {
      n = this.values.length;
      this.values.push(value);
      this.numbers.set(value, n);
    }
    return n;
  }

  value(n: number): string {
    return this.values[n]!;
  }

  get count(): number {
    return this.values.length;
  }
}

/** A campaign-hour's partial sums with its key (`campaign \0 hour`), found by numbers without building the key. */
interface SumsSlot {
  key: string;
  sums: HourSums;
}

export class TaskState {
  /** Request ids: the bid request's dimensions, or impressions waiting for it (`bidWaiting`). */
  readonly bids = new IdTable(bidColumns);
  /** Impression ids: the owner of everything counted about the impression; its clicks in `impressionClicks`. */
  readonly impressions = new IdTable(impressionColumns);
  /** Click ids: the click's impression, or conversions waiting for the click (`clickWaiting`). */
  readonly clicks = new IdTable(clickColumns);
  /** Conversion ids accepted (dedup only). */
  readonly conversions = new IdTable(noColumns);
  // Side data of the few entries that have it (flag MORE), by fingerprint: positions move when a table grows.
  private readonly bidWaiting = new Map<Fingerprint, Waiting[]>();
  private readonly impressionClicks = new Map<Fingerprint, ClickNode[]>();
  private readonly clickWaiting = new Map<Fingerprint, WaitingConversion[]>();
  /** Campaign ids, countries and device types; 0 is UNKNOWN. */
  private readonly strings = new Interner(UNKNOWN);
  private readonly sent = new SentRecords();
  /** Partial sums per campaign-hour (`campaign \0 hour`), and those changed since `takeDirty()`. */
  readonly sums = new Map<string, HourSums>();
  private readonly sumsByCampaign: Map<number, SumsSlot>[] = [];
  private dirty = new Set<string>();
  stats: TaskStats = { accepted: zero4(), invalid: zero4(), duplicates: zero4(), clicksAtImpressions: 0, clicksAttributed: 0, conversionsWaiting: 0, conversionsAtImpressions: 0, conversionsAttributed: 0 };
  /** Per source partition (`source:partition`), the last offset whose records this task has applied. */
  readonly appliedThrough = new Map<string, number>();
  /** The nonce of the last barrier read back: a new owner resumes its sources once it reads its own. */
  lastBarrier = -1;
  /** The newest arrival time (Kafka timestamp) the task has seen: the clock eviction uses. */
  watermarkMs = 0;

  constructor(private readonly rules: CorrelationRules) {}

  // ---- progress of the source partitions this task reads ------------------------------------------

  /** Whether the records of a source message at `offset` were already applied (a replay of offsets). */
  applied(source: number, partition: number, offset: number): boolean {
    const through = this.appliedThrough.get(`${source}:${partition}`);
    return through !== undefined && offset <= through;
  }

  /**
   * A source batch's progress, read back from the task's own partition. Its owners write them in
   * offset order (a new owner fences the old one first), so each is applied once; one at or below
   * what was applied is a replay of offsets that were reset.
   */
  private progress(record: ProgressRecord): void {
    if (record.source === BARRIER) {
      this.lastBarrier = record.partition;
      return;
    }
    const key = `${record.source}:${record.partition}`;
    const through = this.appliedThrough.get(key);
    if (through !== undefined && record.throughOffset <= through) return;
    this.appliedThrough.set(key, record.throughOffset);
    this.stats.invalid[record.source]! += record.invalid;
  }

  // ---- transitions ----------------------------------------------------------------------------------

  apply(record: TaskRecord, send: Send): void {
    if ('arrivalMs' in record && record.arrivalMs > this.watermarkMs) this.watermarkMs = record.arrivalMs;
    switch (record.kind) {
      case 'B':
        return this.bid(record, send);
      case 'Q':
        return this.impressionRef(record, send);
      case 'I':
        return this.impression(record, send);
      case 'D':
        return this.dimensions(record);
      case 'K':
        return this.clickAtImpression(record);
      case 'X':
        return this.conversionAtImpression(record);
      case 'C':
        return this.click(record, send);
      case 'W':
        return this.conversionAtClick(record, send);
      case 'V':
        return this.conversion(record, send);
      case 'P':
        return this.progress(record);
    }
  }

  private withinLateness(a: number, b: number): boolean {
    return Math.abs(a - b) <= this.rules.latenessMs;
  }

  private bid(record: BidRecord, send: Send): void {
    const table = this.bids;
    let at = table.findId(record.requestId);
    if (at >= 0 && table.columns.flags[at]! & HAS) {
      this.stats.duplicates[0]!++;
      return;
    }
    this.stats.accepted[0]!++;
    at = entryOf(table, record.requestId, at, record.arrivalMs);
    const bid = table.columns;
    bid.country[at] = this.strings.of(record.country);
    bid.device[at] = this.strings.of(record.deviceType);
    bid.arrival[at] = record.arrivalMs;
    const flags = bid.flags[at]!;
    bid.flags[at] = HAS;
    for (const waiting of this.waitingFor(at, flags, record.requestId)) {
      if (this.withinLateness(waiting.arrivalMs, record.arrivalMs)) send(this.sent.dimensions(waiting.impressionId, record.requestId, record.country, record.deviceType));
    }
    if (flags & MORE) this.bidWaiting.delete(record.requestId);
  }

  /** The impressions waiting for the bid request at `at`, in arrival order: the one in its columns, then its list. */
  private waitingFor(at: number, flags: number, requestId: Fingerprint): Waiting[] {
    const bid = this.bids.columns;
    const first: Waiting[] = flags & WAITING ? [{ impressionId: fingerprintOf(bid.waitingHi[at]!, bid.waitingLo[at]!), arrivalMs: bid.waitingArrival[at]! }] : [];
    return flags & MORE ? first.concat(this.bidWaiting.get(requestId)!) : first;
  }

  private impressionRef(record: ImpressionRefRecord, send: Send): void {
    const table = this.bids;
    let at = table.findId(record.requestId);
    if (at >= 0 && table.columns.flags[at]! & HAS) {
      const bid = table.columns;
      if (this.withinLateness(bid.arrival[at]!, record.arrivalMs)) {
        send(this.sent.dimensions(record.impressionId, record.requestId, this.strings.value(bid.country[at]!), this.strings.value(bid.device[at]!)));
      }
      return;
    }
    at = entryOf(table, record.requestId, at, record.arrivalMs);
    const bid = table.columns;
    if (!(bid.flags[at]! & (WAITING | MORE))) {
      bid.flags[at]! |= WAITING;
      bid.waitingHi[at] = fingerprintHi(record.impressionId);
      bid.waitingLo[at] = fingerprintLo(record.impressionId);
      bid.waitingArrival[at] = record.arrivalMs;
      return;
    }
    bid.flags[at]! |= MORE;
    sideList(this.bidWaiting, record.requestId).push({ impressionId: record.impressionId, arrivalMs: record.arrivalMs });
  }

  private impression(record: ImpressionRecord, send: Send): void {
    const table = this.impressions;
    let at = table.findId(record.impressionId);
    if (at >= 0 && table.columns.flags[at]! & HAS) {
      this.stats.duplicates[1]!++;
      return;
    }
    this.stats.accepted[1]!++;
    at = entryOf(table, record.impressionId, at, record.arrivalMs);
    const impression = table.columns;
    impression.flags[at]! |= HAS;
    impression.requestHi[at] = fingerprintHi(record.requestId);
    impression.requestLo[at] = fingerprintLo(record.requestId);
    impression.campaign[at] = this.strings.of(record.campaignId);
    impression.ts[at] = record.ts;
    impression.price[at] = record.priceMicros;
    impression.arrival[at] = record.arrivalMs;
    impression.country[at] = 0;
    impression.device[at] = 0;
    this.contribute(at, 'i', record.ts, record.priceMicros, 1);
    if (impression.flags[at]! & MORE) for (const click of this.impressionClicks.get(record.impressionId)!) if (click.known) this.attributeClick(at, click);
    send(this.sent.impressionRef(record.requestId, record.impressionId, record.arrivalMs));
  }

  /** The bid request's dimensions reach the impression: everything counted about it moves to them. */
  private dimensions(record: DimensionsRecord): void {
    const table = this.impressions;
    const at = table.findId(record.impressionId);
    if (at < 0) return;
    const impression = table.columns;
    const flags = impression.flags[at]!;
    // Another copy's request id (the first accepted copy won) or dimensions already known: nothing to do.
    if (!(flags & HAS) || flags & ENRICHED) return;
    if (impression.requestHi[at] !== fingerprintHi(record.requestId) || impression.requestLo[at] !== fingerprintLo(record.requestId)) return;
    const clicks = flags & MORE ? this.impressionClicks.get(record.impressionId) : undefined;
    this.everyContribution(at, clicks, -1);
    impression.country[at] = this.strings.of(record.country);
    impression.device[at] = this.strings.of(record.deviceType);
    impression.flags[at] = flags | ENRICHED;
    this.everyContribution(at, clicks, 1);
  }

  /** The clicks recorded at an impression (created with the entry's MORE flag when absent). */
  private clicksAt(at: number, impressionId: Fingerprint): ClickNode[] {
    this.impressions.columns.flags[at]! |= MORE;
    return sideList(this.impressionClicks, impressionId);
  }

  private clickAtImpression(record: ClickAtImpressionRecord): void {
    const table = this.impressions;
    const at = entryOf(table, record.impressionId, table.findId(record.impressionId), record.arrivalMs);
    const clicks = this.clicksAt(at, record.impressionId);
    let click = clicks.find((c) => c.clickId === record.clickId);
    if (click?.known) return; // the click task sends each accepted click once; a repeat changes nothing
    this.stats.clicksAtImpressions++;
    if (!click) clicks.push((click = { clickId: record.clickId, known: true, ts: record.ts, arrivalMs: record.arrivalMs, attributed: false }));
    else Object.assign(click, { known: true, ts: record.ts, arrivalMs: record.arrivalMs });
    this.attributeClick(at, click);
  }

  private conversionAtImpression(record: ConversionAtImpressionRecord): void {
    const table = this.impressions;
    const at = entryOf(table, record.impressionId, table.findId(record.impressionId), record.arrivalMs);
    const clicks = this.clicksAt(at, record.impressionId);
    let click = clicks.find((c) => c.clickId === record.clickId);
    if (!click) clicks.push((click = { clickId: record.clickId, known: false, ts: 0, arrivalMs: 0, attributed: false }));
    const conversions = (click.conversions ??= []);
    if (conversions.some((c) => c.conversionId === record.conversionId)) return;
    this.stats.conversionsAtImpressions++;
    const conversion: ConversionNode = { conversionId: record.conversionId, ts: record.ts, valueMicros: record.valueMicros, arrivalMs: record.arrivalMs, attributed: false };
    conversions.push(conversion);
    if (click.attributed) this.attributeConversion(at, click, conversion);
  }

  private click(record: ClickRecord, send: Send): void {
    const table = this.clicks;
    let at = table.findId(record.clickId);
    if (at >= 0 && table.columns.flags[at]! & HAS) {
      this.stats.duplicates[2]!++;
      return;
    }
    this.stats.accepted[2]!++;
    at = entryOf(table, record.clickId, at, record.arrivalMs);
    const click = table.columns;
    click.impressionHi[at] = fingerprintHi(record.impressionId);
    click.impressionLo[at] = fingerprintLo(record.impressionId);
    const flags = click.flags[at]!;
    click.flags[at] = HAS;
    send(this.sent.clickAtImpression(record.impressionId, record.clickId, record.ts, record.arrivalMs));
    if (!(flags & MORE)) return;
    for (const waiting of this.clickWaiting.get(record.clickId)!) {
      this.stats.conversionsWaiting--;
      send(this.sent.conversionAtImpression(record.impressionId, waiting.clickId, waiting.conversionId, waiting.ts, waiting.valueMicros, waiting.arrivalMs));
    }
    this.clickWaiting.delete(record.clickId);
  }

  private conversionAtClick(record: ConversionAtClickRecord, send: Send): void {
    const table = this.clicks;
    let at = table.findId(record.clickId);
    if (at >= 0 && table.columns.flags[at]! & HAS) {
      const impressionId = fingerprintOf(table.columns.impressionHi[at]!, table.columns.impressionLo[at]!);
      send(this.sent.conversionAtImpression(impressionId, record.clickId, record.conversionId, record.ts, record.valueMicros, record.arrivalMs));
      return;
    }
    at = entryOf(table, record.clickId, at, record.arrivalMs);
    table.columns.flags[at]! |= MORE;
    sideList(this.clickWaiting, record.clickId).push({ clickId: record.clickId, conversionId: record.conversionId, ts: record.ts, valueMicros: record.valueMicros, arrivalMs: record.arrivalMs });
    this.stats.conversionsWaiting++;
  }

  private conversion(record: ConversionRecord, send: Send): void {
    if (this.conversions.findId(record.conversionId) >= 0) {
      this.stats.duplicates[3]!++;
      return;
    }
    this.stats.accepted[3]!++;
    this.conversions.insert(fingerprintHi(record.conversionId), fingerprintLo(record.conversionId), record.arrivalMs);
    send(this.sent.conversionAtClick(record.clickId, record.conversionId, record.ts, record.valueMicros, record.arrivalMs));
  }

  // ---- attribution (contract §2.4) and contributions --------------------------------------------------

  /** Attributes a known click to the impression at `at` (whose own record has arrived, or nothing happens). */
  private attributeClick(at: number, click: ClickNode): void {
    const impression = this.impressions.columns;
    if (!(impression.flags[at]! & HAS) || click.attributed) return;
    const delay = click.ts - impression.ts[at]!;
    if (delay < 0 || delay > this.rules.attributionWindowMs || !this.withinLateness(click.arrivalMs, impression.arrival[at]!)) return;
    click.attributed = true;
    this.stats.clicksAttributed++;
    this.contribute(at, 'c', click.ts, 0, 1);
    for (const conversion of click.conversions ?? []) this.attributeConversion(at, click, conversion);
  }

  private attributeConversion(at: number, click: ClickNode, conversion: ConversionNode): void {
    if (!(this.impressions.columns.flags[at]! & HAS) || conversion.attributed) return;
    const delay = conversion.ts - click.ts;
    if (delay < 0 || delay > this.rules.conversionWindowMs || !this.withinLateness(conversion.arrivalMs, click.arrivalMs)) return;
    conversion.attributed = true;
    this.stats.conversionsAttributed++;
    this.contribute(at, 'v', conversion.ts, conversion.valueMicros, 1);
  }

  /** Adds (sign 1) or takes back (sign -1) everything counted about one impression, at its dimensions. */
  private everyContribution(at: number, clicks: readonly ClickNode[] | undefined, sign: 1 | -1): void {
    const impression = this.impressions.columns;
    this.contribute(at, 'i', impression.ts[at]!, impression.price[at]!, sign);
    for (const click of clicks ?? []) {
      if (!click.attributed) continue;
      this.contribute(at, 'c', click.ts, 0, sign);
      for (const conversion of click.conversions ?? []) if (conversion.attributed) this.contribute(at, 'v', conversion.ts, conversion.valueMicros, sign);
    }
  }

  /** Counts one event about the impression at `at`, at the impression's campaign and dimensions, in the hour of `ts`. */
  private contribute(at: number, kind: EventKind, ts: number, amount: number, sign: 1 | -1): void {
    const impression = this.impressions.columns;
    const campaign = impression.campaign[at]!;
    const hour = hourOf(ts);
    const hours = (this.sumsByCampaign[campaign] ??= new Map());
    let slot = hours.get(hour);
    if (!slot) {
      const key = `${this.strings.value(campaign)}\u0000${hour}`;
      let sums = this.sums.get(key);
      if (!sums) this.sums.set(key, (sums = new HourSums()));
      hours.set(hour, (slot = { key, sums }));
    }
    const country = impression.country[at]!;
    const device = impression.device[at]!;
    // One exact number per (kind, country, device) while the interned numbers are below 2^24 and 2^27.
    if (device < 0x100_0000 && country < 0x800_0000) slot.sums.addByNumber((country * 0x100_0000 + device) * 4 + KIND_NUMBER[kind], kind, this.strings.value(country), this.strings.value(device), sign, sign * amount);
    else slot.sums.add(kind, this.strings.value(country), this.strings.value(device), sign, sign * amount);
    this.dirty.add(slot.key);
  }

  /** The campaign-hours whose sums changed since the last call. */
  takeDirty(): Set<string> {
    const dirty = this.dirty;
    this.dirty = new Set();
    return dirty;
  }

  /** Marks every campaign-hour changed: after a restore, the view is rewritten from the state. */
  markAllDirty(keys: Iterable<string> = this.sums.keys()): void {
    for (const key of keys) this.dirty.add(key);
  }

  // ---- memory bound -----------------------------------------------------------------------------------

  /**
   * Forgets ids whose newest record arrived more than the lateness bound plus `graceMs` before the
   * watermark: no partner may join them any more, and a copy that late is outside the dedup window.
   * Tables keep entries in the order they were created, which is close to arrival order, so this
   * stops at the first young entry instead of scanning everything.
   */
  evict(graceMs: number): number {
    const cutoff = this.watermarkMs - this.rules.latenessMs - graceMs;
    const withSide = <C extends Columns & { flags: Uint8Array }>(table: IdTable<C>, side: Map<Fingerprint, unknown>) => (at: number) => {
      if (table.columns.flags[at]! & MORE) side.delete(table.fingerprintAt(at));
    };
    return (
      this.bids.evictBefore(cutoff, withSide(this.bids, this.bidWaiting)) +
      this.impressions.evictBefore(cutoff, withSide(this.impressions, this.impressionClicks)) +
      this.clicks.evictBefore(cutoff, withSide(this.clicks, this.clickWaiting)) +
      this.conversions.evictBefore(cutoff)
    );
  }

  get liveIds(): number {
    return this.bids.size + this.impressions.size + this.clicks.size + this.conversions.size;
  }

  /** Bytes the id tables hold in memory (side data and sums not counted: they are per click or per campaign-hour). */
  get tableBytes(): number {
    return this.bids.bytes + this.impressions.bytes + this.clicks.bytes + this.conversions.bytes;
  }

  // ---- snapshot ---------------------------------------------------------------------------------------

  /** The whole state as bytes (decision 0051: snapshots bound restore time). */
  encode(): Buffer {
    return Buffer.concat([...this.encodeChunks(Infinity)]);
  }

  /**
   * The bytes of `encode` in pieces of `chunkBytes` (the last one shorter). The id tables go as
   * their raw columns (decision 0076: walking 200k entries one by one took 0.2–1 s, a copy of the
   * columns takes milliseconds), then the side data of the few entries that have it, then the
   * partial sums. The state must not change until the last piece.
   */
  *encodeChunks(chunkBytes: number): Generator<Buffer> {
    const out = new ByteWriter(Math.min(chunkBytes, 1024 * 1024));
    const full = function* (): Generator<Buffer> {
      while (out.at >= chunkBytes) yield out.take(chunkBytes);
    };
    out.byte(SNAPSHOT_VERSION);
    this.writeHeader(out);
    out.number(this.strings.count);
    for (let n = 0; n < this.strings.count; n++) out.string(this.strings.value(n));
    for (const table of this.tables()) {
      out.number(table.size);
      for (const bytes of table.liveBytes()) {
        for (let from = 0; from < bytes.length; from += RAW_SLICE_BYTES) {
          out.raw(bytes.subarray(from, from + RAW_SLICE_BYTES));
          yield* full();
        }
      }
    }
    out.number(this.bidWaiting.size);
    for (const [fp, list] of this.bidWaiting) {
      out.fingerprint(fp);
      out.number(list.length);
      for (const w of list) { out.fingerprint(w.impressionId); out.number(w.arrivalMs); }
      yield* full();
    }
    out.number(this.impressionClicks.size);
    for (const [fp, clicks] of this.impressionClicks) {
      out.fingerprint(fp);
      out.number(clicks.length);
      for (const c of clicks) writeClick(out, c);
      yield* full();
    }
    out.number(this.clickWaiting.size);
    for (const [fp, list] of this.clickWaiting) {
      out.fingerprint(fp);
      out.number(list.length);
      for (const w of list) { out.fingerprint(w.conversionId); out.number(w.ts); out.number(w.valueMicros); out.number(w.arrivalMs); }
      yield* full();
    }
    out.number(this.sums.size);
    for (const [key, sums] of this.sums) {
      out.string(key);
      sums.writeTo(out);
      yield* full();
    }
    yield out.bytes();
  }

  private tables(): IdTable<Columns>[] {
    return [this.bids, this.impressions, this.clicks, this.conversions];
  }

  /** What both snapshot versions start with: the clock, the counters and the progress per source partition. */
  private writeHeader(out: ByteWriter): void {
    out.number(this.watermarkMs);
    for (const list of [this.stats.accepted, this.stats.invalid, this.stats.duplicates]) for (const n of list) out.number(n);
    out.number(this.stats.clicksAtImpressions); out.number(this.stats.clicksAttributed); out.number(this.stats.conversionsWaiting);
    out.number(this.stats.conversionsAtImpressions); out.number(this.stats.conversionsAttributed);
    out.number(this.appliedThrough.size);
    for (const [key, through] of this.appliedThrough) { out.string(key); out.number(through); }
  }

  private readHeader(r: ByteReader): void {
    this.watermarkMs = r.number();
    for (const list of [this.stats.accepted, this.stats.invalid, this.stats.duplicates]) for (let k = 0; k < 4; k++) list[k] = r.number();
    this.stats.clicksAtImpressions = r.number();
    this.stats.clicksAttributed = r.number();
    this.stats.conversionsWaiting = r.number();
    this.stats.conversionsAtImpressions = r.number();
    this.stats.conversionsAttributed = r.number();
    times(r, () => this.appliedThrough.set(r.string(), r.number()));
  }

  /** Restores what `encode` wrote into this (empty) state; snapshots of version 2 (before 0076) too. */
  decodeInto(bytes: Buffer): void {
    const r = new ByteReader(bytes);
    const version = r.byte();
    if (version !== SNAPSHOT_VERSION && version !== 2) throw new RangeError(`task snapshot version ${version} is neither ${SNAPSHOT_VERSION} nor 2`);
    this.readHeader(r);
    if (version === 2) this.decodeEntriesV2(r);
    else this.decodeEntries(r);
    times(r, () => this.sums.set(r.string(), HourSums.read(r)));
  }

  private decodeEntries(r: ByteReader): void {
    const count = r.number();
    if (r.string() !== UNKNOWN) throw new RangeError('a task snapshot whose first dimension value is not UNKNOWN');
    // Interned in the same order, so the tables' numbers name the same values.
    for (let n = 1; n < count; n++) this.strings.of(r.string());
    if (this.strings.count !== count) throw new RangeError('a task snapshot with a dimension value twice');
    for (const table of this.tables()) table.load(r.number(), (n) => r.raw(n));
    times(r, () => {
      const fp = r.fingerprint();
      const list: Waiting[] = [];
      times(r, () => list.push({ impressionId: r.fingerprint(), arrivalMs: r.number() }));
      this.bidWaiting.set(fp, list);
    });
    times(r, () => {
      const fp = r.fingerprint();
      const clicks: ClickNode[] = [];
      times(r, () => clicks.push(readClick(r)));
      this.impressionClicks.set(fp, clicks);
    });
    times(r, () => {
      const clickId = r.fingerprint();
      const list: WaitingConversion[] = [];
      times(r, () => list.push({ clickId, conversionId: r.fingerprint(), ts: r.number(), valueMicros: r.number(), arrivalMs: r.number() }));
      this.clickWaiting.set(clickId, list);
    });
  }

  /** Version 2 walked the entries one by one, each with its side data. */
  private decodeEntriesV2(r: ByteReader): void {
    const strings = this.strings;
    const entry = <C extends Columns & { flags: Uint8Array }>(table: IdTable<C>): { fp: Fingerprint; at: number; flags: number } => {
      const fp = r.fingerprint();
      const at = table.insert(fingerprintHi(fp), fingerprintLo(fp), r.number());
      const flags = r.byte();
      table.columns.flags[at] = flags;
      return { fp, at, flags };
    };
    /** Reads a list of side data, kept under `fp` when it has any. */
    const side = <T>(map: Map<Fingerprint, T[]>, fp: Fingerprint, read: () => T) => {
      const n = r.number();
      if (n === 0) return;
      const list: T[] = [];
      for (let k = 0; k < n; k++) list.push(read());
      map.set(fp, list);
    };
    times(r, () => {
      const { fp, at, flags } = entry(this.bids);
      const bid = this.bids.columns;
      if (flags & HAS) { bid.country[at] = strings.of(r.string()); bid.device[at] = strings.of(r.string()); bid.arrival[at] = r.number(); }
      if (flags & WAITING) {
        // The first waiting impression goes back into the columns, any others into the list.
        const n = r.number();
        const first = r.fingerprint();
        bid.waitingHi[at] = fingerprintHi(first); bid.waitingLo[at] = fingerprintLo(first); bid.waitingArrival[at] = r.number();
        for (let k = 1; k < n; k++) sideList(this.bidWaiting, fp).push({ impressionId: r.fingerprint(), arrivalMs: r.number() });
      } else {
        side(this.bidWaiting, fp, () => ({ impressionId: r.fingerprint(), arrivalMs: r.number() }));
      }
    });
    times(r, () => {
      const { fp, at, flags } = entry(this.impressions);
      const i = this.impressions.columns;
      if (flags & HAS) {
        const request = r.fingerprint();
        i.requestHi[at] = fingerprintHi(request); i.requestLo[at] = fingerprintLo(request);
        i.campaign[at] = strings.of(r.string()); i.ts[at] = r.number(); i.price[at] = r.number(); i.arrival[at] = r.number();
        i.country[at] = strings.of(r.string()); i.device[at] = strings.of(r.string());
      }
      side(this.impressionClicks, fp, () => readClick(r));
    });
    times(r, () => {
      const { fp, at, flags } = entry(this.clicks);
      const c = this.clicks.columns;
      if (flags & HAS) {
        const impression = r.fingerprint();
        c.impressionHi[at] = fingerprintHi(impression); c.impressionLo[at] = fingerprintLo(impression);
      }
      side(this.clickWaiting, fp, () => ({ clickId: fp, conversionId: r.fingerprint(), ts: r.number(), valueMicros: r.number(), arrivalMs: r.number() }));
    });
    times(r, () => {
      const fp = r.fingerprint();
      this.conversions.insert(fingerprintHi(fp), fingerprintLo(fp), r.number());
    });
  }
}

/** A count, then that many of what `read` reads. */
function times(r: ByteReader, read: () => void): void {
  const n = r.number();
  for (let k = 0; k < n; k++) read();
}

function writeClick(out: ByteWriter, c: ClickNode): void {
  out.fingerprint(c.clickId); out.byte((c.known ? 1 : 0) | (c.attributed ? 2 : 0)); out.number(c.ts); out.number(c.arrivalMs);
  out.number(c.conversions?.length ?? 0);
  for (const v of c.conversions ?? []) { out.fingerprint(v.conversionId); out.number(v.ts); out.number(v.valueMicros); out.number(v.arrivalMs); out.byte(v.attributed ? 1 : 0); }
}

function readClick(r: ByteReader): ClickNode {
  const clickId = r.fingerprint();
  const bits = r.byte();
  const click: ClickNode = { clickId, known: (bits & 1) !== 0, attributed: (bits & 2) !== 0, ts: r.number(), arrivalMs: r.number() };
  times(r, () => (click.conversions ??= []).push({ conversionId: r.fingerprint(), ts: r.number(), valueMicros: r.number(), arrivalMs: r.number(), attributed: r.byte() === 1 }));
  return click;
}

/** A snapshot's table columns are copied in slices of this, so a piece is taken while the next is copied. */
const RAW_SLICE_BYTES = 1024 * 1024;

/** The entry of `id` at `at` (created when -1), its newest arrival moved up to `arrivalMs`. */
function entryOf<C extends Columns>(table: IdTable<C>, id: Fingerprint, at: number, arrivalMs: number): number {
  if (at < 0) return table.insert(fingerprintHi(id), fingerprintLo(id), arrivalMs);
  table.touch(at, arrivalMs);
  return at;
}

/** The list kept under `key` in `map`, created empty when absent. */
function sideList<T>(map: Map<Fingerprint, T[]>, key: Fingerprint): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/** 2: ids as fingerprints in typed-array tables (decision 0071); 3: the tables as raw columns (decision 0076). */
const SNAPSHOT_VERSION = 3;

/** The `source` of a progress record that is a barrier: `partition` carries its nonce. */
export const BARRIER = -1;

/** The pipeline's stats (contract §3) from the tasks' counters. */
export function pipelineStatsOf(tasks: Iterable<TaskStats>): {
  accepted: Record<SourceName, number>;
  invalid: Record<SourceName, number>;
  duplicates: Record<SourceName, number>;
  unattributed_clicks: number;
  unattributed_conversions: number;
} {
  const perSource = () => Object.fromEntries(SOURCE_NAMES.map((s) => [s, 0])) as Record<SourceName, number>;
  const stats = { accepted: perSource(), invalid: perSource(), duplicates: perSource(), unattributed_clicks: 0, unattributed_conversions: 0 };
  for (const task of tasks) {
    for (const source of SOURCE_NAMES) {
      const i = SOURCE_INDEX[source];
      stats.accepted[source] += task.accepted[i]!;
      stats.invalid[source] += task.invalid[i]!;
      stats.duplicates[source] += task.duplicates[i]!;
    }
    stats.unattributed_clicks += task.clicksAtImpressions - task.clicksAttributed;
    stats.unattributed_conversions += task.conversionsWaiting + task.conversionsAtImpressions - task.conversionsAttributed;
  }
  return stats;
}
