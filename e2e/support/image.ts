import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { ensureImage, type AdpipeImage } from '../image/build.js';
import { podman, PODMAN_GLOBAL_FLAGS, STACK_LABEL, ulimitFlags } from '../image/podman.js';
import { stackDir } from '../stack/paths.js';

/**
 * The adpipe image for tests: built from this clone's sources (or reused when local storage has an
 * image of the same content), and a way to run it. A test that needs the image fails with the
 * image module's message (what to install, what failed) when podman cannot run here.
 */

/** A cold machine makes the base image and runs `npm ci` inside the build: minutes, not seconds. */
export const IMAGE_BUILD_TIMEOUT_MS = 900_000;

export function testImage(): Promise<AdpipeImage> {
  return ensureImage((line) => process.stderr.write(`[image] ${line}\n`));
}

/** Flags every container a test starts by hand gets: the runtime's limits, the host network, the stack's label. */
export const RUN_FLAGS = ['--rm', '--pull=never', '--network=host', ...ulimitFlags(), '--label', `${STACK_LABEL}=${stackDir()}`];

/** `podman run` to completion: its exit code and output (the container's). */
export function runToCompletion(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('podman', [...PODMAN_GLOBAL_FLAGS, 'run', ...RUN_FLAGS, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface StartedContainer {
  name: string;
  /** SIGTERM through podman, then waits for the container to be gone. */
  stop(): Promise<void>;
  exited(): boolean;
}

/** A long-running container with output appended to `logFile`, removed when it stops. */
export function startContainer(name: string, args: string[], logFile: string): StartedContainer {
  const log = fs.openSync(logFile, 'a');
  const client = spawn('podman', [...PODMAN_GLOBAL_FLAGS, 'run', ...RUN_FLAGS, '--name', name, ...args], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let done = false;
  const gone = new Promise<void>((resolve) => client.once('exit', () => ((done = true), resolve())));
  return {
    name,
    exited: () => done,
    stop: async () => {
      if (!done) await podman(['stop', '--time', '30', name]).catch(() => undefined);
      await gone;
    },
  };
}
