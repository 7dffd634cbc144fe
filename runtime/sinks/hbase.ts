import type { SourceName } from '../../api/runtime-config.js';
import type { BidRequest, Click, Conversion, Impression, Invalid, Item, RecordOf, SourceRef, Valid } from '../model.js';
import { idOf } from '../model.js';
import { correlate, type CorrelationRules } from '../stages/correlate.js';
import { claimOf, classifyExistingClaim, firstCopies } from '../stages/dedup.js';
import { emptyView, type BidFact, type ClickFact, type ConversionFact, type ImpressionFact, type View } from '../stages/facts.js';
import {
  ATTRIBUTION,
  ATTRIBUTION_SHARDS,
  COLUMN,
  EVENT_COLUMNS,
  LEDGER,
  attributionRow,
  encodeCounted,
  eventRow,
  factRow,
  ledgerRow,
  marker,
  saltOf,
  type FactKind,
  type Families,
} from '../storage/layout.js';
import { cellValue, type Store, type StorePut, type StoreRow } from '../storage/store.js';

/**
 * Applies one batch of one source partition to the store so that applying it again — after a
 * crash at any instant, by a second worker during a rebalance, or on a replay of older offsets —
 * changes nothing. The mechanism (docs/exactly-once.md):
 *
 *  1. claim each record's id with a conditional put that stores the winning copy's
 *     partition:offset:index next to the fact (a replayed winner recognises itself);
 *  2. write the fact into its partner's row (the join index), then, only after every write of
 *     step 1-2 is durable, read the partners: of two records that meet, the one written last
 *     reads the other;
 *  3. write every counted event the reads support as its own cell (a put: idempotent), one column
 *     per level of knowledge so a stale writer can never overwrite a better answer;
 *  4. count attributions and per-partition stats with compare-and-set on rows whose markers / offset
 *     ledger sit in the same row as the counters, so a counter never moves without its marker.
 */

export interface SinkSettings {
  saltBuckets: number;
  families: Families;
  rules: CorrelationRules;
  /** Claims (conditional puts) in flight at once, sent in conditional Multi RPCs of CLAIM_CHUNK. */
  concurrency?: number;
}

export interface BatchOutcome {
  accepted: number;
  duplicates: number;
  invalid: number;
  /** Counted-event cells written (including rewrites of events counted before). */
  counted: number;
  invalidItems: Invalid[];
}

// Claims per conditional Multi RPC. The server applies one RPC's conditional actions one by one,
// so several RPCs stay in flight to keep its handlers (and WAL group commit) busy; 256 x 4 was
// the fastest of the shapes measured (decision 0045).
const CLAIM_CHUNK = 256;
const FACT_KIND: Record<SourceName, FactKind> = { bidRequests: 'R', impressions: 'I', clicks: 'C', conversions: 'V' };

type Outcome = 'accepted' | 'duplicate' | 'invalid';

export class HBaseSink {
  private readonly concurrency: number;

  constructor(
    private readonly store: Store,
    private readonly settings: SinkSettings,
  ) {
    this.concurrency = settings.concurrency ?? 4 * CLAIM_CHUNK;
  }

  async applyBatch<S extends SourceName>(source: S, partition: number, items: readonly Item<RecordOf[S]>[], lastOffset: string): Promise<BatchOutcome> {
    const outcomes = new Map<Item<RecordOf[S]>, Outcome>();
    const valid: Valid<RecordOf[S]>[] = [];
    const invalidItems: Invalid[] = [];
    for (const item of items) {
      if (item.ok) valid.push(item);
      else {
        invalidItems.push(item);
        outcomes.set(item, 'invalid');
      }
    }
    const { firsts, repeats } = firstCopies(valid, (item) => idOf(source, item.record));
    for (const repeat of repeats) outcomes.set(repeat, 'duplicate');

    const { accepted, replayed } = await this.claim(source, firsts);
    for (const { item } of firsts) outcomes.set(item, accepted.has(item) ? 'accepted' : 'duplicate');
    const winners = firsts.filter(({ item }) => accepted.has(item));

    await this.store.putMany(this.indexPuts(source, winners.map(({ item }) => item), replayed));
    const view = await this.readAround(source, winners.map(({ item }) => item));
    const correlation = correlate(view, this.settings.rules);
    const eventPuts = this.eventPuts(correlation.counted);
    await this.store.putMany(eventPuts);
    await Promise.all([this.countAttributions('c', correlation.attributedClicks), this.countAttributions('v', correlation.attributedConversions)]);
    await this.updateLedger(source, partition, items, outcomes, lastOffset);

    let nAccepted = 0;
    let nDuplicates = 0;
    for (const outcome of outcomes.values()) {
      if (outcome === 'accepted') nAccepted++;
      else if (outcome === 'duplicate') nDuplicates++;
    }
    return { accepted: nAccepted, duplicates: nDuplicates, invalid: invalidItems.length, counted: eventPuts.length, invalidItems };
  }

  // --- step 1: claims -------------------------------------------------------------------------

  private async claim<T extends RecordOf[SourceName]>(source: SourceName, firsts: { id: string; item: Valid<T> }[]): Promise<{ accepted: Set<Valid<T>>; replayed: Set<Valid<T>> }> {
    const { families, saltBuckets } = this.settings;
    const kind = FACT_KIND[source];
    const accepted = new Set<Valid<T>>();
    const replayed = new Set<Valid<T>>();
    const contested: { row: Buffer; item: Valid<T> }[] = [];
    // Claims go in chunks of conditional Multi RPCs (each claim still atomic on its own row):
    // one conditional round trip per record was the ingest limit (decisions 0043, 0045).
    const chunks: { id: string; item: Valid<T> }[][] = [];
    for (let start = 0; start < firsts.length; start += CLAIM_CHUNK) chunks.push(firsts.slice(start, start + CLAIM_CHUNK));
    await forEachLimited(chunks, Math.max(1, Math.ceil(this.concurrency / CLAIM_CHUNK)), async (chunk) => {
      const claims = chunk.map(({ id, item }) => ({
        row: factRow(kind, id, saltBuckets),
        check: { family: families.dedup, qualifier: COLUMN.claim },
        cells: [
          { family: families.dedup, qualifier: COLUMN.claim, value: Buffer.from(claimOf(item.ref)) },
          { family: families.state, qualifier: COLUMN.fact, value: Buffer.from(JSON.stringify(factOf(source, item.record, item.ref))) },
        ],
      }));
      const applied = await this.store.checkAndPutMany(claims);
      chunk.forEach(({ item }, i) => {
        if (applied[i]) accepted.add(item);
        else contested.push({ row: claims[i]!.row, item });
      });
    });
    if (contested.length) {
      const rows = await this.store.getMany(contested.map(({ row }) => ({ row, columns: [{ family: families.dedup, qualifier: COLUMN.claim }] })));
      contested.forEach(({ item }, i) => {
        const stored = cellValue(rows[i], families.dedup, COLUMN.claim)?.toString('utf8');
        if (classifyExistingClaim(stored, claimOf(item.ref)) === 'accepted') {
          accepted.add(item);
          replayed.add(item);
        }
      });
    }
    return { accepted, replayed };
  }

  // --- step 2: join index and reads -----------------------------------------------------------

  /** Each accepted record in its parent's row (and, on a replay, its own fact again: the claim may have outlived it). */
  private indexPuts(source: SourceName, winners: Valid<RecordOf[SourceName]>[], replayed: Set<Valid<RecordOf[SourceName]>>): StorePut[] {
    const { families, saltBuckets } = this.settings;
    const puts: StorePut[] = [];
    for (const item of winners) {
      const fact = Buffer.from(JSON.stringify(factOf(source, item.record, item.ref)));
      const id = idOf(source, item.record);
      if (replayed.has(item)) puts.push({ row: factRow(FACT_KIND[source], id, saltBuckets), cells: [{ family: families.state, qualifier: COLUMN.fact, value: fact }] });
      const parent = parentOf(source, item.record);
      if (parent) puts.push({ row: factRow(parent.kind, parent.id, saltBuckets), cells: [{ family: families.state, qualifier: COLUMN.childPrefix + id, value: fact }] });
    }
    return puts;
  }

  /**
   * Reads the facts around the batch's accepted records: their ancestors (what enriches and
   * attributes them) and their descendants (what they enrich or attribute).
   */
  private async readAround(source: SourceName, winners: Valid<RecordOf[SourceName]>[]): Promise<View> {
    const view = emptyView();
    if (winners.length === 0) return view;
    const records = winners.map((item) => item.record);
    switch (source) {
      case 'bidRequests': {
        await this.read(view, 'R', (records as BidRequest[]).map((r) => r.request_id), true);
        await this.read(view, 'I', [...view.impressions.keys()], true);
        await this.read(view, 'C', [...view.clicks.keys()], true);
        break;
      }
      case 'impressions': {
        const impressions = records as Impression[];
        await Promise.all([this.read(view, 'R', impressions.map((r) => r.request_id), false), this.read(view, 'I', impressions.map((r) => r.impression_id), true)]);
        await this.read(view, 'C', [...view.clicks.keys()], true);
        break;
      }
      case 'clicks': {
        const clicks = records as Click[];
        await Promise.all([this.read(view, 'I', clicks.map((r) => r.impression_id), false), this.read(view, 'C', clicks.map((r) => r.click_id), true)]);
        await this.read(view, 'R', [...new Set([...view.impressions.values()].map((i) => i.requestId))], false);
        break;
      }
      case 'conversions': {
        const conversions = records as Conversion[];
        await this.read(view, 'C', conversions.map((r) => r.click_id), true);
        await this.read(view, 'I', [...new Set([...view.clicks.values()].map((c) => c.impressionId))], false);
        await this.read(view, 'R', [...new Set([...view.impressions.values()].map((i) => i.requestId))], false);
        break;
      }
    }
    return view;
  }

  private async read(view: View, kind: 'R' | 'I' | 'C', ids: string[], withChildren: boolean): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    const { families, saltBuckets } = this.settings;
    const columns = withChildren ? [{ family: families.state }] : [{ family: families.state, qualifier: COLUMN.fact }];
    const rows = await this.store.getMany(unique.map((id) => ({ row: factRow(kind, id, saltBuckets), columns })));
    unique.forEach((id, i) => absorb(view, kind, id, rows[i], families.state));
  }

  // --- step 3: counted events -----------------------------------------------------------------

  private eventPuts(counted: ReturnType<typeof correlate>['counted']): StorePut[] {
    const { families, saltBuckets } = this.settings;
    return counted.map((event) => ({
      row: eventRow(event.campaignId, event.hourIndex, event.kind, event.eventId, saltBuckets),
      cells: [{ family: families.aggregates, qualifier: EVENT_COLUMNS[event.enriched ? 1 : 0], value: encodeCounted(event) }],
    }));
  }

  // --- step 4: counters with their markers in the same row ------------------------------------

  private async countAttributions(kind: 'c' | 'v', ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const byShard = new Map<number, string[]>();
    for (const id of new Set(ids)) {
      const shard = saltOf(id, ATTRIBUTION_SHARDS);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push(id);
    }
    await Promise.all([...byShard].map(([shard, shardIds]) => this.countInShard(kind, shard, shardIds)));
  }

  private async countInShard(kind: 'c' | 'v', shard: number, ids: string[]): Promise<void> {
    const family = this.settings.families.aggregates;
    const row = attributionRow(shard);
    const counter = kind === 'c' ? ATTRIBUTION.clicks : ATTRIBUTION.conversions;
    for (;;) {
      const [current] = await this.store.getMany([
        { row, columns: [{ family, qualifier: ATTRIBUTION.version }, { family, qualifier: counter }, ...ids.map((id) => ({ family, qualifier: marker(kind, id) }))] },
      ]);
      const fresh = ids.filter((id) => cellValue(current, family, marker(kind, id)) === undefined);
      if (fresh.length === 0) return;
      const version = cellValue(current, family, ATTRIBUTION.version);
      const count = Number(cellValue(current, family, counter)?.toString() ?? '0');
      const applied = await this.store.checkAndPut(row, { family, qualifier: ATTRIBUTION.version }, version, [
        { family, qualifier: ATTRIBUTION.version, value: Buffer.from(String(Number(version?.toString() ?? '0') + 1)) },
        { family, qualifier: counter, value: Buffer.from(String(count + fresh.length)) },
        ...fresh.map((id) => ({ family, qualifier: marker(kind, id), value: Buffer.alloc(0) })),
      ]);
      if (applied) return;
    }
  }

  private async updateLedger<T>(source: SourceName, partition: number, items: readonly Item<T>[], outcomes: Map<Item<T>, Outcome>, lastOffset: string): Promise<void> {
    const family = this.settings.families.aggregates;
    const row = ledgerRow(source, partition);
    for (;;) {
      const [current] = await this.store.getMany([{ row, columns: [{ family }] }]);
      const throughCell = cellValue(current, family, LEDGER.through);
      const through = throughCell ? Number(throughCell.toString()) : -1;
      if (Number(lastOffset) <= through) return;
      const counts = { accepted: 0, invalid: 0, duplicate: 0 };
      for (const item of items) {
        if (Number(item.ref.offset) <= through) continue;
        counts[outcomes.get(item) === 'accepted' ? 'accepted' : outcomes.get(item) === 'duplicate' ? 'duplicate' : 'invalid'] += 1;
      }
      const old = (qualifier: string) => Number(cellValue(current, family, qualifier)?.toString() ?? '0');
      const applied = await this.store.checkAndPut(row, { family, qualifier: LEDGER.through }, throughCell, [
        { family, qualifier: LEDGER.through, value: Buffer.from(lastOffset) },
        { family, qualifier: LEDGER.accepted, value: Buffer.from(String(old(LEDGER.accepted) + counts.accepted)) },
        { family, qualifier: LEDGER.invalid, value: Buffer.from(String(old(LEDGER.invalid) + counts.invalid)) },
        { family, qualifier: LEDGER.duplicates, value: Buffer.from(String(old(LEDGER.duplicates) + counts.duplicate)) },
      ]);
      if (applied) return;
    }
  }
}

type Fact = BidFact | ImpressionFact | ClickFact | ConversionFact;

function factOf(source: SourceName, record: RecordOf[SourceName], ref: SourceRef): Fact {
  switch (source) {
    case 'bidRequests': {
      const r = record as BidRequest;
      return { country: r.country, deviceType: r.device_type, exchange: r.exchange };
    }
    case 'impressions': {
      const r = record as Impression;
      return { requestId: r.request_id, campaignId: r.campaign_id, ts: r.ts, priceMicros: r.price_micros, arrivalMs: ref.arrivalMs };
    }
    case 'clicks': {
      const r = record as Click;
      return { impressionId: r.impression_id, ts: r.ts, arrivalMs: ref.arrivalMs };
    }
    case 'conversions': {
      const r = record as Conversion;
      return { clickId: r.click_id, ts: r.ts, valueMicros: r.value_micros, arrivalMs: ref.arrivalMs };
    }
  }
}

/** The row an accepted record is indexed in: the partner it names. */
function parentOf(source: SourceName, record: RecordOf[SourceName]): { kind: FactKind; id: string } | undefined {
  switch (source) {
    case 'bidRequests':
      return undefined;
    case 'impressions':
      return { kind: 'R', id: (record as Impression).request_id };
    case 'clicks':
      return { kind: 'I', id: (record as Click).impression_id };
    case 'conversions':
      return { kind: 'C', id: (record as Conversion).click_id };
  }
}

const CHILD_PREFIX = Buffer.from(COLUMN.childPrefix);

function absorb(view: View, kind: 'R' | 'I' | 'C', id: string, row: StoreRow | undefined, stateFamily: string): void {
  if (!row) return;
  for (const cell of row.cells) {
    if (cell.family.toString('utf8') !== stateFamily) continue;
    if (cell.qualifier.length === 1 && cell.qualifier[0] === COLUMN.fact.charCodeAt(0)) {
      const fact = JSON.parse(cell.value.toString('utf8')) as Fact;
      if (kind === 'R') view.bids.set(id, fact as BidFact);
      else if (kind === 'I') view.impressions.set(id, fact as ImpressionFact);
      else view.clicks.set(id, fact as ClickFact);
    } else if (cell.qualifier.subarray(0, CHILD_PREFIX.length).equals(CHILD_PREFIX)) {
      const childId = cell.qualifier.subarray(CHILD_PREFIX.length).toString('utf8');
      const fact = JSON.parse(cell.value.toString('utf8')) as Fact;
      if (kind === 'R') view.impressions.set(childId, fact as ImpressionFact);
      else if (kind === 'I') view.clicks.set(childId, fact as ClickFact);
      else view.conversions.set(childId, fact as ConversionFact);
    }
  }
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  });
  await Promise.all(lanes);
}
