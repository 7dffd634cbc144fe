import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KubeClient, KubeObject, ResourceType } from '../controller/kube.js';
import { DEFAULTS } from '../render/defaults.js';
import { FIELD_MANAGER, LABELS, namespaceOf, workloadName } from '../render/names.js';

/**
 * The workers of pipelines with `query.auth: kubernetes` review their callers with TokenReview and
 * SubjectAccessReview, cluster-scoped `create`s that only a ClusterRoleBinding can grant. The chart
 * installs one ClusterRoleBinding to the built-in `system:auth-delegator` with no subjects; the
 * operator keeps its subject list equal to those workers' ServiceAccounts, and may do nothing else
 * with RBAC: `get/patch` of that one binding by name, `bind` of that one ClusterRole by name
 * (decision 0121).
 */

export const CLUSTER_ROLE_BINDING: ResourceType = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false };
export const REVIEWER_ROLE = 'system:auth-delegator';
export const DEFAULT_REVIEWERS_BINDING = 'adpipe-query-reviewers';

export interface Subject {
  kind: 'ServiceAccount';
  name: string;
  namespace: string;
}

/** The ServiceAccounts of every live pipeline whose workers review callers, sorted (one apply per change, not per order). */
export function reviewerSubjects(pipelines: AdPipeline[]): Subject[] {
  const subjects = pipelines
    .filter((p) => !p.metadata.deletionTimestamp && (p.spec.query?.auth ?? DEFAULTS.queryAuth) === 'kubernetes')
    .map((p): Subject => ({ kind: 'ServiceAccount', name: workloadName(p), namespace: namespaceOf(p) }));
  const unique = new Map(subjects.map((s) => [`${s.namespace}/${s.name}`, s]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}

export function renderReviewersBinding(name: string, subjects: Subject[]): KubeObject {
  return {
    apiVersion: CLUSTER_ROLE_BINDING.apiVersion,
    kind: CLUSTER_ROLE_BINDING.kind,
    metadata: { name, labels: { [LABELS.partOf]: 'adpipe' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: REVIEWER_ROLE },
    subjects,
  } as KubeObject;
}

/** Applies the binding when the subjects differ from what this operator last applied. */
export class QueryReviewers {
  private applied: string | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly kube: KubeClient,
    readonly bindingName: string,
  ) {}

  /** Serialized: reconciles run in parallel, and the last one's view must win. */
  sync(pipelines: AdPipeline[]): Promise<void> {
    const next = this.inFlight.then(() => this.apply(reviewerSubjects(pipelines)));
    this.inFlight = next.catch(() => undefined);
    return next;
  }

  private async apply(subjects: Subject[]): Promise<void> {
    const wanted = JSON.stringify(subjects);
    if (wanted === this.applied) return;
    // Force: the operator is the one owner of `subjects`; the chart leaves it unset.
    await this.kube.apply(CLUSTER_ROLE_BINDING, renderReviewersBinding(this.bindingName, subjects), FIELD_MANAGER);
    this.applied = wanted;
  }
}
