import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus, V1Probe } from '@kubernetes/client-node';
import { freePort } from '../stack/ports.js';
import { MaterializeError, type VolumeSources } from './materialize.js';
import { attachPodNetwork, type PodNetwork } from './pod-network.js';
import type { ContainerRuntime, RunningContainer, ServiceAccountAccess } from './runtime.js';
import { volumeDir, writeVolumes } from './volumes.js';

/**
 * Runs one Pod's containers the way a kubelet would: files for its volumes, probes, restarts per
 * restartPolicy with back-off, graceful termination, and a PodStatus that the agent reports to the
 * API server. How a container runs (a local process, or a podman container) is the runtime's part.
 */

interface ContainerState {
  spec: V1Container;
  running?: RunningContainer;
  /** Between asking the runtime to start it and its answer. */
  starting: boolean;
  startedAt?: string;
  ready: boolean;
  restartCount: number;
  readinessOk: number;
  readinessFail: number;
  livenessFail: number;
  waiting?: { reason: string; message?: string };
  terminated?: { exitCode: number; signal?: number; reason: string; startedAt?: string; finishedAt: string };
  lastTerminated?: { exitCode: number; reason: string; startedAt?: string; finishedAt: string };
  nextStartAt: number;
  probeTimers: NodeJS.Timeout[];
}

export class PodRunner {
  readonly hostPorts: Record<string, number> = {};
  private readonly containers: ContainerState[];
  private readonly startTime = new Date().toISOString();
  private stopping = false;
  private supervisor?: NodeJS.Timeout;
  private serviceAccount?: ServiceAccountAccess;
  private network?: PodNetwork;

  constructor(
    private pod: V1Pod,
    private readonly dir: string,
    private readonly runtime: ContainerRuntime,
    private readonly onChange: () => void,
  ) {
    this.containers = (pod.spec?.containers ?? []).map((spec) => ({ spec, starting: false, ready: false, restartCount: 0, readinessOk: 0, readinessFail: 0, livenessFail: 0, nextStartAt: 0, probeTimers: [] }));
  }

  get uid(): string {
    return this.pod.metadata!.uid!;
  }

  /**
   * Writes the volumes, picks host ports, and starts every container. `serviceAccount` is the Pod's
   * identity, which the runtime hands to each container its own way.
   */
  async start(sources: VolumeSources, serviceAccount?: ServiceAccountAccess): Promise<void> {
    this.serviceAccount = serviceAccount;
    fs.mkdirSync(this.dir, { recursive: true });
    for (const container of this.containers) {
      for (const port of container.spec.ports ?? []) if (port.name) this.hostPorts[port.name] = await freePort();
    }
    const forwarded = this.containers.flatMap((c) => (c.spec.ports ?? []).filter((p) => p.name).map((p) => ({ containerPort: p.containerPort, hostPort: this.hostPorts[p.name!]! })));
    if (forwarded.length) this.network = await attachPodNetwork(forwarded);
    try {
      writeVolumes(this.pod, this.dir, sources);
    } catch (error) {
      this.failAll(error);
      return;
    }
    await Promise.all(this.containers.map((container) => this.launch(container, sources)));
    this.supervisor = setInterval(() => this.supervise(sources), 500);
  }

  private failAll(error: unknown): void {
    const reason = error instanceof MaterializeError ? error.reason : 'CreateContainerError';
    for (const container of this.containers) container.waiting = { reason, message: error instanceof Error ? error.message : String(error) };
    this.onChange();
  }

  private async launch(container: ContainerState, sources: VolumeSources): Promise<void> {
    container.starting = true;
    let running: RunningContainer;
    try {
      const ports = Object.fromEntries((container.spec.ports ?? []).filter((p) => p.name).map((p) => [p.name!, this.hostPorts[p.name!]!]));
      running = await this.runtime.start({
        pod: this.pod,
        container: container.spec,
        sources,
        volumeDir: (name) => volumeDir(this.dir, name),
        hostPorts: ports,
        serviceAccount: this.serviceAccount,
        restartCount: container.restartCount,
        podDir: this.dir,
        logFile: path.join(this.dir, `${container.spec.name}.log`),
      });
    } catch (error) {
      container.starting = false;
      container.waiting = { reason: error instanceof MaterializeError ? error.reason : 'CreateContainerError', message: error instanceof Error ? error.message : String(error) };
      this.onChange();
      return;
    }
    container.starting = false;
    container.running = running;
    container.startedAt = new Date().toISOString();
    container.waiting = undefined;
    container.terminated = undefined;
    container.ready = !container.spec.readinessProbe;
    container.readinessOk = 0;
    container.readinessFail = 0;
    container.livenessFail = 0;
    running.onExit((exit) => {
      for (const timer of container.probeTimers) clearTimeout(timer);
      container.probeTimers = [];
      container.running = undefined;
      container.ready = false;
      const finishedAt = new Date().toISOString();
      container.terminated = { exitCode: exit.exitCode, signal: exit.signal, reason: exit.exitCode === 0 ? 'Completed' : 'Error', startedAt: container.startedAt, finishedAt };
      if (exit.startError) container.waiting = { reason: 'RunContainerError', message: exit.startError };
      const backoffMs = Math.min(300_000, 1000 * 2 ** Math.min(container.restartCount, 8));
      container.nextStartAt = Date.now() + backoffMs;
      this.onChange();
    });
    // A stop that began while the runtime was starting it: this container stops too.
    if (this.stopping) running.signal('SIGTERM');
    this.scheduleProbe(container, container.spec.readinessProbe, 'readiness');
    this.scheduleProbe(container, container.spec.livenessProbe, 'liveness');
    this.onChange();
  }

  /** Restarts exited containers per restartPolicy, after their back-off. */
  private supervise(sources: VolumeSources): void {
    if (this.stopping) return;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    for (const container of this.containers) {
      if (container.running || container.starting || !container.terminated || Date.now() < container.nextStartAt) continue;
      const restart = policy === 'Always' || (policy === 'OnFailure' && container.terminated.exitCode !== 0);
      if (!restart) continue;
      container.lastTerminated = { ...container.terminated };
      container.restartCount += 1;
      void this.launch(container, sources);
    }
  }

  private scheduleProbe(container: ContainerState, probe: V1Probe | undefined, kind: 'readiness' | 'liveness'): void {
    if (!probe) return;
    const running = container.running;
    const run = async () => {
      if (this.stopping || container.running !== running) return;
      const ok = await this.probeOnce(container, probe);
      if (container.running !== running) return;
      if (kind === 'readiness') {
        if (ok) {
          container.readinessFail = 0;
          container.readinessOk += 1;
          if (!container.ready && container.readinessOk >= (probe.successThreshold ?? 1)) {
            container.ready = true;
            this.onChange();
          }
        } else {
          container.readinessOk = 0;
          container.readinessFail += 1;
          if (container.ready && container.readinessFail >= (probe.failureThreshold ?? 3)) {
            container.ready = false;
            this.onChange();
          }
        }
      } else if (ok) {
        container.livenessFail = 0;
      } else if (++container.livenessFail >= (probe.failureThreshold ?? 3)) {
        // As the kubelet does: a container that fails liveness is killed and restarted.
        running?.signal('SIGKILL');
        return;
      }
      container.probeTimers.push(setTimeout(run, (probe.periodSeconds ?? 10) * 1000));
    };
    container.probeTimers.push(setTimeout(run, (probe.initialDelaySeconds ?? 0) * 1000));
  }

  private probeOnce(container: ContainerState, probe: V1Probe): Promise<boolean> {
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    const portOf = (port: number | string | undefined) => {
      if (typeof port === 'string') return this.hostPorts[port];
      const named = (container.spec.ports ?? []).find((p) => p.containerPort === port && p.name);
      return named ? this.hostPorts[named.name!] : port;
    };
    if (probe.httpGet) {
      const port = portOf(probe.httpGet.port as number | string);
      return new Promise((resolve) => {
        // scheme HTTPS: as a kubelet, without verifying the certificate.
        const get = probe.httpGet!.scheme === 'HTTPS' ? (o: https.RequestOptions, cb: (r: http.IncomingMessage) => void) => https.get({ ...o, rejectUnauthorized: false }, cb) : http.get;
        const request = get({ host: '127.0.0.1', port, path: probe.httpGet!.path ?? '/', timeout: timeoutMs }, (response) => {
          response.resume();
          resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 400);
        });
        request.on('timeout', () => request.destroy());
        request.on('error', () => resolve(false));
      });
    }
    if (probe.tcpSocket) {
      const port = portOf(probe.tcpSocket.port as number | string);
      return new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
        socket.setTimeout(timeoutMs, () => (socket.destroy(), resolve(false)));
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
    }
    return Promise.resolve(true);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves when every container has exited. */
  async stop(gracePeriodSeconds = this.pod.spec?.terminationGracePeriodSeconds ?? 30): Promise<void> {
    this.stopping = true;
    if (this.supervisor) clearInterval(this.supervisor);
    // A container still starting is signalled by launch() once it runs (it sees `stopping`).
    const alive = () => this.containers.some((c) => c.running || c.starting);
    for (const container of this.containers) container.running?.signal('SIGTERM');
    const deadline = Date.now() + gracePeriodSeconds * 1000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Again every 2 s: a container whose start finished after the first kill needs one too.
    for (let tick = 0; alive(); tick++) {
      if (tick % 40 === 0) for (const container of this.containers) container.running?.signal('SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const container of this.containers) for (const timer of container.probeTimers) clearTimeout(timer);
    await this.network?.close();
  }

  /** The PodStatus a kubelet would report now. */
  status(previous: V1PodStatus | undefined): V1PodStatus {
    const statuses: V1ContainerStatus[] = this.containers.map((c) => ({
      name: c.spec.name,
      image: c.spec.image ?? '',
      imageID: '',
      containerID: c.running?.containerId(),
      ready: c.ready,
      started: !!c.running,
      restartCount: c.restartCount,
      state: c.running
        ? { running: { startedAt: toDate(c.startedAt) } }
        : c.waiting
          ? { waiting: c.waiting }
          : c.terminated
            ? this.pod.spec?.restartPolicy === 'Never' || this.stopping
              ? { terminated: { ...c.terminated, startedAt: toDate(c.terminated.startedAt), finishedAt: toDate(c.terminated.finishedAt) } }
              : { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.spec.name}` } }
            : { waiting: { reason: 'ContainerCreating' } },
      lastState: c.lastTerminated ? { terminated: { ...c.lastTerminated, startedAt: toDate(c.lastTerminated.startedAt), finishedAt: toDate(c.lastTerminated.finishedAt) } } : {},
    }));
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready);
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const exited = this.containers.every((c) => !c.running && c.terminated);
    const phase =
      policy !== 'Always' && exited
        ? this.containers.every((c) => c.terminated!.exitCode === 0)
          ? 'Succeeded'
          : policy === 'Never'
            ? 'Failed'
            : 'Running'
        : this.containers.some((c) => c.running || c.terminated)
          ? 'Running'
          : 'Pending';
    const condition = (type: string, status: boolean): V1PodCondition => {
      const before = previous?.conditions?.find((c) => c.type === type);
      const value = status ? 'True' : 'False';
      return { type, status: value, lastTransitionTime: before?.status === value && before.lastTransitionTime ? before.lastTransitionTime : new Date() };
    };
    return {
      phase,
      conditions: [condition('PodScheduled', true), condition('Initialized', true), condition('ContainersReady', allReady), condition('Ready', allReady)],
      containerStatuses: statuses,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: this.network?.ip ?? '127.0.0.1',
      podIPs: [{ ip: this.network?.ip ?? '127.0.0.1' }],
      startTime: toDate(this.startTime),
      qosClass: previous?.qosClass,
    };
  }
}

const toDate = (iso: string | undefined) => (iso ? new Date(iso) : undefined);
