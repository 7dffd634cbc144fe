import type { SourceName } from '../../api/runtime-config.js';
import type { BidRequest, Click, Conversion, Impression, Invalid, Item, RecordOf } from '../model.js';
import { fingerprint, fingerprintHi, type Fingerprint } from './fingerprint.js';
import type { ProgressRecord, TaskRecord } from './records.js';
import { ReusedRecords, routingKey } from './records.js';
import { SOURCE_INDEX } from './state.js';

/** The task that owns an id, by its fingerprint: stable across processes and versions. */
export function taskOf(id: Fingerprint, taskCount: number): number {
  return fingerprintHi(id) % taskCount;
}

type SourceRecord = Exclude<TaskRecord, ProgressRecord>;

/** A valid source record as the record its own id's task deduplicates (only the fields used later, ids as fingerprints), filled into reused records. */
class SourceRecords {
  private readonly reused = new ReusedRecords();

  fill<S extends SourceName>(source: S, record: RecordOf[S], arrivalMs: number): SourceRecord {
    switch (source) {
      case 'bidRequests': {
        const bid = record as BidRequest;
        const x = this.reused.B;
        x.requestId = fingerprint(bid.request_id); x.country = bid.country; x.deviceType = bid.device_type; x.arrivalMs = arrivalMs;
        return x;
      }
      case 'impressions': {
        const i = record as Impression;
        const x = this.reused.I;
        x.impressionId = fingerprint(i.impression_id); x.requestId = fingerprint(i.request_id); x.campaignId = i.campaign_id; x.ts = i.ts; x.priceMicros = i.price_micros; x.arrivalMs = arrivalMs;
        return x;
      }
      case 'clicks': {
        const c = record as Click;
        const x = this.reused.C;
        x.clickId = fingerprint(c.click_id); x.impressionId = fingerprint(c.impression_id); x.ts = c.ts; x.arrivalMs = arrivalMs;
        return x;
      }
      default: {
        const v = record as Conversion;
        const x = this.reused.V;
        x.conversionId = fingerprint(v.conversion_id); x.clickId = fingerprint(v.click_id); x.ts = v.ts; x.valueMicros = v.value_micros; x.arrivalMs = arrivalMs;
        return x;
      }
    }
  }
}

export interface RoutedBatch {
  /** How many valid records went to the tasks that own their ids. */
  routed: number;
  invalid: Invalid[];
  /** The batch's progress: applied once by the reading task, and logged to its partition. */
  progress: ProgressRecord;
}

/**
 * The source stage of one batch of one source partition, already decoded: each valid record goes
 * to `each` with the task of its id (the record object is reused for the next one: `each` copies
 * what it keeps, as a frame does), invalid ones to the dead letters, and the batch's progress (its
 * last offset, how many were invalid) to the reading task. Items of messages at or below
 * `skipThrough` were applied before (offsets reset and replayed) and produce nothing.
 */
export function routeBatch<S extends SourceName>(
  source: S,
  partition: number,
  items: readonly Item<RecordOf[S]>[],
  lastOffset: number,
  skipThrough: number | undefined,
  taskCount: number,
  each: (task: number, record: SourceRecord) => void,
): RoutedBatch {
  const invalid: Invalid[] = [];
  const records = new SourceRecords();
  let routed = 0;
  for (const item of items) {
    if (skipThrough !== undefined && Number(item.ref.offset) <= skipThrough) continue;
    if (!item.ok) {
      invalid.push(item);
      continue;
    }
    const record = records.fill(source, item.record, item.ref.arrivalMs);
    each(taskOf(routingKey(record), taskCount), record);
    routed++;
  }
  return { routed, invalid, progress: { kind: 'P', source: SOURCE_INDEX[source], partition, throughOffset: lastOffset, invalid: invalid.length } };
}
