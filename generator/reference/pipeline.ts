import {
  DEFAULT_ATTRIBUTION_WINDOW_MS,
  DEFAULT_CONVERSION_WINDOW_MS,
  DAY_MS,
  FUTURE_TOLERANCE_MS,
  HOUR_MS,
  UNKNOWN,
  type Source,
} from '../contract.js';
import type { AvroMessage, Counters, Expected, PerSource, PipelineStats, ReferenceRules, ResolvedOptions } from '../types.js';
import {
  bidRequestDecoder,
  decodeClickMessage,
  decodeConversionMessage,
  decodeImpressionMessage,
  type Click,
  type Conversion,
  type Impression,
  type Outcome,
} from './decode.js';
import { answerQuery, BREAKDOWNS, formatBucketStart, GRANULARITIES, zeroCounters, type CampaignHours } from './query.js';

/**
 * The reference implementation of the contract's rules (section 2), written for clarity: it keeps
 * every accepted record and decides enrichment and attribution once all messages are in, by event
 * time only. That equals any arrival order as long as every message of the set arrives within the
 * pipeline's lateness bound of its partners (default: the attribution window, 24h) — true when a set
 * is produced in one go. It shares no code with runtime/.
 */
export interface ReferenceOptions extends Partial<ReferenceRules> {
  /** Processing time for the "more than 1h in the future" rule; default the real clock. */
  processingTimeMs?: number;
}

type KeptImpression = Pick<Impression, 'campaign_id' | 'request_id' | 'ts' | 'price_micros'>;

interface Dims {
  country: string;
  device_type: string;
}

const zeroPerSource = (): PerSource => ({ bidRequests: 0, impressions: 0, clicks: 0, conversions: 0 });

export class ReferencePipeline {
  readonly rules: ReferenceRules;
  private readonly processingTimeMs: number;
  private readonly decodeBidRequest = bidRequestDecoder();
  private readonly stats = { accepted: zeroPerSource(), invalid: zeroPerSource(), duplicates: zeroPerSource() };
  private readonly bidRequests = new Map<string, Dims>();
  private readonly dimsCache = new Map<string, Dims>();
  private readonly impressions = new Map<string, KeptImpression>();
  private readonly clicks = new Map<string, Click>();
  private readonly conversions = new Map<string, Conversion>();

  constructor(options: ReferenceOptions = {}) {
    this.rules = {
      attributionWindowMs: options.attributionWindowMs ?? DEFAULT_ATTRIBUTION_WINDOW_MS,
      conversionWindowMs: options.conversionWindowMs ?? DEFAULT_CONVERSION_WINDOW_MS,
      futureToleranceMs: options.futureToleranceMs ?? FUTURE_TOLERANCE_MS,
    };
    this.processingTimeMs = options.processingTimeMs ?? Date.now();
  }

  /**
   * Steps 1 (validate, including the future rule) and 2 (deduplicate: the first accepted copy wins).
   * Returns the record when it is accepted, for the caller to keep.
   */
  private accept<T extends { ts: number }>(source: Source, outcome: Outcome<T>, id: (r: T) => string, seen: { has(key: string): boolean }): T | undefined {
    if (!outcome.ok || outcome.record.ts > this.processingTimeMs + this.rules.futureToleranceMs) {
      this.stats.invalid[source]++;
      return undefined;
    }
    if (seen.has(id(outcome.record))) {
      this.stats.duplicates[source]++;
      return undefined;
    }
    this.stats.accepted[source]++;
    return outcome.record;
  }

  bidRequest(message: AvroMessage | Buffer): void {
    const record = this.accept('bidRequests', this.decodeBidRequest(message), (r) => r.request_id, this.bidRequests);
    if (!record) return;
    // One shared Dims per (country, device type): a 1M set would otherwise keep 1M small objects.
    const key = `${record.country}\u0000${record.device_type}`;
    let dims = this.dimsCache.get(key);
    if (!dims) this.dimsCache.set(key, (dims = { country: record.country, device_type: record.device_type }));
    this.bidRequests.set(record.request_id, dims);
  }

  impression(text: string): void {
    for (const outcome of decodeImpressionMessage(text)) {
      const record = this.accept('impressions', outcome, (r) => r.impression_id, this.impressions);
      // Only what enrichment, correlation and aggregation need (a 1M set keeps 1M of these).
      if (record) this.impressions.set(record.impression_id, { campaign_id: record.campaign_id, request_id: record.request_id, ts: record.ts, price_micros: record.price_micros });
    }
  }

  click(text: string): void {
    for (const outcome of decodeClickMessage(text)) {
      const record = this.accept('clicks', outcome, (r) => r.click_id, this.clicks);
      if (record) this.clicks.set(record.click_id, record);
    }
  }

  conversion(text: string): void {
    for (const outcome of decodeConversionMessage(text)) {
      const record = this.accept('conversions', outcome, (r) => r.conversion_id, this.conversions);
      if (record) this.conversions.set(record.conversion_id, record);
    }
  }

  /** Steps 3-5: enrich, correlate, aggregate per campaign and UTC hour of each event's own ts. */
  finish(generator: ResolvedOptions): Expected {
    const campaigns = new Map<string, CampaignHours>();
    let minHour = Infinity;
    let maxHour = -Infinity;
    const add = (campaign: string, ts: number, dims: Dims, delta: Counters): void => {
      const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
      minHour = Math.min(minHour, hour);
      maxHour = Math.max(maxHour, hour);
      let hours = campaigns.get(campaign);
      if (!hours) campaigns.set(campaign, (hours = { total: new Map(), country: new Map(), device_type: new Map() }));
      const targets = [hours.total, series(hours.country, dims.country), series(hours.device_type, dims.device_type)];
      for (const target of targets) {
        let counters = target.get(hour);
        if (!counters) target.set(hour, (counters = zeroCounters()));
        counters.impressions += delta.impressions;
        counters.clicks += delta.clicks;
        counters.conversions += delta.conversions;
        counters.spend_micros += delta.spend_micros;
        counters.revenue_micros += delta.revenue_micros;
      }
    };

    const unknown: Dims = { country: UNKNOWN, device_type: UNKNOWN };
    const dimsOf = (impression: KeptImpression): Dims => this.bidRequests.get(impression.request_id) ?? unknown;
    for (const impression of this.impressions.values()) {
      add(impression.campaign_id, impression.ts, dimsOf(impression), { ...zeroCounters(), impressions: 1, spend_micros: impression.price_micros });
    }

    let unattributedClicks = 0;
    const attributedClicks = new Map<string, KeptImpression>();
    for (const click of this.clicks.values()) {
      const impression = this.impressions.get(click.impression_id);
      const delay = impression ? click.ts - impression.ts : NaN;
      if (!impression || !(delay >= 0 && delay <= this.rules.attributionWindowMs)) {
        unattributedClicks++;
        continue;
      }
      attributedClicks.set(click.click_id, impression);
      add(impression.campaign_id, click.ts, dimsOf(impression), { ...zeroCounters(), clicks: 1 });
    }

    let unattributedConversions = 0;
    for (const conversion of this.conversions.values()) {
      const click = this.clicks.get(conversion.click_id);
      const impression = attributedClicks.get(conversion.click_id);
      const delay = click ? conversion.ts - click.ts : NaN;
      if (!click || !impression || !(delay >= 0 && delay <= this.rules.conversionWindowMs)) {
        unattributedConversions++;
        continue;
      }
      add(impression.campaign_id, conversion.ts, dimsOf(impression), { ...zeroCounters(), conversions: 1, revenue_micros: conversion.value_micros });
    }

    const stats: PipelineStats = {
      accepted: this.stats.accepted,
      invalid: this.stats.invalid,
      duplicates: this.stats.duplicates,
      unattributed_clicks: unattributedClicks,
      unattributed_conversions: unattributedConversions,
    };
    const from = Number.isFinite(minHour) ? Math.floor(minHour / DAY_MS) * DAY_MS : generator.baseTime;
    const to = Number.isFinite(maxHour) ? Math.floor(maxHour / DAY_MS) * DAY_MS + DAY_MS : generator.baseTime + DAY_MS;
    const window = { from: formatBucketStart(from), to: formatBucketStart(to) };
    const queries: Expected['queries'] = [];
    for (const campaignId of [...campaigns.keys()].sort()) {
      for (const granularity of GRANULARITIES) {
        for (const by of BREAKDOWNS) {
          const query = { campaign_id: campaignId, granularity, from: window.from, to: window.to, ...(by ? { by } : {}) };
          queries.push({ query, response: answerQuery(campaigns.get(campaignId), query) });
        }
      }
    }
    return { contract: 'adpipe events v1', generator, rules: this.rules, window, stats, queries };
  }
}

function series(bySeries: Map<string, Map<number, Counters>>, key: string): Map<number, Counters> {
  let found = bySeries.get(key);
  if (!found) bySeries.set(key, (found = new Map()));
  return found;
}
