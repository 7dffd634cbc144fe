import type { AdPipelineStatus } from '../../api/v1alpha1/index.js';
import { canonicalJson } from '../render/hash.js';

/**
 * Whether a status write is needed: any difference but a condition's lastTransitionTime counts
 * (Strimzi's StatusDiff). Steady state therefore writes nothing.
 */
export function statusChanged(previous: AdPipelineStatus | undefined, next: AdPipelineStatus): boolean {
  const strip = (status: AdPipelineStatus | undefined) => ({ ...status, conditions: status?.conditions?.map(({ lastTransitionTime: _t, ...rest }) => rest) });
  return canonicalJson(strip(previous)) !== canonicalJson(strip(next));
}
