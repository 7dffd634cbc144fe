import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { CRD_NAME } from '../api/v1alpha1/index.js';
import { isNotFound } from './controller/kube.js';

/**
 * Whether the AdPipeline CRD is served. The operator never installs it (a person or the Helm chart
 * does), so where it is missing the AdPipeline list answers a bare 404: this turns that into one
 * plain log line, a failing readiness probe and a gauge, and says so again once the CRD appears
 * (the informer keeps listing with backoff, so it is picked up without a restart).
 */
export const CRD_MISSING_MESSAGE = `CustomResourceDefinition ${CRD_NAME} is not installed: apply crds/${CRD_NAME}.yaml (kubectl apply --server-side -f crds/${CRD_NAME}.yaml) or install the Helm chart; waiting for it`;

export class CrdPresence {
  private state: 'unknown' | 'missing' | 'installed' = 'unknown';
  private readonly gauge: Gauge;

  constructor(
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.gauge = new Gauge({ name: 'adpipe_operator_crd_installed', help: `1 when the ${CRD_NAME} CRD is served, 0 when it is missing, -1 before the first answer`, registers: [registry] });
    this.gauge.set(-1);
  }

  get missing(): boolean {
    return this.state === 'missing';
  }

  /** Feeds the AdPipeline informer's errors; true when the error meant "CRD missing". */
  failed(error: unknown): boolean {
    if (!isNotFound(error)) return false;
    if (this.state !== 'missing') this.log.error({ crd: CRD_NAME }, CRD_MISSING_MESSAGE);
    this.state = 'missing';
    this.gauge.set(0);
    return true;
  }

  listed(): void {
    if (this.state === 'missing') this.log.info({ crd: CRD_NAME }, `CustomResourceDefinition ${CRD_NAME} is installed now; reconciling`);
    this.state = 'installed';
    this.gauge.set(1);
  }
}
