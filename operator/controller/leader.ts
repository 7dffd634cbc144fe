import { isConflict, isNotFound, type KubeClient, type KubeObject, type ResourceType } from './kube.js';

/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection semantics): a
 * candidate takes the Lease when it is free or its holder has not renewed within the lease
 * duration, renews it every `renewMs`, and gives it up on stop so a successor need not wait. Every
 * write carries the resourceVersion it read, so two candidates can never both win: the loser of the
 * race gets 409 Conflict. A leader that cannot renew before its lease runs out stops leading
 * (`onStoppedLeading`) before anyone else can take over.
 */

export const LEASE_TYPE: ResourceType = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true };

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseMs?: number;
  renewMs?: number;
  retryMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onError?(error: unknown): void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (date: Date): string => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private observed: { holder?: string; renewTime?: string; seenAt: number } | undefined;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.renewMs = options.renewMs ?? 10_000;
    this.retryMs = options.retryMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops and, when leading, releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((error: unknown) => this.options.onError?.(error));
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (error) {
        this.options.onError?.(error);
      }
      if (ok) {
        this.lastRenew = Date.now();
        this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenew >= this.renewDeadlineMs()) {
        // Could not renew in time: stop before the lease can expire for the others.
        this.setLeading(false);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, Math.max(100, ok ? this.renewMs : this.retryMs));
      });
    }
  }

  /** Failing renewals keep leadership only while the lease certainly still holds. */
  private renewDeadlineMs(): number {
    return Math.max(this.renewMs, this.leaseMs - this.retryMs);
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new Date();
    const leaseSeconds = Math.ceil(this.leaseMs / 1000);
    const current = await this.client.find<Lease>(LEASE_TYPE, namespace, name);
    if (!current) {
      try {
        await this.client.create<Lease>(LEASE_TYPE, namespace, {
          apiVersion: LEASE_TYPE.apiVersion,
          kind: LEASE_TYPE.kind,
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (error) {
        if (isConflict(error) || (error as { status?: number }).status === 409) return false;
        throw error;
      }
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    // Expiry is judged on this process's clock from when it last saw the record change (client-go
    // does the same), never by comparing clocks across machines.
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== (spec.renewTime ?? undefined)) {
      this.observed = { holder, renewTime: spec.renewTime ?? undefined, seenAt: Date.now() };
    }
    const durationMs = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    const expired = !holder || Date.now() - this.observed.seenAt >= durationMs;
    if (holder !== identity && !expired) return false;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: leaseSeconds,
        renewTime: microTime(now),
        acquireTime: holder === identity ? spec.acquireTime : microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      },
    };
    try {
      const written = await this.client.replace<Lease>(LEASE_TYPE, next);
      this.observed = { holder: identity, renewTime: written.spec?.renewTime ?? undefined, seenAt: Date.now() };
      return true;
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) return false;
      throw error;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const current = await this.client.find<Lease>(LEASE_TYPE, namespace, name);
    if (!current || current.spec?.holderIdentity !== identity) return;
    await this.client
      .replace<Lease>(LEASE_TYPE, { ...current, spec: { ...current.spec, holderIdentity: null, acquireTime: null, renewTime: null, leaseDurationSeconds: 1 } })
      .catch((error: unknown) => {
        if (!isConflict(error)) throw error;
      });
  }
}
