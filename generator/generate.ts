import avro from 'avsc';
import { BID_REQUEST_SCHEMA, DAY_MS, DEVICE_TYPES, HOUR_MS, type BidRequest, type DeviceType } from './contract.js';
import { writeEdgeCases, type EdgeContext } from './edge-cases.js';
import { GeneratorError } from './errors.js';
import { csvField, FAR_FUTURE_TS as FUTURE_TS, isoWithOffset, isoZ, OFFSETS } from './format.js';
import { Rng, WeightedPicker, zipfWeights } from './rng.js';
import { isRawBytes, type AvroMessage, type GenerateOptions, type GeneratorSummary, type Intent, type PerSource, type ResolvedOptions } from './types.js';
import { asWritten, isWrittenRecord } from './writer-versions.js';

/**
 * The random bulk of a generated set: campaigns, creatives, publishers and users with skewed
 * popularity; bid requests for most impressions (and for auctions that were lost); clicks and
 * conversions with per-campaign rates and realistic delays; and what real feeds add: identical
 * duplicates, out-of-order and late arrivals, mixed timestamp forms, JSON arrays, multi-line CSV
 * messages with CRLF and quoting, and invalid records of every kind.
 *
 * Everything random comes from one seeded Rng in a fixed order, so a seed gives byte-identical
 * messages. Messages go to a sink as they are made (1M impressions never sit in memory at once).
 */
export interface MessageSink {
  bidRequest(message: AvroMessage): void;
  impression(text: string): void;
  click(text: string): void;
  conversion(text: string): void;
}

/** The rates that shape the bulk; fixed so that a seed means one data set. */
const RATES = {
  bidRequestForImpression: 0.96,
  lostAuctionBidRequest: 0.1,
  impressionArray: 0.02,
  duplicate: { bidRequests: 0.005, impressions: 0.01, clicks: 0.02, conversions: 0.02 },
  invalid: { bidRequests: 0.001, impressions: 0.003, clicks: 0.005, conversions: 0.01 },
  heldBack: 0.03,
  late: 0.005,
  orphanClickPerImpression: 0.00004,
  orphanConversion: 0.01,
  multiLineCsv: 0.3,
};

const EXCHANGES = ['adx', 'openx', 'pubmatic', 'xandr', 'magnite'] as const;
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CA', 'ES', 'IT'] as const;
const COUNTRY_WEIGHTS = [35, 10, 10, 8, 10, 7, 6, 5, 5, 4];
const DEVICE_WEIGHTS: Record<DeviceType, number> = { DESKTOP: 30, MOBILE: 55, TABLET: 8, CTV: 5, OTHER: 2 };
const CONVERSION_TYPES = ['purchase', 'signup', 'add_to_cart', 'lead'] as const;
const CONVERSION_TYPE_WEIGHTS = [60, 25, 10, 5];

export function resolveOptions(options: GenerateOptions): ResolvedOptions {
  const { seed, impressions } = options;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new GeneratorError('GEN_OPTIONS', `seed must be an integer >= 0, got ${seed}`);
  if (!Number.isSafeInteger(impressions) || impressions < 0) {
    throw new GeneratorError('GEN_OPTIONS', `impressions must be an integer >= 0, got ${impressions}`);
  }
  const baseTime = options.baseTime ?? Date.UTC(2026, 0, 1) + (seed % 60) * DAY_MS;
  if (!Number.isSafeInteger(baseTime) || baseTime % DAY_MS !== 0) {
    throw new GeneratorError('GEN_OPTIONS', `base time must be a UTC midnight, got ${new Date(baseTime).toISOString()}`);
  }
  const hours = options.hours ?? 48;
  if (!Number.isSafeInteger(hours) || hours < 1) throw new GeneratorError('GEN_OPTIONS', `hours must be an integer >= 1, got ${hours}`);
  const campaigns = options.campaigns ?? Math.min(40, Math.max(3, Math.ceil(impressions / 25_000)));
  if (!Number.isSafeInteger(campaigns) || campaigns < 1 || campaigns > 999) {
    throw new GeneratorError('GEN_OPTIONS', `campaigns must be an integer in 1..999, got ${campaigns}`);
  }
  return { seed, impressions, baseTime, hours, campaigns, edgeCases: options.edgeCases ?? true, ...(options.writerVersions ? { writerVersions: true as const } : {}) };
}

const zero = (): PerSource => ({ bidRequests: 0, impressions: 0, clicks: 0, conversions: 0 });

/**
 * Delivers messages in "arrival" order: most at once, a few held back for some positions
 * (out of order), a few only at the end of the file (late).
 */
class Arrivals<T> {
  private held: { due: number; message: T }[] = [];
  private readonly late: T[] = [];
  private position = 0;

  constructor(
    private readonly rng: Rng,
    private readonly out: (message: T) => void,
  ) {}

  push(message: T): void {
    this.position++;
    const r = this.rng.next();
    if (r < RATES.late) this.late.push(message);
    else if (r < RATES.late + RATES.heldBack) this.held.push({ due: this.position + this.rng.int(1, 50), message });
    else this.out(message);
    if (this.held.length && this.held[0]!.due <= this.position) this.release(this.position);
  }

  pushLate(message: T): void {
    this.late.push(message);
  }

  private release(upTo: number): void {
    const keep: { due: number; message: T }[] = [];
    for (const h of this.held) {
      if (h.due <= upTo) this.out(h.message);
      else keep.push(h);
    }
    this.held = keep;
  }

  finish(): void {
    this.release(Infinity);
    for (const message of this.late) this.out(message);
    this.late.length = 0;
  }
}

interface Campaign {
  id: string;
  creatives: number;
  ctr: number;
  cvr: number;
  priceMicros: number;
}

interface PendingClick {
  id: string;
  impressionId: string;
  ts: number;
  userId: string;
  campaign: number;
  /** Whether the contract attributes it (its impression exists and 0 <= delay <= 24h). */
  attributed: boolean;
}

interface PendingConversion {
  id: string;
  clickId: string;
  ts: number;
  type: string;
  valueMicros: number;
  attributed: boolean;
}

interface CsvLine {
  text: string;
  /** Lines that would swallow their neighbours (an unterminated quote) travel alone. */
  alone: boolean;
}

/** Generates one data set into the sink and returns what was meant to go in. */
export function generateInto(options: GenerateOptions, sink: MessageSink): GeneratorSummary {
  const resolved = resolveOptions(options);
  const { seed, baseTime } = resolved;
  const rng = new Rng(seed);
  const messages = zero();
  const intent: Intent = { accepted: zero(), invalid: zero(), duplicates: zero(), unattributed_clicks: 0, unattributed_conversions: 0 };
  let written = 0;
  const counted: MessageSink = {
    bidRequest: (m) => {
      // Writer versions in turn over the records (raw bytes stay bytes), so every batch mixes them.
      sink.bidRequest(resolved.writerVersions && !isRawBytes(m) && !isWrittenRecord(m) ? asWritten(m, written++) : m);
      messages.bidRequests++;
    },
    impression: (m) => (messages.impressions++, sink.impression(m)),
    click: (m) => (messages.clicks++, sink.click(m)),
    conversion: (m) => (messages.conversions++, sink.conversion(m)),
  };
  const avroType = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
  let maxValidTs = 0;
  const valid = (ts: number): number => ((maxValidTs = Math.max(maxValidTs, ts)), ts);

  const edge: EdgeContext = { seed, baseTime, sink: counted, intent, avroType, valid };
  const lateEdge = resolved.edgeCases ? writeEdgeCases(edge) : undefined;

  const bids = new Arrivals<AvroMessage>(rng.fork(1), counted.bidRequest);
  const imps = new Arrivals<string>(rng.fork(2), counted.impression);
  const gen = rng.fork(3);

  const campaigns: Campaign[] = Array.from({ length: resolved.campaigns }, (_, i) => ({
    id: `cmp-${String(i + 1).padStart(2, '0')}`,
    creatives: gen.int(1, 4),
    ctr: 0.005 + gen.next() * 0.035,
    cvr: 0.05 + gen.next() * 0.15,
    priceMicros: gen.int(500, 4000),
  }));
  const campaignPicker = new WeightedPicker(zipfWeights(campaigns.length));
  const countryPicker = new WeightedPicker(COUNTRY_WEIGHTS);
  const devicePicker = new WeightedPicker(DEVICE_TYPES.map((d) => DEVICE_WEIGHTS[d]));
  const users = Math.max(10, Math.floor(resolved.impressions / 4));
  const userId = (n: number): string => (n % 97 === 13 ? `usr,"q"-${n}` : `usr-${n}`);
  const pickUser = (): number => Math.floor(users * Math.pow(gen.next(), 3));
  const publishers = 30;

  const bidRequest = (requestId: string, ts: number, user: string | null): BidRequest => {
    const pub = gen.int(1, publishers);
    const app = pub % 3 === 0;
    return {
      request_id: requestId,
      ts,
      exchange: gen.pick(EXCHANGES),
      publisher_id: `pub-${String(pub).padStart(3, '0')}`,
      site_domain: app ? null : `news${pub}.example.com`,
      app_bundle: app ? `com.example.game${pub}` : null,
      device_type: DEVICE_TYPES[devicePicker.pick(gen)]!,
      country: COUNTRIES[countryPicker.pick(gen)]!,
      user_id: user,
      floor_price_micros: gen.int(100, 2000),
    };
  };

  const invalidBidRequest = (n: number): AvroMessage => {
    const record = bidRequest(`req-${seed}-bad${n}`, FUTURE_TS, null);
    if (gen.chance(0.5)) return record;
    const bytes = avroType.toBuffer(record);
    return { $base64: bytes.subarray(0, Math.min(bytes.length - 1, 5)).toString('base64') };
  };

  const tsJson = (ts: number): string => {
    const r = gen.next();
    if (r < 0.45) return `"${isoZ(ts)}"`;
    if (r < 0.7) {
      const [suffix, minutes] = gen.pick(OFFSETS);
      return `"${isoWithOffset(ts, suffix, minutes)}"`;
    }
    return String(ts);
  };

  const tsCsv = (ts: number): string => {
    const r = gen.next();
    if (r < 0.5) return isoZ(ts);
    if (r < 0.7) {
      const [suffix, minutes] = gen.pick(OFFSETS);
      return isoWithOffset(ts, suffix, minutes);
    }
    return String(ts);
  };

  let badImpressions = 0;
  const invalidImpression = (ts: number): string => {
    const id = `imp-${seed}-bad${++badImpressions}`;
    const good = `"impression_id":"${id}","request_id":"req-${seed}-bad","campaign_id":"cmp-01"`;
    switch (gen.int(0, 7)) {
      case 0:
        return `{${good},"ts":"${isoZ(ts)}","price_micros":`; // cut off mid-object
      case 1:
        return `{"request_id":"req-${seed}-bad","campaign_id":"cmp-01","ts":${ts},"price_micros":100}`;
      case 2:
        return `{${good},"ts":${ts}}`;
      case 3:
        return `{${good},"ts":${ts},"price_micros":"100"}`;
      case 4:
        return `{${good},"ts":${ts},"price_micros":-100}`;
      case 5:
        return `{${good},"ts":"${isoZ(ts).slice(0, 19)}","price_micros":100}`; // no offset
      case 6:
        return `{${good},"ts":${FUTURE_TS},"price_micros":100}`;
      default:
        return `{"impression_id":"${'x'.repeat(129)}","request_id":"req-${seed}-bad","campaign_id":"cmp-01","ts":${ts},"price_micros":100}`;
    }
  };

  const clicks: PendingClick[] = [];
  const spanMs = resolved.hours * HOUR_MS;
  const n = resolved.impressions;
  let array: string[] | undefined;
  let arrayLeft = 0;
  let badBids = 0;
  let lostAuctions = 0;
  const emitImpression = (text: string): void => {
    if (array) {
      array.push(text);
      if (--arrayLeft <= 0) {
        imps.push(`[${array.join(',')}]`);
        array = undefined;
      }
    } else imps.push(text);
  };

  for (let i = 0; i < n; i++) {
    const ts = valid(baseTime + Math.floor(((i + gen.next()) * spanMs) / n));
    const c = campaignPicker.pick(gen);
    const campaign = campaigns[c]!;
    const user = gen.chance(0.85) ? userId(pickUser()) : null;
    const requestId = `req-${seed}-${i}`;
    if (gen.chance(RATES.bidRequestForImpression)) {
      const record = bidRequest(requestId, ts - gen.int(0, 300), user);
      bids.push(record);
      intent.accepted.bidRequests++;
      if (gen.chance(RATES.duplicate.bidRequests)) {
        intent.duplicates.bidRequests++;
        if (gen.chance(0.5)) bids.push(record);
        else bids.pushLate(record);
      }
    }
    if (gen.chance(RATES.lostAuctionBidRequest)) {
      bids.push(bidRequest(`req-${seed}-lost${++lostAuctions}`, ts - gen.int(0, 300), userId(pickUser())));
      intent.accepted.bidRequests++;
    }
    if (gen.chance(RATES.invalid.bidRequests)) {
      bids.push(invalidBidRequest(++badBids));
      intent.invalid.bidRequests++;
    }

    const impressionId = `imp-${seed}-${i}`;
    let text = `{"impression_id":"${impressionId}","request_id":"${requestId}","campaign_id":"${campaign.id}"`;
    if (gen.chance(0.9)) text += `,"creative_id":"cr-${campaign.id.slice(4)}-${gen.int(1, campaign.creatives)}"`;
    if (user !== null) text += `,"user_id":${JSON.stringify(user)}`;
    text += `,"ts":${tsJson(ts)},"price_micros":${Math.floor(campaign.priceMicros * (0.5 + gen.next()))}`;
    if (gen.chance(0.05)) text += `,"placement":"${gen.pick(['top', 'sidebar', 'interstitial'])}","sdk":{"v":"4.2"}`;
    text += '}';
    intent.accepted.impressions++;
    if (!array && gen.chance(RATES.impressionArray)) {
      array = [];
      arrayLeft = gen.int(2, 4);
    }
    emitImpression(text);
    if (gen.chance(RATES.duplicate.impressions)) {
      intent.duplicates.impressions++;
      const r = gen.next();
      if (r < 0.6) emitImpression(text);
      else imps.pushLate(text);
    }
    if (gen.chance(RATES.invalid.impressions)) {
      imps.push(invalidImpression(ts));
      intent.invalid.impressions++;
    }

    if (gen.chance(campaign.ctr)) {
      const r = gen.next();
      // Most clicks follow within minutes; some hours later; a few outside the window or before the impression.
      const delay = r < 0.9 ? gen.exp(120_000) : r < 0.97 ? gen.int(HOUR_MS, DAY_MS) : r < 0.99 ? gen.int(DAY_MS + 1, 2 * DAY_MS) : -gen.int(1, 60_000);
      clicks.push({
        id: '',
        impressionId,
        ts: ts + delay,
        userId: user ?? '',
        campaign: c,
        attributed: delay >= 0 && delay <= DAY_MS,
      });
    }
    if (gen.chance(RATES.orphanClickPerImpression)) {
      clicks.push({ id: '', impressionId: `imp-${seed}-gone${i}`, ts: ts + gen.int(0, 60_000), userId: '', campaign: c, attributed: false });
    }
  }
  if (array) {
    imps.push(`[${array.join(',')}]`);
    array = undefined;
  }
  bids.finish();
  lateEdge?.bidRequests();
  imps.finish();
  lateEdge?.impressions();

  // Clicks and conversions are written in the order of their own time, as a click feed would be.
  clicks.sort((a, b) => a.ts - b.ts);
  clicks.forEach((click, i) => (click.id = `clk-${seed}-${i}`));
  const conversions: PendingConversion[] = [];
  const typePicker = new WeightedPicker(CONVERSION_TYPE_WEIGHTS);
  for (const click of clicks) {
    valid(click.ts);
    intent.accepted.clicks++;
    if (!click.attributed) intent.unattributed_clicks++;
    if (!gen.chance(campaigns[click.campaign]!.cvr)) continue;
    const r = gen.next();
    const delay = r < 0.85 ? gen.exp(6 * HOUR_MS) : r < 0.95 ? gen.int(DAY_MS, 7 * DAY_MS) : gen.int(7 * DAY_MS + 1, 9 * DAY_MS);
    const type = CONVERSION_TYPES[typePicker.pick(gen)]!;
    const valueMicros = type === 'purchase' ? gen.int(5, 300) * 1_000_000 : type === 'lead' ? gen.int(1, 20) * 1_000_000 : 0;
    conversions.push({ id: '', clickId: click.id, ts: click.ts + delay, type, valueMicros, attributed: click.attributed && delay <= 7 * DAY_MS });
  }
  const orphanConversions = Math.round(conversions.length * RATES.orphanConversion);
  for (let i = 0; i < orphanConversions; i++) {
    conversions.push({ id: '', clickId: `clk-${seed}-gone${i}`, ts: baseTime + gen.int(0, spanMs), type: 'purchase', valueMicros: 1_000_000, attributed: false });
  }
  conversions.sort((a, b) => a.ts - b.ts);
  conversions.forEach((conversion, i) => (conversion.id = `cnv-${seed}-${i}`));

  const clickLines: CsvLine[] = [];
  const clickLate: CsvLine[] = [];
  let badClicks = 0;
  for (const click of clicks) {
    const line = { text: `${csvField(click.id, gen.chance(0.05))},${click.impressionId},${tsCsv(click.ts)},${csvField(click.userId)}`, alone: false };
    clickLines.push(line);
    if (gen.chance(RATES.duplicate.clicks)) {
      intent.duplicates.clicks++;
      (gen.chance(0.5) ? clickLines : clickLate).push(line);
    }
    if (gen.chance(RATES.invalid.clicks)) {
      intent.invalid.clicks++;
      const id = `clk-${seed}-bad${++badClicks}`;
      const ts = isoZ(click.ts);
      const kind = gen.int(0, 4);
      const text = [
        `${id},${click.impressionId},${ts}`,
        `${id},${click.impressionId},${ts},,extra`,
        `,${click.impressionId},${ts},`,
        `${id},${click.impressionId},${FUTURE_TS},`,
        `${id},"${click.impressionId},${ts},`,
      ][kind]!;
      clickLines.push({ text, alone: kind === 4 });
    }
  }
  const clickOut = new Arrivals<string>(rng.fork(4), counted.click);
  writeCsvMessages(clickLines, gen, clickOut);
  writeCsvMessages(clickLate, gen, { push: (m) => clickOut.pushLate(m) });
  clickOut.finish();
  lateEdge?.clicks();

  const conversionLines: CsvLine[] = [];
  const conversionLate: CsvLine[] = [];
  let badConversions = 0;
  for (const conversion of conversions) {
    valid(conversion.ts);
    intent.accepted.conversions++;
    if (!conversion.attributed) intent.unattributed_conversions++;
    const type = gen.chance(0.02) ? `${conversion.type}, "promo"` : conversion.type;
    const line = { text: `${conversion.id},${conversion.clickId},${tsCsv(conversion.ts)},${csvField(type)},${conversion.valueMicros}`, alone: false };
    conversionLines.push(line);
    if (gen.chance(RATES.duplicate.conversions)) {
      intent.duplicates.conversions++;
      (gen.chance(0.5) ? conversionLines : conversionLate).push(line);
    }
    if (gen.chance(RATES.invalid.conversions)) {
      intent.invalid.conversions++;
      const id = `cnv-${seed}-bad${++badConversions}`;
      const ts = isoZ(conversion.ts);
      const text = [
        `${id},${conversion.clickId},${ts},purchase`,
        `${id},${conversion.clickId},${ts},purchase,-5`,
        `${id},${conversion.clickId},${ts},purchase,1.5`,
        `${id},${conversion.clickId},${FUTURE_TS},purchase,100`,
        `${id},${conversion.clickId},yesterday,purchase,100`,
      ][gen.int(0, 4)]!;
      conversionLines.push({ text, alone: false });
    }
  }
  const conversionOut = new Arrivals<string>(rng.fork(5), counted.conversion);
  writeCsvMessages(conversionLines, gen, conversionOut);
  writeCsvMessages(conversionLate, gen, { push: (m) => conversionOut.pushLate(m) });
  conversionOut.finish();
  lateEdge?.conversions();

  return { options: resolved, messages, intent, maxValidTs };
}

/** Groups CSV lines into messages: most one line, some up to six; LF or CRLF; a final break or not. */
function writeCsvMessages(lines: CsvLine[], rng: Rng, out: { push(message: string): void }): void {
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.alone) {
      out.push(lines[i++]!.text);
      continue;
    }
    const size = rng.chance(1 - RATES.multiLineCsv) ? 1 : rng.int(2, 6);
    const eol = rng.chance(0.5) ? '\r\n' : '\n';
    const group: string[] = [];
    while (group.length < size && i < lines.length && !lines[i]!.alone) group.push(lines[i++]!.text);
    out.push(group.join(eol) + (rng.chance(0.5) ? eol : ''));
  }
}

/** Refuses a base time whose data would not be entirely in the past of the processing time. */
export function checkInThePast(summary: GeneratorSummary, nowMs: number): void {
  if (summary.maxValidTs > nowMs) {
    throw new GeneratorError(
      'GEN_BASE_TOO_RECENT',
      `the generated events reach ${new Date(summary.maxValidTs).toISOString()}, after now (${new Date(nowMs).toISOString()}): ` +
        `pick a base time at least ${Math.ceil((summary.maxValidTs - summary.options.baseTime) / DAY_MS)} days ago, so that no valid event is in the future`,
    );
  }
}
