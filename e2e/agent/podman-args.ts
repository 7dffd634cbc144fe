import type { V1Container, V1Pod, V1SecurityContext } from '@kubernetes/client-node';
import { MaterializeError } from './materialize.js';

/**
 * Pure part of running a container with podman: a Pod's container spec → the `podman run`
 * arguments, with its securityContext honoured the way a kubelet honours it. Every container shares
 * the host's network (so it reaches the stack's Kafka and HBase on 127.0.0.1, as processes do);
 * a named port is the host port the agent picked, told to the container in ADPIPE_<NAME>_PORT.
 */

export const AGENT_NODE_LABEL = 'io.adpipe.agent.node';

export interface PodmanRunInput {
  pod: V1Pod;
  container: V1Container;
  /** The container's environment (materialize.ts containerEnv). */
  env: Record<string, string>;
  volumeDir: (volumeName: string) => string;
  /** USER of the image's config ('' = root), needed to check runAsNonRoot as the kubelet does. */
  imageUser: string;
  /** The API server the Pod's service account belongs to (its token comes in a projected volume). */
  serviceAccount?: { server: string };
  name: string;
  /** Labels that find the container again (its node, its stack, its Pod). */
  labels: Record<string, string>;
  cidFile: string;
  /** `--ulimit` flags (e2e/image/podman.ts). */
  ulimits: string[];
}

/** `podman run` arguments (after podman's global flags). Throws MaterializeError for a spec it must refuse. */
export function podmanRunArgs(input: PodmanRunInput): string[] {
  const { pod, container } = input;
  const args = ['run', '--rm', '--pull=never', '--sig-proxy=false', '--name', input.name, '--cidfile', input.cidFile, '--network=host', ...input.ulimits];
  for (const [key, value] of Object.entries(input.labels)) args.push('--label', `${key}=${value}`);
  args.push(...securityArgs(pod, container, input.imageUser));
  args.push(...resourceArgs(container));
  args.push(...mountArgs(input));
  const env = { ...input.env };
  // What a kubelet sets from the `kubernetes` Service; here the API server's own address.
  if (input.serviceAccount) {
    const url = new URL(input.serviceAccount.server);
    env['KUBERNETES_SERVICE_HOST'] = url.hostname;
    env['KUBERNETES_SERVICE_PORT'] = url.port || '443';
  }
  for (const [name, value] of Object.entries(env)) args.push('--env', `${name}=${value}`);
  if (container.workingDir) args.push('--workdir', container.workingDir);
  // As in Kubernetes: `command` replaces the image's ENTRYPOINT (and drops its CMD); `args` replace CMD.
  if (container.command?.length) args.push('--entrypoint', JSON.stringify(container.command));
  if (!container.image) throw new MaterializeError('CreateContainerConfigError', `container ${container.name} has no image`);
  args.push(container.image, ...(container.args ?? []));
  return args;
}

/** A container's effective security settings: the container's own, else the Pod's. */
function effective(pod: V1Pod, container: V1Container): V1SecurityContext & { supplementalGroups: number[] } {
  const podContext = pod.spec?.securityContext ?? {};
  const own = container.securityContext ?? {};
  const groups = [...(podContext.supplementalGroups ?? []), ...(podContext.fsGroup !== undefined ? [podContext.fsGroup] : [])];
  return {
    ...own,
    runAsUser: own.runAsUser ?? podContext.runAsUser,
    runAsGroup: own.runAsGroup ?? podContext.runAsGroup,
    runAsNonRoot: own.runAsNonRoot ?? podContext.runAsNonRoot,
    seccompProfile: own.seccompProfile ?? podContext.seccompProfile,
    supplementalGroups: groups,
  };
}

function securityArgs(pod: V1Pod, container: V1Container, imageUser: string): string[] {
  const context = effective(pod, container);
  const where = `(pod: "${pod.metadata?.name}", container: ${container.name})`;
  const [imageUid = '', imageGid] = imageUser.split(':');
  if (context.runAsNonRoot) {
    // The kubelet's checks and messages (kuberuntime_container_linux verifyRunAsNonRoot).
    if (context.runAsUser === 0) throw new MaterializeError('CreateContainerConfigError', `container's runAsUser breaks non-root policy ${where}`);
    if (context.runAsUser === undefined) {
      if (imageUid !== '' && !/^\d+$/.test(imageUid)) throw new MaterializeError('CreateContainerConfigError', `container has runAsNonRoot and image has non-numeric user (${imageUid}), cannot verify user is non-root ${where}`);
      if (imageUid === '' || Number(imageUid) === 0) throw new MaterializeError('CreateContainerConfigError', `container has runAsNonRoot and image will run as root ${where}`);
    }
  }
  const args: string[] = [];
  if (context.runAsUser !== undefined || context.runAsGroup !== undefined) {
    const uid = context.runAsUser ?? (imageUid || '0');
    const gid = context.runAsGroup ?? (context.runAsUser === undefined ? imageGid : undefined);
    args.push('--user', gid === undefined ? String(uid) : `${uid}:${gid}`);
  }
  for (const group of context.supplementalGroups) args.push('--group-add', String(group));
  if (context.privileged) args.push('--privileged');
  // Kubernetes mounts no tmpfs over a read-only root; podman would, unless told not to.
  if (context.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  for (const capability of context.capabilities?.drop ?? []) args.push('--cap-drop', capability.toLowerCase() === 'all' ? 'all' : capability);
  for (const capability of context.capabilities?.add ?? []) args.push('--cap-add', capability);
  if (context.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  const seccomp = context.seccompProfile?.type;
  if (seccomp === 'Unconfined') args.push('--security-opt', 'seccomp=unconfined');
  else if (seccomp === 'Localhost') throw new MaterializeError('CreateContainerConfigError', `seccomp profile type Localhost is not supported by the local node agent ${where}`);
  // RuntimeDefault (or none): podman's default seccomp profile.
  return args;
}

function resourceArgs(container: V1Container): string[] {
  const limits = container.resources?.limits ?? {};
  const args: string[] = [];
  if (limits['memory'] !== undefined) args.push('--memory', String(quantity(String(limits['memory']))));
  if (limits['cpu'] !== undefined) args.push('--cpus', String(quantity(String(limits['cpu']))));
  return args;
}

const SUFFIXES: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes quantity ("512Mi", "250m", "1.5", "2G") as a number (bytes for memory, cores for cpu). */
export function quantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text.trim());
  if (!match) throw new MaterializeError('CreateContainerConfigError', `resource quantity "${text}" is not understood by the local node agent`);
  const value = Number(match[1]) * SUFFIXES[match[2] ?? '']!;
  return Number.isInteger(value) ? value : Number(value.toFixed(3));
}

function mountArgs(input: PodmanRunInput): string[] {
  const { pod, container } = input;
  const args: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new MaterializeError('CreateContainerConfigError', `volume "${mount.name}" of container ${container.name} is not a volume of the Pod`);
    const source = mount.subPath ? `${input.volumeDir(mount.name)}/${mount.subPath}` : input.volumeDir(mount.name);
    // ConfigMap, Secret and projected volumes are read-only in Kubernetes whatever the mount says.
    const readOnly = mount.readOnly || !!volume.configMap || !!volume.secret || !!volume.projected;
    args.push('--volume', `${source}:${mount.mountPath}${readOnly ? ':ro' : ''}`);
  }
  return args;
}
