import path from 'node:path';
import { SOURCES, SOURCE_FILES, writeGeneratedDirectory, type GenerateOptions } from '../../generator/index.js';
import { intOption, noPositionals, requiredString, stringOption, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { count, table } from '../format.js';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'write deterministic ad traffic for the four sources and its expected.json',
  usage: '--seed N --impressions M --out DIR [options]',
  options: {
    seed: { type: 'string', value: 'N', description: 'the seed (integer >= 0); the same seed gives byte-identical output' },
    impressions: { type: 'string', value: 'M', description: 'impressions in the random bulk (bid requests, clicks, conversions follow)' },
    out: { type: 'string', value: 'DIR', description: 'output directory (created; its set files are replaced)' },
    'base-time': { type: 'string', value: 'DATE', description: 'first day of the data, a UTC date such as 2026-03-01 (default: from the seed, early 2026)' },
    hours: { type: 'string', value: 'H', description: 'hours the impressions spread over (default 48)' },
    campaigns: { type: 'string', value: 'C', description: 'campaigns in the bulk (default 3..40 by size)' },
    'no-edge-cases': { type: 'boolean', description: 'leave out the scripted campaign cmp-edge and its invalid records' },
    'writer-versions': { type: 'boolean', description: 'bid requests written with three producer schema versions in turn (produce them with --registry)' },
    output: { type: 'string', short: 'o', value: 'FORMAT', description: "'json' prints the summary as one JSON line" },
  },
  details: `The directory gets one file per source with exactly the Kafka messages to produce, in order,
bid-request.avsc, manifest.json and expected.json (see docs/generator.md).

examples:
  adpipe generate --seed 1 --impressions 5 --out /tmp/tiny
  adpipe generate --seed 7 --impressions 1000000 --out /tmp/set7 && adpipe produce --dir /tmp/set7 --brokers 127.0.0.1:9092`,
  async run(ctx) {
    noPositionals(ctx);
    const out = requiredString(ctx, 'out');
    const options: GenerateOptions = {
      seed: intOption(ctx, 'seed') ?? missing('seed', ctx.path),
      impressions: intOption(ctx, 'impressions') ?? missing('impressions', ctx.path),
    };
    const base = stringOption(ctx, 'base-time');
    if (base !== undefined) {
      const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(base) ? `${base}T00:00:00Z` : base);
      if (!Number.isFinite(ms)) throw new UsageError(`--base-time '${base}' is not a date such as 2026-03-01`, ctx.path);
      options.baseTime = ms;
    }
    const hours = intOption(ctx, 'hours', 1);
    if (hours !== undefined) options.hours = hours;
    const campaigns = intOption(ctx, 'campaigns', 1);
    if (campaigns !== undefined) options.campaigns = campaigns;
    if (ctx.values['no-edge-cases']) options.edgeCases = false;
    if (ctx.values['writer-versions']) options.writerVersions = true;
    const format = stringOption(ctx, 'output');
    if (format !== undefined && format !== 'json') throw new UsageError(`-o ${format}: only 'json' is known`, ctx.path);

    const started = Date.now();
    const { summary, expected } = writeGeneratedDirectory(out, options);
    const seconds = (Date.now() - started) / 1000;
    if (format === 'json') {
      ctx.io.stdout.write(JSON.stringify({ dir: path.resolve(out), seconds, messages: summary.messages, stats: expected.stats }) + '\n');
      return 0;
    }
    const rows = SOURCES.map((s) => [s, path.join(out, SOURCE_FILES[s].file), count(summary.messages[s]), count(expected.stats.accepted[s]), count(expected.stats.invalid[s]), count(expected.stats.duplicates[s])]);
    ctx.io.stdout.write(table(['source', 'file', 'messages', 'accepted', 'invalid', 'duplicates'], rows, [false, false, true, true, true, true]));
    ctx.io.stdout.write(
      `unattributed: ${count(expected.stats.unattributed_clicks)} clicks, ${count(expected.stats.unattributed_conversions)} conversions; ` +
        `${expected.queries.length} expected query answers in ${path.join(out, 'expected.json')} (window ${expected.window.from} .. ${expected.window.to})\n` +
        `generated in ${seconds.toFixed(1)} s\n`,
    );
    return 0;
  },
};

function missing(name: string, command: string): never {
  throw new UsageError(`--${name} is required`, command);
}
