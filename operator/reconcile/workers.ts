import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { RuntimeConfig } from '../../api/runtime-config.js';
import type { KubeClient, KubeObject, ResourceType } from '../controller/kube.js';
import { DESIRED_HASH_ANNOTATION, FIELD_MANAGER, namespaceOf, workloadName } from '../render/names.js';
import { isSubset, renderWorkers } from '../render/workers.js';
import { Reason, type ComponentReport } from './conditions.js';
import { describeError } from './errors.js';
import type { Change } from './topics.js';

/**
 * The worker objects: ServiceAccount, ConfigMap, Deployment, Service, each applied with server-side
 * apply under the field manager `adpipe-operator` and owned by the AdPipeline (garbage-collected
 * with it). Observed state comes from the informer caches; an object whose desired-hash annotation
 * matches and whose fields still hold the desired values is not applied again, so a restart or a
 * resync with nothing changed sends no request at all.
 */

export const OWNED_TYPES = {
  serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  configMap: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  service: { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  networkPolicy: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
} as const satisfies Record<string, ResourceType>;
export type OwnedKind = keyof typeof OWNED_TYPES;
export const OWNED_KINDS = Object.keys(OWNED_TYPES) as OwnedKind[];

/** Reads an owned object from its informer cache by namespace/name. */
export type OwnedLookup = (kind: OwnedKind, key: string) => KubeObject | undefined;

export interface WorkersOutcome {
  report: ComponentReport;
  changes: Change[];
  configHash: string;
  replicas: number;
  readyReplicas: number;
}

interface DeploymentStatus {
  observedGeneration?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  replicas?: number;
}

/** Called with each object this reconciler wrote, so its own watch event need not trigger another reconcile. */
export type OwnWrite = (kind: OwnedKind, key: string, resourceVersion: string | undefined) => void;

export async function reconcileWorkers(kube: KubeClient, lookup: OwnedLookup, pipeline: AdPipeline, config: RuntimeConfig, ownWrite: OwnWrite = () => undefined, credentialsVersion = ''): Promise<WorkersOutcome> {
  const objects = renderWorkers(pipeline, config, credentialsVersion);
  const key = `${namespaceOf(pipeline)}/${workloadName(pipeline)}`;
  const changes: Change[] = [];
  const replicas = objects.deployment.spec?.replicas ?? 1;
  let deployment = lookup('deployment', key);
  try {
    // Order matters for a first start: the ServiceAccount and ConfigMap exist before the Pods need them.
    for (const kind of OWNED_KINDS) {
      const desired = objects[kind] as unknown as KubeObject | undefined;
      const observed = lookup(kind, key);
      if (!desired) {
        // Optional objects (the NetworkPolicy) the spec no longer asks for.
        if (observed) {
          await kube.delete(OWNED_TYPES[kind], namespaceOf(pipeline), workloadName(pipeline));
          changes.push({ reason: 'WorkersUpdated', note: `deleted ${OWNED_TYPES[kind].kind} ${key}` });
        }
        continue;
      }
      const upToDate = observed && observed.metadata?.annotations?.[DESIRED_HASH_ANNOTATION] === desired.metadata?.annotations?.[DESIRED_HASH_ANNOTATION] && isSubset(desired, observed);
      if (upToDate) continue;
      const applied = await kube.apply(OWNED_TYPES[kind], desired, FIELD_MANAGER);
      ownWrite(kind, key, applied.metadata?.resourceVersion);
      if (kind === 'deployment') deployment = applied;
      if (!observed || observed.metadata?.resourceVersion !== applied.metadata?.resourceVersion) {
        changes.push({ reason: observed ? 'WorkersUpdated' : 'WorkersCreated', note: `${observed ? 'updated' : 'created'} ${OWNED_TYPES[kind].kind} ${key}${kind === 'configMap' ? ` (config ${objects.configHash})` : ''}` });
      }
    }
  } catch (error) {
    return {
      report: { status: 'False', reason: Reason.WorkersApplyFailed, message: `applying the worker objects ${key} failed: ${describeError(error)}`, retrying: true },
      changes,
      configHash: objects.configHash,
      replicas,
      readyReplicas: 0,
    };
  }
  const status = (deployment?.['status'] ?? {}) as DeploymentStatus;
  const ready = status.readyReplicas ?? 0;
  const current = (deployment?.metadata?.generation ?? 0) <= (status.observedGeneration ?? 0);
  let report: ComponentReport;
  if (replicas === 0) report = { status: 'True', reason: Reason.WorkersScaledToZero, message: `Deployment ${key} is scaled to 0 replicas` };
  else if (current && ready >= replicas && (status.updatedReplicas ?? 0) >= replicas) report = { status: 'True', reason: Reason.WorkersAvailable, message: `${ready}/${replicas} workers are ready` };
  else report = { status: 'False', reason: Reason.WorkersProgressing, message: `${ready}/${replicas} workers are ready (Deployment ${key})` };
  return { report, changes, configHash: objects.configHash, replicas, readyReplicas: ready };
}
