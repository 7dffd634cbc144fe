import type { RuntimeConfig } from '../../api/runtime-config.js';
import { hbaseClient } from '../../runtime/hbase-client.js';
import { renderRuntimeConfig } from '../../operator/render/runtime-config.js';
import { loadConfig } from '../../runtime/config.js';
import { listCampaigns } from '../../runtime/query/campaigns.js';
import { campaignPerformance, performanceQuery, pipelineStats, type PipelineStats, type QuerySettings } from '../../runtime/query/performance.js';
import { HBaseStore } from '../../runtime/storage/hbase-store.js';
import type { Store } from '../../runtime/storage/store.js';
import type { PerformanceResponse } from '../../generator/index.js';
import { noPositionals, requiredString, stringOption, type Command, type CommandContext, type OptionSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { count, table } from '../format.js';
import { directQueryApi, loadKubeConfig, pipelineRef, readPipeline, replyJson, portForwardQueryApi } from '../pipeline-access.js';

/**
 * `adpipe query performance|stats|campaigns`: the pipeline's query API, reached through the
 * Kubernetes API server (a port-forward to a worker Pod) with the kubeconfig's credentials and the
 * person's bearer token (or at `--url`), so it works from a laptop with nothing but a kubeconfig. `--direct` reads the pipeline's HBase table
 * itself (the same query module as the worker): for operators on a host that reaches HBase.
 */

const ACCESS: Record<string, OptionSpec> = {
  pipeline: { type: 'string', value: '[NS/]NAME', description: "the AdPipeline (namespace: the kubeconfig context's, else default)" },
  kubeconfig: { type: 'string', value: 'FILE', description: 'kubeconfig (default: KUBECONFIG or ~/.kube/config)' },
  url: { type: 'string', value: 'URL', description: "a worker's query API directly, e.g. http://127.0.0.1:8080 (instead of the API server)" },
  token: { type: 'string', value: 'TOKEN', description: "bearer token for the query API (default: your kubeconfig user's token)" },
  'query-ca': { type: 'string', value: 'FILE', description: "CA of the workers' query certificate (spec.query.tls; default: public roots and the cluster's CA)" },
  direct: { type: 'boolean', description: "operators: read the pipeline's HBase table directly (needs its ZooKeeper and region servers reachable)" },
  config: { type: 'string', value: 'FILE', description: "with --direct: a worker's runtime config (pipeline.json) instead of --pipeline" },
  output: { type: 'string', short: 'o', value: 'FORMAT', description: "'json': the API's JSON (default: a table)" },
};

type Answer<T> = { api: (path: string) => Promise<T>; direct: (store: Store, settings: QuerySettings) => Promise<T> };

/** Runs one query the way the options ask: API server (default), --url, or --direct. */
async function ask<T>(ctx: CommandContext, what: string, path: string, answer: Answer<T>['direct']): Promise<T> {
  const url = stringOption(ctx, 'url');
  if (ctx.values.direct === true) {
    if (url) throw new UsageError('--url and --direct exclude each other', ctx.path);
    const config = await directConfig(ctx);
    const hbase = hbaseClient(config.hbase, { operationTimeoutMs: 30_000 });
    try {
      return await answer(new HBaseStore(hbase, config.hbase.table), { saltBuckets: config.storage.saltBuckets, families: config.storage.families });
    } finally {
      hbase.close();
    }
  }
  if (stringOption(ctx, 'config')) throw new UsageError('--config goes with --direct', ctx.path);
  const token = stringOption(ctx, 'token');
  if (url) return replyJson<T>(await directQueryApi(url, token)(path), what);
  const kc = loadKubeConfig(ctx);
  const ref = pipelineRef(ctx, kc);
  return replyJson<T>(await portForwardQueryApi(kc, ref, { token, caFile: stringOption(ctx, 'query-ca') })(path), `${what} of AdPipeline ${ref.namespace}/${ref.name}`);
}

async function directConfig(ctx: CommandContext): Promise<RuntimeConfig> {
  const file = stringOption(ctx, 'config');
  if (file) return loadConfig(file);
  const kc = loadKubeConfig(ctx);
  // The operator's own rendering: the CLI and the worker can never disagree on table or salt.
  return renderRuntimeConfig(await readPipeline(kc, pipelineRef(ctx, kc)));
}

function outputFormat(ctx: CommandContext): 'json' | undefined {
  const format = stringOption(ctx, 'output');
  if (format !== undefined && format !== 'json') throw new UsageError(`-o ${format}: only 'json' is known`, ctx.path);
  return format;
}

const performance: Command = {
  name: 'performance',
  summary: "a campaign's performance per hour or day (contract §3)",
  usage: '--pipeline [NS/]NAME --campaign ID --from ISO --to ISO [--granularity day] [--by country] [-o json]',
  options: {
    ...ACCESS,
    campaign: { type: 'string', value: 'ID', description: 'campaign_id' },
    from: { type: 'string', value: 'ISO', description: 'first instant, inclusive, e.g. 2026-11-27T00:00:00Z' },
    to: { type: 'string', value: 'ISO', description: 'end instant, exclusive' },
    granularity: { type: 'string', value: 'hour|day', description: 'bucket size (default hour)' },
    by: { type: 'string', value: 'country|device_type', description: 'one row per dimension value' },
  },
  details: `examples:
  adpipe query performance --pipeline demo --campaign cmp-1 --from 2026-11-27T00:00:00Z --to 2026-11-28T00:00:00Z -o json
  adpipe query performance --pipeline team-a/demo --campaign cmp-1 --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z --granularity day --by country
  adpipe query performance --url http://127.0.0.1:8080 --campaign cmp-1 --from … --to …`,
  async run(ctx) {
    noPositionals(ctx);
    const format = outputFormat(ctx);
    let query: ReturnType<typeof performanceQuery>;
    try {
      query = performanceQuery(requiredString(ctx, 'campaign'), {
        from: requiredString(ctx, 'from'),
        to: requiredString(ctx, 'to'),
        granularity: stringOption(ctx, 'granularity') ?? null,
        by: stringOption(ctx, 'by') ?? null,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'QUERY_ARGUMENT') throw new UsageError((error as Error).message, ctx.path);
      throw error;
    }
    const params = new URLSearchParams({ from: query.from, to: query.to, granularity: query.granularity, ...(query.by ? { by: query.by } : {}) });
    const response = await ask<PerformanceResponse>(ctx, 'performance', `/v1/campaigns/${encodeURIComponent(query.campaignId)}/performance?${params}`, (store, settings) => campaignPerformance(store, settings, query));
    if (format === 'json') {
      ctx.io.stdout.write(JSON.stringify(response) + '\n');
      return 0;
    }
    const ratio = (v: number | null) => (v === null ? '-' : String(v));
    const rows = response.rows.map((r) => [r.start, r.dimension ?? '', count(r.impressions), count(r.clicks), count(r.conversions), count(r.spend_micros), count(r.revenue_micros), ratio(r.ctr), ratio(r.cvr), ratio(r.roas)]);
    const t = response.totals;
    rows.push(['total', '', count(t.impressions), count(t.clicks), count(t.conversions), count(t.spend_micros), count(t.revenue_micros), '', '', '']);
    ctx.io.stdout.write(table(['start', query.by ?? '', 'impressions', 'clicks', 'conversions', 'spend_micros', 'revenue_micros', 'ctr', 'cvr', 'roas'], rows, [false, false, true, true, true, true, true, true, true, true]));
    return 0;
  },
};

const stats: Command = {
  name: 'stats',
  summary: "the pipeline's lifetime counters: accepted, invalid, duplicates per source, unattributed (contract §3)",
  usage: '--pipeline [NS/]NAME [-o json]',
  options: ACCESS,
  async run(ctx) {
    noPositionals(ctx);
    const format = outputFormat(ctx);
    const answer = await ask<PipelineStats>(ctx, 'stats', '/v1/pipeline/stats', pipelineStats);
    if (format === 'json') {
      ctx.io.stdout.write(JSON.stringify(answer) + '\n');
      return 0;
    }
    const sources = Object.keys(answer.accepted);
    const rows = sources.map((s) => [s, count(answer.accepted[s as keyof typeof answer.accepted]), count(answer.invalid[s as keyof typeof answer.invalid]), count(answer.duplicates[s as keyof typeof answer.duplicates])]);
    ctx.io.stdout.write(table(['source', 'accepted', 'invalid', 'duplicates'], rows, [false, true, true, true]));
    ctx.io.stdout.write(`unattributed clicks ${count(answer.unattributed_clicks)}, unattributed conversions ${count(answer.unattributed_conversions)}\n`);
    return 0;
  },
};

const campaigns: Command = {
  name: 'campaigns',
  summary: 'the campaigns that have stored performance',
  usage: '--pipeline [NS/]NAME [-o json]',
  options: ACCESS,
  async run(ctx) {
    noPositionals(ctx);
    const format = outputFormat(ctx);
    const answer = await ask<{ campaigns: string[] }>(ctx, 'campaigns', '/v1/campaigns', listCampaigns);
    ctx.io.stdout.write(format === 'json' ? JSON.stringify(answer) + '\n' : answer.campaigns.map((c) => `${c}\n`).join(''));
    return 0;
  },
};

export const queryCommand: Command = {
  name: 'query',
  summary: "query a pipeline's stored results (through the Kubernetes API server by default)",
  subcommands: [performance, stats, campaigns],
};
