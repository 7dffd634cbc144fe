import avro from 'avsc';
import { parse as csvParse } from 'csv-parse/sync';
import { SOURCE_NAMES, type SourceName } from '../api/runtime-config.js';
import { generate } from '../generator/index.js';
import { BID_REQUEST_SCHEMA } from '../runtime/decode/bid-request-schema.js';
import { decodersFor } from '../runtime/decode/index.js';
import type { InMessage } from '../runtime/model.js';
import { kafkaMessages, type OutMessage } from '../runtime/e2e/harness.js';
import { FETCH_LIMITS } from '../runtime/kafka.js';

/**
 * `npm run bench -- decode [impressions]`: the runtime's decode + validate rate per format beside
 * the bare parser on the same input (JSON.parse of each message, avsc `fromBuffer` of each record,
 * csv-parse whole batch and per message). No servers. Ends with one JSON line: the figures plus
 * `json_vs_parse` and `avro_vs_avsc` (ours / bare; issue 13 wants >= 1/1.5).
 *
 * `decodeFigures` is the same measurement for `npm run bench -- runtime` (its section 1).
 */

export interface DecodeFigures {
  json_records_per_s: number;
  json_parse_only_records_per_s: number;
  csv_records_per_s: number;
  csv_parse_whole_batch_records_per_s: number;
  csv_parse_per_message_records_per_s: number;
  avro_records_per_s: number;
  avsc_only_records_per_s: number;
  /** Ours / JSON.parse alone: 1 is as fast as the bare parser. */
  json_vs_parse: number;
  /** Ours / avsc alone. */
  avro_vs_avsc: number;
}

const perSecond = (n: number, ms: number): number => Math.round((n / ms) * 1000);
const fmt = (n: number): string => n.toLocaleString('en-US');
const ratio = (ours: number, bare: number): number => Math.round((ours / bare) * 1000) / 1000;

/**
 * The messages in the batches a worker decodes: one call per partition fetch, at most
 * `maxBytesPerPartition` of values each. One call over the whole sample kept every decoded record
 * alive until its end, so the collector promoted them all and charged our side for a retention
 * the worker never has (the bare parsers keep nothing).
 */
function fetchBatches(messages: InMessage[]): InMessage[][] {
  const batches: InMessage[][] = [];
  let batch: InMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value?.length ?? 0;
    if (batch.length > 0 && bytes + size > FETCH_LIMITS.maxBytesPerPartition) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Runs a decoder over every batch; the number of records it gave. */
async function decodeAll(decode: (batch: InMessage[], now: number) => Promise<readonly unknown[]>, batches: InMessage[][], now: number): Promise<number> {
  let records = 0;
  for (const batch of batches) records += (await decode(batch, now)).length;
  return records;
}

/**
 * Milliseconds per call of each contender: rounds that alternate between them, the best round of
 * each (the least disturbed by other work on a shared machine, and no contender pays alone for a
 * cold JIT or for the collection of what ran before it, e.g. the generator's garbage).
 */
async function bestOfRounds(contenders: Record<string, () => unknown>, rounds = 3, windowMs = 500): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, work] of Object.entries(contenders)) {
      let runs = 0;
      const start = performance.now();
      while (performance.now() - start < windowMs) {
        await work();
        runs++;
      }
      const ms = (performance.now() - start) / runs;
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ms);
    }
  }
  return best;
}

/** Measures and prints decode + validate vs the bare parsers on a generated set's messages. */
export async function decodeFigures(all: Record<SourceName, OutMessage[]>, say: (line: string) => void): Promise<DecodeFigures> {
  const now = Date.now();
  const asIn = (list: OutMessage[]): InMessage[] => list.map((m, i) => ({ partition: 0, offset: String(i), timestamp: String(now), value: m.value }));
  const decoders = decodersFor({
    bidRequests: { topic: 'b', avro: {} },
    impressions: { topic: 'i', fieldMapping: {} },
    clicks: { topic: 'c', csv: { header: false, delimiter: ',' }, fieldMapping: {} },
    conversions: { topic: 'v', csv: { header: false, delimiter: ',' }, fieldMapping: {} },
  });
  const sample = <T>(list: T[], n: number): T[] => list.slice(0, Math.min(n, list.length));
  const jsonInput = asIn(sample(all.impressions, 50_000));
  const avroInput = asIn(sample(all.bidRequests, 50_000));
  // Clicks are ~2% of impressions: repeat the real click messages to a CSV input of useful size.
  const clickMessages = asIn(Array.from({ length: Math.ceil(50_000 / Math.max(1, all.clicks.length)) }, () => all.clicks).flat().slice(0, 50_000));

  const [jsonBatches, avroBatches, clickBatches] = [jsonInput, avroInput, clickMessages].map(fetchBatches) as [InMessage[][], InMessage[][], InMessage[][]];
  const decodeRecords = { json: 0, csv: 0, avro: 0 };
  const type = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
  // Ours are the worker's own decoders (they return promises: the Avro one may ask a schema registry).
  const ms = await bestOfRounds({
    json: async () => (decodeRecords.json = await decodeAll(decoders.impressions, jsonBatches, now)),
    jsonParse: () => {
      for (const m of jsonInput) {
        try {
          JSON.parse(m.value!.toString('utf8'));
        } catch {
          /* the set's deliberately broken messages */
        }
      }
    },
    avro: async () => (decodeRecords.avro = await decodeAll(decoders.bidRequests, avroBatches, now)),
    avsc: () => {
      for (const m of avroInput) {
        try {
          type.fromBuffer(m.value!);
        } catch {
          /* the set's deliberately broken records */
        }
      }
    },
    csv: async () => (decodeRecords.csv = await decodeAll(decoders.clicks, clickBatches, now)),
    csvWholeBatch: () => void csvParse(clickMessages.map((m) => m.value!.toString('utf8')).join('\n'), { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, skip_records_with_error: true }),
    csvPerMessage: () => {
      for (const m of clickMessages) {
        try {
          csvParse(m.value!.toString('utf8'), { relax_column_count: true, skip_empty_lines: true });
        } catch {
          /* broken quoting */
        }
      }
    },
  });
  const figures = {
    json_records_per_s: perSecond(decodeRecords.json, ms.json!),
    json_parse_only_records_per_s: perSecond(decodeRecords.json, ms.jsonParse!),
    csv_records_per_s: perSecond(decodeRecords.csv, ms.csv!),
    csv_parse_whole_batch_records_per_s: perSecond(decodeRecords.csv, ms.csvWholeBatch!),
    csv_parse_per_message_records_per_s: perSecond(decodeRecords.csv, ms.csvPerMessage!),
    avro_records_per_s: perSecond(decodeRecords.avro, ms.avro!),
    avsc_only_records_per_s: perSecond(decodeRecords.avro, ms.avsc!),
  };
  const result: DecodeFigures = {
    ...figures,
    json_vs_parse: ratio(figures.json_records_per_s, figures.json_parse_only_records_per_s),
    avro_vs_avsc: ratio(figures.avro_records_per_s, figures.avsc_only_records_per_s),
  };
  say('decode + validate (records/s), ours vs the bare parser on the same input:');
  say(`  JSON  ${fmt(figures.json_records_per_s)} vs JSON.parse ${fmt(figures.json_parse_only_records_per_s)}`);
  say(`  CSV   ${fmt(figures.csv_records_per_s)} vs csv-parse whole batch ${fmt(figures.csv_parse_whole_batch_records_per_s)}, per message ${fmt(figures.csv_parse_per_message_records_per_s)}`);
  say(`  Avro  ${fmt(figures.avro_records_per_s)} vs avsc fromBuffer ${fmt(figures.avsc_only_records_per_s)}`);
  say(`  ours / bare parser: JSON ${result.json_vs_parse}, Avro ${result.avro_vs_avsc} (issue 13 wants >= ${ratio(1, 1.5)})`);
  return result;
}

// Run as `npm run bench -- decode` (bench/main.ts imports this file with argv[2] = 'decode').
if (process.argv[2] === 'decode') {
  const impressions = Number(process.argv[3] ?? 500_000);
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  say(`generating ${fmt(impressions)} impressions (seed 7)`);
  const all = kafkaMessages(generate({ seed: 7, impressions }).messages);
  const totalMessages = SOURCE_NAMES.reduce((sum, s) => sum + all[s].length, 0);
  say(`messages: ${SOURCE_NAMES.map((s) => `${s} ${fmt(all[s].length)}`).join(', ')} (total ${fmt(totalMessages)})`);
  say(JSON.stringify({ bench: 'decode', impressions, ...(await decodeFigures(all, say)) }));
}
