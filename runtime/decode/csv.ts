import type { CsvConfig } from '../../api/runtime-config.js';
import type { Click, Conversion, InMessage, Item } from '../model.js';
import { processingTime, refOf } from '../model.js';
import { REASON, Rejection, validateClick, validateConversion, type Fields, type Validated } from '../stages/validate.js';
import { scanCsv } from './csv-parser.js';

/** The contract's column order when a pipeline names none (contract §1). */
export const CANONICAL_COLUMNS = {
  clicks: ['click_id', 'impression_id', 'ts', 'user_id'],
  conversions: ['conversion_id', 'click_id', 'ts', 'type', 'value_micros'],
} as const;

export interface CsvSourceOptions {
  csv: CsvConfig;
  fieldMapping: Record<string, string>;
}

type Validator<T> = (fields: Fields, nowMs: number) => Validated<T>;

/**
 * Decodes and validates a whole batch of CSV messages in one pass: one scan per message with no
 * per-call set-up, one item per line (valid record or the line's bytes with its reason).
 */
function csvBatchDecoder<T>(canonical: readonly string[], validate: Validator<T>, options: CsvSourceOptions) {
  const delimiter = options.csv.delimiter.charCodeAt(0);
  const canonicalNames = (columns: readonly string[]) => columns.map((column) => options.fieldMapping[column] ?? column);
  const configured = canonicalNames(options.csv.columns ?? canonical);

  return (messages: readonly InMessage[], nowMs: number): Item<T>[] => {
    const items: Item<T>[] = [];
    for (const message of messages) {
      if (!message.value || message.value.length === 0) {
        items.push({ ok: false, reason: REASON.emptyMessage, raw: message.value ?? Buffer.alloc(0), ref: refOf(message, 0) });
        continue;
      }
      const text = message.value.toString('utf8');
      const now = processingTime(message, nowMs);
      let names = configured;
      let expectHeader = options.csv.header;
      let index = 0;
      scanCsv(text, delimiter, {
        row(fields, start, end) {
          if (expectHeader) {
            expectHeader = false;
            // Without configured columns the header names them, so producers may reorder columns.
            if (!options.csv.columns) names = canonicalNames(fields);
            return;
          }
          const ref = refOf(message, index++);
          if (fields.length !== names.length) {
            items.push({ ok: false, reason: REASON.csvColumnCount, raw: Buffer.from(text.slice(start, end), 'utf8'), ref });
            return;
          }
          const bag: Fields = {};
          for (let k = 0; k < names.length; k++) {
            const value = fields[k]!;
            if (value !== '') bag[names[k]!] = value;
          }
          const result = validate(bag, now);
          if (result instanceof Rejection) items.push({ ok: false, reason: result.reason, raw: Buffer.from(text.slice(start, end), 'utf8'), ref });
          else items.push({ ok: true, record: result, ref });
        },
        error(reason, start, end) {
          items.push({ ok: false, reason, raw: Buffer.from(text.slice(start, end), 'utf8'), ref: refOf(message, index++) });
        },
      });
    }
    return items;
  };
}

export function clickDecoder(options: CsvSourceOptions): (messages: readonly InMessage[], nowMs: number) => Item<Click>[] {
  return csvBatchDecoder(CANONICAL_COLUMNS.clicks, validateClick, options);
}

export function conversionDecoder(options: CsvSourceOptions): (messages: readonly InMessage[], nowMs: number) => Item<Conversion>[] {
  return csvBatchDecoder(CANONICAL_COLUMNS.conversions, validateConversion, options);
}
