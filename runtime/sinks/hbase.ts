import type { SourceName } from '../../api/runtime-config.js';
import type { BidRequest, Click, Conversion, Impression, Invalid, Item, RecordOf, SourceRef, Valid } from '../model.js';
import { idOf } from '../model.js';
import { correlate, type CorrelationRules } from '../stages/correlate.js';
import { claimOf, firstCopies } from '../stages/dedup.js';
import { Claims } from './claims.js';
import { emptyView, type BidFact, type ClickFact, type ConversionFact, type ImpressionFact, type View } from '../stages/facts.js';
import {
  ATTRIBUTION,
  ATTRIBUTION_SHARDS,
  LEDGER,
  ROLLUP,
  attributionRow,
  childPrefix,
  childQualifier,
  countedQualifier,
  encodeCounted,
  factQualifier,
  hourKey,
  ledgerRow,
  marker,
  parseStateQualifier,
  saltOf,
  stateRow,
  type FactKind,
  type Families,
} from '../storage/layout.js';
import { cellValue, groupByRow, type Store, type StoreCell, type StorePut, type StoreRow } from '../storage/store.js';

/**
 * Applies one batch of one source partition to the store so that applying it again — after a
 * crash at any instant, by a second worker during a rebalance, or on a replay of older offsets —
 * changes nothing. The mechanism (docs/exactly-once.md):
 *
 *  1. claim each record's id, with its fact, in the id's state-bucket row by one compare-and-set
 *     per bucket on the bucket's version; the claim stores the winning copy's
 *     partition:offset:index (a replayed winner recognises itself);
 *  2. write the fact into its partner's bucket row (the join index), then, only after every write
 *     of step 1-2 is durable, read the partners: of two records that meet, the one written last
 *     reads the other;
 *  3. write every counted event the reads support as its own cell of its campaign-hour row (a put:
 *     idempotent), one column per level of knowledge so a stale writer can never overwrite a
 *     better answer;
 *  4. count attributions and per-partition stats with compare-and-set on rows whose markers / offset
 *     ledger sit in the same row as the counters, so a counter never moves without its marker.
 */

export interface SinkSettings {
  saltBuckets: number;
  families: Families;
  rules: CorrelationRules;
}

export interface BatchOutcome {
  accepted: number;
  duplicates: number;
  invalid: number;
  /** Counted-event cells written (including rewrites of events counted before). */
  counted: number;
  invalidItems: Invalid[];
}

const EMPTY = Buffer.alloc(0);

const FACT_KIND: Record<SourceName, FactKind> = { bidRequests: 'R', impressions: 'I', clicks: 'C', conversions: 'V' };

type Outcome = 'accepted' | 'duplicate' | 'invalid';

export class HBaseSink {
  private readonly claims: Claims;

  constructor(
    private readonly store: Store,
    private readonly settings: SinkSettings,
    /** Told of the campaign-hour rows each batch wrote counted events to (their roll-ups: decision 0048). */
    private readonly onHoursWritten?: (rows: { row: Buffer; hourIndex: number }[]) => void,
  ) {
    this.claims = new Claims(store, settings);
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

    // Each fact is encoded once: it goes with the claim and into the partner's index.
    const facts = new Map<Valid<RecordOf[SourceName]>, Buffer>(firsts.map(({ item }) => [item, factBytes(source, item)]));
    const { accepted, replayed } = await this.claim(source, firsts, facts);
    for (const { item } of firsts) outcomes.set(item, accepted.has(item) ? 'accepted' : 'duplicate');
    const winners = firsts.filter(({ item }) => accepted.has(item));

    await this.store.putMany(this.indexPuts(source, winners.map(({ item }) => item), replayed, facts));
    const view = await this.readAround(source, winners.map(({ item }) => item));
    const correlation = correlate(view, this.settings.rules);
    const events = this.eventPuts(correlation.counted);
    await this.store.putMany(events.puts);
    this.onHoursWritten?.(events.hours);
    await Promise.all([this.countAttributions('c', correlation.attributedClicks), this.countAttributions('v', correlation.attributedConversions)]);
    await this.updateLedger(source, partition, items, outcomes, lastOffset);

    let nAccepted = 0;
    let nDuplicates = 0;
    for (const outcome of outcomes.values()) {
      if (outcome === 'accepted') nAccepted++;
      else if (outcome === 'duplicate') nDuplicates++;
    }
    return { accepted: nAccepted, duplicates: nDuplicates, invalid: invalidItems.length, counted: correlation.counted.length, invalidItems };
  }

  // --- step 1: claims -------------------------------------------------------------------------

  private async claim<T extends RecordOf[SourceName]>(source: SourceName, firsts: { id: string; item: Valid<T> }[], facts: Map<Valid<RecordOf[SourceName]>, Buffer>): Promise<{ accepted: Set<Valid<T>>; replayed: Set<Valid<T>> }> {
    const results = await this.claims.claim(
      FACT_KIND[source],
      firsts.map(({ id, item }) => ({ id, copy: claimOf(item.ref), fact: facts.get(item)! })),
    );
    const accepted = new Set<Valid<T>>();
    const replayed = new Set<Valid<T>>();
    firsts.forEach(({ item }, i) => {
      if (results[i]!.accepted) accepted.add(item);
      if (results[i]!.replayed) replayed.add(item);
    });
    return { accepted, replayed };
  }

  // --- step 2: join index and reads -----------------------------------------------------------

  /** Each accepted record in its parent's row (and, on a replay, its own fact again: the claim may have outlived it). */
  private indexPuts(source: SourceName, winners: Valid<RecordOf[SourceName]>[], replayed: Set<Valid<RecordOf[SourceName]>>, facts: Map<Valid<RecordOf[SourceName]>, Buffer>): StorePut[] {
    const { families, saltBuckets } = this.settings;
    const cells: { row: Buffer; cell: StoreCell }[] = [];
    for (const item of winners) {
      const fact = facts.get(item)!;
      const id = idOf(source, item.record);
      if (replayed.has(item)) cells.push({ row: stateRow(FACT_KIND[source], id, saltBuckets), cell: { family: families.state, qualifier: factQualifier(id), value: fact } });
      const parent = parentOf(source, item.record);
      if (parent) cells.push({ row: stateRow(parent.kind, parent.id, saltBuckets), cell: { family: families.state, qualifier: childQualifier(parent.id, id), value: fact } });
    }
    return putsByRow(cells);
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

  /** One get per bucket row: the ids' facts and, `withChildren`, every child indexed under them. */
  private async read(view: View, kind: 'R' | 'I' | 'C', ids: string[], withChildren: boolean): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    const { families, saltBuckets } = this.settings;
    const buckets = [...groupByRow(unique, (id) => stateRow(kind, id, saltBuckets)).values()];
    const rows = await this.store.getMany(
      buckets.map(({ row, members }) =>
        withChildren
          ? { row, columns: [{ family: families.state }], qualifierPrefixes: members.flatMap((id) => [factQualifier(id), childPrefix(id)]) }
          : { row, columns: members.map((id) => ({ family: families.state, qualifier: factQualifier(id) })) },
      ),
    );
    for (const row of rows) absorb(view, kind, row, families.state);
  }

  // --- step 3: counted events -----------------------------------------------------------------

  /** One put per campaign-hour row, and which rows they are (for their roll-ups). */
  private eventPuts(counted: ReturnType<typeof correlate>['counted']): { puts: StorePut[]; hours: { row: Buffer; hourIndex: number }[] } {
    const { families, saltBuckets } = this.settings;
    const byRow = [...groupByRow(counted, (event) => hourKey(event.campaignId, event.hourIndex, saltBuckets)).values()];
    return {
      puts: byRow.map(({ row, members }) => ({
        row,
        cells: [
          ...members.map((event) => ({ family: families.aggregates, qualifier: countedQualifier(event.enriched, event.kind, event.eventId), value: encodeCounted(event) })),
          // Stamped with the counted cells (one row mutation): when this row was last written (decision 0048).
          { family: families.aggregates, qualifier: ROLLUP.written, value: EMPTY },
        ],
      })),
      hours: byRow.map(({ row, members }) => ({ row, hourIndex: members[0]!.hourIndex })),
    };
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

function factBytes(source: SourceName, item: Valid<RecordOf[SourceName]>): Buffer {
  return Buffer.from(JSON.stringify(factOf(source, item.record, item.ref)));
}

/** Puts the facts and child entries of one bucket row into the view. */
function absorb(view: View, kind: 'R' | 'I' | 'C', row: StoreRow | undefined, stateFamily: string): void {
  if (!row) return;
  for (const cell of row.cells) {
    if (cell.family.toString('utf8') !== stateFamily) continue;
    const parsed = parseStateQualifier(cell.qualifier.toString('utf8'));
    if (!parsed) continue;
    const fact = JSON.parse(cell.value.toString('utf8')) as Fact;
    if (parsed.tag === 'f') {
      if (kind === 'R') view.bids.set(parsed.id, fact as BidFact);
      else if (kind === 'I') view.impressions.set(parsed.id, fact as ImpressionFact);
      else view.clicks.set(parsed.id, fact as ClickFact);
    } else if (parsed.tag === 'x') {
      if (kind === 'R') view.impressions.set(parsed.childId, fact as ImpressionFact);
      else if (kind === 'I') view.clicks.set(parsed.childId, fact as ClickFact);
      else view.conversions.set(parsed.childId, fact as ConversionFact);
    }
  }
}

/** One put per row: HBase pays per row action, so a batch's cells for a row travel together. */
function putsByRow(cells: readonly { row: Buffer; cell: StoreCell }[]): StorePut[] {
  return [...groupByRow(cells, ({ row }) => row).values()].map(({ row, members }) => ({ row, cells: members.map(({ cell }) => cell) }));
}
