import crypto from 'node:crypto';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KubeClient, KubeObject, ResourceType } from '../controller/kube.js';
import { microTime } from '../controller/leader.js';
import { namespaceOf } from '../render/names.js';

/**
 * Kubernetes Events (events.k8s.io/v1) about AdPipelines: one per change made and per failure.
 * A failure (a Warning reason) repeated while the operator backs off is recorded once per
 * `repeatMs`, whatever its message, so an outage is a handful of events rather than a storm. Notes are built from our own messages, never from
 * Secret contents.
 */

const EVENT: ResourceType = { apiVersion: 'events.k8s.io/v1', kind: 'Event', plural: 'events', namespaced: true };
export const REPORTING_CONTROLLER = 'adpipe.io/operator';

export class EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly kube: KubeClient,
    private readonly instance: string,
    private readonly repeatMs = 300_000,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async record(pipeline: AdPipeline, type: 'Normal' | 'Warning', reason: string, note: string, action = 'Reconcile'): Promise<void> {
    // By reason, not by note: one outage fails with varying texts (refused, timed out, retries
    // exhausted), and each would otherwise be an event of its own.
    const dedupKey = `${pipeline.metadata.uid}|${reason}`;
    const now = Date.now();
    if (type === 'Warning') {
      const last = this.recent.get(dedupKey);
      if (last !== undefined && now - last < this.repeatMs) return;
      this.recent.set(dedupKey, now);
      if (this.recent.size > 10_000) this.recent.clear();
    }
    const event: KubeObject = {
      apiVersion: EVENT.apiVersion,
      kind: EVENT.kind,
      // client-go's naming: <object>.<hex time>; a random tail keeps two events in one millisecond apart.
      metadata: { name: `${pipeline.metadata.name}.${now.toString(16)}${crypto.randomBytes(3).toString('hex')}`, namespace: namespaceOf(pipeline) },
      eventTime: microTime(new Date(now)),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance.slice(0, 128),
      action,
      reason,
      note: note.slice(0, 1024),
      type,
      regarding: { apiVersion: pipeline.apiVersion, kind: pipeline.kind, name: pipeline.metadata.name, namespace: namespaceOf(pipeline), uid: pipeline.metadata.uid, resourceVersion: pipeline.metadata.resourceVersion },
    };
    await this.kube.create(EVENT, namespaceOf(pipeline), event).catch(this.onError);
  }

  /** Forget suppressed failures of a pipeline once it is healthy again, so the next outage is recorded. */
  clear(pipeline: AdPipeline): void {
    const prefix = `${pipeline.metadata.uid}|`;
    for (const key of this.recent.keys()) if (key.startsWith(prefix)) this.recent.delete(key);
  }
}
