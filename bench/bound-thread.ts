import { parentPort, workerData } from 'node:worker_threads';
import type { RuntimeConfig, SourceName } from '../api/runtime-config.js';
import { HBaseClient, type Put } from '../hbase/index.js';
import { decodersFor } from '../runtime/decode/index.js';
import type { InMessage, Item, RecordOf } from '../runtime/model.js';

/**
 * The worker thread of `npm run bench -- runtime-bound` (decision 0047): decodes packed batches
 * with the runtime's own decoders and, in `state` mode, applies the least state work any
 * exactly-once design needs (dedup of every id, the enrichment and attribution look-ups, hourly
 * counters) in compact in-memory maps, and checkpoints the new state and the changed counters to
 * HBase once a second. A measuring prototype: no lateness, windows, breakdowns, stats or recovery.
 */
export interface BoundThreadData {
  mode: 'decode' | 'state';
  sources: RuntimeConfig['sources'];
  zookeeperQuorum: string;
  table: string;
  family: string;
}

export interface PackedBatch {
  id: number;
  source: SourceName;
  partition: number;
  bytes: ArrayBuffer;
  ends: number[];
  offsets: string[];
}

const data = workerData as BoundThreadData;
const decoders = decodersFor(data.sources);
const hbase = data.mode === 'state' ? new HBaseClient({ zookeeperQuorum: data.zookeeperQuorum }) : undefined;

const HOUR_MS = 3_600_000;
const bids = new Map<string, string>();
const impressions = new Map<string, string>();
const clicks = new Map<string, string>();
const conversions = new Map<string, string>();
const counters = new Map<string, number[]>();
let changed = new Set<string>();
let newState: string[] = [];
let lastCheckpoint = Date.now();
let checkpoints = 0;

function count(key: string, amount: number): void {
  const counter = counters.get(key);
  if (counter) {
    counter[0]! += 1;
    counter[1]! += amount;
  } else counters.set(key, [1, amount]);
  changed.add(key);
}

function apply<S extends SourceName>(source: S, items: Item<RecordOf[S]>[]): void {
  for (const item of items) {
    if (!item.ok) continue;
    const record = item.record as RecordOf[SourceName];
    if (source === 'bidRequests') {
      const bid = record as RecordOf['bidRequests'];
      if (bids.has(bid.request_id)) continue;
      const dims = `${bid.country}|${bid.device_type}`;
      bids.set(bid.request_id, dims);
      newState.push(`b${bid.request_id}|${dims}`);
    } else if (source === 'impressions') {
      const impression = record as RecordOf['impressions'];
      if (impressions.has(impression.impression_id)) continue;
      const fact = `${impression.campaign_id}|${impression.ts}|${bids.get(impression.request_id) ?? 'unknown|unknown'}`;
      impressions.set(impression.impression_id, fact);
      newState.push(`i${impression.impression_id}|${fact}`);
      count(`${impression.campaign_id}|${Math.floor(impression.ts / HOUR_MS)}|i`, impression.price_micros);
    } else if (source === 'clicks') {
      const click = record as RecordOf['clicks'];
      if (clicks.has(click.click_id)) continue;
      clicks.set(click.click_id, click.impression_id);
      newState.push(`c${click.click_id}|${click.impression_id}|${click.ts}`);
      const impression = impressions.get(click.impression_id);
      if (impression) count(`${impression.slice(0, impression.indexOf('|'))}|${Math.floor(click.ts / HOUR_MS)}|c`, 0);
    } else {
      const conversion = record as RecordOf['conversions'];
      if (conversions.has(conversion.conversion_id)) continue;
      conversions.set(conversion.conversion_id, conversion.click_id);
      newState.push(`v${conversion.conversion_id}|${conversion.click_id}|${conversion.ts}`);
      const impression = impressions.get(clicks.get(conversion.click_id) ?? '');
      if (impression) count(`${impression.slice(0, impression.indexOf('|'))}|${Math.floor(conversion.ts / HOUR_MS)}|v`, conversion.value_micros);
    }
  }
}

async function checkpoint(client: HBaseClient): Promise<void> {
  const puts: Put[] = [{ row: `bound/state/${checkpoints++}`, cells: [{ family: data.family, qualifier: 'd', value: newState.join('\n') }] }];
  for (const key of changed) puts.push({ row: `bound/agg/${key}`, cells: [{ family: data.family, qualifier: 'a', value: counters.get(key)!.join(',') }] });
  newState = [];
  changed = new Set();
  await client.putMany(data.table, puts);
}

parentPort!.on('message', (batch: PackedBatch) => {
  void (async () => {
    const bytes = Buffer.from(batch.bytes);
    const messages: InMessage[] = [];
    let start = 0;
    for (let i = 0; i < batch.ends.length; i++) {
      messages.push({ partition: batch.partition, offset: batch.offsets[i]!, timestamp: '0', value: bytes.subarray(start, batch.ends[i]) });
      start = batch.ends[i]!;
    }
    const items = await decoders[batch.source](messages, Date.now());
    if (hbase) {
      apply(batch.source, items);
      if (Date.now() - lastCheckpoint >= 1000) {
        lastCheckpoint = Date.now();
        await checkpoint(hbase);
      }
    }
    parentPort!.postMessage(batch.id);
  })();
});
