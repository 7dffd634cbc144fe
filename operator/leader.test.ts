import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../e2e/stack/paths.js';
import { eventually, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { applyPipeline, deleteNamespace, examplePipeline, freshNamespace, getPipeline, installCrd, waitForCondition } from './test-support.js';

// Two operator processes (the compiled dist/operator/main.js, as deployed) share one Lease with the
// production timings (15 s lease, 10 s renew): exactly one reconciles; killed with SIGKILL (no
// release), the other takes over once the lease has run out.

const MAIN = path.join(REPO_ROOT, 'dist', 'operator', 'main.js');
let namespace: string;
const children: ChildProcess[] = [];

interface Replica {
  identity: string;
  child: ChildProcess;
  port: Promise<number>;
}

function startReplica(identity: string): Replica {
  const child = spawn(process.execPath, [MAIN, '--kubeconfig', stack().kube.kubeconfig, '--namespace', namespace, '--lease-namespace', namespace, '--lease-name', 'adpipe-operator', '--identity', identity, '--http-port', '0'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  children.push(child);
  const port = new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"port":(\d+),"msg":"operator started"/.exec(buffered);
      if (match) resolve(Number(match[1]));
      if (buffered.length > 1_000_000) buffered = buffered.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`operator ${identity} exited with ${code}`)));
  });
  port.catch(() => undefined);
  return { identity, child, port };
}

async function reconcileCount(replica: Replica): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${await replica.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('adpipe_operator_reconcile_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function holder(): Promise<string | undefined> {
  const lease = JSON.parse(await kubectl('get', 'lease', 'adpipe-operator', '-n', namespace, '-o', 'json')) as { spec: { holderIdentity?: string } };
  return lease.spec.holderIdentity || undefined;
}

async function reporters(name: string): Promise<string[]> {
  const events = JSON.parse(await kubectl('get', 'events.events.k8s.io', '-n', namespace, '-o', 'json')) as { items: Array<{ reportingInstance: string; regarding: { name: string } }> };
  return [...new Set(events.items.filter((e) => e.regarding.name === name).map((e) => e.reportingInstance))];
}

function deletable(name: string) {
  const pipeline = examplePipeline(namespace, name);
  pipeline.spec.deletionPolicy = 'Delete';
  return pipeline;
}

beforeAll(async () => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' first (npm test does)`);
  await installCrd();
  namespace = await freshNamespace('oplead');
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await deleteNamespace(namespace);
});

test('two replicas: exactly one reconciles; kill it and the other takes over within the lease time', async () => {
  const a = startReplica(uniqueName('op-a'));
  const b = startReplica(uniqueName('op-b'));
  await Promise.all([a.port, b.port]);
  const leaderId = await eventually('a lease holder', holder);
  const [leader, follower] = leaderId === a.identity ? [a, b] : [b, a];
  expect([a.identity, b.identity]).toContain(leaderId);

  const first = uniqueName('le1');
  await applyPipeline(deletable(first));
  await waitForCondition(namespace, first, 'TopicsReady', 'True');
  expect(await reporters(first)).toEqual([leader.identity]);
  expect(await reconcileCount(leader)).toBeGreaterThan(0);
  expect(await reconcileCount(follower)).toBe(0);

  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  await eventually('the follower to hold the lease', async () => ((await holder()) === follower.identity ? true : undefined), 40_000, 200);
  const takeoverMs = Date.now() - killedAt;
  // The lease is 15 s; a follower polls every 2 s and the dead leader renewed up to 10 s before it died.
  expect(takeoverMs).toBeLessThanOrEqual(15_000 + 2_000 + 3_000);

  const second = uniqueName('le2');
  await applyPipeline(deletable(second));
  await waitForCondition(namespace, second, 'TopicsReady', 'True');
  expect(await reporters(second)).toEqual([follower.identity]);

  // The new leader also finalizes what the old one created.
  await kubectl('delete', 'adp', first, second, '-n', namespace, '--wait=false');
  for (const name of [first, second]) await eventually(`${name} to be deleted`, async () => ((await getPipeline(namespace, name)) ? undefined : true), 60_000);

  // A graceful stop releases the lease at once.
  follower.child.kill('SIGTERM');
  await eventually('the lease to be released', async () => ((await holder()) === undefined ? true : undefined), 20_000, 200);
}, 180_000);
