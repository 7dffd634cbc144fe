import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import { KubeletStreams } from './kubelet-streams.js';
import { PodRunner } from './pod-runner.js';
import type { VolumeSources } from './materialize.js';
import { PodmanRuntime } from './podman-runtime.js';
import { ProcessRuntime } from './process-runtime.js';
import type { ContainerRuntime, RuntimeName, ServiceAccountAccess } from './runtime.js';

/**
 * A node agent for the local stack: it registers a Node, binds pending Pods of the namespaces it
 * serves to that Node (the scheduler's job, trivially), and runs them (the kubelet's job) as local
 * processes or as podman containers of their image, reporting their status through the API server.
 * The virtual-kubelet idea, so that Deployment → ReplicaSet → Pod → readyReplicas is real without
 * Docker.
 */

export interface AgentOptions {
  kubeconfig: string;
  nodeName: string;
  /** Namespaces whose Pods this agent schedules and runs; others are left alone. */
  namespaces: string[];
  /** Where pod directories (volumes, logs) go. */
  dir: string;
  /** Working directory of every process: the repository root stands in for the image's /app. */
  workdir: string;
  /** `process` (default): containers as local processes; `podman`: real containers of their image. */
  runtime?: RuntimeName;
  /**
   * A Prometheus file_sd file the agent keeps listing its running Pods' `http` ports (what a
   * PodMonitor finds through a kubelet's Pod IPs), labelled namespace, pod, pipeline (adpipe.io/pipeline)
   * and job (app.kubernetes.io/name).
   */
  scrapeTargetsFile?: string;
  /**
   * Serve the kubelet's port-forward endpoint with this certificate (PEM), so `kubectl port-forward`
   * and the API server's pods/portforward reach this agent's Pods (decision 0122); unset: none.
   */
  kubeletTls?: { cert: string; key: string };
  log?: (line: string) => void;
}

export const HOST_PORTS_ANNOTATION = 'adpipe.io/host-ports';

export class NodeAgent {
  private readonly core: k8s.CoreV1Api;
  private readonly cluster: { server: string; caData: string };
  private readonly runners = new Map<string, { runner: PodRunner; pod: V1Pod; reported?: string; stopping?: boolean }>();
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private ticking = false;
  private dirty = false;
  private stopped = false;
  private readonly log: (line: string) => void;
  private readonly runtime: ContainerRuntime;
  private writtenTargets = '';
  private streams?: KubeletStreams;
  private kubeletPort = 0;

  constructor(private readonly options: AgentOptions) {
    this.runtime = options.runtime === 'podman' ? new PodmanRuntime(options.nodeName) : new ProcessRuntime(options.workdir);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(options.kubeconfig);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    const cluster = kc.getCurrentCluster();
    this.cluster = { server: cluster?.server ?? '', caData: cluster?.caData ?? (cluster?.caFile ? fs.readFileSync(cluster.caFile).toString('base64') : '') };
    this.log = options.log ?? (() => undefined);
  }

  async start(): Promise<void> {
    await this.runtime.cleanUp();
    if (this.options.kubeletTls) {
      this.streams = new KubeletStreams(this.options.kubeletTls, (namespace, pod, port) => this.hostPort(namespace, pod, port), this.log);
      this.kubeletPort = await this.streams.listen();
    }
    await this.registerNode();
    this.heartbeat = setInterval(() => void this.reportNodeReady().catch((e: unknown) => this.log(`node heartbeat failed: ${String(e)}`)), 10_000);
    const loop = async () => {
      await this.tick().catch((error: unknown) => this.log(`sync failed: ${error instanceof Error ? error.message : String(error)}`));
      if (!this.stopped) this.timer = setTimeout(loop, this.dirty ? 50 : 500);
    };
    await loop();
  }

  /** Stops every process (gracefully) and leaves the Node object for the next start to reuse. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.writeScrapeTargets(true);
    await this.streams?.close();
    await Promise.all([...this.runners.values()].map(({ runner }) => runner.stop(5)));
    this.runners.clear();
  }

  /** The host port behind a running Pod's container port (what a port-forward connects to). */
  private hostPort(namespace: string, name: string, containerPort: number): number | undefined {
    for (const { runner, pod, stopping } of this.runners.values()) {
      if (stopping || pod.metadata?.namespace !== namespace || pod.metadata?.name !== name) continue;
      const port = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.containerPort === containerPort);
      return port?.name ? runner.hostPorts[port.name] : undefined;
    }
    return undefined;
  }

  private nodeStatus(): k8s.V1NodeStatus {
    const now = new Date();
    return {
      ...(this.kubeletPort ? { daemonEndpoints: { kubeletEndpoint: { Port: this.kubeletPort } } } : {}),
      capacity: { cpu: '2', memory: '24Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '24Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'adpipe local node agent is running', lastHeartbeatTime: now, lastTransitionTime: now }],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: this.options.nodeName },
      ],
      nodeInfo: {
        architecture: process.arch,
        operatingSystem: 'linux',
        kubeletVersion: 'adpipe-agent',
        kubeProxyVersion: '',
        containerRuntimeVersion: this.runtime.describe.runtimeVersion,
        bootID: '',
        kernelVersion: '',
        machineID: '',
        osImage: this.runtime.describe.osImage,
        systemUUID: '',
      },
    };
  }

  private async registerNode(): Promise<void> {
    const exists = await this.core.readNode({ name: this.options.nodeName }).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await this.core.createNode({ body: { metadata: { name: this.options.nodeName, labels: { 'kubernetes.io/hostname': this.options.nodeName, 'adpipe.io/local-agent': 'true' } }, status: this.nodeStatus() } });
    }
    await this.reportNodeReady();
  }

  private async reportNodeReady(): Promise<void> {
    await this.core.patchNodeStatus({ name: this.options.nodeName, body: [{ op: 'replace', path: '/status', value: this.nodeStatus() }] });
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    this.dirty = false;
    try {
      const pods = (await Promise.all(this.options.namespaces.map((namespace) => this.core.listNamespacedPod({ namespace })))).flatMap((list) => list.items);
      const seen = new Set<string>();
      for (const pod of pods) {
        const uid = pod.metadata!.uid!;
        if (!pod.spec?.nodeName) {
          if (!pod.metadata?.deletionTimestamp) await this.bind(pod);
          continue;
        }
        if (pod.spec.nodeName !== this.options.nodeName) continue;
        seen.add(uid);
        const entry = this.runners.get(uid);
        if (pod.metadata?.deletionTimestamp) {
          await this.terminate(pod, entry);
          continue;
        }
        if (!entry) {
          if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
          await this.run(pod);
        } else {
          entry.pod = pod;
          await this.report(uid);
        }
      }
      // Pods deleted outright (grace 0) or moved away: their processes go too.
      for (const [uid, entry] of this.runners) {
        if (!seen.has(uid) && !entry.stopping) {
          entry.stopping = true;
          void entry.runner.stop(0).then(() => this.runners.delete(uid));
        }
      }
      this.writeScrapeTargets();
    } finally {
      this.ticking = false;
    }
  }

  /** Rewrites the file_sd file when the set of running Pods with an `http` port changed (atomically: Prometheus may read it any time). */
  private writeScrapeTargets(remove = false): void {
    const file = this.options.scrapeTargetsFile;
    if (!file) return;
    if (remove) return void fs.rmSync(file, { force: true });
    const targets = [...this.runners.values()]
      .filter(({ runner, stopping, pod }) => !stopping && !pod.metadata?.deletionTimestamp && runner.hostPorts['http'] !== undefined)
      .map(({ runner, pod }) => ({
        targets: [`127.0.0.1:${runner.hostPorts['http']}`],
        labels: { namespace: pod.metadata!.namespace!, pod: pod.metadata!.name!, pipeline: pod.metadata?.labels?.['adpipe.io/pipeline'] ?? '', job: pod.metadata?.labels?.['app.kubernetes.io/name'] ?? 'pods' },
      }));
    const text = JSON.stringify(targets, null, 1);
    if (text === this.writtenTargets) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
    this.writtenTargets = text;
  }

  private async bind(pod: V1Pod): Promise<void> {
    const { name, namespace } = pod.metadata as { name: string; namespace: string };
    await this.core
      .createNamespacedPodBinding({ name, namespace, body: { metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: this.options.nodeName } } })
      .then(
        () => {
          this.log(`bound ${namespace}/${name} to ${this.options.nodeName}`);
          this.dirty = true;
        },
        (error: unknown) => this.log(`binding ${namespace}/${name} failed: ${String(error)}`),
      );
  }

  private async sources(pod: V1Pod): Promise<VolumeSources> {
    const namespace = pod.metadata!.namespace!;
    const configMapNames = new Set<string>();
    const secretNames = new Set<string>();
    for (const volume of pod.spec?.volumes ?? []) {
      if (volume.configMap?.name) configMapNames.add(volume.configMap.name);
      if (volume.secret?.secretName) secretNames.add(volume.secret.secretName);
      for (const source of volume.projected?.sources ?? []) {
        if (source.configMap?.name) configMapNames.add(source.configMap.name);
        if (source.secret?.name) secretNames.add(source.secret.name);
      }
    }
    for (const container of pod.spec?.containers ?? []) {
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef?.name) configMapNames.add(from.configMapRef.name);
        if (from.secretRef?.name) secretNames.add(from.secretRef.name);
      }
      for (const env of container.env ?? []) {
        if (env.valueFrom?.configMapKeyRef?.name) configMapNames.add(env.valueFrom.configMapKeyRef.name);
        if (env.valueFrom?.secretKeyRef?.name) secretNames.add(env.valueFrom.secretKeyRef.name);
      }
    }
    const configMaps = new Map<string, V1ConfigMap>();
    const secrets = new Map<string, V1Secret>();
    for (const name of configMapNames) {
      const cm = await this.core.readNamespacedConfigMap({ name, namespace }).catch(() => undefined);
      if (cm) configMaps.set(name, cm);
    }
    for (const name of secretNames) {
      const secret = await this.core.readNamespacedSecret({ name, namespace }).catch(() => undefined);
      if (secret) secrets.set(name, secret);
    }
    return { configMaps, secrets };
  }

  private async run(pod: V1Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    const dir = path.join(this.options.dir, 'pods', `${namespace}_${name}_${uid.slice(0, 8)}`);
    const runner = new PodRunner(pod, dir, this.runtime, () => {
      this.dirty = true;
    });
    this.runners.set(uid, { runner, pod });
    const identity = await this.serviceAccount(pod, dir);
    await runner.start({ ...(await this.sources(pod)), serviceAccountToken: identity?.token }, identity?.access);
    if (Object.keys(runner.hostPorts).length) {
      const value = JSON.stringify(runner.hostPorts);
      const patch = pod.metadata?.annotations
        ? [{ op: 'add', path: `/metadata/annotations/${HOST_PORTS_ANNOTATION.replace('/', '~1')}`, value }]
        : [{ op: 'add', path: '/metadata/annotations', value: { [HOST_PORTS_ANNOTATION]: value } }];
      await this.core.patchNamespacedPod({ name, namespace, body: patch }).catch((error: unknown) => this.log(`annotating ${namespace}/${name} failed: ${String(error)}`));
    }
    this.log(`started ${namespace}/${name} in ${dir}`);
    await this.report(uid);
  }

  /**
   * A Pod's service-account token, from the TokenRequest API and bound to the Pod, so the Pod acts
   * with exactly the RBAC its ServiceAccount has. Containers get it in the Pod's projected volume as
   * a kubelet gives it; processes also get a kubeconfig, having no /var/run/secrets of their own.
   */
  private async serviceAccount(pod: V1Pod, dir: string): Promise<{ token: string; access: ServiceAccountAccess } | undefined> {
    if (pod.spec?.automountServiceAccountToken === false) return undefined;
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const request = await this.core
      .createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: { spec: { audiences: [], expirationSeconds: 24 * 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid } } },
      })
      .catch((error: unknown) => {
        this.log(`token for ${namespace}/${serviceAccount} failed: ${String(error)}`);
        return undefined;
      });
    const token = request?.status?.token;
    if (!token) return undefined;
    const file = path.join(dir, 'serviceaccount', 'kubeconfig');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: this.cluster.server, 'certificate-authority-data': this.cluster.caData } }],
      users: [{ name: `system:serviceaccount:${namespace}:${serviceAccount}`, user: { token } }],
      contexts: [{ name: 'pod', context: { cluster: 'local', user: `system:serviceaccount:${namespace}:${serviceAccount}`, namespace } }],
      'current-context': 'pod',
    };
    fs.writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
    return { token, access: { kubeconfig: file, server: this.cluster.server } };
  }

  private async report(uid: string): Promise<void> {
    const entry = this.runners.get(uid);
    if (!entry || entry.stopping) return;
    const status = entry.runner.status(entry.pod.status);
    const comparable = JSON.stringify({ ...status, conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
    if (comparable === entry.reported) return;
    const { name, namespace } = entry.pod.metadata as { name: string; namespace: string };
    await this.core.patchNamespacedPodStatus({ name, namespace, body: [{ op: 'replace', path: '/status', value: status }] }).then(
      () => {
        entry.reported = comparable;
      },
      (error: unknown) => this.log(`status of ${namespace}/${name} failed: ${String(error)}`),
    );
  }

  /** Graceful termination, then the final delete with grace 0 (what a kubelet does). */
  private async terminate(pod: V1Pod, entry: { runner: PodRunner; stopping?: boolean } | undefined): Promise<void> {
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    if (entry?.stopping) return;
    if (entry) entry.stopping = true;
    const finish = async () => {
      await entry?.runner.stop(pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
      // With a body, the API server ignores query parameters: the grace period must be in the body.
      await this.core.deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } }).catch((error: unknown) => this.log(`final delete of ${namespace}/${name} failed: ${String(error)}`));
      this.runners.delete(uid);
      this.log(`stopped ${namespace}/${name}`);
    };
    void finish();
  }
}
