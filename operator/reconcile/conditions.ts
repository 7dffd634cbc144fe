import type { AdPipelineStatus } from '../../api/v1alpha1/index.js';
import { REFUSAL_REASONS } from '../../kafka/errors.js';

/**
 * The condition contract of AdPipeline status (docs/operator.md): these types and reasons are
 * frozen once released — Argo CD health checks and people's scripts read them. Add, never rename.
 */
export const CONDITION_TYPES = ['Ready', 'TopicsReady', 'StorageReady', 'WorkersReady', 'Reconciling', 'Stalled', 'DataHealthy'] as const;
// DataHealthy is set by the data-health sensor (operator/health/; reasons in health/judge.ts), not by summarize().
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const Reason = {
  // Ready / summary
  Ready: 'Ready',
  Paused: 'Paused',
  Deleting: 'Deleting',
  InvalidSpec: 'InvalidSpec',
  // TopicsReady
  TopicsReady: 'TopicsReady',
  KafkaUnavailable: 'KafkaUnavailable',
  TopicOperationFailed: 'TopicOperationFailed',
  PartitionDecreaseNotSupported: 'PartitionDecreaseNotSupported',
  ReplicationFactorChangeNotSupported: 'ReplicationFactorChangeNotSupported',
  SecretNotFound: 'SecretNotFound',
  SecretNotAllowed: 'SecretNotAllowed',
  TopicClaimedByAnotherPipeline: 'TopicClaimedByAnotherPipeline',
  TopicExists: 'TopicExists',
  // Kafka refusals (also WorkersReady, from the workers' access check): the names the worker's /readyz uses.
  KafkaAuthenticationFailed: REFUSAL_REASONS.authentication,
  KafkaAuthorizationFailed: REFUSAL_REASONS.authorization,
  KafkaTLSUntrusted: REFUSAL_REASONS.tls,
  // StorageReady
  TableReady: 'TableReady',
  HBaseUnavailable: 'HBaseUnavailable',
  /** The HBase server's certificate is not trusted, names another host, or our client certificate was refused. */
  HBaseTLSFailed: 'HBaseTLSFailed',
  TableOperationFailed: 'TableOperationFailed',
  StorageNotConfigured: 'StorageNotConfigured',
  TableClaimedByAnotherPipeline: 'TableClaimedByAnotherPipeline',
  TableExists: 'TableExists',
  // WorkersReady
  WorkersAvailable: 'WorkersAvailable',
  WorkersScaledToZero: 'WorkersScaledToZero',
  WorkersProgressing: 'WorkersProgressing',
  WorkersApplyFailed: 'WorkersApplyFailed',
  // WorkersReady, from the schema check that runs before the workers see a change
  SchemaIncompatible: 'SchemaIncompatible',
  SchemaRegistryUnavailable: 'SchemaRegistryUnavailable',
  // Reconciling / Stalled
  Progressing: 'Progressing',
  RetryingAfterError: 'RetryingAfterError',
  ReconcileComplete: 'ReconcileComplete',
  NotStalled: 'NotStalled',
  // Any
  Pending: 'Pending',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type Condition = NonNullable<AdPipelineStatus['conditions']>[number];

/** What a component reconciler reports: the state of its condition, and whether a retry may help. */
export interface ComponentReport {
  status: ConditionStatus;
  reason: Reason;
  message: string;
  /** A failure a retry can fix (unreachable server): back off and try again. */
  retrying?: boolean;
  /** A failure only a person can fix (refused change): Stalled. */
  stalled?: boolean;
}

export interface Summary {
  topics: ComponentReport;
  storage: ComponentReport;
  workers: ComponentReport;
  paused?: boolean;
}

/** The six conditions from the three component reports. Pure. */
export function summarize(summary: Summary, generation: number): Array<Omit<Condition, 'lastTransitionTime'>> {
  const cond = (type: ConditionType, report: Pick<ComponentReport, 'status' | 'reason' | 'message'>) => ({ type, status: report.status, reason: report.reason, message: report.message, observedGeneration: generation });
  const parts = [summary.topics, summary.storage, summary.workers];
  // A False component decides over an Unknown one: Ready says what is known to be wrong first.
  const firstBad = parts.find((p) => p.status === 'False') ?? parts.find((p) => p.status === 'Unknown');
  const stalled = parts.filter((p) => p.stalled);
  const retrying = parts.filter((p) => p.retrying);
  let ready: Pick<ComponentReport, 'status' | 'reason' | 'message'>;
  if (summary.paused) ready = { status: 'Unknown', reason: Reason.Paused, message: 'reconciliation is paused by the adpipe.io/paused annotation; nothing is changed' };
  else if (!firstBad) ready = { status: 'True', reason: Reason.Ready, message: 'topics, table and workers are ready' };
  else ready = { status: firstBad.status === 'Unknown' ? 'Unknown' : 'False', reason: firstBad.reason, message: firstBad.message };
  const reconciling = summary.paused
    ? { status: 'False' as const, reason: Reason.Paused, message: 'paused' }
    : retrying.length
      ? { status: 'True' as const, reason: Reason.RetryingAfterError, message: retrying.map((r) => r.message).join('; ') }
      : firstBad && !stalled.length
        ? { status: 'True' as const, reason: Reason.Progressing, message: firstBad.message }
        : { status: 'False' as const, reason: Reason.ReconcileComplete, message: firstBad ? 'waiting for a change to the spec' : 'the cluster matches the spec' };
  const stall = stalled.length
    ? { status: 'True' as const, reason: stalled[0]!.reason, message: stalled.map((s) => s.message).join('; ') }
    : { status: 'False' as const, reason: Reason.NotStalled, message: 'no change is refused' };
  return [cond('Ready', ready), cond('TopicsReady', summary.topics), cond('StorageReady', summary.storage), cond('WorkersReady', summary.workers), cond('Reconciling', reconciling), cond('Stalled', stall)];
}

/**
 * Merges new conditions into the old ones: a condition whose status did not change keeps its
 * lastTransitionTime (Strimzi's StatusDiff: a write that would change only times is no write).
 */
export function mergeConditions(previous: Condition[] | undefined, next: Array<Omit<Condition, 'lastTransitionTime'>>, now: Date): Condition[] {
  const byType = new Map((previous ?? []).map((c) => [c.type, c]));
  return next.map((c) => {
    const old = byType.get(c.type);
    return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  });
}
