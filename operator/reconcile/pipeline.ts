import type { Logger } from 'pino';
import { ANNOTATIONS, API_VERSION, KIND, PLURAL, type AdPipeline, type AdPipelineStatus } from '../../api/v1alpha1/index.js';
import type { ReconcileResult } from '../controller/controller.js';
import { CONTENT, isConflict, isNotFound, type KubeClient, type KubeObject, type ResourceType } from '../controller/kube.js';
import { SOURCE_NAMES } from '../../api/runtime-config.js';
import { deadLetterTopicOf, FINALIZER, namespaceOf, sourceTopicOf } from '../render/names.js';
import { consentsToAdopt, ownedOf, ownedStatus, type Ownership } from '../render/ownership.js';
import { renderRuntimeConfig } from '../render/runtime-config.js';
import { mergeConditions, Reason, summarize, type ComponentReport, type Condition } from './conditions.js';
import { describeError } from './errors.js';
import type { EventRecorder } from './events.js';
import type { KafkaAdminPool } from './kafka.js';
import { checkSchemas } from './schemas.js';
import { statusChanged } from './status.js';
import { checkCredentials } from './credentials.js';
import { deleteTable, reconcileTable, type TableAdmins } from './table.js';
import { deleteTopics, failure as topicsFailure, reconcileTopics, type Change } from './topics.js';
import { grantWorkerAcls, managesAcls, revokeWorkerAcls } from './acl-grants.js';
import { servesPipeline, type KafkaIdentity } from './kafka-identity.js';
import { checkWorkersAccess } from './workers-access.js';
import type { QueryReviewers } from './query-reviewers.js';
import { reconcileWorkers, type OwnedLookup, type OwnWrite, type WorkersOutcome } from './workers.js';

/**
 * The AdPipeline reconciler: key in, level-based. It reads the pipeline from the informer cache,
 * handles deletion (finalizer), pause, then runs the topic, table and worker reconcilers side by
 * side and writes status only when it changed. Failures of Kafka or HBase become conditions and a
 * rate-limited requeue (the queue's backoff), never an exception that escapes.
 */

export const ADPIPELINE_TYPE: ResourceType = { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespaced: true };

export interface PipelineReconcilerDeps {
  kube: KubeClient;
  kafka: KafkaAdminPool;
  /** The operator's own Kafka identity for topic work where it serves the pipeline's brokers (decision 0115); else the spec's credentials. */
  ownKafkaIdentity?: KafkaIdentity;
  /** With an ACL admin identity, the operator grants the workers' ACLs (acl-grants.ts). */
  aclAdmin?: KafkaIdentity;
  tables: TableAdmins | undefined;
  events: EventRecorder;
  log: Logger;
  getPipeline(key: string): AdPipeline | undefined;
  /** Every AdPipeline the operator sees (claims on shared topic and table names). */
  allPipelines(): AdPipeline[];
  lookup: OwnedLookup;
  ownWrite?: OwnWrite;
  /** How often a healthy pipeline is checked against Kafka/HBase for drift nobody announces. */
  driftCheckMs: number;
  /** How long deletion retries an unreachable Kafka/HBase before it lets go of the finalizer. */
  cleanupTimeoutMs: number;
  /**
   * The newest DataHealthy condition the data-health sensor set (operator/health/), newer than the
   * one in the cached object: a status this reconciler writes keeps it.
   */
  dataHealth?(key: string): Condition | undefined;
  /** Keeps the workers' review rights (query.auth kubernetes) in one ClusterRoleBinding; unset: someone else grants them. */
  reviewers?: QueryReviewers;
}

export function createPipelineReconciler(deps: PipelineReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  return async (key) => {
    const cached = deps.getPipeline(key);
    if (!cached) return {};
    // The cache is shared with the informer: work on a copy.
    const pipeline = structuredClone(cached);
    if (pipeline.metadata.deletionTimestamp) return finalize(deps, pipeline);
    if (!pipeline.metadata.finalizers?.includes(FINALIZER)) {
      const added = await patchFinalizers(deps.kube, pipeline, [...(pipeline.metadata.finalizers ?? []), FINALIZER]);
      if (!added) return {};
      pipeline.metadata = { ...pipeline.metadata, ...added.metadata };
    }
    if (pipeline.metadata.annotations?.[ANNOTATIONS.paused] === 'true') {
      await writeStatus(deps, pipeline, pausedStatus(pipeline));
      return {};
    }
    return reconcileLive(deps, pipeline);
  };
}

async function reconcileLive(deps: PipelineReconcilerDeps, pipeline: AdPipeline): Promise<ReconcileResult> {
  const generation = pipeline.metadata.generation ?? 0;
  let config;
  try {
    config = renderRuntimeConfig(pipeline);
  } catch (error) {
    const invalid: ComponentReport = { status: 'False', reason: Reason.InvalidSpec, message: `the spec cannot be rendered: ${describeError(error)}`, stalled: true };
    await writeStatus(deps, pipeline, buildStatus(pipeline, { topics: invalid, storage: invalid, workers: invalid }, generation, {}));
    await deps.events.record(pipeline, 'Warning', Reason.InvalidSpec, invalid.message);
    return {};
  }
  // Secrets that did not opt in hold back what would use them (the operator's Kafka connection and
  // the workers' mounts); running workers keep their last config, the table is reconciled as usual.
  const { heldBack: refused, version: credentialsVersion } = await checkCredentials(deps.kube, pipeline);
  // Schemas next: a change the contract's reader cannot follow never reaches the workers.
  const schemas = refused ? undefined : await checkSchemas(deps.kube, pipeline, config);
  const workersHeldBy = refused ?? (schemas && !schemas.ok ? schemas.report : undefined);
  const ownership = recordingOwnership(deps, pipeline);
  const [topics, table, rendered] = await Promise.all([
    refused ? { report: refused, changes: [] as Change[], topics: pipeline.status?.topics ?? [], readyCount: 0 } : reconcileTopics(deps.kube, deps.kafka, pipeline, deps.allPipelines(), ownership, deps.ownKafkaIdentity),
    reconcileTable(deps.tables, deps.kube, pipeline, deps.allPipelines(), ownership),
    workersHeldBy ? heldBack(pipeline, workersHeldBy) : reconcileWorkers(deps.kube, deps.lookup, pipeline, config, deps.ownWrite, credentialsVersion),
  ]);
  // The workers' ACLs once their topics exist (granting them on topics that do not is harmless, but
  // a refusal of the topics says more than one of the grant).
  if (deps.aclAdmin && topics.report.status === 'True' && managesAcls(deps.aclAdmin, pipeline)) {
    try {
      const granted = await grantWorkerAcls(deps.kube, deps.kafka, deps.aclAdmin, pipeline);
      if (granted) topics.changes.push(granted);
    } catch (error) {
      const report = topicsFailure(error, pipeline);
      topics.report = { ...report, message: `granting the workers' ACLs as the ACL admin (--kafka-acl-admin-config): ${report.message}` };
    }
  }
  const workers = await withReviewers(deps, pipeline, config.query?.auth === 'kubernetes', rendered);
  // Under its own identity the operator never uses the workers' credentials: it checks them.
  if (servesPipeline(deps.ownKafkaIdentity, pipeline) && topics.report.status === 'True' && !workersHeldBy) {
    const refusedWorkers = await checkWorkersAccess(deps.kube, deps.kafka, pipeline);
    if (refusedWorkers) workers.report = refusedWorkers;
  }
  const changes: Change[] = [...topics.changes, ...table.changes, ...workers.changes];
  if (schemas?.ok && schemas.note) changes.push({ reason: 'SchemaCompatibilitySet', note: schemas.note });
  // One event per kind of change and reconcile (five topics created is one TopicCreated event).
  const byReason = new Map<string, string[]>();
  for (const change of changes) byReason.set(change.reason, [...(byReason.get(change.reason) ?? []), change.note]);
  for (const [reason, notes] of byReason) {
    const note = notes.join('; ');
    deps.log.info({ pipeline: `${namespaceOf(pipeline)}/${pipeline.metadata.name}`, reason }, note);
    await deps.events.record(pipeline, 'Normal', reason, note);
  }
  const reports = [topics.report, table.report, workers.report];
  for (const report of reports) {
    if (report.status === 'False' && (report.retrying || report.stalled)) {
      deps.log.warn({ pipeline: `${namespaceOf(pipeline)}/${pipeline.metadata.name}`, reason: report.reason }, report.message);
      await deps.events.record(pipeline, 'Warning', report.reason, report.message);
    }
  }
  if (reports.every((r) => r.status === 'True')) deps.events.clear(pipeline);
  const status = buildStatus(pipeline, { topics: topics.report, storage: table.report, workers: workers.report }, generation, {
    topics: topics.topics,
    topicsSummary: `${topics.readyCount}/${topics.topics.length}`,
    owned: ownedStatus(ownership.owned),
    topicNames: { ...Object.fromEntries(SOURCE_NAMES.map((source) => [source, sourceTopicOf(pipeline, source)])), deadLetter: deadLetterTopicOf(pipeline) },
    table: table.table,
    workers: { replicas: workers.replicas, readyReplicas: workers.readyReplicas, summary: `${workers.readyReplicas}/${workers.replicas}`, configHash: workers.configHash },
  }, deps.dataHealth?.(`${namespaceOf(pipeline)}/${pipeline.metadata.name}`));
  await writeStatus(deps, pipeline, status);
  if (reports.some((r) => r.retrying)) return { requeue: true };
  return { requeueAfterMs: nextDriftCheck(Date.now(), deps.driftCheckMs) };
}

/**
 * The workers review callers with the API server only once their ServiceAccount is in the reviewers'
 * ClusterRoleBinding (decision 0121); a failure to put it there holds their report at False.
 */
async function withReviewers(deps: PipelineReconcilerDeps, pipeline: AdPipeline, reviews: boolean, workers: WorkersOutcome): Promise<WorkersOutcome> {
  if (!deps.reviewers) return workers;
  try {
    await deps.reviewers.sync(deps.allPipelines());
    return workers;
  } catch (error) {
    if (!reviews) return workers;
    const message = `granting ServiceAccount ${namespaceOf(pipeline)}/adpipe-${pipeline.metadata.name} TokenReview and SubjectAccessReview (ClusterRoleBinding ${deps.reviewers.bindingName}) failed: ${describeError(error)}`;
    return { ...workers, report: { status: 'False', reason: Reason.WorkersApplyFailed, message, retrying: true } };
  }
}

/** The workers' report while the schema check holds their config back: nothing applied, last status kept. */
function heldBack(pipeline: AdPipeline, report: ComponentReport): WorkersOutcome {
  const known = pipeline.status?.workers;
  return { report, changes: [], replicas: known?.replicas ?? 0, readyReplicas: known?.readyReplicas ?? 0, configHash: known?.configHash ?? '' };
}

/**
 * The pipeline's ownership record; `record` persists additions in status before the reconciler
 * creates or adopts anything, one write at a time (topics and table reconcile side by side).
 */
function recordingOwnership(deps: PipelineReconcilerDeps, pipeline: AdPipeline): Ownership {
  const owned = ownedOf(pipeline);
  let writing: Promise<void> = Promise.resolve();
  return {
    owned,
    consents: (name) => consentsToAdopt(pipeline, name),
    record(add) {
      const next = writing.then(async () => {
        for (const topic of add.topics ?? []) owned.topics.add(topic);
        if (add.table) owned.table = add.table;
        const written = await deps.kube.patch<AdPipeline & KubeObject>(ADPIPELINE_TYPE, namespaceOf(pipeline), pipeline.metadata.name, { status: { owned: ownedStatus(owned) } }, CONTENT.merge, 'status');
        pipeline.status = written.status;
      });
      writing = next.catch(() => undefined);
      return next;
    },
  };
}

/**
 * Drift checks fall on a shared grid (multiples of the interval), so the pipelines' checks arrive
 * together and the Kafka batcher serves them with a few calls instead of one set per pipeline.
 * A check due within a tenth of the interval moves to the next grid point.
 */
export function nextDriftCheck(now: number, intervalMs: number): number {
  const untilGrid = intervalMs - (now % intervalMs);
  return untilGrid < intervalMs / 10 ? untilGrid + intervalMs : untilGrid;
}

function buildStatus(pipeline: AdPipeline, reports: { topics: ComponentReport; storage: ComponentReport; workers: ComponentReport }, generation: number, rest: Omit<AdPipelineStatus, 'conditions' | 'observedGeneration'>, dataHealthy?: Condition): AdPipelineStatus {
  const conditions = mergeConditions(pipeline.status?.conditions, summarize(reports, generation), new Date());
  // DataHealthy is the sensor's: kept as it is, newest first (the sensor's own, else the cached one).
  const kept = dataHealthy ?? pipeline.status?.conditions?.find((c) => c.type === 'DataHealthy');
  return { ...pipeline.status, ...rest, observedGeneration: generation, conditions: kept ? [...conditions, kept] : conditions };
}

function pausedStatus(pipeline: AdPipeline): AdPipelineStatus {
  const generation = pipeline.metadata.generation ?? 0;
  const previous = pipeline.status?.conditions ?? [];
  const replaced: Array<Omit<Condition, 'lastTransitionTime'>> = [
    { type: 'Ready', status: 'Unknown', reason: Reason.Paused, message: 'reconciliation is paused by the adpipe.io/paused annotation; nothing is changed', observedGeneration: generation },
    { type: 'Reconciling', status: 'False', reason: Reason.Paused, message: 'paused', observedGeneration: generation },
  ];
  const kept = previous.filter((c) => c.type !== 'Ready' && c.type !== 'Reconciling');
  const merged = mergeConditions(previous, [...replaced, ...kept], new Date());
  const order = ['Ready', 'TopicsReady', 'StorageReady', 'WorkersReady', 'Reconciling', 'Stalled', 'DataHealthy'];
  merged.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  return { ...pipeline.status, observedGeneration: generation, conditions: merged };
}

async function writeStatus(deps: PipelineReconcilerDeps, pipeline: AdPipeline, status: AdPipelineStatus): Promise<void> {
  if (!statusChanged(pipeline.status, status)) return;
  try {
    const written = await deps.kube.patch<AdPipeline & KubeObject>(ADPIPELINE_TYPE, namespaceOf(pipeline), pipeline.metadata.name, { status }, CONTENT.merge, 'status');
    pipeline.status = written.status;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
}

/** Sets the finalizer list, guarded by the resourceVersion read (a concurrent change gets 409 and a retry). */
async function patchFinalizers(kube: KubeClient, pipeline: AdPipeline, finalizers: string[]): Promise<(AdPipeline & KubeObject) | undefined> {
  try {
    return await kube.patch<AdPipeline & KubeObject>(ADPIPELINE_TYPE, namespaceOf(pipeline), pipeline.metadata.name, { metadata: { finalizers, resourceVersion: pipeline.metadata.resourceVersion } }, CONTENT.merge);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (isConflict(error)) throw new Error(`AdPipeline ${namespaceOf(pipeline)}/${pipeline.metadata.name} changed while its finalizers were updated; retrying`);
    throw error;
  }
}

async function finalize(deps: PipelineReconcilerDeps, pipeline: AdPipeline): Promise<ReconcileResult> {
  if (!pipeline.metadata.finalizers?.includes(FINALIZER)) return {};
  // The deleted pipeline's workers lose their review rights (the cache holds it with its deletionTimestamp).
  await deps.reviewers?.sync(deps.allPipelines()).catch((error: unknown) => deps.log.warn({ err: describeError(error) }, 'updating the query reviewers binding failed'));
  const detached = pipeline.metadata.annotations?.[ANNOTATIONS.managed] === 'false';
  const policy = pipeline.spec.deletionPolicy ?? 'Retain';
  const release = () => patchFinalizers(deps.kube, pipeline, (pipeline.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
  // The workers are gone under either policy, so are their grants. Best effort: a Secret already
  // deleted (namespace deletion) must not hold the finalizer.
  const revokeGrants = async () => {
    if (!deps.aclAdmin) return;
    await revokeWorkerAcls(deps.kube, deps.kafka, deps.aclAdmin, pipeline).catch((error: unknown) => deps.log.warn({ pipeline: `${namespaceOf(pipeline)}/${pipeline.metadata.name}` }, `could not revoke the workers' ACLs: ${describeError(error)}`));
  };
  if (detached || policy === 'Retain') {
    if (!detached) await revokeGrants();
    await deps.events.record(pipeline, 'Normal', 'ResourcesRetained', `kept topics and table of ${pipeline.metadata.name} (${detached ? 'adpipe.io/managed is false' : 'deletionPolicy Retain'})`, 'Delete');
    await release();
    return {};
  }
  try {
    const others = deps.allPipelines();
    const owned = ownedOf(pipeline);
    const topics = await deleteTopics(deps.kube, deps.kafka, pipeline, others, owned.topics, deps.ownKafkaIdentity);
    await revokeGrants();
    const table = await deleteTable(deps.tables, deps.kube, pipeline, others, owned.table);
    await deps.events.record(pipeline, 'Normal', 'ResourcesDeleted', `deleted ${topics.length ? `topics ${topics.join(', ')}` : 'no topic'}${table ? ` and table ${table}` : ''} (resources adpipe did not create or adopt, or another AdPipeline names, are kept)`, 'Delete');
    await release();
    return {};
  } catch (error) {
    const since = Date.parse(pipeline.metadata.deletionTimestamp ?? '') || Date.now();
    if (Date.now() - since < deps.cleanupTimeoutMs) {
      await deps.events.record(pipeline, 'Warning', 'CleanupFailed', `deleting topics and table failed, retrying: ${describeError(error)}`, 'Delete');
      const report: ComponentReport = { status: 'False', reason: Reason.Deleting, message: `deleting external resources: ${describeError(error)}`, retrying: true };
      await writeStatus(deps, pipeline, buildStatus(pipeline, { topics: report, storage: report, workers: report }, pipeline.metadata.generation ?? 0, {}));
      return { requeue: true };
    }
    // Never hold the object hostage: after the timeout the finalizer goes and the event says what is left.
    await deps.events.record(pipeline, 'Warning', 'CleanupAbandoned', `gave up deleting topics and table after ${Math.round(deps.cleanupTimeoutMs / 1000)} s (${describeError(error)}); they may remain and need deleting by hand`, 'Delete');
    await release();
    return {};
  }
}
