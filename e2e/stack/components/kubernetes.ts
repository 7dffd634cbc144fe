import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { adminKubeconfig, ensurePki, type Pki } from '../pki.js';
import { startDaemon, waitUntil } from '../proc.js';

/**
 * etcd, kube-apiserver and kube-controller-manager on loopback, started the way envtest starts
 * them, plus the controller manager so owner-reference garbage collection, Deployments → ReplicaSets
 * → Pods and namespace deletion behave as in a cluster.
 */

export interface KubePorts {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
}

export function httpGet(url: string, tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: 2000 } : { timeout: 2000 };
    const request = (url.startsWith('https:') ? https : http).get(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

export async function startEtcd(binDir: string, dataDir: string, port: number, peerPort: number, logFile: string): Promise<number> {
  const peer = `http://127.0.0.1:${peerPort}`;
  const pid = startDaemon(
    path.join(binDir, 'etcd'),
    [
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${port}`,
      `--advertise-client-urls=http://127.0.0.1:${port}`,
      // A single member still listens for peers; keep that on loopback too.
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--unsafe-no-fsync', // throwaway test data: durability across a power cut buys nothing here
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ],
    { cwd: path.dirname(dataDir), logFile },
  );
  await waitUntil('etcd', async () => (await httpGet(`http://127.0.0.1:${port}/health`)).body.includes('"health":"true"'), { deadlineMs: 30_000, pid, logFile });
  return pid;
}

/**
 * `etcdPrefix` gives the API server its own key space in a shared etcd: a second, empty cluster
 * (tests that need a cluster without the CRD use one; the stack's own keeps the default).
 */
export async function startApiserver(binDir: string, dir: string, ports: KubePorts, logFile: string, options: { etcdPrefix?: string } = {}): Promise<{ pid: number; pki: Pki; kubeconfig: string; server: string }> {
  const pki = await ensurePki(path.join(dir, 'pki'));
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, adminKubeconfig(pki, server), { mode: 0o600 });
  const pid = startDaemon(
    path.join(binDir, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
      ...(options.etcdPrefix ? [`--etcd-prefix=${options.etcdPrefix}`] : []),
      `--bind-address=127.0.0.1`,
      `--advertise-address=127.0.0.1`,
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${pki.dir}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No kubelets and no real Services network: nothing to reconcile endpoints for.
      '--endpoint-reconciler-type=none',
      // The local node agent's Node has Hostname = its name (no DNS); pods/portforward reaches its
      // kubelet endpoint by InternalIP (127.0.0.1).
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      '--enable-priority-and-fairness=false',
      '--v=1',
    ],
    { cwd: dir, logFile },
  );
  await waitUntil('kube-apiserver', () => apiserverHealthy(server, pki), { deadlineMs: 90_000, pid, logFile });
  return { pid, pki, kubeconfig, server };
}

export async function startControllerManager(binDir: string, dir: string, pki: Pki, kubeconfig: string, port: number, logFile: string): Promise<number> {
  const pid = startDaemon(
    path.join(binDir, 'kube-controller-manager'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=127.0.0.1`,
      `--secure-port=${port}`,
      `--cert-dir=${path.join(dir, 'kcm-certs')}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      // Node lifecycle and IPAM want real kubelets; everything else (GC, workloads, namespaces) runs.
      '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-persistentvolume-binder,-attachdetach',
      '--v=1',
    ],
    { cwd: dir, logFile },
  );
  await waitUntil('kube-controller-manager', async () => (await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200, {
    deadlineMs: 60_000,
    pid,
    logFile,
  });
  return pid;
}

export async function apiserverHealthy(server: string, pki: Pki): Promise<boolean> {
  const tls = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) };
  return (await httpGet(`${server}/readyz`, tls).catch(() => ({ status: 0 }))).status === 200;
}
