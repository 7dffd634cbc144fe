import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inspectImage, podman, PODMAN_GLOBAL_FLAGS, STACK_LABEL, ulimitFlags } from '../image/podman.js';
import { stackDir } from '../stack/paths.js';
import { tail } from '../stack/proc.js';
import { containerEnv, MaterializeError } from './materialize.js';
import { AGENT_NODE_LABEL, podmanRunArgs } from './podman-args.js';
import type { ContainerExit, ContainerRuntime, RunningContainer, StartRequest } from './runtime.js';

/**
 * Containers as real containers: `podman run` of the Pod's image, attached, so the podman client's
 * exit is the container's exit and its output is the container's log. Images are never pulled
 * (`--pull=never`): a missing one is ErrImageNeverPull, as on a kubelet with imagePullPolicy Never.
 * Signals go through `podman kill`; a container whose client died is removed, never left behind.
 */
export class PodmanRuntime implements ContainerRuntime {
  readonly name = 'podman';
  readonly describe = { runtimeVersion: 'podman://runc', osImage: 'podman containers' };

  constructor(private readonly nodeName: string) {}

  async start(request: StartRequest): Promise<RunningContainer> {
    const { pod, container } = request;
    const image = container.image ? await inspectImage(container.image) : undefined;
    if (!image) throw new MaterializeError('ErrImageNeverPull', `image "${container.image}" is not in podman's local storage and the local node agent never pulls (build it: npm run image)`);
    const uid = (pod.metadata?.uid ?? '').slice(0, 8);
    const name = `k8s_${container.name}_${pod.metadata?.name}_${pod.metadata?.namespace}_${uid}_${request.restartCount}`;
    const cidFile = path.join(request.podDir, `${container.name}.${request.restartCount}.cid`);
    fs.rmSync(cidFile, { force: true });
    const args = podmanRunArgs({
      pod,
      container,
      env: containerEnv(pod, container, request.sources, request.hostPorts),
      volumeDir: request.volumeDir,
      imageUser: image.user,
      serviceAccount: request.serviceAccount,
      name,
      labels: { [AGENT_NODE_LABEL]: this.nodeName, [STACK_LABEL]: stackDir(), 'io.kubernetes.pod.uid': pod.metadata?.uid ?? '' },
      cidFile,
      ulimits: ulimitFlags(),
    });
    const log = fs.openSync(request.logFile, 'a');
    // Its own process group: a Ctrl-C meant for the agent never reaches the containers directly.
    const client = spawn('podman', [...PODMAN_GLOBAL_FLAGS, ...args], { stdio: ['ignore', log, log], detached: true });
    fs.closeSync(log);

    let id: string | undefined;
    let exited: ContainerExit | undefined;
    const listeners: ((exit: ContainerExit) => void)[] = [];
    const readId = () => {
      if (!id && fs.existsSync(cidFile)) id = fs.readFileSync(cidFile, 'utf8').trim() || undefined;
      return id;
    };
    const finish = async (exitCode: number, startError?: string) => {
      // `--rm` removes the container when it ends; after a client that died it may still run.
      await podman(['rm', '--force', '--time', '0', '--ignore', name]).catch(() => undefined);
      exited = { exitCode, ...(startError ? { startError } : {}) };
      for (const listener of listeners) listener(exited);
    };
    client.once('error', (error) => void finish(128, `could not run podman: ${error.message}`));
    client.once('exit', (code, signal) => {
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      // Exit codes 125-127 without a container are podman's own failures, not the container's.
      const failedToStart = !readId() ? `podman run exited with ${exitCode} before the container started: ${tail(request.logFile, 1)}` : undefined;
      void finish(exitCode, failedToStart);
    });
    return {
      containerId: () => (readId() ? `podman://${id}` : undefined),
      signal: (signal) => {
        if (exited) return;
        podman(['kill', '--signal', signal, name]).catch(() => {
          // Not created yet, or already gone: a kill must still end the client (and with it the run).
          if (signal === 'SIGKILL') client.kill('SIGKILL');
        });
      },
      onExit: (listener) => {
        if (exited) listener(exited);
        else listeners.push(listener);
      },
    };
  }

  async cleanUp(): Promise<void> {
    const ids = (await podman(['ps', '--all', '--quiet', '--filter', `label=${AGENT_NODE_LABEL}=${this.nodeName}`])).split('\n').filter(Boolean);
    if (ids.length) await podman(['rm', '--force', '--time', '0', '--ignore', ...ids]);
  }
}
