import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

/**
 * The Dockerfile's `npm ci` must trust what this host's Node trusts. Where a host reaches the npm
 * registry through a TLS-inspecting proxy, it says so with NODE_EXTRA_CA_CERTS; the build then gets
 * Node's own roots plus those certificates as npm's `cafile`, through a read-only volume that exists
 * only while RUN steps run. Nothing of it reaches an image layer, and the Dockerfile is untouched.
 * Without NODE_EXTRA_CA_CERTS there is nothing to add and the build sees no extra volume.
 */

const MOUNT_DIR = '/run/adpipe-build';

/** `podman build` flags for the trust above; writes its two files into `dir`. */
export function npmTrustFlags(dir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = env['NODE_EXTRA_CA_CERTS'];
  if (!extra || !fs.existsSync(extra)) return [];
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'ca.pem'), `${tls.rootCertificates.join('\n')}\n${fs.readFileSync(extra, 'utf8')}`);
  // npm's global config file for the base image's prefix (/usr/local).
  fs.writeFileSync(path.join(dir, 'npmrc'), `cafile=${MOUNT_DIR}/ca.pem\n`);
  return ['--volume', `${dir}:${MOUNT_DIR}:ro`, '--volume', `${path.join(dir, 'npmrc')}:/usr/local/etc/npmrc:ro`];
}
