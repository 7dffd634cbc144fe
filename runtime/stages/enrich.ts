import type { BidFact } from './facts.js';

/** The dimension value of an impression without a matching bid request (contract §2.3). */
export const UNKNOWN = 'unknown';

export interface Dimensions {
  country: string;
  deviceType: string;
  /** Whether the bid request was known: decides which level of a counted event is written. */
  enriched: boolean;
}

const UNENRICHED: Dimensions = { country: UNKNOWN, deviceType: UNKNOWN, enriched: false };

/** An impression's dimensions from its bid request, whichever arrived first; clicks and conversions inherit them. */
export function dimensionsOf(bid: BidFact | undefined): Dimensions {
  return bid ? { country: bid.country, deviceType: bid.deviceType, enriched: true } : UNENRICHED;
}
