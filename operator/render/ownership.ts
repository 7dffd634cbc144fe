import { ANNOTATIONS, type AdPipeline } from '../../api/v1alpha1/index.js';

/**
 * What a pipeline may change and delete in Kafka and HBase: what adpipe created for it, plus what
 * it was allowed to adopt (annotation adpipe.io/adopt). Topics and tables carry no owner of their
 * own, so the record lives in the pipeline's status (`status.owned`), written before a create so a
 * crash between the two never leaves an object adpipe made but does not know (decision 0101).
 */

export interface Owned {
  topics: Set<string>;
  table: string | undefined;
}

export function ownedOf(pipeline: AdPipeline): Owned {
  const status = pipeline.status;
  if (status?.owned) return { topics: new Set(status.owned.topics ?? []), table: status.owned.table };
  // Upgrade: an adpipe before ownership records managed every topic and the table a pipeline named;
  // a pipeline it reconciled keeps exactly those (docs/upgrade.md).
  if (status?.observedGeneration !== undefined) return { topics: new Set(status.topics ?? []), table: status.table };
  return { topics: new Set(), table: undefined };
}

export function ownedStatus(owned: Owned): { topics: string[]; table?: string } {
  return { topics: [...owned.topics].sort(), ...(owned.table ? { table: owned.table } : {}) };
}

/** True when the pipeline's adopt annotation consents to taking over `name` (a topic or a table). */
export function consentsToAdopt(pipeline: AdPipeline, name: string): boolean {
  const value = pipeline.metadata.annotations?.[ANNOTATIONS.adopt]?.trim();
  if (!value) return false;
  if (value === 'true') return true;
  return value
    .split(',')
    .map((item) => item.trim())
    .includes(name);
}

/** The reconcilers' view: what is owned, and a way to record more before acting on it. */
export interface Ownership {
  readonly owned: Owned;
  consents(name: string): boolean;
  /** Adds to the record and persists it (in status) before resolving. */
  record(add: { topics?: string[]; table?: string }): Promise<void>;
}
