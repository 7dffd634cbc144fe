import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from this file whether it runs from `e2e/stack` (ts) or `dist/e2e/stack` (js). */
export const REPO_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const parts = here.split(path.sep);
  const distAt = parts.lastIndexOf('dist');
  return distAt >= 0 ? parts.slice(0, distAt).join(path.sep) : path.resolve(here, '..', '..');
})();

/** Sources kept in the repo that describe how each server is obtained (Go wrappers, Maven poms). */
export const STACK_SOURCES = path.join(REPO_ROOT, 'e2e', 'stack');

/**
 * Per-user cache of built binaries and resolved jars, keyed by component and version, shared by
 * every clone on this machine. `ADPIPE_CACHE` moves it.
 */
export function cacheRoot(): string {
  const xdg = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return process.env['ADPIPE_CACHE'] || path.join(xdg, 'adpipe');
}

/** Where a running stack keeps its data, logs, certificates and state file: one per clone. */
export function stackDir(): string {
  return process.env['ADPIPE_STACK_DIR'] || path.join(REPO_ROOT, '.stack');
}

export function stateFile(): string {
  return path.join(stackDir(), 'state.json');
}

/**
 * The address Kafka and HBase listen on and advertise. Loopback here; the kind path sets
 * ADPIPE_STACK_DATA_HOST to the Docker bridge gateway so Pods in a kind cluster reach them too.
 */
export function dataPlaneHost(): string {
  return process.env['ADPIPE_STACK_DATA_HOST'] || '127.0.0.1';
}
