import avro from 'avsc';
import { parse as csvParse } from 'csv-parse/sync';
import { SOURCE_NAMES, type SourceName } from '../api/runtime-config.js';
import { generate } from '../generator/index.js';
import { BID_REQUEST_SCHEMA } from '../runtime/decode/bid-request-schema.js';
import { decodersFor } from '../runtime/decode/index.js';
import type { InMessage } from '../runtime/model.js';
import { kafkaMessages, type OutMessage } from '../runtime/e2e/harness.js';

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

function timeIt(work: () => void, minMs = 1500): number {
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    work();
    runs++;
  }
  return (performance.now() - start) / runs;
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

  const decodeRecords = { json: 0, csv: 0, avro: 0 };
  const ours = { json: 0, csv: 0, avro: 0 };
  // The worker's own decoders (they return promises: the Avro one may ask a schema registry).
  async function measureAsync(work: () => Promise<unknown[]>, key: 'json' | 'csv' | 'avro'): Promise<number> {
    let runs = 0;
    const start = performance.now();
    while (performance.now() - start < 1500) {
      decodeRecords[key] = (await work()).length;
      runs++;
    }
    return (performance.now() - start) / runs;
  }
  ours.json = await measureAsync(() => decoders.impressions(jsonInput, now), 'json');
  ours.csv = await measureAsync(() => decoders.clicks(clickMessages, now), 'csv');
  ours.avro = await measureAsync(() => decoders.bidRequests(avroInput, now), 'avro');

  const bare = {
    json: timeIt(() => {
      for (const m of jsonInput) {
        try {
          JSON.parse(m.value!.toString('utf8'));
        } catch {
          /* the set's deliberately broken messages */
        }
      }
    }),
    avro: (() => {
      const type = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
      return timeIt(() => {
        for (const m of avroInput) {
          try {
            type.fromBuffer(m.value!);
          } catch {
            /* the set's deliberately broken records */
          }
        }
      });
    })(),
    csvWholeBatch: timeIt(() => void csvParse(clickMessages.map((m) => m.value!.toString('utf8')).join('\n'), { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, skip_records_with_error: true })),
    csvPerMessage: timeIt(() => {
      for (const m of clickMessages) {
        try {
          csvParse(m.value!.toString('utf8'), { relax_column_count: true, skip_empty_lines: true });
        } catch {
          /* broken quoting */
        }
      }
    }),
  };
  const figures = {
    json_records_per_s: perSecond(decodeRecords.json, ours.json),
    json_parse_only_records_per_s: perSecond(decodeRecords.json, bare.json),
    csv_records_per_s: perSecond(decodeRecords.csv, ours.csv),
    csv_parse_whole_batch_records_per_s: perSecond(decodeRecords.csv, bare.csvWholeBatch),
    csv_parse_per_message_records_per_s: perSecond(decodeRecords.csv, bare.csvPerMessage),
    avro_records_per_s: perSecond(decodeRecords.avro, ours.avro),
    avsc_only_records_per_s: perSecond(decodeRecords.avro, bare.avro),
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
