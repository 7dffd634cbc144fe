import fs from 'node:fs';
import path from 'node:path';
import type { Source } from '../generator/contract.js';
import type { AvroMessage } from '../generator/types.js';
import { isWrittenRecord } from '../generator/writer-versions.js';
import { avroEncoder, type AvroEncoding } from './avro.js';
import { ProducerError } from './errors.js';
import { keyOfCsv, keyOfJson } from './keys.js';

/** One Kafka message to send. */
export interface OutMessage {
  key: string | null;
  value: Buffer;
}

/**
 * How a file holds messages:
 * - `text-lines`: each non-empty line is one message (JSON impressions);
 * - `json-string-lines`: each line is a JSON string holding one message (a generated set's CSV files);
 * - `csv`: a plain CSV file; each record (RFC 4180, quoted line breaks allowed) becomes a message,
 *   or `recordsPerMessage` records joined by `\n`;
 * - `avro-json`: each line a record as JSON, Avro-encoded; `{"$base64": ...}` lines are raw bytes.
 */
export type FileFormat = 'text-lines' | 'json-string-lines' | 'csv' | 'avro-json';

export interface ReadOptions {
  source: Source;
  file: string;
  format?: FileFormat;
  avro?: AvroEncoding;
  /** `csv` format: records per message (default 1). */
  recordsPerMessage?: number;
  /** `csv` format: the file's first record is a header, not data. */
  skipHeader?: boolean;
}

export function detectFormat(source: Source, file: string): FileFormat {
  const ext = path.extname(file).toLowerCase();
  if (source === 'bidRequests') return 'avro-json';
  if (source === 'impressions') return 'text-lines';
  return ext === '.csv' ? 'csv' : 'json-string-lines';
}

/**
 * The non-empty lines of a file, a chunk (~1 MiB of text) at a time: one await per chunk rather than
 * per line keeps reading a small part of the cost of producing.
 */
async function* lineChunks(file: string): AsyncGenerator<string[]> {
  const input = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  const clean = (lines: string[]): string[] => {
    const out: string[] = [];
    for (const line of lines) {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (text.length) out.push(text);
    }
    return out;
  };
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      yield clean(parts);
    }
  } catch (cause) {
    throw new ProducerError('PRODUCE_INPUT', `cannot read ${file}: ${(cause as Error).message}`, false, { cause });
  }
  if (rest) yield clean([rest]);
}

/** Raw CSV records of a file, a chunk at a time; quoted line breaks kept (as \n), terminators removed. */
async function* csvRecordChunks(file: string): AsyncGenerator<string[]> {
  let inQuotes = false;
  let pending = '';
  for await (const lines of lineChunks(file)) {
    const records: string[] = [];
    for (const line of lines) {
      for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) === 34) inQuotes = !inQuotes;
      pending = pending ? `${pending}\n${line}` : line;
      if (!inQuotes) {
        records.push(pending);
        pending = '';
      }
    }
    yield records;
  }
  if (pending) yield [pending];
}

function where(file: string, n: number): string {
  return `${file} line ${n}`;
}

/** The messages a file holds, streamed, with keys, a chunk at a time. */
export async function* readMessageChunks(options: ReadOptions): AsyncGenerator<OutMessage[]> {
  const { source, file } = options;
  const format = options.format ?? detectFormat(source, file);
  const csvSource = source === 'clicks' || source === 'conversions' ? source : undefined;
  if ((format === 'avro-json') !== (source === 'bidRequests')) {
    throw new ProducerError('PRODUCE_OPTIONS', `format ${format} does not fit source ${source}: bid requests are Avro, the others text`);
  }
  const text = (value: string): OutMessage => {
    return { key: csvSource ? keyOfCsv(value) : keyOfJson(value), value: Buffer.from(value) };
  };
  let n = 0;
  switch (format) {
    case 'text-lines':
      for await (const lines of lineChunks(file)) yield lines.map(text);
      return;
    case 'json-string-lines':
      for await (const lines of lineChunks(file)) {
        yield lines.map((line) => {
          n++;
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch (cause) {
            throw new ProducerError('PRODUCE_INPUT', `${where(file, n)} is not a JSON string (expected one CSV message per line as a JSON string; for a plain CSV file use a .csv name or --format csv)`, false, { cause });
          }
          if (typeof value !== 'string') throw new ProducerError('PRODUCE_INPUT', `${where(file, n)} is JSON but not a string`);
          return text(value);
        });
      }
      return;
    case 'csv': {
      const per = options.recordsPerMessage ?? 1;
      if (!Number.isInteger(per) || per < 1) throw new ProducerError('PRODUCE_OPTIONS', `records per message must be an integer >= 1, got ${per}`);
      let group: string[] = [];
      let first = true;
      for await (const records of csvRecordChunks(file)) {
        const out: OutMessage[] = [];
        for (const record of records) {
          if (first && options.skipHeader) {
            first = false;
            continue;
          }
          first = false;
          group.push(record);
          if (group.length >= per) {
            out.push(text(group.join('\n')));
            group = [];
          }
        }
        yield out;
      }
      if (group.length) yield [text(group.join('\n'))];
      return;
    }
    case 'avro-json': {
      const encode = avroEncoder(options.avro);
      for await (const lines of lineChunks(file)) {
        yield lines.map((line) => {
          n++;
          let record: AvroMessage;
          try {
            record = JSON.parse(line) as AvroMessage;
          } catch (cause) {
            throw new ProducerError('PRODUCE_INPUT', `${where(file, n)} is not JSON (expected one bid request record per line)`, false, { cause });
          }
          const id = (isWrittenRecord(record) ? record.record : (record as { request_id?: unknown })).request_id;
          return { key: typeof id === 'string' ? id : null, value: encode(record, where(file, n)) };
        });
      }
      return;
    }
  }
}

/** The messages a file holds, one at a time (see readMessageChunks for the faster form). */
export async function* readMessages(options: ReadOptions): AsyncGenerator<OutMessage> {
  for await (const chunk of readMessageChunks(options)) yield* chunk;
}
