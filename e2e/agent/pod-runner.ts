import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus, V1Probe } from '@kubernetes/client-node';
import { freePort } from '../stack/ports.js';
import { signalGroup } from '../stack/proc.js';
import { MaterializeError, mountTable, processSpec, volumeFiles, type VolumeSources } from './materialize.js';

/**
 * Runs one Pod's containers as local processes, the way a kubelet would: files for its volumes,
 * probes, restarts per restartPolicy with back-off, graceful termination, and a PodStatus that the
 * agent reports to the API server.
 */

interface ContainerState {
  spec: V1Container;
  child?: ChildProcess;
  pid?: number;
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
  private platformEnv: Record<string, string> = {};

  constructor(
    private pod: V1Pod,
    private readonly dir: string,
    private readonly workdir: string,
    private readonly onChange: () => void,
  ) {
    this.containers = (pod.spec?.containers ?? []).map((spec) => ({ spec, ready: false, restartCount: 0, readinessOk: 0, readinessFail: 0, livenessFail: 0, nextStartAt: 0, probeTimers: [] }));
  }

  get uid(): string {
    return this.pod.metadata!.uid!;
  }

  /**
   * Writes the volumes, picks host ports, and starts every container. `platformEnv` is what the
   * node provides beside the Pod's own env (e.g. KUBECONFIG for the service account).
   */
  async start(sources: VolumeSources, platformEnv: Record<string, string> = {}): Promise<void> {
    this.platformEnv = platformEnv;
    fs.mkdirSync(this.dir, { recursive: true });
    for (const container of this.containers) {
      for (const port of container.spec.ports ?? []) if (port.name) this.hostPorts[port.name] = await freePort();
    }
    try {
      for (const volume of this.pod.spec?.volumes ?? []) {
        const volumeDir = path.join(this.dir, 'volumes', volume.name);
        fs.rmSync(volumeDir, { recursive: true, force: true });
        fs.mkdirSync(volumeDir, { recursive: true });
        for (const file of volumeFiles(volume, sources)) {
          fs.mkdirSync(path.dirname(path.join(volumeDir, file.path)), { recursive: true });
          fs.writeFileSync(path.join(volumeDir, file.path), file.content, { mode: file.mode });
        }
      }
    } catch (error) {
      this.failAll(error);
      return;
    }
    for (const container of this.containers) this.launch(container, sources);
    this.supervisor = setInterval(() => this.supervise(sources), 500);
  }

  private failAll(error: unknown): void {
    const reason = error instanceof MaterializeError ? error.reason : 'CreateContainerError';
    for (const container of this.containers) container.waiting = { reason, message: error instanceof Error ? error.message : String(error) };
    this.onChange();
  }

  private launch(container: ContainerState, sources: VolumeSources): void {
    let spec;
    try {
      const mounts = mountTable(container.spec, (name) => path.join(this.dir, 'volumes', name));
      const ports = Object.fromEntries((container.spec.ports ?? []).filter((p) => p.name).map((p) => [p.name!, this.hostPorts[p.name!]!]));
      spec = processSpec(this.pod, container.spec, sources, mounts, ports, process.execPath);
    } catch (error) {
      container.waiting = { reason: error instanceof MaterializeError ? error.reason : 'CreateContainerError', message: error instanceof Error ? error.message : String(error) };
      this.onChange();
      return;
    }
    const log = fs.openSync(path.join(this.dir, `${container.spec.name}.log`), 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: this.workdir,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...this.platformEnv, ...spec.env },
      stdio: ['ignore', log, log],
      detached: true,
    });
    fs.closeSync(log);
    container.child = child;
    container.pid = child.pid;
    container.startedAt = new Date().toISOString();
    container.waiting = undefined;
    container.terminated = undefined;
    container.ready = !container.spec.readinessProbe;
    container.readinessOk = 0;
    container.readinessFail = 0;
    container.livenessFail = 0;
    child.once('error', (error) => {
      container.waiting = { reason: 'RunContainerError', message: error.message };
      this.onChange();
    });
    child.once('exit', (code, signal) => {
      for (const timer of container.probeTimers) clearTimeout(timer);
      container.probeTimers = [];
      container.child = undefined;
      container.ready = false;
      const finishedAt = new Date().toISOString();
      const signalNumber = signal ? (signalNumbers[signal] ?? 15) : undefined;
      const exitCode = code ?? 128 + (signalNumber ?? 0);
      container.terminated = { exitCode, signal: signalNumber, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: container.startedAt, finishedAt };
      const backoffMs = Math.min(300_000, 1000 * 2 ** Math.min(container.restartCount, 8));
      container.nextStartAt = Date.now() + backoffMs;
      this.onChange();
    });
    this.scheduleProbe(container, container.spec.readinessProbe, 'readiness');
    this.scheduleProbe(container, container.spec.livenessProbe, 'liveness');
    this.onChange();
  }

  /** Restarts exited containers per restartPolicy, after their back-off. */
  private supervise(sources: VolumeSources): void {
    if (this.stopping) return;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    for (const container of this.containers) {
      if (container.child || !container.terminated || Date.now() < container.nextStartAt) continue;
      const restart = policy === 'Always' || (policy === 'OnFailure' && container.terminated.exitCode !== 0);
      if (!restart) continue;
      container.lastTerminated = { ...container.terminated };
      container.restartCount += 1;
      this.launch(container, sources);
    }
  }

  private scheduleProbe(container: ContainerState, probe: V1Probe | undefined, kind: 'readiness' | 'liveness'): void {
    if (!probe) return;
    const child = container.child;
    const run = async () => {
      if (this.stopping || container.child !== child) return;
      const ok = await this.probeOnce(container, probe);
      if (container.child !== child) return;
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
        if (container.pid) signalGroup(container.pid, 'SIGKILL');
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
        const request = http.get({ host: '127.0.0.1', port, path: probe.httpGet!.path ?? '/', timeout: timeoutMs }, (response) => {
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

  /** SIGTERM, then SIGKILL after the grace period; resolves when every process has exited. */
  async stop(gracePeriodSeconds = this.pod.spec?.terminationGracePeriodSeconds ?? 30): Promise<void> {
    this.stopping = true;
    if (this.supervisor) clearInterval(this.supervisor);
    const running = this.containers.filter((c) => c.child);
    for (const container of running) if (container.pid) signalGroup(container.pid, 'SIGTERM');
    const deadline = Date.now() + gracePeriodSeconds * 1000;
    while (running.some((c) => c.child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const container of running) if (container.child && container.pid) signalGroup(container.pid, 'SIGKILL');
    while (running.some((c) => c.child)) await new Promise((r) => setTimeout(r, 50));
    for (const container of this.containers) for (const timer of container.probeTimers) clearTimeout(timer);
  }

  /** The PodStatus a kubelet would report now. */
  status(previous: V1PodStatus | undefined): V1PodStatus {
    const statuses: V1ContainerStatus[] = this.containers.map((c) => ({
      name: c.spec.name,
      image: c.spec.image ?? '',
      imageID: '',
      containerID: c.pid ? `process://${c.pid}` : undefined,
      ready: c.ready,
      started: !!c.child,
      restartCount: c.restartCount,
      state: c.child
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
    const exited = this.containers.every((c) => !c.child && c.terminated);
    const phase =
      policy !== 'Always' && exited
        ? this.containers.every((c) => c.terminated!.exitCode === 0)
          ? 'Succeeded'
          : policy === 'Never'
            ? 'Failed'
            : 'Running'
        : this.containers.some((c) => c.child || c.terminated)
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
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: toDate(this.startTime),
      qosClass: previous?.qosClass,
    };
  }
}

const toDate = (iso: string | undefined) => (iso ? new Date(iso) : undefined);
const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
