import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { BID_REQUEST_SCHEMA, SOURCES, type Source } from './contract.js';
import { GeneratorError } from './errors.js';
import { checkInThePast, generateInto, type MessageSink } from './generate.js';
import { ReferencePipeline, type ReferenceOptions } from './reference/pipeline.js';
import type { AvroMessage, Expected, GeneratedMessages, GenerateOptions, GeneratorSummary, Intent, ResolvedOptions } from './types.js';
import { BID_REQUEST_WRITER_SCHEMAS, WRITER_VERSIONS } from './writer-versions.js';

/**
 * The on-disk form of a generated set (docs/generator.md): one file per source holding exactly the
 * Kafka message values to produce, one message per line, in order; the contract's Avro schema; a
 * manifest; and expected.json.
 */
export const MANIFEST_FORMAT = 'adpipe-generated-set/v1';

/**
 * How a source file's lines become message values:
 * - `text`: the line is the value (UTF-8), used for JSON impressions (no raw line breaks in JSON text);
 * - `json-string`: the line is a JSON string whose content is the value (CSV messages span lines);
 * - `avro-json`: the line is a record as JSON, Avro-encoded with the schema, or {"$base64": ...} raw bytes.
 */
export type LineEncoding = 'text' | 'json-string' | 'avro-json';

export const SOURCE_FILES: Record<Source, { file: string; encoding: LineEncoding }> = {
  bidRequests: { file: 'bidRequests.jsonl', encoding: 'avro-json' },
  impressions: { file: 'impressions.jsonl', encoding: 'text' },
  clicks: { file: 'clicks.jsonl', encoding: 'json-string' },
  conversions: { file: 'conversions.jsonl', encoding: 'json-string' },
};

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  options: ResolvedOptions;
  schema: 'bid-request.avsc';
  /** Sets with writer versions: each version's schema file (`{"1": "bid-request.v1.avsc", ...}`). */
  writerSchemas?: Record<string, string>;
  files: Record<Source, { file: string; encoding: LineEncoding; messages: number }>;
  /** What the generator meant to put in; expected.json's stats are computed independently from the messages. */
  intent: Intent;
}

/** Serializes one message as its line in the source file (without the line break). */
export function messageLine(source: Source, message: string | AvroMessage): string {
  switch (SOURCE_FILES[source].encoding) {
    case 'text':
      return message as string;
    case 'json-string':
      return JSON.stringify(message);
    case 'avro-json':
      return JSON.stringify(message);
  }
}

/** Parses one line of a source file back into the message. */
export function parseMessageLine(source: Source, line: string): string | AvroMessage {
  return SOURCE_FILES[source].encoding === 'text' ? line : (JSON.parse(line) as string | AvroMessage);
}

/** Appends lines to a file through a large in-memory buffer (one write per ~1 MiB). */
class BufferedLines {
  private readonly fd: number;
  private chunks: string[] = [];
  private size = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  write(line: string): void {
    this.chunks.push(line, '\n');
    this.size += line.length + 1;
    if (this.size >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.chunks.length) fs.writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

export interface WriteResult {
  dir: string;
  summary: GeneratorSummary;
  expected: Expected;
}

/** Generates a set into `dir` (created if missing; existing set files are replaced). */
export function writeGeneratedDirectory(dir: string, options: GenerateOptions, reference: ReferenceOptions = {}): WriteResult {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new GeneratorError('GEN_OUTPUT', `cannot create the output directory ${dir}: ${(cause as Error).message}`, { cause });
  }
  const now = reference.processingTimeMs ?? Date.now();
  const pipeline = new ReferencePipeline({ ...reference, processingTimeMs: now });
  const files = Object.fromEntries(SOURCES.map((s) => [s, new BufferedLines(path.join(dir, SOURCE_FILES[s].file))])) as Record<Source, BufferedLines>;
  const sink: MessageSink = {
    bidRequest: (m) => (files.bidRequests.write(messageLine('bidRequests', m)), pipeline.bidRequest(m)),
    impression: (m) => (files.impressions.write(m), pipeline.impression(m)),
    click: (m) => (files.clicks.write(messageLine('clicks', m)), pipeline.click(m)),
    conversion: (m) => (files.conversions.write(messageLine('conversions', m)), pipeline.conversion(m)),
  };
  let summary: GeneratorSummary;
  try {
    summary = generateInto(options, sink);
  } finally {
    for (const s of SOURCES) files[s].close();
  }
  checkInThePast(summary, now);
  const expected = pipeline.finish(summary.options);
  fs.writeFileSync(path.join(dir, 'bid-request.avsc'), JSON.stringify(BID_REQUEST_SCHEMA, null, 2) + '\n');
  const writerSchemas: Record<string, string> = {};
  if (summary.options.writerVersions) {
    for (const version of WRITER_VERSIONS) {
      writerSchemas[version] = `bid-request.v${version}.avsc`;
      fs.writeFileSync(path.join(dir, writerSchemas[version]), JSON.stringify(BID_REQUEST_WRITER_SCHEMAS[version], null, 2) + '\n');
    }
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    options: summary.options,
    schema: 'bid-request.avsc',
    ...(summary.options.writerVersions ? { writerSchemas } : {}),
    files: Object.fromEntries(SOURCES.map((s) => [s, { ...SOURCE_FILES[s], messages: summary.messages[s] }])) as Manifest['files'],
    intent: summary.intent,
  };
  writeJson(path.join(dir, 'manifest.json'), manifest);
  writeJson(path.join(dir, 'expected.json'), expected);
  return { dir, summary, expected };
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (cause) {
    throw new GeneratorError('GEN_INPUT', `${file} is missing or not JSON: is ${dir} the output of 'adpipe generate'?`, { cause });
  }
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new GeneratorError('GEN_INPUT', `${file} has format '${String(manifest.format)}', expected '${MANIFEST_FORMAT}'`);
  }
  return manifest;
}

/** The lines of one source file, streamed (a 1M-impression file is ~200 MB). */
export async function* sourceLines(dir: string, source: Source): AsyncGenerator<string> {
  const input = fs.createReadStream(path.join(dir, SOURCE_FILES[source].file), { encoding: 'utf8', highWaterMark: 1 << 20 });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) if (line.length) yield line;
}

/** A whole set in memory, for tests of small sets. */
export async function readGeneratedDirectory(dir: string): Promise<{ manifest: Manifest; messages: GeneratedMessages; expected: Expected }> {
  const manifest = readManifest(dir);
  const messages: GeneratedMessages = { bidRequests: [], impressions: [], clicks: [], conversions: [] };
  for (const source of SOURCES) {
    const list = messages[source] as (string | AvroMessage)[];
    for await (const line of sourceLines(dir, source)) list.push(parseMessageLine(source, line));
  }
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  return { manifest, messages, expected };
}

/** Runs the reference rules over a set's messages (e.g. to check a hand-edited set). */
export function computeExpected(messages: GeneratedMessages, generator: ResolvedOptions, reference: ReferenceOptions = {}): Expected {
  const pipeline = new ReferencePipeline(reference);
  for (const m of messages.bidRequests) pipeline.bidRequest(m);
  for (const m of messages.impressions) pipeline.impression(m);
  for (const m of messages.clicks) pipeline.click(m);
  for (const m of messages.conversions) pipeline.conversion(m);
  return pipeline.finish(generator);
}

/** Generates a set in memory: the messages per source and the expected answers. */
export function generate(options: GenerateOptions, reference: ReferenceOptions = {}): { summary: GeneratorSummary; messages: GeneratedMessages; expected: Expected } {
  const now = reference.processingTimeMs ?? Date.now();
  const messages: GeneratedMessages = { bidRequests: [], impressions: [], clicks: [], conversions: [] };
  const summary = generateInto(options, {
    bidRequest: (m) => messages.bidRequests.push(m),
    impression: (m) => messages.impressions.push(m),
    click: (m) => messages.clicks.push(m),
    conversion: (m) => messages.conversions.push(m),
  });
  checkInThePast(summary, now);
  return { summary, messages, expected: computeExpected(messages, summary.options, { ...reference, processingTimeMs: now }) };
}

