import type { V1ConfigMap, V1Container, V1EnvVar, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';

/**
 * Pure part of running a Pod as local processes: which files each volume holds, where each mount
 * lands on this machine, and the environment and command line of each container. The node agent
 * fetches ConfigMaps and Secrets and writes the files; everything here is data in, data out.
 */

export interface VolumeSources {
  configMaps: Map<string, V1ConfigMap>;
  secrets: Map<string, V1Secret>;
}

export interface VolumeFile {
  /** Relative to the volume's directory. */
  path: string;
  content: Buffer;
  mode: number;
}

export class MaterializeError extends Error {
  constructor(
    readonly reason: 'CreateContainerConfigError' | 'ImageNotSupported',
    message: string,
  ) {
    super(message);
    this.name = 'MaterializeError';
  }
}

/** Files of a ConfigMap, Secret or emptyDir volume (other kinds hold nothing a process here needs). */
export function volumeFiles(volume: V1Volume, sources: VolumeSources): VolumeFile[] {
  if (volume.configMap) {
    const cm = sources.configMaps.get(volume.configMap.name ?? '');
    if (!cm) {
      if (volume.configMap.optional) return [];
      throw new MaterializeError('CreateContainerConfigError', `configmap "${volume.configMap.name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(cm.data ?? {})) data[key] = Buffer.from(value, 'utf8');
    for (const [key, value] of Object.entries(cm.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
    return pick(data, volume.configMap.items, volume.configMap.defaultMode ?? 0o644);
  }
  if (volume.secret) {
    const secret = sources.secrets.get(volume.secret.secretName ?? '');
    if (!secret) {
      if (volume.secret.optional) return [];
      throw new MaterializeError('CreateContainerConfigError', `secret "${volume.secret.secretName}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
    for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = Buffer.from(value, 'utf8');
    return pick(data, volume.secret.items, volume.secret.defaultMode ?? 0o600);
  }
  return [];
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
  for (const variable of container.env ?? []) env[variable.name] = rewritePath(envValue(pod, variable, sources), mounts);
  // Every named container port gets a free port of this machine; the process learns it here.
  for (const [name, port] of Object.entries(hostPorts)) env[`ADPIPE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PORT`] = String(port);
  return { command: first === 'node' ? nodeExecutable : first!, args: rest, env };
}

function envValue(pod: V1Pod, variable: V1EnvVar, sources: VolumeSources): string {
  if (variable.value !== undefined) return variable.value;
  const from = variable.valueFrom;
  if (!from) return '';
  if (from.fieldRef) {
    const fields: Record<string, string | undefined> = {
      'metadata.name': pod.metadata?.name,
      'metadata.namespace': pod.metadata?.namespace,
      'metadata.uid': pod.metadata?.uid,
      'spec.nodeName': pod.spec?.nodeName,
      'spec.serviceAccountName': pod.spec?.serviceAccountName,
      'status.podIP': '127.0.0.1',
      'status.hostIP': '127.0.0.1',
    };
    const label = /^metadata\.labels\['(.+)'\]$/.exec(from.fieldRef.fieldPath);
    if (label) return pod.metadata?.labels?.[label[1]!] ?? '';
    const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(from.fieldRef.fieldPath);
    if (annotation) return pod.metadata?.annotations?.[annotation[1]!] ?? '';
    return fields[from.fieldRef.fieldPath] ?? '';
  }
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
