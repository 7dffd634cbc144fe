/**
 * The facts of the data contract (docs/contract/, v1) that the generator, the reference rules and
 * the producer need. Written from the contract text; nothing here comes from runtime/.
 */

export const SOURCES = ['bidRequests', 'impressions', 'clicks', 'conversions'] as const;
export type Source = (typeof SOURCES)[number];

export const DEFAULT_TOPICS: Record<Source, string> = {
  bidRequests: 'bid-requests',
  impressions: 'ad-impressions',
  clicks: 'ad-clicks',
  conversions: 'ad-conversions',
};

export const CLICK_COLUMNS = ['click_id', 'impression_id', 'ts', 'user_id'] as const;
export const CONVERSION_COLUMNS = ['conversion_id', 'click_id', 'ts', 'type', 'value_micros'] as const;

export const DEVICE_TYPES = ['DESKTOP', 'MOBILE', 'TABLET', 'CTV', 'OTHER'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Contract defaults (section 2): attribution 24h, conversion 7d, future tolerance 1h. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const DEFAULT_ATTRIBUTION_WINDOW_MS = DAY_MS;
export const DEFAULT_CONVERSION_WINDOW_MS = 7 * DAY_MS;
export const FUTURE_TOLERANCE_MS = HOUR_MS;

/** The enrichment value of every dimension when an impression has no (valid) bid request. */
export const UNKNOWN = 'unknown';

/** A bid request as the contract's Avro schema describes it (unions unwrapped, ts in epoch millis). */
export interface BidRequest {
  request_id: string;
  ts: number;
  exchange: string;
  publisher_id: string;
  site_domain: string | null;
  app_bundle: string | null;
  device_type: DeviceType;
  country: string;
  user_id: string | null;
  floor_price_micros: number;
}

/**
 * The contract's bid-request.avsc, verbatim (a test compares it with docs/contract/bid-request.avsc).
 * Kept as a value so the compiled CLI needs no file next to it.
 */
export const BID_REQUEST_SCHEMA = {
  type: 'record',
  name: 'BidRequest',
  namespace: 'io.adpipe.events',
  doc: 'One bid request as received from an exchange (contract v1).',
  fields: [
    { name: 'request_id', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'exchange', type: 'string' },
    { name: 'publisher_id', type: 'string' },
    { name: 'site_domain', type: ['null', 'string'], default: null },
    { name: 'app_bundle', type: ['null', 'string'], default: null },
    {
      name: 'device_type',
      type: { type: 'enum', name: 'DeviceType', symbols: ['DESKTOP', 'MOBILE', 'TABLET', 'CTV', 'OTHER'], default: 'OTHER' },
    },
    { name: 'country', type: 'string' },
    { name: 'user_id', type: ['null', 'string'], default: null },
    { name: 'floor_price_micros', type: 'long' },
  ],
} as const;
