import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A digest of everything an image build reads: the Dockerfile, .dockerignore, every file under the
 * sources its COPY lines name, and the base image's id. Equal digests mean an equal image, so the
 * tests build once per change, not once per test file, and each clone's tests run an image tag of
 * their own content even when several clones build at the same time. Files .dockerignore would drop
 * are hashed too: that can only cause a needless rebuild, never a stale image.
 */

/** Sources of the Dockerfile's `COPY` lines that read the build context (not `--from=` a stage). */
export function contextSources(dockerfile: string): string[] {
  const sources = new Set<string>();
  for (const line of dockerfile.split('\n')) {
    const match = /^COPY\s+(.+)$/.exec(line.trim());
    if (!match || /--from=/.test(match[1]!)) continue;
    const words = match[1]!.split(/\s+/).filter((word) => !word.startsWith('--'));
    for (const source of words.slice(0, -1)) sources.add(source.replace(/^\.\//, '').replace(/\/$/, ''));
  }
  return [...sources].sort();
}

export function contextDigest(root: string, baseImageId: string): string {
  const hash = crypto.createHash('sha256');
  const add = (relative: string) => {
    hash.update(`${relative}\0`);
    hash.update(fs.readFileSync(path.join(root, relative)));
    hash.update('\0');
  };
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  hash.update(`base ${baseImageId}\0`);
  add('Dockerfile');
  if (fs.existsSync(path.join(root, '.dockerignore'))) add('.dockerignore');
  for (const source of contextSources(dockerfile)) for (const file of filesUnder(root, source)) add(file);
  return hash.digest('hex');
}

function filesUnder(root: string, relative: string): string[] {
  const full = path.join(root, relative);
  const stat = fs.statSync(full);
  if (!stat.isDirectory()) return [relative];
  return fs
    .readdirSync(full)
    .sort()
    .flatMap((name) => filesUnder(root, path.join(relative, name)));
}
