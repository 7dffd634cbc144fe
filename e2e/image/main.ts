#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ensureImage, imageVersion } from './build.js';

/**
 * `npm run image [-- --tag NAME …]`: builds the Dockerfile with podman (making its base image first
 * when this machine has none) and tags the result adpipe:<version>, plus any --tag given.
 */

const usage = `usage: npm run image [-- --tag NAME ...]

Builds the Dockerfile with podman (--pull=never) into adpipe:<package version>; the first run on a
machine makes the base image node:20.20.2-bookworm-slim from Debian's and npm's packages.
  --tag NAME   also tag the image NAME (e.g. registry.example.com/adpipe:0.1.0), repeatable
`;

const { values } = parseArgs({ options: { tag: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const started = Date.now();
const name = `localhost/adpipe:${imageVersion()}`;
ensureImage((line) => process.stderr.write(`[image] ${line}\n`), [name, ...(values.tag ?? [])]).then(
  (image) => {
    const mb = (image.sizeBytes / 1e6).toFixed(0);
    const base = image.base.madeSeconds ? `base made in ${image.base.madeSeconds.toFixed(0)} s` : 'base from local storage or cache';
    process.stdout.write(`${[name, ...(values.tag ?? [])].join(', ')} = ${image.tag}\n`);
    process.stdout.write(`image ${image.id.slice(0, 12)}, ${mb} MB, ${image.built ? 'built' : 'already built'}; ${base}; ${((Date.now() - started) / 1000).toFixed(1)} s in all\n`);
  },
  (error: unknown) => {
    process.stderr.write(`[image] error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
