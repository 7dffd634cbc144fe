import type { SourceName } from '../../api/runtime-config.js';
import type { BidRequest, Click, Conversion, Impression, Invalid, Item, RecordOf } from '../model.js';
import { fingerprint, fingerprintHi, type Fingerprint } from './fingerprint.js';
import type { ProgressRecord, TaskRecord } from './records.js';
import { routingKey } from './records.js';
import { SOURCE_INDEX } from './state.js';

/** The task that owns an id, by its fingerprint: stable across processes and versions. */
export function taskOf(id: Fingerprint, taskCount: number): number {
  return fingerprintHi(id) % taskCount;
}

/** A valid source record as the record its own id's task deduplicates (only the fields used later, ids as fingerprints). */
export function sourceRecord<S extends SourceName>(source: S, record: RecordOf[S], arrivalMs: number): Exclude<TaskRecord, ProgressRecord> {
  switch (source) {
    case 'bidRequests': {
      const bid = record as BidRequest;
      return { kind: 'B', requestId: fingerprint(bid.request_id), country: bid.country, deviceType: bid.device_type, arrivalMs };
    }
    case 'impressions': {
      const i = record as Impression;
      return { kind: 'I', impressionId: fingerprint(i.impression_id), requestId: fingerprint(i.request_id), campaignId: i.campaign_id, ts: i.ts, priceMicros: i.price_micros, arrivalMs };
    }
    case 'clicks': {
      const c = record as Click;
      return { kind: 'C', clickId: fingerprint(c.click_id), impressionId: fingerprint(c.impression_id), ts: c.ts, arrivalMs };
    }
    default: {
      const v = record as Conversion;
      return { kind: 'V', conversionId: fingerprint(v.conversion_id), clickId: fingerprint(v.click_id), ts: v.ts, valueMicros: v.value_micros, arrivalMs };
    }
  }
}

export interface RoutedBatch {
  /** Records for the tasks that own their ids, with the task each goes to. */
  records: { task: number; record: Exclude<TaskRecord, ProgressRecord> }[];
  invalid: Invalid[];
  /** The batch's progress: applied once by the reading task, and logged to its partition. */
  progress: ProgressRecord;
}

/**
 * The source stage of one batch of one source partition, already decoded: valid records go to the
 * task of their id, invalid ones to the dead letters, and the batch's progress (its last offset,
 * how many were invalid) to the reading task. Items of messages at or below `skipThrough` were
 * applied before (offsets reset and replayed) and produce nothing.
 */
export function routeBatch<S extends SourceName>(source: S, partition: number, items: readonly Item<RecordOf[S]>[], lastOffset: number, skipThrough: number | undefined, taskCount: number): RoutedBatch {
  const records: RoutedBatch['records'] = [];
  const invalid: Invalid[] = [];
  for (const item of items) {
    if (skipThrough !== undefined && Number(item.ref.offset) <= skipThrough) continue;
    if (!item.ok) {
      invalid.push(item);
      continue;
    }
    const record = sourceRecord(source, item.record, item.ref.arrivalMs);
    records.push({ task: taskOf(routingKey(record), taskCount), record });
  }
  return { records, invalid, progress: { kind: 'P', source: SOURCE_INDEX[source], partition, throughOffset: lastOffset, invalid: invalid.length } };
}
