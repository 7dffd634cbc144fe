import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { VolumeSources } from './materialize.js';

/**
 * How the node agent starts one container of a Pod. Two implementations: `process` runs it as a
 * local process with this repository's build standing in for the image (fast; the default), and
 * `podman` runs the image itself as a real container. The PodRunner above them does the kubelet's
 * part (volumes, probes, restarts, status) the same way for both.
 */

export type RuntimeName = 'process' | 'podman';

/**
 * The Pod's service-account identity beyond its projected volume (which holds the token): a
 * kubeconfig for processes, which have no /var/run/secrets of their own, and the API server's
 * address for containers (KUBERNETES_SERVICE_HOST and _PORT).
 */
export interface ServiceAccountAccess {
  kubeconfig: string;
  /** The API server as `https://host:port`. */
  server: string;
}

export interface StartRequest {
  pod: V1Pod;
  container: V1Container;
  sources: VolumeSources;
  /** Directory of a Pod volume on this machine. */
  volumeDir: (volumeName: string) => string;
  /** Named container port → the host port the agent picked for it. */
  hostPorts: Record<string, number>;
  serviceAccount?: ServiceAccountAccess;
  /** How many times this container was restarted before (part of a container's name). */
  restartCount: number;
  /** The Pod's directory on this machine (volumes, logs, runtime state). */
  podDir: string;
  /** Where the container's stdout and stderr go. */
  logFile: string;
}

export interface ContainerExit {
  exitCode: number;
  signal?: number;
  /** Set when the runtime never got the container running (the PodStatus says RunContainerError). */
  startError?: string;
}

export interface RunningContainer {
  /** The PodStatus containerID (`process://<pid>`, `podman://<id>`), once known. */
  containerId(): string | undefined;
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
  onExit(listener: (exit: ContainerExit) => void): void;
}

export interface ContainerRuntime {
  readonly name: RuntimeName;
  /** Starts the container; rejects with a MaterializeError when it cannot be configured or found. */
  start(request: StartRequest): Promise<RunningContainer>;
  /** Removes what an earlier agent of this node left running (a crash leaves no one to stop it). */
  cleanUp(): Promise<void>;
  /** Shown in the Node's status (`containerRuntimeVersion`, `osImage`). */
  readonly describe: { runtimeVersion: string; osImage: string };
}

export const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
