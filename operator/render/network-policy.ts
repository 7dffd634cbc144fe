import type * as k8s from '@kubernetes/client-node';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { namespaceOf, ownedLabels, selectorLabels, workloadName } from './names.js';

/**
 * The workers' NetworkPolicy (spec.networkPolicy, decision 0123): ingress to the worker Pods only on
 * their one port (`http`: query API, probes, metrics), from the peers the spec lists (none listed:
 * any source, still only on that port). Egress is left alone: brokers, HBase and the API server are
 * addresses adpipe cannot know as selectors. Undefined when not enabled (an existing one is deleted).
 */
export function renderNetworkPolicy(pipeline: AdPipeline, owner: k8s.V1OwnerReference): k8s.V1NetworkPolicy | undefined {
  const spec = pipeline.spec.networkPolicy;
  if (!spec?.enabled) return undefined;
  const from: k8s.V1NetworkPolicyPeer[] = (spec.from ?? []).map((peer) => ({
    ...(peer.namespaceSelector ? { namespaceSelector: { matchLabels: { ...(peer.namespaceSelector.matchLabels ?? {}) } } } : {}),
    ...(peer.podSelector ? { podSelector: { matchLabels: { ...(peer.podSelector.matchLabels ?? {}) } } } : {}),
  }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: workloadName(pipeline), namespace: namespaceOf(pipeline), labels: ownedLabels(pipeline), ownerReferences: [owner] },
    spec: {
      podSelector: { matchLabels: selectorLabels(pipeline) },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 'http' }], ...(from.length ? { from } : {}) }],
    },
  };
}
