import type { SourceName } from '../../api/runtime-config.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { DEFAULTS } from './defaults.js';

/**
 * Names derived from an AdPipeline, in one place: the operator creates things under these names and
 * the runtime, the CLI and the tests find them by the same functions.
 */

export const FIELD_MANAGER = 'adpipe-operator';
export const FINALIZER = 'adpipe.io/cleanup';
export const CONFIG_FILE = '/etc/adpipe/pipeline.json';
export const CONFIG_KEY = 'pipeline.json';
export const HTTP_PORT = 8080;
export const CONFIG_HASH_ANNOTATION = 'adpipe.io/config-hash';
/** The versions of the Secrets the workers mount: a rotated Secret changes it and so rolls them. */
export const CREDENTIALS_VERSION_ANNOTATION = 'adpipe.io/credentials-version';
export const DESIRED_HASH_ANNOTATION = 'adpipe.io/desired-hash';
/** On worker Pods whose query API serves HTTPS only (spec.query.tls): what the CLI speaks through a port-forward. */
export const QUERY_SCHEME_ANNOTATION = 'adpipe.io/query-scheme';

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  pipeline: 'adpipe.io/pipeline',
} as const;

/** Selects every object this operator owns (its informers watch with it). */
export const OWNED_SELECTOR = `${LABELS.managedBy}=${FIELD_MANAGER}`;

export function namespaceOf(pipeline: AdPipeline): string {
  return pipeline.metadata.namespace ?? 'default';
}

/** ConfigMap, Deployment, Service and ServiceAccount share this name (at most 63 characters: the
 * CRD limits AdPipeline names to 56). */
export function workloadName(pipeline: AdPipeline): string {
  return `adpipe-${pipeline.metadata.name}`;
}

export function consumerGroupId(pipeline: AdPipeline): string {
  return `adpipe.${namespaceOf(pipeline)}.${pipeline.metadata.name}`;
}

/**
 * `adpipe_<namespace>_<name>`. Kubernetes names use [a-z0-9.-], all valid in an HBase qualifier;
 * anything else becomes `_`. `_` never occurs in a Kubernetes name, so the separator keeps distinct
 * (namespace, name) pairs on distinct tables.
 */
export function defaultTableName(namespace: string, name: string): string {
  return `adpipe_${namespace}_${name}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function tableNameOf(pipeline: AdPipeline): string {
  return pipeline.spec.storage?.table ?? defaultTableName(namespaceOf(pipeline), pipeline.metadata.name);
}

/** Every topic name the operator derives for a pipeline starts so: unique per (namespace, name). */
function topicPrefix(pipeline: AdPipeline): string {
  return `adpipe.${namespaceOf(pipeline)}.${pipeline.metadata.name}.`;
}

/** The internal topic of the pipeline's tasks (decision 0051): never a user's topic, so named like the group. */
export function tasksTopicOf(pipeline: AdPipeline): string {
  return `${topicPrefix(pipeline)}tasks`;
}

/**
 * A source's topic: the spec's, else derived from the pipeline, so two pipelines left on defaults
 * never share a topic. Computed here on every read and never written to spec (GitOps tools would
 * see a diff); status.topicNames shows the result.
 */
export function sourceTopicOf(pipeline: AdPipeline, source: SourceName): string {
  return pipeline.spec.sources?.[source]?.topic ?? `${topicPrefix(pipeline)}${DEFAULTS.sourceTopicSuffixes[source]}`;
}

/**
 * The dead-letter topic: the spec's, else `<pipeline>-dlq` (contract) with the pipeline named as its
 * group is, `adpipe.<namespace>.<name>`: `<name>-dlq` alone was shared by same-named pipelines of
 * different namespaces, and the second one went Stalled on the first one's topic.
 */
export function deadLetterTopicOf(pipeline: AdPipeline): string {
  return pipeline.spec.deadLetter?.topic ?? `${consumerGroupId(pipeline)}-dlq`;
}

export function selectorLabels(pipeline: AdPipeline): Record<string, string> {
  return { [LABELS.name]: 'adpipe-worker', [LABELS.instance]: pipeline.metadata.name };
}

export function ownedLabels(pipeline: AdPipeline): Record<string, string> {
  return {
    ...selectorLabels(pipeline),
    [LABELS.component]: 'worker',
    [LABELS.partOf]: 'adpipe',
    [LABELS.managedBy]: FIELD_MANAGER,
    [LABELS.pipeline]: pipeline.metadata.name,
  };
}
