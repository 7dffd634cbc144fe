import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contextDigest, contextSources } from './context.js';
import { npmTrustFlags } from './npm-trust.js';
import { ulimitFlags } from './podman.js';

// Pure parts of the image build: what the digest reads, the ulimits containers get, and when the
// build is given the host's extra CA certificates.

test('the context is every source the COPY lines read from the context, not from a stage', () => {
  const dockerfile = ['FROM x AS build', 'COPY package.json package-lock.json ./', 'COPY ./api ./api', 'COPY --chown=1:1 crds/ ./crds', 'FROM x', 'COPY --from=build --chown=root:root /src/dist ./dist'].join('\n');
  expect(contextSources(dockerfile)).toEqual(['api', 'crds', 'package-lock.json', 'package.json']);
});

test('the digest changes with a source file, the Dockerfile or the base image, and with nothing else', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'context-'));
  fs.mkdirSync(path.join(root, 'api'));
  fs.writeFileSync(path.join(root, 'Dockerfile'), 'FROM x\nCOPY api ./api\n');
  fs.writeFileSync(path.join(root, 'api', 'a.ts'), 'one');
  const first = contextDigest(root, 'base1');
  fs.writeFileSync(path.join(root, 'README.md'), 'not copied');
  expect(contextDigest(root, 'base1')).toBe(first);
  expect(contextDigest(root, 'base2')).not.toBe(first);
  fs.writeFileSync(path.join(root, 'api', 'a.ts'), 'two');
  expect(contextDigest(root, 'base1')).not.toBe(first);
  fs.rmSync(root, { recursive: true });
});

test('containers get this process’s hard limits, never more than podman’s conmon may grant', () => {
  const limits = ['Limit                     Soft Limit           Hard Limit           Units', 'Max processes             96365                96365                processes', 'Max open files            1024                 20000                files'].join('\n');
  expect(ulimitFlags(limits)).toEqual(['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768']);
  expect(ulimitFlags('Max processes             unlimited            unlimited            processes\nMax open files            4096                 4096                 files')).toEqual(['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=32768:32768']);
});

test('the build trusts the host’s extra CAs only when the host has some', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trust-'));
  expect(npmTrustFlags(path.join(dir, 'none'), {})).toEqual([]);
  fs.writeFileSync(path.join(dir, 'extra.pem'), '-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n');
  const flags = npmTrustFlags(path.join(dir, 'build'), { NODE_EXTRA_CA_CERTS: path.join(dir, 'extra.pem') });
  expect(flags).toEqual(['--volume', `${path.join(dir, 'build')}:/run/adpipe-build:ro`, '--volume', `${path.join(dir, 'build', 'npmrc')}:/usr/local/etc/npmrc:ro`]);
  expect(fs.readFileSync(path.join(dir, 'build', 'npmrc'), 'utf8')).toBe('cafile=/run/adpipe-build/ca.pem\n');
  expect(fs.readFileSync(path.join(dir, 'build', 'ca.pem'), 'utf8')).toMatch(/BEGIN CERTIFICATE[\s\S]*extra\n-----END CERTIFICATE-----\n$/);
  fs.rmSync(dir, { recursive: true });
});
