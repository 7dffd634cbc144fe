/**
 * What the join state remembers of each accepted record: only the fields enrichment, correlation
 * and aggregation need, plus the arrival time (Kafka timestamp) the lateness bound compares.
 */
export interface BidFact {
  country: string;
  deviceType: string;
  exchange: string;
}

export interface ImpressionFact {
  requestId: string;
  campaignId: string;
  ts: number;
  priceMicros: number;
  arrivalMs: number;
}

export interface ClickFact {
  impressionId: string;
  ts: number;
  arrivalMs: number;
}

export interface ConversionFact {
  clickId: string;
  ts: number;
  valueMicros: number;
  arrivalMs: number;
}

/** Everything one batch has learned about the events around its records, keyed by id. */
export interface View {
  bids: Map<string, BidFact>;
  impressions: Map<string, ImpressionFact>;
  clicks: Map<string, ClickFact>;
  conversions: Map<string, ConversionFact>;
}

export function emptyView(): View {
  return { bids: new Map(), impressions: new Map(), clicks: new Map(), conversions: new Map() };
}
