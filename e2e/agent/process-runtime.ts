import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { signalGroup } from '../stack/proc.js';
import { mountTable, processSpec, rewritePath } from './materialize.js';
import { signalNumbers, type ContainerExit, type ContainerRuntime, type RunningContainer, type StartRequest } from './runtime.js';

/**
 * Containers as local processes: an adpipe image is this repository's build (`workdir` stands in
 * for the image's /app), container paths under volume mounts are rewritten to the Pod's directory,
 * and the service account arrives as a kubeconfig in KUBECONFIG (a process has no
 * /var/run/secrets of its own). Each process leads its own group, so signals reach its children.
 */
export class ProcessRuntime implements ContainerRuntime {
  readonly name = 'process';
  readonly describe = { runtimeVersion: 'process://node', osImage: 'local processes' };

  constructor(private readonly workdir: string) {}

  async start(request: StartRequest): Promise<RunningContainer> {
    const { pod, container, sources, hostPorts, serviceAccount, logFile } = request;
    const mounts = mountTable(container, request.volumeDir);
    rewriteMountedJson(mounts);
    const spec = processSpec(pod, container, sources, mounts, hostPorts, process.execPath);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: this.workdir,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(serviceAccount ? { KUBECONFIG: serviceAccount.kubeconfig } : {}), ...spec.env },
      stdio: ['ignore', log, log],
      detached: true,
    });
    fs.closeSync(log);
    const listeners: ((exit: ContainerExit) => void)[] = [];
    let exited: ContainerExit | undefined;
    const finish = (exit: ContainerExit) => {
      if (exited) return;
      exited = exit;
      for (const listener of listeners) listener(exit);
    };
    child.once('error', (error) => finish({ exitCode: 128, startError: error.message }));
    child.once('exit', (code, signal) => {
      const signalNumber = signal ? (signalNumbers[signal] ?? 15) : undefined;
      finish({ exitCode: code ?? 128 + (signalNumber ?? 0), signal: signalNumber });
    });
    return {
      containerId: () => (child.pid ? `process://${child.pid}` : undefined),
      signal: (signal) => {
        if (child.pid && !exited) signalGroup(child.pid, signal);
      },
      onExit: (listener) => {
        if (exited) listener(exited);
        else listeners.push(listener);
      },
    };
  }

  async cleanUp(): Promise<void> {
    // Processes of an earlier agent were in their own groups and are not tracked anywhere.
  }
}

/**
 * A JSON file mounted into the container (the worker's runtime config) names other mounted files
 * by container path, e.g. a Secret's CA at /etc/adpipe/secrets/kafka-ca/ca.crt; a process finds
 * them only under the Pod's directory, so such string values are rewritten as the args are.
 */
function rewriteMountedJson(mounts: [string, string][]): void {
  for (const [, outside] of mounts) {
    const files = fs.existsSync(outside) && fs.statSync(outside).isDirectory() ? fs.readdirSync(outside).map((name) => path.join(outside, name)) : [outside];
    for (const file of files) {
      if (!file.endsWith('.json') || !fs.existsSync(file) || !fs.statSync(file).isFile()) continue;
      const text = fs.readFileSync(file, 'utf8');
      const rewritten = text.replace(/"(\/[^"]*)"/g, (whole, value: string) => JSON.stringify(rewritePath(value, mounts)));
      if (rewritten !== text) {
        const mode = fs.statSync(file).mode & 0o777;
        fs.chmodSync(file, mode | 0o200);
        fs.writeFileSync(file, rewritten);
        fs.chmodSync(file, mode);
      }
    }
  }
}
