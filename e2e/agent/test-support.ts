import type * as k8s from '@kubernetes/client-node';
import { HOST_PORTS_ANNOTATION } from './agent.js';

/** What the node agent's tests share: a Deployment around a Pod spec, its ready Pods, a Pod's URL. */

export function deploymentOf(name: string, replicas: number, spec: k8s.V1PodSpec): k8s.V1Deployment {
  const labels = { app: name };
  return { metadata: { name }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } } };
}

export async function readyPods(core: k8s.CoreV1Api, namespace: string, app: string): Promise<k8s.V1Pod[]> {
  const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
  return pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

/** The Pod's `http` port as the agent published it (annotation adpipe.io/host-ports). */
export function podUrl(pod: k8s.V1Pod): string {
  const ports = JSON.parse(pod.metadata!.annotations![HOST_PORTS_ANNOTATION]!) as Record<string, number>;
  return `http://127.0.0.1:${ports['http']}/`;
}
