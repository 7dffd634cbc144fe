import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type AdPipeline } from '../../api/v1alpha1/index.js';
import type { Expected, PerformanceResponse } from '../../generator/index.js';
import type { RuntimeName } from '../agent/runtime.js';
import { REPO_ROOT } from '../stack/paths.js';
import { freePort } from '../stack/ports.js';
import type { StackState } from '../stack/state.js';
import { eventually, untilCrdEstablished } from './stack-clients.js';

/**
 * One full pipeline on the local stack, as a person runs it: the CRD installed, the operator and the
 * node agent as processes, an AdPipeline applied, its workers running as Pods, and the answers of
 * its query API compared with the generator's ground truth. Shared by the demo and the e2e scenarios
 * so neither rots.
 */

/**
 * Where the scenarios run. `local` (default): the local stack's API server, with the operator and a
 * node agent started as processes by the run. `kind` (ADPIPE_E2E_TARGET=kind, see e2e/kind/): a kind
 * cluster whose operator the Helm chart installed and whose kubelets run the worker Pods; Kafka and
 * HBase are still the local stack's, listening on the Docker bridge (ADPIPE_STACK_DATA_HOST).
 */
export type E2eTarget = 'local' | 'kind';
export const E2E_TARGET: E2eTarget = process.env['ADPIPE_E2E_TARGET'] === 'kind' ? 'kind' : 'local';

export class PipelineRun {
  readonly core: k8s.CoreV1Api;
  readonly kubeconfig: string;
  readonly apps: k8s.AppsV1Api;
  readonly custom: k8s.CustomObjectsApi;
  private readonly children: ChildProcess[] = [];

  constructor(
    readonly state: StackState,
    readonly namespace: string,
  ) {
    this.kubeconfig = E2E_TARGET === 'kind' ? requiredEnv('KUBECONFIG') : state.kube.kubeconfig;
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfig);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  kubectl(args: string[], input?: string): string {
    const result = spawnSync(this.state.kubectl, ['--kubeconfig', this.kubeconfig, ...args], { input, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${result.stderr}`);
    return result.stdout;
  }

  async installCrd(): Promise<void> {
    this.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=adpipe-e2e', '-f', path.join(REPO_ROOT, 'crds', 'adpipelines.adpipe.io.yaml')]);
    await untilCrdEstablished((args) => this.kubectl(args));
  }

  async ensureNamespace(): Promise<void> {
    const exists = await this.core.readNamespace({ name: this.namespace }).then(
      (ns) => !ns.metadata?.deletionTimestamp,
      () => false,
    );
    if (!exists) {
      await waitFor(`namespace ${this.namespace} to finish terminating`, async () => this.core.readNamespace({ name: this.namespace }).then(() => undefined, () => true), 120_000);
      await this.core.createNamespace({ body: { metadata: { name: this.namespace } } });
    }
    await waitFor('the default service account', () => this.core.readNamespacedServiceAccount({ name: 'default', namespace: this.namespace }).catch(() => undefined));
  }

  /** Starts a compiled entry point of this repository as a child process logging to `.stack/logs/`. */
  private startProcess(name: string, script: string, args: string[]): ChildProcess {
    const logFile = path.join(this.state.dir, 'logs', `${name}.log`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', script), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: this.state.kube.kubeconfig, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info' },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.children.push(child);
    return child;
  }

  /**
   * On kind the Helm chart's operator is already running; locally it starts as a process, scraped
   * by the stack's Prometheus (a file_sd target) and judging DataHealthy from it.
   */
  async startOperator(extraArgs: string[] = []): Promise<ChildProcess | undefined> {
    if (E2E_TARGET === 'kind') return undefined;
    const monitoring = this.state.monitoring as StackState['monitoring'] | undefined;
    // Each run's operator keeps a reviewers binding of its own (decision 0121): runs side by side on one stack do not overwrite each other's.
    extraArgs = ['--query-reviewers-binding', `adpipe-query-reviewers-${this.namespace}`, ...extraArgs];
    if (!monitoring) return this.startProcess(`operator-${this.namespace}`, 'operator/main.js', ['--namespace', this.namespace, '--lease-namespace', this.namespace, '--http-port', '0', ...extraArgs]);
    const port = await freePort();
    // Judged every 5 s, as often as the stack's Prometheus scrapes (30 s by default in a cluster).
    const child = this.startProcess(`operator-${this.namespace}`, 'operator/main.js', ['--namespace', this.namespace, '--lease-namespace', this.namespace, '--http-port', String(port), '--prometheus-url', monitoring.prometheusUrl, '--health-interval-ms', '5000', ...extraArgs]);
    this.operatorTarget = path.join(monitoring.targetsDir, `operator-${this.namespace}.json`);
    fs.mkdirSync(monitoring.targetsDir, { recursive: true });
    fs.writeFileSync(this.operatorTarget, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { job: 'adpipe-operator', instance: `operator-${this.namespace}` } }]));
    return child;
  }

  private operatorTarget: string | undefined;

  /** On kind the kubelets run the Pods; locally the node agent does, as processes or podman containers. */
  startNodeAgent(runtime: RuntimeName = 'process'): ChildProcess | undefined {
    if (E2E_TARGET === 'kind') return undefined;
    return this.startProcess(`agent-${this.namespace}`, 'e2e/agent/main.js', ['--namespace', this.namespace, '--node', `local-${this.namespace}`, '--runtime', runtime]);
  }

  /** The end of a run: its pipelines deleted (finalizers released while the operator runs), its processes stopped, its namespace deleted. */
  async tearDown(): Promise<void> {
    await this.kubectl(['delete', 'adp', '--all', '-n', this.namespace, '--wait=true', '--timeout=120s']);
    await this.stopProcesses();
    await this.core.deleteNamespace({ name: this.namespace }).catch(() => undefined);
  }

  /** SIGTERM to every process this run started, and wait for them to exit. */
  async stopProcesses(): Promise<void> {
    if (this.operatorTarget) fs.rmSync(this.operatorTarget, { force: true });
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    // Cluster-scoped: the namespace's deletion does not take the run's reviewers binding with it.
    if (E2E_TARGET !== 'kind') this.kubectl(['delete', 'clusterrolebinding', `adpipe-query-reviewers-${this.namespace}`, '--ignore-not-found']);
  }

  /** The example manifest, pointed at the stack's Kafka and HBase, in this run's namespace. */
  example(name = 'demo'): AdPipeline {
    const example = parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'adpipeline.yaml'), 'utf8')) as AdPipeline;
    example.metadata = { ...example.metadata, name, namespace: this.namespace };
    example.spec.kafka.bootstrapServers = [this.state.kafka.bootstrap];
    example.spec.hbase.zookeeperQuorum = this.state.hbase.zookeeperQuorum;
    // The harness reads the workers' query API at their host ports without a token; the query API's
    // authentication is tested on its own (runtime/query/query-auth.test.ts, cli/query-auth.test.ts).
    example.spec.query = { ...example.spec.query, auth: 'none' };
    return example;
  }

  apply(pipeline: AdPipeline): void {
    this.kubectl(['apply', '--server-side', '--field-manager=adpipe-e2e', '-f', '-'], stringify({ ...pipeline, apiVersion: API_VERSION, kind: KIND }));
  }

  /** The pipeline's DataHealthy condition, when the operator has set one. */
  async dataHealthy(name: string): Promise<{ status: string; reason: string; message: string } | undefined> {
    return (await this.get(name))?.status?.conditions?.find((c) => c.type === 'DataHealthy');
  }

  async get(name: string): Promise<AdPipeline | undefined> {
    return (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name }).catch(() => undefined)) as AdPipeline | undefined;
  }

  async waitForCondition(name: string, type: string, status: 'True' | 'False', timeoutMs = 180_000): Promise<AdPipeline> {
    return waitFor(`${this.namespace}/${name} ${type}=${status}`, async () => {
      const pipeline = await this.get(name);
      const condition = pipeline?.status?.conditions?.find((c) => c.type === type);
      return condition?.status === status && condition.observedGeneration === pipeline?.metadata.generation ? pipeline : undefined;
    }, timeoutMs);
  }

  /** Deletes the pipeline and waits until the operator has let go of it (finalizer released). */
  async deleteAndWait(name: string, timeoutMs = 180_000): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name }).catch(() => undefined);
    await waitFor(`${this.namespace}/${name} to be gone`, async () => ((await this.get(name)) ? undefined : true), timeoutMs);
  }

  /** Base URLs of the query API of each ready worker Pod (host ports the node agent assigned). */
  async workerUrls(name: string): Promise<string[]> {
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `app.kubernetes.io/instance=${name},app.kubernetes.io/name=adpipe-worker` });
    const ready = pods.items.filter((pod) => !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (E2E_TARGET === 'kind') return Promise.all(ready.map((pod) => this.portForward(pod.metadata!.name!, 8080)));
    return ready
      .map((pod) => JSON.parse(pod.metadata?.annotations?.['adpipe.io/host-ports'] ?? '{}') as Record<string, number>)
      .filter((ports) => ports['http'])
      .map((ports) => `http://127.0.0.1:${ports['http']}`);
  }

  private readonly forwards = new Map<string, Promise<string>>();

  /** `kubectl port-forward` to a Pod (kind target), kept for the run; resolves to its local URL. */
  private portForward(pod: string, port: number): Promise<string> {
    const known = this.forwards.get(pod);
    if (known) return known;
    const forwarding = new Promise<string>((resolve, reject) => {
      const child = spawn(this.state.kubectl, ['--kubeconfig', this.kubeconfig, 'port-forward', '-n', this.namespace, `pod/${pod}`, `:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.push(child);
      child.stdout.on('data', (chunk: Buffer) => {
        const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(chunk.toString());
        if (match) resolve(`http://127.0.0.1:${match[1]}`);
      });
      child.once('exit', (code) => reject(new Error(`kubectl port-forward to ${pod} exited with ${code}`)));
    });
    this.forwards.set(pod, forwarding);
    return forwarding;
  }
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`ADPIPE_E2E_TARGET=kind needs ${name} (see e2e/kind/README.md)`);
  return value;
}

/** Polls until `probe` returns a value (the same helper the tests use). */
export const waitFor = eventually;

/** GET and parse; `token`: the caller's bearer token, for a query API with `query.auth: kubernetes`. */
export async function getJson<T>(url: string, token?: string): Promise<T> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (!response.ok) throw new Error(`GET ${url} → ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export type Stats = Expected['stats'];

/** Every record of the set has been seen once processing has caught up with what was produced. */
export function statsCaughtUp(actual: Stats, expected: Stats): boolean {
  const seen = (s: Stats) => Object.values(s.accepted).concat(Object.values(s.invalid), Object.values(s.duplicates)).reduce((a, b) => a + b, 0);
  return seen(actual) >= seen(expected) && actual.unattributed_clicks >= expected.unattributed_clicks && actual.unattributed_conversions >= expected.unattributed_conversions;
}

export interface Comparison {
  queries: number;
  mismatches: string[];
}

const COUNTERS = ['impressions', 'clicks', 'conversions', 'spend_micros', 'revenue_micros'] as const;
const RATIOS = ['ctr', 'cvr', 'roas'] as const;

/** Asks the query API every query of expected.json and lists every difference (counters exactly, ratios to 1e-4). */
/**
 * `compareWithExpected` again until it finds no difference or `timeoutMs` has passed: after the
 * stats are complete, the tasks may still be moving counts between campaign-hours (decision 0051).
 */
export async function settledComparison(baseUrl: string, expected: Expected, timeoutMs: number, token?: string): Promise<Comparison> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const comparison = await compareWithExpected(baseUrl, expected, token);
    if (comparison.mismatches.length === 0 || Date.now() > deadline) return comparison;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function compareWithExpected(baseUrl: string, expected: Expected, token?: string): Promise<Comparison> {
  const mismatches: string[] = [];
  for (const { query, response } of expected.queries) {
    const params = new URLSearchParams({ from: query.from, to: query.to, granularity: query.granularity });
    if (query.by) params.set('by', query.by);
    const label = `${query.campaign_id} ${query.granularity}${query.by ? ` by ${query.by}` : ''}`;
    const actual = await getJson<PerformanceResponse>(`${baseUrl}/v1/campaigns/${encodeURIComponent(query.campaign_id)}/performance?${params}`, token);
    for (const counter of COUNTERS) if (actual.totals[counter] !== response.totals[counter]) mismatches.push(`${label}: totals.${counter} ${actual.totals[counter]} ≠ ${response.totals[counter]}`);
    if (actual.rows.length !== response.rows.length) {
      mismatches.push(`${label}: ${actual.rows.length} rows ≠ ${response.rows.length}`);
      continue;
    }
    response.rows.forEach((want, i) => {
      const got = actual.rows[i]!;
      if (got.start !== want.start || got.dimension !== want.dimension) mismatches.push(`${label}: row ${i} is ${got.start}/${got.dimension}, expected ${want.start}/${want.dimension}`);
      for (const counter of COUNTERS) if (got[counter] !== want[counter]) mismatches.push(`${label} ${want.start} ${want.dimension ?? ''}: ${counter} ${got[counter]} ≠ ${want[counter]}`);
      for (const ratio of RATIOS) {
        const a = got[ratio];
        const b = want[ratio];
        if ((a === null) !== (b === null) || (a !== null && b !== null && Math.abs(a - b) > 1e-4)) mismatches.push(`${label} ${want.start}: ${ratio} ${a} ≠ ${b}`);
      }
    });
  }
  return { queries: expected.queries.length, mismatches };
}
