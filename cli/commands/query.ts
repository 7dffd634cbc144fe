import * as k8s from '@kubernetes/client-node';
import type { RuntimeConfig } from '../../api/runtime-config.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { HBaseClient } from '../../hbase/index.js';
import { renderRuntimeConfig } from '../../operator/render/runtime-config.js';
import { loadConfig } from '../../runtime/config.js';
import { campaignPerformance, performanceQuery } from '../../runtime/query/performance.js';
import { HBaseStore } from '../../runtime/storage/hbase-store.js';
import { noPositionals, requiredString, stringOption, type Command, type CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { count, table } from '../format.js';

/**
 * `adpipe query performance`: the same query module as the worker's HTTP API, reading the
 * pipeline's HBase table directly, so the answer is the contract's JSON whether or not a worker runs.
 */

async function pipelineConfig(ctx: CommandContext): Promise<RuntimeConfig> {
  const file = stringOption(ctx, 'config');
  if (file) return loadConfig(file);
  const ref = requiredString(ctx, 'pipeline');
  const [namespace, name] = ref.includes('/') ? ref.split('/', 2) : ['default', ref];
  if (!namespace || !name) throw new UsageError(`--pipeline must be <namespace>/<name>, got '${ref}'`, ctx.path);
  const kc = new k8s.KubeConfig();
  const kubeconfig = stringOption(ctx, 'kubeconfig');
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const pipeline = (await custom.getNamespacedCustomObject({ group: 'adpipe.io', version: 'v1alpha1', namespace, plural: 'adpipelines', name }).catch((error: unknown) => {
    throw Object.assign(new Error(`cannot read AdPipeline ${namespace}/${name}: ${(error as Error).message}`), { code: 'PIPELINE_NOT_FOUND' });
  })) as AdPipeline;
  // The operator's own rendering: the CLI and the worker can never disagree on table or salt.
  return renderRuntimeConfig(pipeline);
}

const performance: Command = {
  name: 'performance',
  summary: "a campaign's performance per hour or day (contract §3), from the pipeline's HBase table",
  usage: '--pipeline NS/NAME --campaign ID --from ISO --to ISO [--granularity day] [--by country] [-o json]',
  options: {
    pipeline: { type: 'string', value: 'NS/NAME', description: 'the AdPipeline to query (read from Kubernetes)' },
    kubeconfig: { type: 'string', value: 'FILE', description: 'kubeconfig (default: KUBECONFIG or ~/.kube/config)' },
    config: { type: 'string', value: 'FILE', description: "a worker's runtime config (pipeline.json) instead of --pipeline" },
    campaign: { type: 'string', value: 'ID', description: 'campaign_id' },
    from: { type: 'string', value: 'ISO', description: 'first instant, inclusive, e.g. 2026-11-27T00:00:00Z' },
    to: { type: 'string', value: 'ISO', description: 'end instant, exclusive' },
    granularity: { type: 'string', value: 'hour|day', description: 'bucket size (default hour)' },
    by: { type: 'string', value: 'country|device_type', description: 'one row per dimension value' },
    output: { type: 'string', short: 'o', value: 'FORMAT', description: "'json': the contract's JSON (default: a table)" },
  },
  details: `examples:
  adpipe query performance --pipeline default/demo --campaign cmp-1 --from 2026-11-27T00:00:00Z --to 2026-11-28T00:00:00Z -o json
  adpipe query performance --pipeline default/demo --campaign cmp-1 --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z --granularity day --by country`,
  async run(ctx) {
    noPositionals(ctx);
    const format = stringOption(ctx, 'output');
    if (format !== undefined && format !== 'json') throw new UsageError(`-o ${format}: only 'json' is known`, ctx.path);
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
    const config = await pipelineConfig(ctx);
    const hbase = new HBaseClient({ zookeeperQuorum: config.hbase.zookeeperQuorum, znodeParent: config.hbase.znodeParent, operationTimeoutMs: 30_000 });
    try {
      const response = await campaignPerformance(new HBaseStore(hbase, config.hbase.table), { saltBuckets: config.storage.saltBuckets, families: config.storage.families }, query);
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
    } finally {
      hbase.close();
    }
  },
};

export const queryCommand: Command = {
  name: 'query',
  summary: "query a pipeline's stored results",
  subcommands: [performance],
};
