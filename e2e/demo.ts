#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { writeGeneratedDirectory, type Expected, type PerformanceQuery, type PerformanceResponse } from '../generator/index.js';
import { produceDirectory } from '../producer/index.js';
import { REPO_ROOT } from './stack/paths.js';
import { stackUp } from './stack/stack.js';
import { HealthWatch } from './support/alerts.js';
import { getJson, PipelineRun, settledComparison, statsCaughtUp, waitFor, type Stats } from './support/pipeline-run.js';

/**
 * The README's main job, end to end on the local stack: the servers, the CRD, the operator and a
 * node agent as processes, the example AdPipeline (two workers running as Pods), generated traffic
 * produced into Kafka, and the campaign report from the pipeline's query API, checked against the
 * generator's ground truth. Progress goes to stderr; the report to stdout; exit 1 on any mismatch.
 *
 *   npm run demo [-- --impressions 20000 --seed 42]
 */

const { values } = parseArgs({ options: { impressions: { type: 'string', default: '20000' }, seed: { type: 'string', default: '42' } } });
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const step = (text: string) => process.stderr.write(`[demo ${elapsed().padStart(7)}] ${text}\n`);
const NAMESPACE = 'adpipe-demo';
const NAME = 'demo';

async function main(): Promise<number> {
  step('local stack: kube-apiserver, etcd, kube-controller-manager, Kafka, HBase, Prometheus, Alertmanager');
  const state = await stackUp((line) => step(`  ${line}`));
  const run = new PipelineRun(state, NAMESPACE);
  try {
    step('installing the AdPipeline CRD');
    await run.installCrd();
    await run.ensureNamespace();
    step(`starting the operator and a node agent for namespace ${NAMESPACE} (logs in ${path.join(state.dir, 'logs')})`);
    run.startNodeAgent();
    await run.startOperator();

    if (await run.get(NAME)) {
      step('removing the previous demo pipeline with its topics and table (deletionPolicy Delete)');
      // A stack restarted since may listen on other ports: the operator deletes the old topics and
      // table through the current addresses, else the finalizer waits on a broker that is not there.
      const current = run.example(NAME).spec;
      const patch = { spec: { deletionPolicy: 'Delete', kafka: { bootstrapServers: current.kafka.bootstrapServers }, hbase: { zookeeperQuorum: current.hbase.zookeeperQuorum } } };
      run.kubectl(['patch', 'adp', NAME, '-n', NAMESPACE, '--type=merge', '-p', JSON.stringify(patch)]);
      await run.deleteAndWait(NAME);
    }

    step('applying examples/adpipeline.yaml (Kafka and HBase addresses set to the local stack)');
    const pipeline = run.example(NAME);
    // The example as written: its query API checks callers with the API server (decision 0120).
    pipeline.spec.query = { ...pipeline.spec.query, auth: 'kubernetes' };
    run.apply(pipeline);
    const ready = await run.waitForCondition(NAME, 'Ready', 'True', 240_000);
    step('pipeline Ready: topics, table and workers are up');
    // Data health is watched from here on: the demo's normal traffic must raise no alert.
    const health = new HealthWatch(state, NAMESPACE, () => run.dataHealthy(NAME)).start();

    const dataDir = path.join(state.dir, 'demo', `seed-${values.seed}-${values.impressions}`);
    if (!fs.existsSync(path.join(dataDir, 'expected.json'))) {
      step(`generating traffic: seed ${values.seed}, ${values.impressions} impressions with their bid requests, clicks and conversions`);
      await writeGeneratedDirectory(dataDir, { seed: Number(values.seed), impressions: Number(values.impressions) });
    }
    const expected = JSON.parse(fs.readFileSync(path.join(dataDir, 'expected.json'), 'utf8')) as Expected;

    step('producing it into Kafka');
    const kafka = new Kafka({ clientId: 'adpipe-demo', brokers: [state.kafka.bootstrap], logLevel: logLevel.WARN });
    // The topics as the operator resolved them (the example leaves the names to it).
    const names = ready.status!.topicNames!;
    const summary = await produceDirectory(dataDir, {
      kafka,
      topics: { bidRequests: names.bidRequests!, impressions: names.impressions!, clicks: names.clicks!, conversions: names.conversions! },
    });
    for (const [source, s] of Object.entries(summary)) step(`  ${source.padEnd(12)} ${String(s!.messages).padStart(8)} messages  ${(s!.bytes / 1048576).toFixed(1).padStart(6)} MiB  ${Math.round(s!.messages / s!.seconds).toString().padStart(7)} msg/s`);

    step('granting ServiceAccount reader the query Role (examples/query-role.yaml); the demo queries with its token');
    run.kubectl(['apply', '-f', '-'], fs.readFileSync(path.join(REPO_ROOT, 'examples', 'query-role.yaml'), 'utf8').replaceAll('namespace: default', `namespace: ${NAMESPACE}`));
    const token = (await run.core.createNamespacedServiceAccountToken({ name: 'reader', namespace: NAMESPACE, body: { spec: { audiences: [], expirationSeconds: 3600 } } })).status!.token;

    step('waiting for the workers to process every record');
    const [url] = await waitFor('a ready worker', async () => ((await run.workerUrls(NAME)).length ? run.workerUrls(NAME) : undefined), 120_000);
    let last = '';
    await waitFor(
      'the pipeline stats to account for every produced record',
      async () => {
        const stats = await getJson<Stats>(`${url}/v1/pipeline/stats`, token);
        const line = `accepted ${sum(stats.accepted)}, invalid ${sum(stats.invalid)}, duplicates ${sum(stats.duplicates)}`;
        if (line !== last) step(`  ${line}`);
        last = line;
        return statsCaughtUp(stats, expected.stats) ? stats : undefined;
      },
      600_000,
      1000,
    );

    step(`checking ${expected.queries.length} queries against the generator's ground truth`);
    // Records between tasks that only move counts (a click reaching its impression) leave the stats
    // unchanged: the queries may need a few commit intervals more (decision 0051).
    const comparison = await settledComparison(url!, expected, 60_000, token);
    const stats = await getJson<Stats>(`${url}/v1/pipeline/stats`, token);
    const statsMatch = JSON.stringify(sortKeys(stats)) === JSON.stringify(sortKeys(expected.stats));
    const top = await printReport(url!, expected, token);
    const cliSame = top ? await cliMatchesHttp(run, url!, top, token) : true;
    const healthProblems = await health.stop();
    const dh = health.last;
    process.stdout.write(`\ndata health: DataHealthy=${dh ? `${dh.status} (${dh.reason}: ${dh.message})` : 'not judged yet'}; ${healthProblems.length ? `PROBLEMS during the run:\n  ${healthProblems.join('\n  ')}` : 'no alert fired for the pipeline during the run'}\n`);
    process.stdout.write(`alerts: Alertmanager ${state.monitoring.alertmanagerUrl}/#/alerts, Prometheus ${state.monitoring.prometheusUrl}/alerts (rules: helm/adpipe-operator/rules; docs/monitoring.md)\n`);
    process.stdout.write(`\n$ kubectl get adpipelines -n ${NAMESPACE}\n${run.kubectl(['get', 'adpipelines', '-n', NAMESPACE])}\n`);
    process.stdout.write(`pipeline stats: ${JSON.stringify(stats)}\n`);
    if (healthProblems.length) return 1;
    if (comparison.mismatches.length || !statsMatch || !cliSame) {
      process.stdout.write(`\nMISMATCH with the ground truth (${comparison.mismatches.length} differences${statsMatch ? '' : '; stats differ'}):\n${comparison.mismatches.slice(0, 20).join('\n')}\n`);
      if (!statsMatch) process.stdout.write(`expected stats: ${JSON.stringify(expected.stats)}\n`);
      return 1;
    }
    process.stdout.write(`\nAll ${comparison.queries} queries and the pipeline stats equal the generator's ground truth.\n`);
    step(`done, wall time ${elapsed()}`);
    return 0;
  } finally {
    step('stopping the operator and the node agent (the stack keeps running; `npm run stack -- down` stops it)');
    await run.stopProcesses();
  }
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  return value;
}

/** `adpipe query performance … -o json` must print what the HTTP API answers (contract §3). */
async function cliMatchesHttp(run: PipelineRun, url: string, query: PerformanceQuery, token: string): Promise<boolean> {
  const args = ['--campaign', query.campaign_id, '--from', query.from, '--to', query.to, '--granularity', 'day', '--by', 'country'];
  const cli = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli', 'adpipe.js'), 'query', 'performance', '--pipeline', `${NAMESPACE}/${NAME}`, '--kubeconfig', run.kubeconfig, '--token', token, ...args, '-o', 'json'], { encoding: 'utf8' });
  const params = new URLSearchParams({ from: query.from, to: query.to, granularity: 'day', by: 'country' });
  const http = await getJson<PerformanceResponse>(`${url}/v1/campaigns/${encodeURIComponent(query.campaign_id)}/performance?${params}`, token);
  const same = cli.status === 0 && JSON.stringify(JSON.parse(cli.stdout)) === JSON.stringify(http);
  process.stdout.write(`\n$ adpipe query performance --pipeline ${NAMESPACE}/${NAME} --token $(kubectl create token reader) ${args.join(' ')} -o json\n${same ? `${http.rows.length} rows, the same JSON as GET /v1/campaigns/${query.campaign_id}/performance` : `DIFFERS from the HTTP API:\n${cli.stdout}${cli.stderr}`}\n`);
  return same;
}

/** Campaign totals over the generated window, as the query API reports them; returns the top campaign's query. */
async function printReport(url: string, expected: Expected, token: string): Promise<PerformanceQuery | undefined> {
  const dayQueries = expected.queries.filter((q) => q.query.granularity === 'day' && !q.query.by);
  const rows = await Promise.all(
    dayQueries.map(async ({ query }) => {
      const params = new URLSearchParams({ from: query.from, to: query.to, granularity: 'day' });
      return getJson<PerformanceResponse>(`${url}/v1/campaigns/${encodeURIComponent(query.campaign_id)}/performance?${params}`, token);
    }),
  );
  rows.sort((a, b) => b.totals.spend_micros - a.totals.spend_micros);
  const money = (micros: number) => (micros / 1e6).toFixed(2);
  const ratio = (n: number, d: number) => (d ? (n / d).toFixed(4) : '-');
  const table = [['CAMPAIGN', 'IMPRESSIONS', 'CLICKS', 'CONVERSIONS', 'SPEND', 'REVENUE', 'CTR', 'CVR', 'ROAS']];
  for (const r of rows) {
    const t = r.totals;
    table.push([r.campaign_id, String(t.impressions), String(t.clicks), String(t.conversions), money(t.spend_micros), money(t.revenue_micros), ratio(t.clicks, t.impressions), ratio(t.conversions, t.clicks), ratio(t.revenue_micros, t.spend_micros)]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const window = dayQueries[0]?.query;
  process.stdout.write(`\nCampaign performance ${window ? `${window.from} → ${window.to}` : ''} (from the pipeline's query API)\n`);
  for (const row of table) process.stdout.write(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ') + '\n');
  const top = rows[0];
  return top && window ? { ...window, campaign_id: top.campaign_id } : undefined;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[demo] failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
