import http from 'node:http';
import os from 'node:os';
import type * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ANNOTATIONS, KIND, type AdPipeline } from '../api/v1alpha1/index.js';
import { Controller, controllerMetrics } from './controller/controller.js';
import { Informer, keyOf } from './controller/informer.js';
import { KubeClient, type KubeObject } from './controller/kube.js';
import { LeaderElector } from './controller/leader.js';
import { CRD_MISSING_MESSAGE, CrdPresence } from './crd-presence.js';
import { FINALIZER, OWNED_SELECTOR } from './render/names.js';
import { EventRecorder } from './reconcile/events.js';
import { KafkaAdminPool } from './reconcile/kafka.js';
import { loadKafkaIdentity } from './reconcile/kafka-identity.js';
import { DataHealthSensor } from './health/sensor.js';
import { PrometheusClient } from './health/prometheus.js';
import { pipelineMetrics } from './health/metrics.js';
import { ADPIPELINE_TYPE, createPipelineReconciler } from './reconcile/pipeline.js';
import { QueryReviewers } from './reconcile/query-reviewers.js';
import type { TableAdmins } from './reconcile/table.js';
import { OWNED_KINDS, OWNED_TYPES, type OwnedKind } from './reconcile/workers.js';

/**
 * The operator as a value: `startOperator` wires the informers (every watch the operator has is
 * registered here), the work queue, leader election, the reconciler and the HTTP endpoints;
 * `stop` undoes it in order. main.ts only turns process arguments into these options.
 */

export interface OperatorOptions {
  kubeConfig: k8s.KubeConfig;
  /** Watch one namespace; unset watches all. */
  namespace?: string;
  identity?: string;
  leaderElection?: { namespace: string; name: string; leaseMs?: number; renewMs?: number; retryMs?: number } | false;
  tables?: TableAdmins;
  /** 0 picks a free port; undefined serves no HTTP. */
  httpPort?: number;
  /** Reconciles run at once (default 16: they wait on Kafka/HBase, not on CPU; see decision 0066). */
  workers?: number;
  driftCheckMs?: number;
  cleanupTimeoutMs?: number;
  queue?: { baseDelayMs?: number; maxDelayMs?: number };
  kafkaLingerMs?: number;
  eventRepeatMs?: number;
  /**
   * A Kafka client properties file with the operator's own identity: topics of pipelines on the
   * brokers it names are managed with it, and the spec's Secret is the workers' alone (decision 0115).
   */
  kafkaAdminConfig?: string;
  /** A Kafka client properties file with an identity that may alter ACLs: the operator grants the workers' ACLs (decision 0111). */
  kafkaAclAdminConfig?: string;
  /** Prometheus that scrapes the workers: the DataHealthy condition is judged from it (unset: no DataHealthy). */
  prometheusUrl?: string;
  /**
   * The ClusterRoleBinding (to system:auth-delegator) whose subjects the operator keeps equal to the
   * ServiceAccounts of workers that review query callers (decision 0121); unset: not managed.
   */
  queryReviewersBinding?: string;
  /** How often the data-health sensor evaluates every pipeline (default 30 s). */
  healthIntervalMs?: number;
  log?: Logger;
}

export interface Operator {
  readonly registry: Registry;
  readonly port: number | undefined;
  readonly kube: KubeClient;
  readonly kafka: KafkaAdminPool;
  isLeader(): boolean;
  /** Counters for benches and tests. */
  stats(): { apiRequests: number; apiWrites: number; kafkaAdminBatches: number; kafkaAdminRequests: number; hbaseAdminRequests: number; reconciles: number };
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<Operator> {
  const log = options.log ?? pino({ name: 'adpipe-operator' });
  const identity = options.identity ?? `${os.hostname()}-${process.pid}`;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'adpipe_operator_process_' });
  const apiRequests = new Counter({ name: 'adpipe_operator_kube_requests_total', help: 'Kubernetes API requests by verb', labelNames: ['verb'], registers: [registry] });
  const leaderGauge = new Gauge({ name: 'adpipe_operator_leader', help: '1 while this replica holds the lease', registers: [registry] });
  const counts = { apiRequests: 0, apiWrites: 0, reconciles: 0 };
  const kube = new KubeClient(options.kubeConfig, (verb, write) => {
    counts.apiRequests++;
    if (write) counts.apiWrites++;
    apiRequests.inc({ verb });
  });
  const kafka = new KafkaAdminPool({ lingerMs: options.kafkaLingerMs ?? 20 });
  new Gauge({ name: 'adpipe_operator_kafka_admin_requests', help: 'Kafka admin requests sent since start', registers: [registry], collect() { this.set(kafka.rpcs); } });
  new Gauge({ name: 'adpipe_operator_hbase_admin_requests', help: 'HBase admin requests sent since start', registers: [registry], collect() { this.set(options.tables?.calls ?? 0); } });
  const events = new EventRecorder(kube, identity, options.eventRepeatMs ?? 300_000, (error) => log.warn({ err: String(error) }, 'could not record an event'));
  const metrics = controllerMetrics(registry);
  const crd = new CrdPresence(registry, log);

  let controller: Controller | undefined;
  const enqueue = (key: string) => controller?.enqueue(key);

  // --- Every watch of the operator, in one place. ---
  const pipelines = new Informer<AdPipeline & KubeObject>(
    kube,
    ADPIPELINE_TYPE,
    {
      add: (p) => enqueue(keyOf(p)),
      update: (before, after) => {
        if (needsReconcile(before, after)) enqueue(keyOf(after));
      },
      delete: () => undefined,
    },
    {
      namespace: options.namespace,
      onError: (error) => {
        if (!crd.failed(error)) log.warn({ err: String(error) }, 'AdPipeline watch failed; retrying');
      },
      onListed: () => crd.listed(),
    },
  );
  const ownerKey = (object: KubeObject): string | undefined => {
    const owner = object.metadata?.ownerReferences?.find((ref) => ref.kind === KIND && ref.controller);
    return owner ? `${object.metadata?.namespace ?? ''}/${owner.name}` : undefined;
  };
  // Expectations (controller-runtime's idea): the resourceVersions our own applies returned. Their
  // watch events bring nothing the reconcile that wrote them did not already know.
  const ownWrites = new Set<string>();
  const owned = new Map<OwnedKind, Informer<KubeObject>>();
  for (const kind of OWNED_KINDS) {
    const onChange = (object: KubeObject) => {
      const written = `${kind}/${keyOf(object)}@${object.metadata?.resourceVersion}`;
      if (ownWrites.delete(written)) return;
      const key = ownerKey(object);
      if (key) enqueue(key);
    };
    owned.set(
      kind,
      new Informer<KubeObject>(kube, OWNED_TYPES[kind], { add: onChange, update: (_b, a) => onChange(a), delete: onChange }, {
        namespace: options.namespace,
        labelSelector: OWNED_SELECTOR,
        onError: (error) => log.warn({ err: String(error), kind }, 'watch failed; retrying'),
      }),
    );
  }

  const sensor = options.prometheusUrl
    ? new DataHealthSensor({ prometheus: new PrometheusClient(options.prometheusUrl), kube, events, log, pipelines: () => pipelines.list(), intervalMs: options.healthIntervalMs ?? 30_000 })
    : undefined;
  pipelineMetrics(registry, () => pipelines.list(), (key) => sensor?.verdict(key));

  const reconcile = createPipelineReconciler({
    kube,
    kafka,
    ...(options.kafkaAdminConfig ? { ownKafkaIdentity: loadKafkaIdentity(options.kafkaAdminConfig) } : {}),
    ...(options.kafkaAclAdminConfig ? { aclAdmin: loadKafkaIdentity(options.kafkaAclAdminConfig) } : {}),
    tables: options.tables,
    events,
    log,
    getPipeline: (key) => pipelines.get(key),
    allPipelines: () => pipelines.list(),
    lookup: (kind, key) => owned.get(kind)?.get(key),
    ownWrite: (kind, key, resourceVersion) => {
      if (!resourceVersion) return;
      // Bounded: an expectation whose event never comes (object deleted meanwhile) must not pile up.
      if (ownWrites.size > 10_000) ownWrites.clear();
      ownWrites.add(`${kind}/${key}@${resourceVersion}`);
    },
    driftCheckMs: options.driftCheckMs ?? 300_000,
    cleanupTimeoutMs: options.cleanupTimeoutMs ?? 300_000,
    dataHealth: (key) => sensor?.condition(key),
    reviewers: options.queryReviewersBinding ? new QueryReviewers(kube, options.queryReviewersBinding) : undefined,
  });
  const counted = async (key: string) => {
    counts.reconciles++;
    return reconcile(key);
  };

  const startLeading = async () => {
    leaderGauge.set(1);
    log.info({ identity }, 'leading: reconciling');
    await Promise.all([pipelines.synced, ...[...owned.values()].map((i) => i.synced)]);
    if (controller) return;
    controller = new Controller(counted, {
      name: 'adpipeline',
      workers: options.workers ?? 16,
      metrics,
      queue: { baseDelayMs: options.queue?.baseDelayMs ?? 500, maxDelayMs: options.queue?.maxDelayMs ?? 300_000 },
      onError: (key, error) => log.warn({ pipeline: key, err: String(error) }, 'reconcile failed; backing off'),
    });
    controller.start();
    for (const pipeline of pipelines.list()) controller.enqueue(keyOf(pipeline));
    sensor?.start();
  };
  const stopLeading = async () => {
    leaderGauge.set(0);
    await sensor?.stop();
    const current = controller;
    controller = undefined;
    if (current) {
      log.warn({ identity }, 'lost leadership: stopping reconciles');
      await current.stop();
    }
  };

  pipelines.start();
  for (const informer of owned.values()) informer.start();

  let elector: LeaderElector | undefined;
  if (options.leaderElection) {
    elector = new LeaderElector(kube, {
      ...options.leaderElection,
      identity,
      onStartedLeading: () => void startLeading(),
      onStoppedLeading: () => void stopLeading(),
      onError: (error) => log.warn({ err: String(error) }, 'leader election request failed'),
    });
    elector.start();
  } else {
    void startLeading();
  }

  let server: http.Server | undefined;
  let port: number | undefined;
  if (options.httpPort !== undefined) {
    let synced = false;
    void Promise.all([pipelines.synced, ...[...owned.values()].map((i) => i.synced)]).then(() => (synced = true));
    server = http.createServer((req, res) => {
      if (req.url === '/healthz') return void res.writeHead(200).end('ok\n');
      if (req.url === '/readyz') {
        if (crd.missing) return void res.writeHead(503).end(`${CRD_MISSING_MESSAGE}\n`);
        return void res.writeHead(synced ? 200 : 503).end(synced ? 'ok\n' : 'caches not synced\n');
      }
      if (req.url === '/metrics') {
        metrics.depth.set({ controller: 'adpipeline' }, controller?.queue.depth ?? 0);
        void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(options.httpPort, '0.0.0.0', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : undefined;
  }

  return {
    registry,
    port,
    kube,
    kafka,
    isLeader: () => (elector ? elector.isLeader : true),
    stats: () => ({ ...counts, kafkaAdminBatches: kafka.calls, kafkaAdminRequests: kafka.rpcs, hbaseAdminRequests: options.tables?.calls ?? 0 }),
    async stop() {
      // Finish the reconciles in flight, then give up the lease so a successor starts at once.
      await stopLeading();
      await elector?.stop();
      await pipelines.stop();
      await Promise.all([...owned.values()].map((i) => i.stop()));
      await kafka.close();
      await options.tables?.close();
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      kube.close();
    },
  };
}

/**
 * An AdPipeline update is worth a reconcile when its generation changed (spec), it started
 * terminating, its steering annotations changed, or our finalizer went missing. Status-only writes
 * (our own) are not.
 */
export function needsReconcile(before: AdPipeline, after: AdPipeline): boolean {
  const a = before.metadata;
  const b = after.metadata;
  if (a.generation !== b.generation || a.uid !== b.uid) return true;
  if (!a.deletionTimestamp !== !b.deletionTimestamp) return true;
  for (const key of [ANNOTATIONS.paused, ANNOTATIONS.managed, ANNOTATIONS.adopt]) if (a.annotations?.[key] !== b.annotations?.[key]) return true;
  if (!b.finalizers?.includes(FINALIZER) && !b.deletionTimestamp) return true;
  return false;
}
