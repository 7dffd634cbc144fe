#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, stackDir } from '../stack/paths.js';
import fs from 'node:fs';
import { pkiPaths } from '../stack/pki.js';
import { readStackState } from '../stack/state.js';
import { NodeAgent } from './agent.js';

/**
 * `node dist/e2e/agent/main.js --namespace NS [--namespace NS2] [--node NAME] [--runtime podman]`:
 * runs the Pods of those namespaces until SIGTERM, as local processes (default) or as podman
 * containers of their images.
 */
const { values } = parseArgs({
  options: {
    namespace: { type: 'string', multiple: true },
    node: { type: 'string', default: 'adpipe-local' },
    kubeconfig: { type: 'string' },
    runtime: { type: 'string', default: 'process' },
  },
});
const state = readStackState();
const kubeconfig = values.kubeconfig ?? state?.kube.kubeconfig;
const runtime = values.runtime;
if (!kubeconfig || !values.namespace?.length || (runtime !== 'process' && runtime !== 'podman')) {
  process.stderr.write('usage: agent --namespace NS [--namespace NS…] [--node NAME] [--kubeconfig FILE] [--runtime process|podman]\n(needs a running stack or --kubeconfig)\n');
  process.exit(2);
}
const agent = new NodeAgent({
  kubeconfig,
  nodeName: values.node!,
  namespaces: values.namespace,
  dir: path.join(stackDir(), 'agent', values.node!),
  workdir: REPO_ROOT,
  runtime,
  // The local stack's Prometheus scrapes the workers this agent runs (e2e/stack/components/prometheus.ts).
  scrapeTargetsFile: state?.monitoring ? path.join(state.monitoring.targetsDir, `pods-${values.node!}.json`) : undefined,
  // The kubelet endpoint's certificate: the stack's loopback serving certificate (the API server does not verify kubelets here).
  kubeletTls: state ? kubeletTls(pkiPaths(path.join(state.dir, 'pki'))) : undefined,
  log: (line) => process.stderr.write(`[agent] ${line}\n`),
});
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void agent.stop().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
await agent.start();

function kubeletTls(pki: { servingCert: string; servingKey: string }): { cert: string; key: string } | undefined {
  if (!fs.existsSync(pki.servingCert)) return undefined;
  return { cert: fs.readFileSync(pki.servingCert, 'utf8'), key: fs.readFileSync(pki.servingKey, 'utf8') };
}
