import type { AdPipelineSpec, AdPipelineStatus } from './generated.js';

/**
 * The AdPipeline API, v1alpha1: the one home of its types and names, imported by the operator, the
 * runtime and the CLI. Spec and status types are generated from the CRD schema.
 */
export type { AdPipelineSpec, AdPipelineStatus } from './generated.js';

export const GROUP = 'adpipe.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'AdPipeline';
export const PLURAL = 'adpipelines';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Annotations a person sets on an AdPipeline to steer the operator. */
export const ANNOTATIONS = {
  /** "true": the operator changes nothing and reports the pipeline as paused. */
  paused: 'adpipe.io/paused',
  /** "false": detached; deleting the AdPipeline keeps its topics and table whatever deletionPolicy says. */
  managed: 'adpipe.io/managed',
  /**
   * Consent to take over topics or a table that exist already and adpipe did not create: "true" for
   * every one the spec names, or a comma-separated list of topic and table names. Without it such a
   * pipeline is Stalled (TopicExists / TableExists). Adopted objects are managed, and deleted under
   * deletionPolicy Delete, like created ones.
   */
  adopt: 'adpipe.io/adopt',
} as const;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface AdPipeline {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: AdPipelineSpec;
  status?: AdPipelineStatus;
}
