import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel } from 'kafkajs';
import { CRD_NAME } from '../../api/v1alpha1/index.js';
import { setScramCredential } from '../stack/components/kafka.js';
import { obtainKafka } from '../stack/obtain.js';
import { REPO_ROOT } from '../stack/paths.js';
import { requireStackState, type StackState } from '../stack/state.js';

/** Clients for the running local stack, for tests. Nothing here is shared between test files. */

export function stack(): StackState {
  return requireStackState();
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stack().kube.kubeconfig);
  return kc;
}

const run = promisify(execFile);

/** Runs the stack's kubectl against its API server; rejects with kubectl's stderr on failure. */
export async function kubectl(...args: string[]): Promise<string> {
  const state = stack();
  const { stdout } = await run(state.kubectl, ['--kubeconfig', state.kube.kubeconfig, ...args], { maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

/** Applies the AdPipeline CRD (as the demo does) and waits until the API server serves it. */
export async function installCrd(): Promise<void> {
  await kubectl('apply', '--server-side', '--force-conflicts', '-f', path.join(REPO_ROOT, 'crds', `${CRD_NAME}.yaml`));
  await untilCrdEstablished((args) => kubectl(...args));
}

/**
 * Waits until the API server serves the AdPipeline CRD. Not `kubectl wait --for=condition=Established`:
 * that fails at once instead of waiting when it reads the CRD before the API server has written its
 * first conditions ("accessor error: <nil>", seen in CI on 2026-12-04).
 */
export async function untilCrdEstablished(get: (args: string[]) => string | Promise<string>): Promise<void> {
  const established = async () => ((await get(['get', `crd/${CRD_NAME}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).trim() === 'True' ? true : undefined);
  await eventually(`the CRD ${CRD_NAME} to be Established`, established, 60_000, 100);
}

export function kafka(clientId = 'adpipe-test'): Kafka {
  return new Kafka({ clientId, brokers: [stack().kafka.bootstrap], logLevel: logLevel.WARN });
}

/**
 * Creates a SCRAM-SHA-512 user on the stack's broker, or changes its password (kafka-configs over
 * the PLAINTEXT listener, whose principal is a super user on the stack).
 */
export async function setScramPassword(user: string, password: string): Promise<void> {
  const state = stack();
  const lib = await obtainKafka(() => undefined);
  await setScramCredential(path.join(lib.dir, 'lib'), path.join(state.dir, 'kafka'), state.kafka.bootstrap, user, password, state.logs.kafka);
}

/** A kafkajs client on the stack's SASL_SSL listener as `username`, trusting the stack CA. */
export function saslKafka(username: string, password: string, clientId = 'adpipe-test-sasl'): Kafka {
  const sasl = stack().kafka.sasl;
  return new Kafka({ clientId, brokers: [sasl.bootstrap], logLevel: logLevel.NOTHING, ssl: { ca: [fs.readFileSync(sasl.caFile, 'utf8')] }, sasl: { mechanism: 'scram-sha-512', username, password } });
}

/** A name no other test (or earlier run against the same stack) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** TLS settings for the stack's HBase: its CA and the client certificate it requires (mutual TLS). */
export function hbaseTls(): { ca: Buffer; cert: Buffer; key: Buffer } {
  const tls = stack().hbase.tls as StackState['hbase']['tls'] | undefined;
  if (!tls) throw new Error("this stack's HBase predates TLS (no hbase.tls in its state): restart it with 'npm run stack -- up'");
  return { ca: fs.readFileSync(tls.caFile), cert: fs.readFileSync(tls.clientCertFile), key: fs.readFileSync(tls.clientKeyFile) };
}

/** The files under `dir` (recursively) whose bytes contain any of `needles`. */
export function filesContaining(dir: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  const patterns = needles.map((needle) => Buffer.from(needle));
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      continue; // rolled or archived while listing
    }
    if (patterns.some((pattern) => bytes.includes(pattern))) found.push(file);
  }
  return found;
}
