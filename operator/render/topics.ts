import { parseDuration } from '../../api/duration.js';
import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { DEFAULTS } from './defaults.js';
import { deadLetterTopicOf, sourceTopicOf, tasksTopicOf } from './names.js';

/** A Kafka topic as the pipeline wants it: plain data, compared with what Kafka reports. */
export interface DesiredTopic {
  name: string;
  role: SourceName | 'deadLetter' | 'tasks';
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs the operator owns; other overrides belong to whoever set them and stay. */
  configs: Record<string, string>;
}

export function desiredTopics(pipeline: AdPipeline): DesiredTopic[] {
  const spec = pipeline.spec;
  const rawRetention = String(parseDuration(spec.retention?.rawEvents ?? DEFAULTS.rawEvents));
  const topics: DesiredTopic[] = SOURCE_NAMES.map((role) => {
    const source = spec.sources?.[role];
    return {
      name: sourceTopicOf(pipeline, role),
      role,
      partitions: source?.partitions ?? DEFAULTS.partitions,
      replicationFactor: source?.replicationFactor ?? DEFAULTS.replicationFactor,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': rawRetention },
    };
  });
  topics.push({
    name: deadLetterTopicOf(pipeline),
    role: 'deadLetter',
    partitions: spec.deadLetter?.partitions ?? DEFAULTS.deadLetterPartitions,
    replicationFactor: spec.deadLetter?.replicationFactor ?? DEFAULTS.replicationFactor,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(parseDuration(spec.retention?.deadLetter ?? DEFAULTS.deadLetter)) },
  });
  // One partition per task; it is the tasks' changelog too, so it keeps what the snapshots have not
  // covered yet for as long as raw events are kept.
  topics.push({
    name: tasksTopicOf(pipeline),
    role: 'tasks',
    partitions: DEFAULTS.tasks,
    replicationFactor: spec.deadLetter?.replicationFactor ?? DEFAULTS.replicationFactor,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': rawRetention },
  });
  return topics;
}

/** What is off between a desired topic and the observed one. Pure: the reconciler acts on it. */
export interface TopicDiff {
  create: boolean;
  /** Partitions to raise to, when the topic has fewer. */
  raisePartitionsTo?: number;
  /** The topic has more partitions than desired: Kafka cannot lower them. */
  partitionDecrease?: { actual: number; desired: number };
  replicationMismatch?: { actual: number; desired: number };
  /** Owned configs to set back (only those that differ; IncrementalAlterConfigs leaves the rest). */
  alterConfigs?: Record<string, string>;
  drifted: string[];
}

export interface ObservedTopic {
  partitions: number;
  replicationFactor: number;
  /** Dynamic topic-level overrides only (config source TOPIC_CONFIG). */
  overrides: Record<string, string>;
}

export function diffTopic(desired: DesiredTopic, observed: ObservedTopic | undefined): TopicDiff {
  if (!observed) return { create: true, drifted: [] };
  const diff: TopicDiff = { create: false, drifted: [] };
  if (observed.partitions < desired.partitions) diff.raisePartitionsTo = desired.partitions;
  if (observed.partitions > desired.partitions) diff.partitionDecrease = { actual: observed.partitions, desired: desired.partitions };
  if (observed.replicationFactor !== desired.replicationFactor) diff.replicationMismatch = { actual: observed.replicationFactor, desired: desired.replicationFactor };
  for (const [key, value] of Object.entries(desired.configs)) if (observed.overrides[key] !== value) diff.drifted.push(key);
  if (diff.drifted.length) diff.alterConfigs = Object.fromEntries(diff.drifted.map((key) => [key, desired.configs[key]!]));
  return diff;
}
