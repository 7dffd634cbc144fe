import { spawnSync } from 'node:child_process';
import { runLogged } from '../stack/proc.js';

/**
 * The host tools the image needs: podman and runc to build and run it, mmdebstrap to make the base
 * image. On a Debian machine where this process is root they are installed with apt-get when
 * missing (a fresh CI machine gets them in about 7 s); anywhere else the error names exactly what to
 * install. Nothing is ever skipped: a test that needs the image fails with that message.
 */

export class ImageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
  }
}

/** Command → the Debian package that provides it. */
const PACKAGES = { podman: 'podman', runc: 'runc', mmdebstrap: 'mmdebstrap' } as const;
export type HostTool = keyof typeof PACKAGES;

const INSTALL_HINT = `sudo apt-get install --no-install-recommends podman runc mmdebstrap (Debian 12 or newer; elsewhere: podman ≥ 4 with runc as an OCI runtime, and mmdebstrap)`;

export function hasTool(command: string): boolean {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
}

/**
 * Makes sure every tool in `tools` is on PATH, installing the missing ones with apt-get when this
 * process may (root, apt-get present, ADPIPE_NO_APT unset).
 */
export async function ensureTools(tools: HostTool[], why: string, logFile: string, log: (line: string) => void): Promise<void> {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (!missing.length) return;
  const packages = missing.map((tool) => PACKAGES[tool]);
  const mayInstall = process.getuid?.() === 0 && hasTool('apt-get') && process.env['ADPIPE_NO_APT'] !== '1';
  if (!mayInstall) {
    throw new ImageError(`${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed (needed to ${why}). Install: ${INSTALL_HINT}`);
  }
  log(`installing ${packages.join(' ')} with apt-get (needed to ${why}; log: ${logFile})`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  // A concurrent apt run (another clone's tests) holds the dpkg lock for a few seconds at most.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  try {
    await runLogged('apt-get', [...lock, 'update', '-q'], { cwd: '/', env, logFile });
    await runLogged('apt-get', [...lock, 'install', '-y', '-q', '--no-install-recommends', ...packages], { cwd: '/', env, logFile });
  } catch (error) {
    throw new ImageError(`could not install ${packages.join(' ')} with apt-get (needed to ${why}): ${error instanceof Error ? error.message : String(error)}\nInstall by hand: ${INSTALL_HINT}`, { cause: error });
  }
  const stillMissing = missing.filter((tool) => !hasTool(tool));
  if (stillMissing.length) throw new ImageError(`apt-get ran but ${stillMissing.join(', ')} is still not on PATH. Install: ${INSTALL_HINT}`);
}
