import type { V1ConfigMap, V1Container, V1EnvVar, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';

/**
 * Pure part of running a Pod: which files each volume holds, the environment of each container,
 * and for local processes where each mount lands on this machine and the command line. The node
 * agent fetches ConfigMaps and Secrets and writes the files; everything here is data in, data out.
 */

export interface VolumeSources {
  configMaps: Map<string, V1ConfigMap>;
  secrets: Map<string, V1Secret>;
  /** The Pod's bound service-account token, for projected `serviceAccountToken` sources. */
  serviceAccountToken?: string;
}

export interface VolumeFile {
  /** Relative to the volume's directory. */
  path: string;
  content: Buffer;
  mode: number;
}

export class MaterializeError extends Error {
  constructor(
    readonly reason: 'CreateContainerConfigError' | 'ImageNotSupported' | 'ErrImageNeverPull',
    message: string,
  ) {
    super(message);
    this.name = 'MaterializeError';
  }
}

/**
 * Files of a ConfigMap, Secret, projected or emptyDir volume (other kinds hold nothing a container
 * here needs). The projected kind is how the API server gives every Pod its service account:
 * `kube-api-access-*` with the token, the cluster's CA (ConfigMap kube-root-ca.crt) and the namespace.
 */
export function volumeFiles(pod: V1Pod, volume: V1Volume, sources: VolumeSources): VolumeFile[] {
  if (volume.configMap) return configMapFiles(volume.configMap, sources, volume.configMap.defaultMode ?? 0o644);
  if (volume.secret) return secretFiles({ ...volume.secret, name: volume.secret.secretName }, sources, volume.secret.defaultMode ?? 0o600);
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? 0o644;
    return (volume.projected.sources ?? []).flatMap((source): VolumeFile[] => {
      if (source.configMap) return configMapFiles(source.configMap, sources, mode);
      if (source.secret) return secretFiles(source.secret, sources, mode);
      if (source.serviceAccountToken) {
        if (sources.serviceAccountToken === undefined) throw new MaterializeError('CreateContainerConfigError', `no service-account token for volume "${volume.name}"`);
        return [{ path: source.serviceAccountToken.path, content: Buffer.from(sources.serviceAccountToken, 'utf8'), mode }];
      }
      return (source.downwardAPI?.items ?? []).map((item) => ({ path: item.path, content: Buffer.from(item.fieldRef ? fieldValue(pod, item.fieldRef.fieldPath) : '', 'utf8'), mode: item.mode ?? mode }));
    });
  }
  return [];
}

type KeyItems = { key: string; path: string; mode?: number }[] | undefined;

function configMapFiles(ref: { name?: string; optional?: boolean; items?: KeyItems }, sources: VolumeSources, mode: number): VolumeFile[] {
  const cm = sources.configMaps.get(ref.name ?? '');
  if (!cm) {
    if (ref.optional) return [];
    throw new MaterializeError('CreateContainerConfigError', `configmap "${ref.name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(cm.data ?? {})) data[key] = Buffer.from(value, 'utf8');
  for (const [key, value] of Object.entries(cm.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
  return pick(data, ref.items, mode);
}

function secretFiles(ref: { name?: string; optional?: boolean; items?: KeyItems }, sources: VolumeSources, mode: number): VolumeFile[] {
  const secret = sources.secrets.get(ref.name ?? '');
  if (!secret) {
    if (ref.optional) return [];
    throw new MaterializeError('CreateContainerConfigError', `secret "${ref.name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = Buffer.from(value, 'utf8');
  return pick(data, ref.items, mode);
}

function pick(data: Record<string, Buffer>, items: { key: string; path: string; mode?: number }[] | undefined, mode: number): VolumeFile[] {
  if (!items?.length) return Object.entries(data).map(([key, content]) => ({ path: key, content, mode }));
  return items.map((item) => {
    const content = data[item.key];
    if (!content) throw new MaterializeError('CreateContainerConfigError', `key "${item.key}" not found for volume item ${item.path}`);
    return { path: item.path, content, mode: item.mode ?? mode };
  });
}

/** Mount path inside the "container" → directory or file on this machine. */
export function mountTable(container: V1Container, volumeDir: (volumeName: string) => string): [string, string][] {
  const table: [string, string][] = (container.volumeMounts ?? []).map((mount) => {
    const base = volumeDir(mount.name);
    return [mount.mountPath.replace(/\/+$/, ''), mount.subPath ? `${base}/${mount.subPath}` : base];
  });
  // Longest first, so /etc/adpipe/tls wins over /etc/adpipe.
  return table.sort((a, b) => b[0].length - a[0].length);
}

/** Rewrites container paths under a mount to where the files really are. */
export function rewritePath(value: string, mounts: [string, string][]): string {
  for (const [inside, outside] of mounts) {
    if (value === inside || value.startsWith(`${inside}/`)) return outside + value.slice(inside.length);
    const eq = value.indexOf('=');
    if (eq > 0) {
      const tail = value.slice(eq + 1);
      if (tail === inside || tail.startsWith(`${inside}/`)) return `${value.slice(0, eq + 1)}${outside}${tail.slice(inside.length)}`;
    }
  }
  return value;
}

export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The local command line of a container. Images are not pulled: an `adpipe` image is this
 * repository's build (its entrypoint is `node`, default command the operator), with `node` meaning
 * the node running the agent; any other image cannot run here.
 */
export function processSpec(
  pod: V1Pod,
  container: V1Container,
  sources: VolumeSources,
  mounts: [string, string][],
  hostPorts: Record<string, number>,
  nodeExecutable: string,
): ProcessSpec {
  if (!/^([\w.-]+\/)*adpipe(:[\w.-]+)?(@sha256:[a-f0-9]+)?$/.test(container.image ?? '')) {
    throw new MaterializeError('ImageNotSupported', `image "${container.image}" cannot run on the local node agent (only adpipe images map to this repository's build)`);
  }
  const entrypoint = container.command?.length ? container.command : ['node'];
  const args = container.command?.length ? (container.args ?? []) : (container.args ?? ['dist/operator/main.js']);
  const [first, ...rest] = [...entrypoint, ...args].map((part) => rewritePath(part, mounts));
  const env = containerEnv(pod, container, sources, hostPorts, (value) => rewritePath(value, mounts));
  return { command: first === 'node' ? nodeExecutable : first!, args: rest, env };
}

/**
 * A container's environment: `envFrom`, then `env` (each value through `rewrite`, which maps
 * container paths to local ones for processes), then `ADPIPE_<PORT NAME>_PORT` for every named
 * port: the host port the agent picked, since every container shares the host's network here.
 */
export function containerEnv(
  pod: V1Pod,
  container: V1Container,
  sources: VolumeSources,
  hostPorts: Record<string, number>,
  rewrite: (value: string) => string = (value) => value,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = sources.configMaps.get(from.configMapRef.name ?? '');
      if (!cm && !from.configMapRef.optional) throw new MaterializeError('CreateContainerConfigError', `configmap "${from.configMapRef.name}" not found`);
      for (const [key, value] of Object.entries(cm?.data ?? {})) env[prefix + key] = value;
    }
    if (from.secretRef) {
      const secret = sources.secrets.get(from.secretRef.name ?? '');
      if (!secret && !from.secretRef.optional) throw new MaterializeError('CreateContainerConfigError', `secret "${from.secretRef.name}" not found`);
      for (const [key, value] of Object.entries(secret?.data ?? {})) env[prefix + key] = Buffer.from(value, 'base64').toString('utf8');
    }
  }
  for (const variable of container.env ?? []) env[variable.name] = rewrite(envValue(pod, variable, sources));
  for (const [name, port] of Object.entries(hostPorts)) env[`ADPIPE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PORT`] = String(port);
  return env;
}

function envValue(pod: V1Pod, variable: V1EnvVar, sources: VolumeSources): string {
  if (variable.value !== undefined) return variable.value;
  const from = variable.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath);
  if (from.configMapKeyRef) {
    const value = sources.configMaps.get(from.configMapKeyRef.name ?? '')?.data?.[from.configMapKeyRef.key];
    if (value === undefined && !from.configMapKeyRef.optional) throw new MaterializeError('CreateContainerConfigError', `configmap "${from.configMapKeyRef.name}" key "${from.configMapKeyRef.key}" not found`);
    return value ?? '';
  }
  if (from.secretKeyRef) {
    const value = sources.secrets.get(from.secretKeyRef.name ?? '')?.data?.[from.secretKeyRef.key];
    if (value === undefined && !from.secretKeyRef.optional) throw new MaterializeError('CreateContainerConfigError', `secret "${from.secretKeyRef.name}" key "${from.secretKeyRef.key}" not found`);
    return value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  }
  return '';
}

/** A `fieldRef` of the downward API (env and projected volumes); the Pod's IP is the host's here. */
function fieldValue(pod: V1Pod, fieldPath: string): string {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
  if (label) return pod.metadata?.labels?.[label[1]!] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath);
  if (annotation) return pod.metadata?.annotations?.[annotation[1]!] ?? '';
  return fields[fieldPath] ?? '';
}
