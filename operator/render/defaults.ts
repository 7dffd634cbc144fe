import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { SourceName } from '../../api/runtime-config.js';

/**
 * The schema's defaults, for the rare object that reaches the operator without them (the API server
 * fills them in on every write; an object created before a default was added may lack one). A unit
 * test checks each value against crds/source so the two can never disagree.
 */
export const DEFAULTS = {
  /** A source topic left unset is adpipe.<namespace>.<name>.<this> (names.ts, sourceTopicOf). */
  sourceTopicSuffixes: { bidRequests: 'bid-requests', impressions: 'ad-impressions', clicks: 'ad-clicks', conversions: 'ad-conversions' } satisfies Record<SourceName, string>,
  partitions: 6,
  deadLetterPartitions: 1,
  replicationFactor: 1,
  attributionWindow: '24h',
  conversionWindow: '168h',
  rawEvents: '168h',
  deadLetter: '336h',
  aggregates: '8760h',
  preSplitRegions: 8,
  compression: 'NONE',
  bloomFilter: 'ROW',
  encryption: 'NONE',
  image: 'adpipe:0.1.0',
  replicas: 1,
  batchSize: 5000,
  logLevel: 'info',
  partitionConcurrency: 8,
  poisonAttempts: 3,
  stallThreshold: '5m',
  /** Tasks per pipeline: fixed for its life (state is owned per task), decision 0051. */
  tasks: 6,
  taskCommitInterval: '200ms',
  /**
   * How often a task snapshots its state (decision 0071). Never off by default: the internal topic
   * is deleted after the raw-event retention, so a restore from the log alone would lose what aged out.
   */
  taskSnapshotInterval: '60s',
  queryAuth: 'kubernetes',
  reviewCacheTime: '10s',
  znodeParent: '/hbase',
  deletionPolicy: 'Retain',
  csvDelimiter: ',',
} as const;

export type Spec = AdPipeline['spec'];
