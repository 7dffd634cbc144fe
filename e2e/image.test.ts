import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './stack/paths.js';

// There is no container engine here, so this test does what the Dockerfile's build stage does —
// the same sources (its COPY lines), the same compiler command — and runs the image's entrypoint
// commands from that build output: proof that the image builds and both entrypoints start.

const run = promisify(execFile);
const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

function instruction(name: string): string[] {
  const line = dockerfile.split('\n').reverse().find((l) => l.startsWith(`${name} `));
  return JSON.parse(line!.slice(name.length + 1)) as string[];
}

/** The COPY sources of the build stage (before the second FROM). */
function buildStageSources(): string[] {
  const buildStage = dockerfile.split(/^FROM /m)[1]!;
  return [...buildStage.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
}

let buildDir: string;

beforeAll(async () => {
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-build-'));
  for (const source of buildStageSources()) fs.cpSync(path.join(REPO_ROOT, source), path.join(buildDir, source), { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(buildDir, 'node_modules'));
  const compile = dockerfile.match(/RUN (npx tsc [^&]+)/)![1]!.trim().split(' ');
  await run(compile[0]!, compile.slice(1), { cwd: buildDir });
}, 300_000);

afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));

test('the build stage compiles from exactly the sources it copies', () => {
  expect(fs.existsSync(path.join(buildDir, 'dist', 'operator', 'main.js'))).toBe(true);
  expect(fs.existsSync(path.join(buildDir, 'dist', 'runtime', 'main.js'))).toBe(true);
  // The query API's thread is loaded by path at run time, not imported: no import graph proves it is built.
  expect(fs.existsSync(path.join(buildDir, 'dist', 'runtime', 'query', 'thread.js'))).toBe(true);
  expect(fs.existsSync(path.join(buildDir, 'dist', 'cli', 'adpipe.js'))).toBe(true);
});

test('the default command (the operator) and the chart both run dist/operator/main.js with node', () => {
  expect([...instruction('ENTRYPOINT'), ...instruction('CMD')]).toEqual(['node', 'dist/operator/main.js']);
  const chartDeployment = fs.readFileSync(path.join(REPO_ROOT, 'helm', 'adpipe-operator', 'templates', 'deployment.yaml'), 'utf8');
  expect(chartDeployment).toMatch(/command: \[node\]\s+args:\s+- dist\/operator\/main\.js/);
});

test('the runtime entrypoint starts from the image build and refuses a missing config with a clear error', async () => {
  const missing = path.join(buildDir, 'no-such-pipeline.json');
  const failure = await run(process.execPath, ['dist/runtime/main.js', '--config', missing], { cwd: buildDir, timeout: 30_000 }).then(
    () => undefined,
    (error: { code?: number; stderr?: string; stdout?: string }) => error,
  );
  expect(failure?.code).not.toBe(0);
  expect(`${failure?.stderr}${failure?.stdout}`).toContain(missing);
});

test('the operator entrypoint starts from the image build and reports an unreachable API server instead of crashing silently', async () => {
  const kubeconfig = path.join(buildDir, 'kubeconfig.json');
  fs.writeFileSync(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }], users: [{ name: 'u', user: { token: 't' } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x' }));
  const child = execFile(process.execPath, ['dist/operator/main.js', '--kubeconfig', kubeconfig, '--http-port', '0', '--no-leader-election'], { cwd: buildDir, timeout: 20_000 });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => setTimeout(resolve, 6000));
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  expect(output).toMatch(/ECONNREFUSED|127\.0\.0\.1:1/);
});
