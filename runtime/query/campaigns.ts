import { prefixEnd } from '../storage/keys.js';
import { parseHourRow } from '../storage/layout.js';
import type { Store } from '../storage/store.js';
import type { QuerySettings } from './performance.js';

/**
 * `GET /v1/campaigns` (an adpipe route beside contract §3, which it does not change): the campaigns
 * that have stored performance, sorted. Campaign-hour rows sort by campaign within each salt bucket,
 * so each campaign costs one short scan that skips past all its hours: O(campaigns), not O(rows).
 */
export async function listCampaigns(store: Store, settings: QuerySettings): Promise<{ campaigns: string[] }> {
  const campaigns = new Set<string>();
  for (let bucket = 0; bucket < settings.saltBuckets; bucket++) {
    const stopRow = Buffer.from([bucket, 0x42]); // past every 'A' row of the bucket
    let startRow: Buffer = Buffer.from([bucket, 0x41]);
    for (;;) {
      let next: Buffer | undefined;
      for await (const row of store.scan({ startRow, stopRow, columns: [{ family: settings.families.aggregates }] })) {
        const { campaignId } = parseHourRow(row.row);
        campaigns.add(campaignId);
        next = prefixEnd(row.row.subarray(0, 4 + row.row.readUInt16BE(2)));
        break;
      }
      if (!next) break;
      startRow = next;
    }
  }
  return { campaigns: [...campaigns].sort() };
}
