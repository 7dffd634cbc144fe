import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { parse } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import { REPO_ROOT } from '../e2e/stack/paths.js';
import { eventually, kubeConfig, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { startOperator, type Operator, type OperatorOptions } from './operator.js';

/** Helpers shared by the operator's tests against the local stack. */

export { installCrd } from '../e2e/support/stack-clients.js';

export async function freshNamespace(prefix: string): Promise<string> {
  const namespace = uniqueName(prefix);
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  return namespace;
}

/**
 * Deletes the namespace's AdPipelines while their operator still runs (so the finalizers are
 * released and nothing is left behind), then the namespace.
 */
export async function cleanUp(namespace: string, stop: () => Promise<void> = async () => undefined): Promise<void> {
  await kubectl('delete', 'adp', '--all', '-n', namespace, '--wait=true', '--timeout=90s').catch(() => undefined);
  await stop();
  await deleteNamespace(namespace);
}

export async function deleteNamespace(namespace: string): Promise<void> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
}

/** The example manifest, pointed at the local stack, with topic names no other test uses. */
export function examplePipeline(namespace: string, name: string, overrides: { brokers?: string[] } = {}): AdPipeline {
  const example = parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'adpipeline.yaml'), 'utf8')) as AdPipeline;
  const spec = structuredClone(example.spec);
  spec.kafka.bootstrapServers = overrides.brokers ?? [stack().kafka.bootstrap];
  spec.hbase.zookeeperQuorum = stack().hbase.zookeeperQuorum;
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) spec.sources![source]!.topic = `${name}.${source}`;
  return { ...example, metadata: { name, namespace }, spec };
}

export async function applyPipeline(pipeline: AdPipeline): Promise<void> {
  const file = path.join(fs.mkdtempSync('/tmp/adp-'), 'p.json');
  fs.writeFileSync(file, JSON.stringify(pipeline));
  await kubectl('apply', '--server-side', '--field-manager=adpipe-tests', '--force-conflicts', '-f', file);
}

export async function getPipeline(namespace: string, name: string): Promise<AdPipeline | undefined> {
  try {
    return JSON.parse(await kubectl('get', 'adp', name, '-n', namespace, '-o', 'json')) as AdPipeline;
  } catch {
    return undefined;
  }
}

export function condition(pipeline: AdPipeline | undefined, type: string) {
  return pipeline?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until `type` has `status` (and `reason`, when given) for the pipeline's current generation. */
export async function waitForCondition(namespace: string, name: string, type: string, status: string, reason?: string, timeoutMs = 60_000): Promise<AdPipeline> {
  return eventually(
    `${namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const p = await getPipeline(namespace, name);
      const c = condition(p, type);
      return c && c.status === status && (!reason || c.reason === reason) && p?.status?.observedGeneration === p?.metadata.generation ? p : undefined;
    },
    timeoutMs,
  );
}

export async function startTestOperator(namespace: string, options: Partial<OperatorOptions> = {}): Promise<Operator> {
  return startOperator({
    kubeConfig: kubeConfig(),
    namespace,
    leaderElection: false,
    driftCheckMs: 2000,
    cleanupTimeoutMs: 10_000,
    queue: { baseDelayMs: 200, maxDelayMs: 4000 },
    log: pino({ level: process.env['ADPIPE_TEST_LOG'] ?? 'silent' }),
    ...options,
  });
}
