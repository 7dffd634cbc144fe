import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { obtainOnce } from '../stack/obtain.js';
import { runLogged } from '../stack/proc.js';
import { inspectImage, podman } from './podman.js';
import { BASE_CACHE_ENTRY, BASE_RECIPE, BASE_RECIPE_LABEL, ENTRYPOINT_SCRIPT } from './recipe.js';
import { ensureTools, ImageError } from './tools.js';

/**
 * The Dockerfile's base image in podman's local storage, under the name the Dockerfile uses. A real
 * `node:20.20.2-bookworm-slim` already there (pulled where a registry is reachable) is used as it is.
 * Otherwise the base is made from BASE_RECIPE: its root file system is built once per recipe into
 * the per-user cache (like the stack's servers), then imported, which takes about 3 s.
 */

export interface BaseImage {
  reference: string;
  id: string;
  /** Seconds spent making the root file system in this call; 0 when it came from the cache. */
  madeSeconds: number;
}

export async function ensureBaseImage(log: (line: string) => void): Promise<BaseImage> {
  const stored = await inspectImage(BASE_RECIPE.storedAs);
  const madeHere = stored?.labels[BASE_RECIPE_LABEL];
  if (stored && (madeHere === undefined || madeHere === BASE_CACHE_ENTRY)) return { reference: BASE_RECIPE.storedAs, id: stored.id, madeSeconds: 0 };

  const rootfs = await obtainOnce(BASE_CACHE_ENTRY, log, makeRootfs(log));
  const { config } = BASE_RECIPE;
  const changes = [
    ...Object.entries(config.env).map(([name, value]) => `ENV ${name}=${value}`),
    `ENTRYPOINT ${JSON.stringify(config.entrypoint)}`,
    `CMD ${JSON.stringify(config.cmd)}`,
    `LABEL ${BASE_RECIPE_LABEL}=${BASE_CACHE_ENTRY}`,
  ].flatMap((change) => ['--change', change]);
  log(`importing the base image ${BASE_RECIPE.storedAs} from ${rootfs.dir}`);
  await podman(['import', ...changes, '--message', `adpipe base recipe ${BASE_CACHE_ENTRY}`, path.join(rootfs.dir, 'rootfs.tar'), BASE_RECIPE.storedAs], { timeoutMs: 600_000 });
  const imported = await inspectImage(BASE_RECIPE.storedAs);
  if (!imported) throw new ImageError(`podman import reported success but ${BASE_RECIPE.storedAs} is not in local storage`);
  return { reference: BASE_RECIPE.storedAs, id: imported.id, madeSeconds: rootfs.seconds };
}

const MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';

/** Builds `rootfs.tar` into `scratch`: Debian minbase + Node from the npm registry (about 40 s). */
function makeRootfs(log: (line: string) => void) {
  return async (scratch: string, logFile: string): Promise<void> => {
    await ensureTools(['mmdebstrap'], `make the base image ${BASE_RECIPE.reference}`, logFile, log);
    const packages = path.join(scratch, 'packages');
    const stage = path.join(scratch, 'stage');
    await fetchPackages(packages, logFile);
    await stageNode(packages, stage, logFile);

    const { debian } = BASE_RECIPE;
    // Without this hook mmdebstrap installs the usrmerge package, which pulls in perl (+55 MB).
    const hooks = fs.existsSync(MERGED_USR_HOOKS) ? [`--hook-dir=${MERGED_USR_HOOKS}`] : [];
    const inChroot = (command: string) => `chroot "$1" env -i PATH=${BASE_RECIPE.config.env.PATH} HOME=/root sh -c '${command}'`;
    await runLogged(
      'mmdebstrap',
      [
        '--variant=minbase',
        ...hooks,
        ...debian.pathExcludes.map((p) => `--dpkgopt=path-exclude=${p}`),
        ...debian.pathIncludes.map((p) => `--dpkgopt=path-include=${p}`),
        `--customize-hook=sync-in ${stage} /`,
        // The official image's user: uid and gid 1000, a home, bash.
        `--customize-hook=${inChroot('groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node')}`,
        `--customize-hook=${inChroot('node --version && npm --version && yarn --version')}`,
        // mmdebstrap keeps downloaded packages and apt lists; -slim images carry neither.
        `--customize-hook=rm -rf "$1"/tmp/* "$1"/root/.npm "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*`,
        debian.suite,
        path.join(scratch, 'rootfs.tar'),
        ...debian.sources,
      ],
      { cwd: scratch, logFile },
    );
    fs.rmSync(packages, { recursive: true, force: true });
    fs.rmSync(stage, { recursive: true, force: true });
  };
}

const tarballOf = (spec: string) => `${spec.replace('@', '-')}.tgz`;

/** `npm pack` of every package (the npm registry through npm itself), checked against the pins. */
async function fetchPackages(dir: string, logFile: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const pins = Object.values(BASE_RECIPE.packages);
  await runLogged('npm', ['pack', '--pack-destination', dir, ...pins.map((p) => p.spec)], { cwd: dir, logFile });
  for (const { spec, integrity } of pins) {
    const actual = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(path.join(dir, tarballOf(spec)))).digest('base64')}`;
    if (actual !== integrity) throw new ImageError(`${spec} from the npm registry has integrity ${actual}, expected ${integrity} (e2e/image/recipe.ts)`);
  }
}

/** Lays out /usr/local and /opt as the official image has them, ready to sync into the root. */
async function stageNode(packages: string, stage: string, logFile: string): Promise<void> {
  const { packages: pins, opensslArch, yarnVersion } = BASE_RECIPE;
  const local = path.join(stage, 'usr', 'local');
  const unpack = async (spec: string, into: string) => {
    fs.mkdirSync(into, { recursive: true });
    await runLogged('tar', ['-xzf', path.join(packages, tarballOf(spec)), '-C', into, '--strip-components=1', '--no-same-owner'], { cwd: stage, logFile });
  };
  await unpack(pins.node.spec, local);
  // The npm wrapper package's own manifest is not part of a Node.js installation.
  fs.rmSync(path.join(local, 'package.json'));
  const archs = path.join(local, 'include', 'node', 'openssl', 'archs');
  for (const arch of fs.readdirSync(archs)) if (arch !== opensslArch) fs.rmSync(path.join(archs, arch), { recursive: true });
  await unpack(pins.npm.spec, path.join(local, 'lib', 'node_modules', 'npm'));
  await unpack(pins.corepack.spec, path.join(local, 'lib', 'node_modules', 'corepack'));
  const yarnDir = `/opt/yarn-v${yarnVersion}`;
  await unpack(pins.yarn.spec, path.join(stage, yarnDir));

  const bin = path.join(local, 'bin');
  const links: [string, string][] = [
    ['npm', '../lib/node_modules/npm/bin/npm-cli.js'],
    ['npx', '../lib/node_modules/npm/bin/npx-cli.js'],
    ['corepack', '../lib/node_modules/corepack/dist/corepack.js'],
    ['nodejs', 'node'],
    ['yarn', `${yarnDir}/bin/yarn`],
    ['yarnpkg', `${yarnDir}/bin/yarnpkg`],
  ];
  for (const [name, target] of links) fs.symlinkSync(target, path.join(bin, name));
  fs.writeFileSync(path.join(bin, 'docker-entrypoint.sh'), ENTRYPOINT_SCRIPT, { mode: 0o755 });
}
