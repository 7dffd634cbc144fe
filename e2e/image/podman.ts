import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { hasTool, ImageError } from './tools.js';

/**
 * How podman is called here, in one place (decision 0070):
 * - `--runtime runc`: crun, podman's default where installed, refuses this machine's cgroups v1
 *   hybrid layout ("cgroups in hybrid mode not supported"); runc runs on v1 and v2 alike.
 * - explicit `--ulimit`s: without them podman asks the runtime for nofile 1048576, above the hard
 *   limit this process has, and the kernel refuses ("error setting rlimit type 7"). The container
 *   gets this process's own hard limits instead, so nothing is ever raised.
 */

export const PODMAN_GLOBAL_FLAGS = ['--runtime', 'runc'];

/** RLIMIT_NPROC cap: podman runs conmon with nproc 32768 here, and a container may not exceed it. */
const NPROC_CAP = 32_768;
const NOFILE_CAP = 1_048_576;

/** `--ulimit` flags for `podman run` and `podman build`: this process's hard limits, capped. */
export function ulimitFlags(limitsText = readOwnLimits()): string[] {
  const hard = (label: string, cap: number) => {
    const match = new RegExp(`^${label}\\s+\\S+\\s+(\\S+)`, 'm').exec(limitsText);
    const value = match?.[1] === 'unlimited' || !match ? cap : Number(match[1]);
    return Math.min(value, cap);
  };
  const nofile = hard('Max open files', NOFILE_CAP);
  const nproc = hard('Max processes', NPROC_CAP);
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

function readOwnLimits(): string {
  try {
    return fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}

/** Runs `podman <global flags> <args>` and resolves to its stdout; rejects with its stderr. */
export function podman(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('podman', [...PODMAN_GLOBAL_FLAGS, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new ImageError(`podman ${args.slice(0, 3).join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

export interface ImageInfo {
  id: string;
  sizeBytes: number;
  /** The image's USER ('' when unset, i.e. root). */
  user: string;
  labels: Record<string, string>;
  created: string;
}

/** What podman knows of an image, or undefined when local storage has no such image. */
export async function inspectImage(reference: string): Promise<ImageInfo | undefined> {
  const output = await podman(['image', 'inspect', '--format', 'json', reference]).catch(() => undefined);
  if (!output) return undefined;
  const [image] = JSON.parse(output) as { Id: string; Size: number; Created: string; Config?: { User?: string; Labels?: Record<string, string> | null } }[];
  if (!image) return undefined;
  return { id: image.Id, sizeBytes: image.Size, user: image.Config?.User ?? '', labels: image.Config?.Labels ?? {}, created: image.Created };
}

/**
 * Label of every container started for a local stack (the node agent's Pods, the image tests), so
 * `npm run stack -- down` removes what a killed agent or test left running against that stack.
 */
export const STACK_LABEL = 'io.adpipe.stack';

export async function removeStackContainers(stackDir: string): Promise<number> {
  if (!hasTool('podman')) return 0;
  const ids = (await podman(['ps', '--all', '--quiet', '--filter', `label=${STACK_LABEL}=${stackDir}`])).split('\n').filter(Boolean);
  if (ids.length) await podman(['rm', '--force', '--time', '0', '--ignore', ...ids]);
  return ids.length;
}
