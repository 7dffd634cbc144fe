#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import { CRD_NAME } from '../api/v1alpha1/index.js';
import { REPO_ROOT } from './stack/paths.js';
import { stackUp } from './stack/stack.js';
import type { StackState } from './stack/state.js';

/**
 * The README's main job: the local stack of real servers, the AdPipeline CRD, the example pipeline
 * pointed at the stack's Kafka and HBase, and `kubectl get adpipelines`. Progress goes to stderr.
 */

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const step = (text: string) => process.stderr.write(`[demo ${elapsed().padStart(7)}] ${text}\n`);

function kubectl(state: StackState, args: string[], input?: string): string {
  const result = spawnSync(state.kubectl, ['--kubeconfig', state.kube.kubeconfig, ...args], { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/** The example manifest with its Kafka and HBase addresses replaced by the local stack's. */
export function exampleForStack(state: StackState): AdPipeline {
  const example = parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'adpipeline.yaml'), 'utf8')) as AdPipeline;
  example.spec.kafka.bootstrapServers = [state.kafka.bootstrap];
  example.spec.hbase.zookeeperQuorum = state.hbase.zookeeperQuorum;
  return example;
}

async function main(): Promise<void> {
  step('bringing up the local stack (kube-apiserver, etcd, kube-controller-manager, Kafka, HBase)');
  const state = await stackUp((line) => step(`stack: ${line}`));
  step('installing the AdPipeline CRD');
  kubectl(state, ['apply', '--server-side', '--field-manager=adpipe-demo', '-f', path.join(REPO_ROOT, 'crds', 'adpipelines.adpipe.io.yaml')]);
  kubectl(state, ['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
  step('applying examples/adpipeline.yaml (addresses set to the local stack)');
  kubectl(state, ['apply', '--server-side', '--field-manager=adpipe-demo', '-f', '-'], stringify(exampleForStack(state)));
  process.stdout.write(`\n$ kubectl get adpipelines -A\n${kubectl(state, ['get', 'adpipelines', '-A'])}\n`);
  process.stdout.write(`The stack keeps running: export KUBECONFIG=${state.kube.kubeconfig}; 'npm run stack -- down' stops it.\n`);
  step(`done (wall time ${elapsed()})`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[demo] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
