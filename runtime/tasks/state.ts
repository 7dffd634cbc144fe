import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
/** The dimension value of an impression without a matching bid request (contract §2.3). */
export const UNKNOWN = 'unknown';
import { HOUR_MS, type EventKind } from '../storage/layout.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { HourSums } from './sums.js';
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

export type Send = (record: Exclude<TaskRecord, ProgressRecord>) => void;

interface BidEntry {
  lastArrivalMs: number;
  bid?: { country: string; deviceType: string; arrivalMs: number };
  /** Accepted impressions waiting for this bid request. */
  waiting?: { impressionId: string; arrivalMs: number }[];
}

interface ConversionNode {
  conversionId: string;
  ts: number;
  valueMicros: number;
  arrivalMs: number;
  attributed: boolean;
}

interface ClickNode {
  clickId: string;
  /** Whether the click itself has arrived (a conversion may be attached first). */
  known: boolean;
  ts: number;
  arrivalMs: number;
  attributed: boolean;
  conversions?: ConversionNode[];
}

interface ImpressionEntry {
  lastArrivalMs: number;
  impression?: { requestId: string; campaignId: string; ts: number; priceMicros: number; arrivalMs: number; country: string; deviceType: string; enriched: boolean };
  clicks?: ClickNode[];
}

interface ClickEntry {
  lastArrivalMs: number;
  click?: { impressionId: string };
  /** Accepted conversions waiting for this click. */
  waiting?: Omit<ConversionAtClickRecord, 'kind'>[];
}

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

/** The entry of `id` (created when absent), its newest arrival moved up to `arrivalMs`: eviction ages it from there. */
function touch<E extends { lastArrivalMs: number }>(map: Map<string, E>, id: string, entry: E | undefined, arrivalMs: number): E {
  if (!entry) {
    entry = { lastArrivalMs: arrivalMs } as E;
    map.set(id, entry);
  }
  entry.lastArrivalMs = Math.max(entry.lastArrivalMs, arrivalMs);
  return entry;
}
const zero4 = (): number[] => [0, 0, 0, 0];

export class TaskState {
  readonly bids = new Map<string, BidEntry>();
  readonly impressions = new Map<string, ImpressionEntry>();
  readonly clicks = new Map<string, ClickEntry>();
  /** Conversion ids accepted (dedup only), with their arrival time. */
  readonly conversions = new Map<string, number>();
  /** Partial sums per campaign-hour (`campaign \0 hour`), and those changed since `takeDirty()`. */
  readonly sums = new Map<string, HourSums>();
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
    let entry = this.bids.get(record.requestId);
    if (entry?.bid) {
      this.stats.duplicates[0]!++;
      return;
    }
    this.stats.accepted[0]!++;
    entry = touch(this.bids, record.requestId, entry, record.arrivalMs);
    entry.bid = { country: record.country, deviceType: record.deviceType, arrivalMs: record.arrivalMs };
    for (const waiting of entry.waiting ?? []) {
      if (this.withinLateness(waiting.arrivalMs, record.arrivalMs)) send({ kind: 'D', impressionId: waiting.impressionId, requestId: record.requestId, country: record.country, deviceType: record.deviceType });
    }
    delete entry.waiting;
  }

  private impressionRef(record: ImpressionRefRecord, send: Send): void {
    let entry = this.bids.get(record.requestId);
    if (entry?.bid) {
      if (this.withinLateness(entry.bid.arrivalMs, record.arrivalMs)) send({ kind: 'D', impressionId: record.impressionId, requestId: record.requestId, country: entry.bid.country, deviceType: entry.bid.deviceType });
      return;
    }
    entry = touch(this.bids, record.requestId, entry, record.arrivalMs);
    (entry.waiting ??= []).push({ impressionId: record.impressionId, arrivalMs: record.arrivalMs });
  }

  private impression(record: ImpressionRecord, send: Send): void {
    let entry = this.impressions.get(record.impressionId);
    if (entry?.impression) {
      this.stats.duplicates[1]!++;
      return;
    }
    this.stats.accepted[1]!++;
    entry = touch(this.impressions, record.impressionId, entry, record.arrivalMs);
    const impression = { requestId: record.requestId, campaignId: record.campaignId, ts: record.ts, priceMicros: record.priceMicros, arrivalMs: record.arrivalMs, country: UNKNOWN, deviceType: UNKNOWN, enriched: false };
    entry.impression = impression;
    this.contribute(impression, 'i', impression.ts, impression.priceMicros, 1);
    for (const click of entry.clicks ?? []) if (click.known) this.attributeClick(entry, click);
    send({ kind: 'Q', requestId: record.requestId, impressionId: record.impressionId, arrivalMs: record.arrivalMs });
  }

  /** The bid request's dimensions reach the impression: everything counted about it moves to them. */
  private dimensions(record: DimensionsRecord): void {
    const impression = this.impressions.get(record.impressionId)?.impression;
    // Another copy's request id (the first accepted copy won) or dimensions already known: nothing to do.
    if (!impression || impression.enriched || impression.requestId !== record.requestId) return;
    const entry = this.impressions.get(record.impressionId)!;
    this.everyContribution(entry, -1);
    impression.country = record.country;
    impression.deviceType = record.deviceType;
    impression.enriched = true;
    this.everyContribution(entry, 1);
  }

  private clickAtImpression(record: ClickAtImpressionRecord): void {
    let entry = this.impressions.get(record.impressionId);
    entry = touch(this.impressions, record.impressionId, entry, record.arrivalMs);
    const clicks = (entry.clicks ??= []);
    let click = clicks.find((c) => c.clickId === record.clickId);
    if (click?.known) return; // the click task sends each accepted click once; a repeat changes nothing
    this.stats.clicksAtImpressions++;
    if (!click) clicks.push((click = { clickId: record.clickId, known: true, ts: record.ts, arrivalMs: record.arrivalMs, attributed: false }));
    else Object.assign(click, { known: true, ts: record.ts, arrivalMs: record.arrivalMs });
    this.attributeClick(entry, click);
  }

  private conversionAtImpression(record: ConversionAtImpressionRecord): void {
    let entry = this.impressions.get(record.impressionId);
    entry = touch(this.impressions, record.impressionId, entry, record.arrivalMs);
    const clicks = (entry.clicks ??= []);
    let click = clicks.find((c) => c.clickId === record.clickId);
    if (!click) clicks.push((click = { clickId: record.clickId, known: false, ts: 0, arrivalMs: 0, attributed: false }));
    const conversions = (click.conversions ??= []);
    if (conversions.some((c) => c.conversionId === record.conversionId)) return;
    this.stats.conversionsAtImpressions++;
    const conversion: ConversionNode = { conversionId: record.conversionId, ts: record.ts, valueMicros: record.valueMicros, arrivalMs: record.arrivalMs, attributed: false };
    conversions.push(conversion);
    if (click.attributed) this.attributeConversion(entry, click, conversion);
  }

  private click(record: ClickRecord, send: Send): void {
    let entry = this.clicks.get(record.clickId);
    if (entry?.click) {
      this.stats.duplicates[2]!++;
      return;
    }
    this.stats.accepted[2]!++;
    entry = touch(this.clicks, record.clickId, entry, record.arrivalMs);
    entry.click = { impressionId: record.impressionId };
    send({ kind: 'K', impressionId: record.impressionId, clickId: record.clickId, ts: record.ts, arrivalMs: record.arrivalMs });
    for (const waiting of entry.waiting ?? []) {
      this.stats.conversionsWaiting--;
      send({ kind: 'X', impressionId: record.impressionId, ...waiting });
    }
    delete entry.waiting;
  }

  private conversionAtClick(record: ConversionAtClickRecord, send: Send): void {
    let entry = this.clicks.get(record.clickId);
    if (entry?.click) {
      send({ kind: 'X', impressionId: entry.click.impressionId, clickId: record.clickId, conversionId: record.conversionId, ts: record.ts, valueMicros: record.valueMicros, arrivalMs: record.arrivalMs });
      return;
    }
    entry = touch(this.clicks, record.clickId, entry, record.arrivalMs);
    (entry.waiting ??= []).push({ clickId: record.clickId, conversionId: record.conversionId, ts: record.ts, valueMicros: record.valueMicros, arrivalMs: record.arrivalMs });
    this.stats.conversionsWaiting++;
  }

  private conversion(record: ConversionRecord, send: Send): void {
    if (this.conversions.has(record.conversionId)) {
      this.stats.duplicates[3]!++;
      return;
    }
    this.stats.accepted[3]!++;
    this.conversions.set(record.conversionId, record.arrivalMs);
    send({ kind: 'W', clickId: record.clickId, conversionId: record.conversionId, ts: record.ts, valueMicros: record.valueMicros, arrivalMs: record.arrivalMs });
  }

  // ---- attribution (contract §2.4) and contributions --------------------------------------------------

  private attributeClick(entry: ImpressionEntry, click: ClickNode): void {
    const impression = entry.impression;
    if (!impression || click.attributed) return;
    const delay = click.ts - impression.ts;
    if (delay < 0 || delay > this.rules.attributionWindowMs || !this.withinLateness(click.arrivalMs, impression.arrivalMs)) return;
    click.attributed = true;
    this.stats.clicksAttributed++;
    this.contribute(impression, 'c', click.ts, 0, 1);
    for (const conversion of click.conversions ?? []) this.attributeConversion(entry, click, conversion);
  }

  private attributeConversion(entry: ImpressionEntry, click: ClickNode, conversion: ConversionNode): void {
    const impression = entry.impression;
    if (!impression || conversion.attributed) return;
    const delay = conversion.ts - click.ts;
    if (delay < 0 || delay > this.rules.conversionWindowMs || !this.withinLateness(conversion.arrivalMs, click.arrivalMs)) return;
    conversion.attributed = true;
    this.stats.conversionsAttributed++;
    this.contribute(impression, 'v', conversion.ts, conversion.valueMicros, 1);
  }

  /** Adds (sign 1) or takes back (sign -1) everything counted about one impression, at its dimensions. */
  private everyContribution(entry: ImpressionEntry, sign: 1 | -1): void {
    const impression = entry.impression!;
    this.contribute(impression, 'i', impression.ts, impression.priceMicros, sign);
    for (const click of entry.clicks ?? []) {
      if (!click.attributed) continue;
      this.contribute(impression, 'c', click.ts, 0, sign);
      for (const conversion of click.conversions ?? []) if (conversion.attributed) this.contribute(impression, 'v', conversion.ts, conversion.valueMicros, sign);
    }
  }

  private contribute(impression: { campaignId: string; country: string; deviceType: string }, kind: EventKind, ts: number, amount: number, sign: 1 | -1): void {
    const key = `${impression.campaignId}\u0000${hourOf(ts)}`;
    let sums = this.sums.get(key);
    if (!sums) this.sums.set(key, (sums = new HourSums()));
    sums.add(kind, impression.country, impression.deviceType, sign, sign * amount);
    this.dirty.add(key);
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
   * Maps iterate in insertion order, which is close to arrival order, so this stops at the first
   * young entry instead of scanning everything.
   */
  evict(graceMs: number): number {
    const cutoff = this.watermarkMs - this.rules.latenessMs - graceMs;
    let evicted = 0;
    const sweep = <V>(map: Map<string, V>, arrival: (value: V) => number): void => {
      for (const [key, value] of map) {
        if (arrival(value) >= cutoff) return;
        map.delete(key);
        evicted++;
      }
    };
    sweep(this.bids, (e) => e.lastArrivalMs);
    sweep(this.impressions, (e) => e.lastArrivalMs);
    sweep(this.clicks, (e) => e.lastArrivalMs);
    sweep(this.conversions, (arrival) => arrival);
    return evicted;
  }

  get liveIds(): number {
    return this.bids.size + this.impressions.size + this.clicks.size + this.conversions.size;
  }

  // ---- snapshot ---------------------------------------------------------------------------------------

  /** The whole state as bytes (decision 0051: snapshots bound restore time). */
  encode(): Buffer {
    const out = new ByteWriter(1024 * 1024);
    out.byte(SNAPSHOT_VERSION);
    out.number(this.watermarkMs);
    for (const list of [this.stats.accepted, this.stats.invalid, this.stats.duplicates]) for (const n of list) out.number(n);
    out.number(this.stats.clicksAtImpressions); out.number(this.stats.clicksAttributed); out.number(this.stats.conversionsWaiting);
    out.number(this.stats.conversionsAtImpressions); out.number(this.stats.conversionsAttributed);
    out.number(this.appliedThrough.size);
    for (const [key, through] of this.appliedThrough) { out.string(key); out.number(through); }
    out.number(this.bids.size);
    for (const [id, e] of this.bids) {
      out.string(id); out.number(e.lastArrivalMs);
      out.byte(e.bid ? 1 : 0);
      if (e.bid) { out.string(e.bid.country); out.string(e.bid.deviceType); out.number(e.bid.arrivalMs); }
      out.number(e.waiting?.length ?? 0);
      for (const w of e.waiting ?? []) { out.string(w.impressionId); out.number(w.arrivalMs); }
    }
    out.number(this.impressions.size);
    for (const [id, e] of this.impressions) {
      out.string(id); out.number(e.lastArrivalMs);
      const i = e.impression;
      out.byte(i ? 1 : 0);
      if (i) {
        out.string(i.requestId); out.string(i.campaignId); out.number(i.ts); out.number(i.priceMicros); out.number(i.arrivalMs);
        out.string(i.country); out.string(i.deviceType); out.byte(i.enriched ? 1 : 0);
      }
      out.number(e.clicks?.length ?? 0);
      for (const c of e.clicks ?? []) {
        out.string(c.clickId); out.byte((c.known ? 1 : 0) | (c.attributed ? 2 : 0)); out.number(c.ts); out.number(c.arrivalMs);
        out.number(c.conversions?.length ?? 0);
        for (const v of c.conversions ?? []) { out.string(v.conversionId); out.number(v.ts); out.number(v.valueMicros); out.number(v.arrivalMs); out.byte(v.attributed ? 1 : 0); }
      }
    }
    out.number(this.clicks.size);
    for (const [id, e] of this.clicks) {
      out.string(id); out.number(e.lastArrivalMs);
      out.byte(e.click ? 1 : 0);
      if (e.click) out.string(e.click.impressionId);
      out.number(e.waiting?.length ?? 0);
      for (const w of e.waiting ?? []) { out.string(w.clickId); out.string(w.conversionId); out.number(w.ts); out.number(w.valueMicros); out.number(w.arrivalMs); }
    }
    out.number(this.conversions.size);
    for (const [id, arrival] of this.conversions) { out.string(id); out.number(arrival); }
    out.number(this.sums.size);
    for (const [key, sums] of this.sums) {
      out.string(key);
      sums.writeTo(out);
    }
    return out.bytes();
  }

  /** Restores what `encode` wrote into this (empty) state. */
  decodeInto(bytes: Buffer): void {
    const r = new ByteReader(bytes);
    const version = r.byte();
    if (version !== SNAPSHOT_VERSION) throw new RangeError(`task snapshot version ${version} is not ${SNAPSHOT_VERSION}`);
    this.watermarkMs = r.number();
    for (const list of [this.stats.accepted, this.stats.invalid, this.stats.duplicates]) for (let i = 0; i < 4; i++) list[i] = r.number();
    this.stats.clicksAtImpressions = r.number();
    this.stats.clicksAttributed = r.number();
    this.stats.conversionsWaiting = r.number();
    this.stats.conversionsAtImpressions = r.number();
    this.stats.conversionsAttributed = r.number();
    const times = (read: () => void) => {
      const n = r.number();
      for (let i = 0; i < n; i++) read();
    };
    times(() => this.appliedThrough.set(r.string(), r.number()));
    times(() => {
      const id = r.string();
      const entry: BidEntry = { lastArrivalMs: r.number() };
      if (r.byte()) entry.bid = { country: r.string(), deviceType: r.string(), arrivalMs: r.number() };
      times(() => (entry.waiting ??= []).push({ impressionId: r.string(), arrivalMs: r.number() }));
      this.bids.set(id, entry);
    });
    times(() => {
      const id = r.string();
      const entry: ImpressionEntry = { lastArrivalMs: r.number() };
      if (r.byte()) entry.impression = { requestId: r.string(), campaignId: r.string(), ts: r.number(), priceMicros: r.number(), arrivalMs: r.number(), country: r.string(), deviceType: r.string(), enriched: r.byte() === 1 };
      times(() => {
        const clickId = r.string();
        const flags = r.byte();
        const click: ClickNode = { clickId, known: (flags & 1) !== 0, attributed: (flags & 2) !== 0, ts: r.number(), arrivalMs: r.number() };
        times(() => (click.conversions ??= []).push({ conversionId: r.string(), ts: r.number(), valueMicros: r.number(), arrivalMs: r.number(), attributed: r.byte() === 1 }));
        (entry.clicks ??= []).push(click);
      });
      this.impressions.set(id, entry);
    });
    times(() => {
      const id = r.string();
      const entry: ClickEntry = { lastArrivalMs: r.number() };
      if (r.byte()) entry.click = { impressionId: r.string() };
      times(() => (entry.waiting ??= []).push({ clickId: r.string(), conversionId: r.string(), ts: r.number(), valueMicros: r.number(), arrivalMs: r.number() }));
      this.clicks.set(id, entry);
    });
    times(() => this.conversions.set(r.string(), r.number()));
    times(() => this.sums.set(r.string(), HourSums.read(r)));
  }
}

const SNAPSHOT_VERSION = 1;

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
