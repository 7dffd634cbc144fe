import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheRoot, REPO_ROOT } from '../stack/paths.js';
import { runLogged } from '../stack/proc.js';
import { ensureBaseImage, type BaseImage } from './base.js';
import { contextDigest } from './context.js';
import { npmTrustFlags } from './npm-trust.js';
import { inspectImage, podman, PODMAN_GLOBAL_FLAGS, ulimitFlags } from './podman.js';
import { BASE_RECIPE } from './recipe.js';
import { ensureTools, ImageError } from './tools.js';

/**
 * `podman build --pull=never` of the repository's unchanged Dockerfile, on the base image from
 * base.ts. The result is tagged by the digest of what the build read (context.ts): an image with
 * that tag is reused, any change builds anew (podman's layer cache keeps `npm ci` while the lock
 * file is unchanged).
 */

export interface AdpipeImage {
  /** localhost/adpipe:<version>-<digest>: immutable, safe to hand to Pods and tests. */
  tag: string;
  id: string;
  sizeBytes: number;
  /** False when an image of the same content was already in local storage. */
  built: boolean;
  buildSeconds: number;
  base: BaseImage;
}

/** Content tags older than this are removed after a build, so they do not pile up. */
const KEEP_OLD_TAGS_MS = 24 * 3600 * 1000;

export function imageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildLogFile(): string {
  return path.join(cacheRoot(), 'build-logs', 'adpipe-image.log');
}

/** Builds the image unless local storage already has one of this content; `extraTags` are added. */
export async function ensureImage(log: (line: string) => void, extraTags: string[] = []): Promise<AdpipeImage> {
  const logFile = buildLogFile();
  await ensureTools(['podman', 'runc'], 'build and run the adpipe image', logFile, log);
  await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}']).catch((error: unknown) => {
    throw new ImageError(`podman is installed but cannot run here: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  assertDockerfileBase();
  const base = await ensureBaseImage(log);
  await assertContainersRun(base.reference);
  const tag = `localhost/adpipe:${imageVersion()}-${contextDigest(REPO_ROOT, base.id).slice(0, 12)}`;

  const started = Date.now();
  let image = await inspectImage(tag);
  const built = !image;
  if (!image) {
    log(`building ${tag} with podman (log: ${logFile})`);
    const trustDir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-build-'));
    try {
      // Host network: `npm ci` reaches the registry as this host does (no bridge, no NAT needed).
      const args = ['build', '--pull=never', '--network=host', ...ulimitFlags(), ...npmTrustFlags(trustDir), '--tag', tag, '--file', path.join(REPO_ROOT, 'Dockerfile'), REPO_ROOT];
      await runLogged('podman', [...PODMAN_GLOBAL_FLAGS, ...args], { cwd: REPO_ROOT, logFile });
    } finally {
      fs.rmSync(trustDir, { recursive: true, force: true });
    }
    image = await inspectImage(tag);
    if (!image) throw new ImageError(`podman build reported success but ${tag} is not in local storage; see ${logFile}`);
    await removeOldContentTags(tag);
  }
  for (const extra of extraTags) await podman(['tag', image.id, extra]);
  const buildSeconds = (Date.now() - started) / 1000;
  if (built) log(`built ${tag} in ${buildSeconds.toFixed(1)} s`);
  return { tag, id: image.id, sizeBytes: image.sizeBytes, built, buildSeconds, base };
}

/**
 * One throw-away container of the base, so that a host where podman is installed but cannot run
 * containers says so here, with podman's own words, and not in a Pod's log later.
 */
async function assertContainersRun(base: string): Promise<void> {
  await podman(['run', '--rm', '--pull=never', '--network=none', ...ulimitFlags(), base, 'true'], { timeoutMs: 60_000 }).catch((error: unknown) => {
    throw new ImageError(
      `podman cannot run a container here: ${error instanceof Error ? error.message : String(error)}\n` +
        'It needs runc (crun refuses cgroups v1 hybrid hosts), root or subuid ranges for rootless use, and overlay or vfs storage; see docs/decisions/0070-container-image.md',
      { cause: error },
    );
  });
}

/** The recipe makes one base; a Dockerfile that names another would be built on the wrong one. */
function assertDockerfileBase(): void {
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
  const other = bases.find((b) => b !== BASE_RECIPE.reference);
  if (other) throw new ImageError(`the Dockerfile is based on ${other}, but e2e/image/recipe.ts makes ${BASE_RECIPE.reference}; update the recipe (and its revision) with the Dockerfile`);
}

async function removeOldContentTags(current: string): Promise<void> {
  const listed = JSON.parse(await podman(['images', '--format', 'json', '--filter', 'reference=localhost/adpipe'])) as { Names?: string[] | null; CreatedAt: string }[];
  for (const image of listed) {
    if (Date.now() - Date.parse(image.CreatedAt) < KEEP_OLD_TAGS_MS) continue;
    for (const name of image.Names ?? []) {
      if (name !== current && /^localhost\/adpipe:[^:]+-[0-9a-f]{12}$/.test(name)) await podman(['rmi', name]).catch(() => undefined);
    }
  }
}
