import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../stack/paths.js';
import { VERSIONS } from '../stack/versions.js';
import { stack } from '../support/stack-clients.js';

// `npm run stack -- status` lists the schema registry with its version, health and address, like
// every other server of the stack.

test('stack status lists the schema registry, healthy, with its version and Confluent API address', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'dist', 'e2e', 'stack', 'main.js'), 'status'], { cwd: REPO_ROOT });
  const line = stdout.split('\n').find((l) => l.startsWith('schema-registry'));
  expect(line?.split(/\s+/)).toEqual(['schema-registry', `apicurio-${VERSIONS.registry}`, 'healthy', expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/), 'MiB', stack().registry.url]);
  expect(stack().registry.url).toMatch(/\/apis\/ccompat\/v7$/);
});
