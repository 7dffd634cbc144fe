import type * as k8s from '@kubernetes/client-node';
import { API_VERSION, KIND, type AdPipeline } from '../../api/v1alpha1/index.js';
import { WORKER_PROCESS_ENV, type RuntimeConfig } from '../../api/runtime-config.js';
import { DEFAULTS } from './defaults.js';
import { canonicalJson, shortHash } from './hash.js';
import { CONFIG_FILE, CONFIG_HASH_ANNOTATION, CONFIG_KEY, CREDENTIALS_VERSION_ANNOTATION, DESIRED_HASH_ANNOTATION, HTTP_PORT, QUERY_SCHEME_ANNOTATION, namespaceOf, ownedLabels, selectorLabels, workloadName } from './names.js';
import { renderNetworkPolicy } from './network-policy.js';
import { SECRET_MOUNTS } from './runtime-config.js';

/**
 * AdPipeline → the four Kubernetes objects of its workers, as plain values ready for server-side
 * apply. Each carries the hash of its own desired content in an annotation: an object whose hash
 * matches and whose fields still hold their desired values needs no apply (no API request at all in
 * steady state).
 */

export interface WorkerObjects {
  serviceAccount: k8s.V1ServiceAccount;
  configMap: k8s.V1ConfigMap;
  deployment: k8s.V1Deployment;
  service: k8s.V1Service;
  /** Only with spec.networkPolicy.enabled. */
  networkPolicy?: k8s.V1NetworkPolicy;
  configHash: string;
}

export const WORKER_COMMAND = ['node', 'dist/runtime/main.js', '--config', CONFIG_FILE];

export function ownerReference(pipeline: AdPipeline): k8s.V1OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: pipeline.metadata.name, uid: pipeline.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

function metadata(pipeline: AdPipeline): k8s.V1ObjectMeta {
  return { name: workloadName(pipeline), namespace: namespaceOf(pipeline), labels: ownedLabels(pipeline), ownerReferences: [ownerReference(pipeline)] };
}

/** Stamps the desired-hash annotation over everything else in the object. */
function stamped<T extends { metadata?: k8s.V1ObjectMeta }>(object: T): T {
  const hash = shortHash(object);
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata?.annotations, [DESIRED_HASH_ANNOTATION]: hash } } };
}

function secretVolumes(pipeline: AdPipeline): { volumes: k8s.V1Volume[]; mounts: k8s.V1VolumeMount[] } {
  const volumes: k8s.V1Volume[] = [];
  const mounts: k8s.V1VolumeMount[] = [];
  const add = (name: string, secretName: string, mountPath: string) => {
    volumes.push({ name, secret: { secretName, defaultMode: 0o440 } });
    mounts.push({ name, mountPath, readOnly: true });
  };
  const tls = pipeline.spec.kafka.tls;
  if (tls?.enabled && tls.caSecretRef) add('kafka-ca', tls.caSecretRef.name, SECRET_MOUNTS.kafkaCa);
  if (tls?.enabled && tls.clientCertSecretRef) add('kafka-client', tls.clientCertSecretRef.name, SECRET_MOUNTS.kafkaClient);
  if (pipeline.spec.kafka.sasl) add('kafka-sasl', pipeline.spec.kafka.sasl.secretRef.name, SECRET_MOUNTS.kafkaSasl);
  const registry = pipeline.spec.sources?.bidRequests?.avro;
  if (registry?.schemaRegistryUrl && registry.schemaRegistryAuth?.basicAuthSecretRef) add('registry-auth', registry.schemaRegistryAuth.basicAuthSecretRef.name, SECRET_MOUNTS.registryAuth);
  if (registry?.schemaRegistryUrl && registry.schemaRegistryAuth?.caSecretRef) add('registry-ca', registry.schemaRegistryAuth.caSecretRef.name, SECRET_MOUNTS.registryCa);
  if (pipeline.spec.query?.tls) add('query-tls', pipeline.spec.query.tls.secretRef.name, SECRET_MOUNTS.queryTls);
  const hbaseTls = pipeline.spec.hbase.tls;
  if (hbaseTls?.enabled && hbaseTls.caSecretRef) add('hbase-ca', hbaseTls.caSecretRef.name, SECRET_MOUNTS.hbaseCa);
  if (hbaseTls?.enabled && hbaseTls.clientCertSecretRef) add('hbase-client', hbaseTls.clientCertSecretRef.name, SECRET_MOUNTS.hbaseClient);
  return { volumes, mounts };
}

/** `credentialsVersion`: what `checkCredentials` read of the mounted Secrets' versions ('' for none). */
export function renderWorkers(pipeline: AdPipeline, config: RuntimeConfig, credentialsVersion = ''): WorkerObjects {
  const name = workloadName(pipeline);
  const configText = JSON.stringify(JSON.parse(canonicalJson(config)), null, 2) + '\n';
  const configHash = shortHash(configText);
  const workers = pipeline.spec.workers ?? {};
  const resources: k8s.V1ResourceRequirements = {};
  if (workers.resources?.requests) resources.requests = stringQuantities(workers.resources.requests);
  if (workers.resources?.limits) resources.limits = stringQuantities(workers.resources.limits);
  const { volumes, mounts } = secretVolumes(pipeline);
  const tls = config.query?.tls !== undefined;
  const probe = (path: string): k8s.V1Probe => ({ httpGet: { path, port: 'http', ...(tls ? { scheme: 'HTTPS' } : {}) }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
  // The query API's reviews (TokenReview, SubjectAccessReview) are the workers' only API requests:
  // their ServiceAccount token is mounted only when they make them.
  const apiAccess = config.query?.auth === 'kubernetes';

  const serviceAccount = stamped<k8s.V1ServiceAccount>({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(pipeline), automountServiceAccountToken: apiAccess });
  const configMap = stamped<k8s.V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(pipeline), data: { [CONFIG_KEY]: configText } });
  const deployment = stamped<k8s.V1Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(pipeline),
    spec: {
      replicas: workers.replicas ?? DEFAULTS.replicas,
      selector: { matchLabels: selectorLabels(pipeline) },
      // Never fewer consumers than asked for while a new config rolls out.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        // A changed config changes this annotation, and so rolls the workers.
        metadata: {
          labels: ownedLabels(pipeline),
          annotations: { [CONFIG_HASH_ANNOTATION]: configHash, ...(credentialsVersion ? { [CREDENTIALS_VERSION_ANNOTATION]: credentialsVersion } : {}), ...(tls ? { [QUERY_SCHEME_ANNOTATION]: 'https' } : {}) },
        },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: apiAccess,
          // fsGroup: Secret files are mounted 0440 and owned by this group, so the worker's user can read them.
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'worker',
              image: workers.image ?? DEFAULTS.image,
              command: WORKER_COMMAND,
              env: Object.entries(WORKER_PROCESS_ENV).map(([envName, value]) => ({ name: envName, value })),
              ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
              readinessProbe: probe('/readyz'),
              livenessProbe: { ...probe('/healthz'), failureThreshold: 6 },
              resources,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'config', mountPath: CONFIG_FILE, subPath: CONFIG_KEY, readOnly: true }, ...mounts],
            },
          ],
          volumes: [{ name: 'config', configMap: { name } }, ...volumes],
        },
      },
    },
  });
  const service = stamped<k8s.V1Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(pipeline),
    spec: { type: 'ClusterIP', selector: selectorLabels(pipeline), ports: [{ name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' }] },
  });
  const networkPolicy = renderNetworkPolicy(pipeline, ownerReference(pipeline));
  return { serviceAccount, configMap, deployment, service, ...(networkPolicy ? { networkPolicy: stamped(networkPolicy) } : {}), configHash };
}

function stringQuantities(list: { cpu?: number | string; memory?: number | string }): Record<string, string> {
  const out: Record<string, string> = {};
  if (list.cpu !== undefined) out['cpu'] = String(list.cpu);
  if (list.memory !== undefined) out['memory'] = String(list.memory);
  return out;
}

/**
 * True when every field of `desired` holds the same value in `observed` (fields the API server adds,
 * defaults for example, are ignored). Arrays must have the same length, items compared the same way.
 */
export function isSubset(desired: unknown, observed: unknown): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(observed) && desired.length === observed.length && desired.every((item, i) => isSubset(item, observed[i]));
  }
  if (desired && typeof desired === 'object') {
    if (!observed || typeof observed !== 'object' || Array.isArray(observed)) return false;
    return Object.entries(desired as Record<string, unknown>).every(([key, value]) => value === undefined || isSubset(value, (observed as Record<string, unknown>)[key]));
  }
  return desired === observed;
}
