import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureHBaseCerts, ensureKafkaCert, ensurePki, pkiPaths } from './pki.js';
import { apiserverHealthy, httpGet, startApiserver, startControllerManager, startEtcd } from './components/kubernetes.js';
import { kafkaHealthy, newClusterId, scramUsers, startKafka } from './components/kafka.js';
import { ensureEncryptionKeyStore, hbaseHealthy, startHBase } from './components/hbase.js';
import { registryHealthy, registryUrl, startRegistry } from './components/registry.js';
import { alertmanagerHealthy, prometheusHealthy, startAlertmanager, startPrometheus, targetsDir, type PrometheusPorts } from './components/prometheus.js';
import { removeStackContainers } from '../image/podman.js';
import { obtainAlertmanager, obtainEtcd, obtainHBase, obtainKafka, obtainKubectl, obtainKubernetes, obtainPrometheus, obtainRegistry } from './obtain.js';
import { choosePort } from './ports.js';
import { dataPlaneHost, stackDir } from './paths.js';
import { isAlive, rssBytes, stopProcess } from './proc.js';
import { readStackState, SERVER_NAMES, writeStackState, type ServerName, type StackState } from './state.js';
import { VERSIONS } from './versions.js';

/**
 * The local stack: every server the product talks to, real, on loopback. `up` is idempotent: a
 * healthy server is left running, a dead or sick one is (re)started, and ports are reused so
 * addresses stay stable across restarts.
 */

export type Log = (line: string) => void;

export async function stackUp(log: Log): Promise<StackState> {
  const dir = stackDir();
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const previous = readStackState();
  const health = previous ? await serverHealth(previous) : undefined;
  // A stack from before HBase had TLS and a master key (no `hbase.tls` in its state) starts again.
  if (previous && health && SERVER_NAMES.every((name) => health[name]) && previous.hbase.tls) {
    log(`stack already up (${dir})`);
    return previous;
  }

  const started = Date.now();
  // Go builds share two cores, so they run one after the other while Maven downloads alongside.
  const goBuilds = obtainEtcd(log).then(async (etcd) => ({ etcd, kube: await obtainKubernetes(log) }));
  const [{ etcd, kube }, kafkaLib, hbaseLib, registryBuild, kubectl, prometheusBin, alertmanagerBin] = await Promise.all([
    goBuilds,
    obtainKafka(log),
    obtainHBase(log),
    obtainRegistry(log),
    findKubectl(log),
    obtainPrometheus(log),
    obtainAlertmanager(log),
  ]);

  const taken = new Set<number>();
  const ports = {
    etcd: await choosePort(previous?.kube.etcdPort, taken),
    etcdPeer: await choosePort(previous?.kube.etcdPeerPort, taken),
    apiserver: await choosePort(previous?.kube.apiserverPort, taken),
    controllerManager: await choosePort(previous?.kube.controllerManagerPort, taken),
    kafka: await choosePort(previous?.kafka.port, taken),
    kafkaController: await choosePort(previous?.kafka.controllerPort, taken),
    kafkaSasl: await choosePort(previous?.kafka.sasl?.port, taken),
    zookeeper: await choosePort(previous?.hbase.zookeeperPort, taken),
    hbaseMaster: await choosePort(previous?.hbase.masterPort, taken),
    regionServer: await choosePort(previous?.hbase.regionServerPort, taken),
    registry: await choosePort(previous?.registry?.port, taken),
    registryTls: await choosePort(previous?.registry?.tlsPort, taken),
    prometheus: await choosePort(previous?.monitoring?.prometheusPort, taken),
    alertmanager: await choosePort(previous?.monitoring?.alertmanagerPort, taken),
    alertmanagerCluster: await choosePort(previous?.monitoring?.alertmanagerClusterPort, taken),
    webhook: await choosePort(previous?.monitoring?.webhookPort, taken),
  };
  const monitoringPorts: PrometheusPorts = { prometheus: ports.prometheus, alertmanager: ports.alertmanager, alertmanagerCluster: ports.alertmanagerCluster, webhook: ports.webhook };
  // The CA and loopback serving certificate first: the API server and the registry's https use them.
  const pki = await ensurePki(path.join(dir, 'pki'));
  const kafkaTls = await ensureKafkaCert(pki, dataPlaneHost());
  const hbaseCerts = await ensureHBaseCerts(pki, dataPlaneHost());
  const hbaseKeys = await ensureEncryptionKeyStore(path.join(dir, 'hbase'));
  const logs = Object.fromEntries(SERVER_NAMES.map((name) => [name, path.join(dir, 'logs', `${name}.log`)])) as Record<ServerName, string>;
  const state: StackState = {
    dir,
    startedAt: new Date().toISOString(),
    kubectl,
    kube: {
      kubeconfig: path.join(dir, 'kubeconfig'),
      server: `https://127.0.0.1:${ports.apiserver}`,
      etcdPort: ports.etcd,
      etcdPeerPort: ports.etcdPeer,
      apiserverPort: ports.apiserver,
      controllerManagerPort: ports.controllerManager,
    },
    kafka: {
      bootstrap: `${dataPlaneHost()}:${ports.kafka}`,
      port: ports.kafka,
      controllerPort: ports.kafkaController,
      clusterId: previous?.kafka.clusterId ?? newClusterId(),
      sasl: { bootstrap: `${dataPlaneHost()}:${ports.kafkaSasl}`, port: ports.kafkaSasl, mechanism: 'scram-sha-512', caFile: kafkaTls.caFile, users: scramUsers(path.join(dir, 'kafka')) },
    },
    hbase: {
      zookeeperQuorum: `${dataPlaneHost()}:${ports.zookeeper}`,
      zookeeperPort: ports.zookeeper,
      masterPort: ports.hbaseMaster,
      regionServerPort: ports.regionServer,
      rootDir: path.join(dir, 'hbase', 'root'),
      tls: { caFile: hbaseCerts.caCert, clientCertFile: hbaseCerts.clientCert, clientKeyFile: hbaseCerts.clientKey },
      masterKeyAlias: hbaseKeys.masterKeyAlias,
    },
    registry: { url: registryUrl(ports.registry), port: ports.registry, tlsUrl: registryUrl(ports.registryTls, '127.0.0.1', 'https'), tlsPort: ports.registryTls, caFile: pki.caCert },
    monitoring: {
      prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
      alertmanagerUrl: `http://127.0.0.1:${ports.alertmanager}`,
      prometheusPort: ports.prometheus,
      alertmanagerPort: ports.alertmanager,
      alertmanagerClusterPort: ports.alertmanagerCluster,
      webhookPort: ports.webhook,
      targetsDir: targetsDir(dir),
      promtool: path.join(prometheusBin.dir, 'bin', 'promtool'),
    },
    pids: {},
    logs,
  };
  // Anything left of an earlier stack that is not healthy is stopped before its port is reused.
  for (const name of SERVER_NAMES) await stopProcess(previous?.pids[name]);

  const timed = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const result = await start();
    log(`${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };
  const saveAs = (name: ServerName) => (pid: number) => {
    state.pids[name] = pid;
    writeStackState(state);
  };
  // Every start is let finish (each stops its own server if it never turns healthy) before a failure
  // stops the rest: stopping while others still start left them running, holding ports and data locks.
  const starts = await Promise.allSettled([
    (async () => {
      saveAs('etcd')(await timed('etcd', () => startEtcd(etcd.dir, path.join(dir, 'etcd', 'data'), ports.etcd, ports.etcdPeer, logs.etcd)));
      const api = await timed('kube-apiserver', () => startApiserver(kube.dir, dir, { etcd: ports.etcd, etcdPeer: ports.etcdPeer, apiserver: ports.apiserver, controllerManager: ports.controllerManager }, logs['kube-apiserver']));
      saveAs('kube-apiserver')(api.pid);
      saveAs('kube-controller-manager')(await timed('kube-controller-manager', () => startControllerManager(kube.dir, dir, api.pki, api.kubeconfig, ports.controllerManager, logs['kube-controller-manager'])));
      saveAs('prometheus')(await timed('prometheus', () => startPrometheus(path.join(prometheusBin.dir, 'bin'), path.join(dir, 'prometheus'), dir, monitoringPorts, logs.prometheus)));
    })(),
    timed('alertmanager', () => startAlertmanager(alertmanagerBin.dir, path.join(dir, 'alertmanager'), monitoringPorts, logs.alertmanager)).then(saveAs('alertmanager')),
    timed('kafka', () => startKafka(path.join(kafkaLib.dir, 'lib'), path.join(dir, 'kafka'), { broker: ports.kafka, controller: ports.kafkaController, sasl: ports.kafkaSasl }, state.kafka.clusterId, logs.kafka, kafkaTls)).then(saveAs('kafka')),
    timed('hbase', () =>
      startHBase(path.join(hbaseLib.dir, 'lib'), path.join(dir, 'hbase'), { zookeeper: ports.zookeeper, master: ports.hbaseMaster, regionServer: ports.regionServer }, logs.hbase, {
        tls: { keyStore: hbaseCerts.serverKeyStore, trustStore: hbaseCerts.caCert },
        encryption: hbaseKeys,
      }),
    ).then(saveAs('hbase')),
    timed('schema-registry', () => startRegistry(registryBuild.dir, path.join(dir, 'registry'), { http: ports.registry, https: ports.registryTls }, { cert: pki.servingCert, key: pki.servingKey }, logs['schema-registry'])).then(saveAs('schema-registry')),
  ]);
  const failed = starts.find((start): start is PromiseRejectedResult => start.status === 'rejected');
  if (failed) {
    log('start-up failed; stopping what did start');
    await stackDown(log);
    throw failed.reason;
  }
  writeStackState(state);
  log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})`);
  return state;
}

/**
 * Starts the schema registry of a running stack again on its port, with its data (the outage
 * tests stop it with `stopProcess(state.pids['schema-registry'])`).
 */
export async function restartRegistry(state: StackState, log: Log = () => undefined): Promise<void> {
  if (!state.registry) throw new Error("this stack has no schema registry; run 'npm run stack -- up'");
  if (await registryHealthy(state.registry.url)) return;
  await stopProcess(state.pids['schema-registry']);
  const build = await obtainRegistry(log);
  const pki = pkiPaths(path.join(state.dir, 'pki'));
  state.pids['schema-registry'] = await startRegistry(build.dir, path.join(state.dir, 'registry'), { http: state.registry.port, https: state.registry.tlsPort }, { cert: pki.servingCert, key: pki.servingKey }, state.logs['schema-registry']);
  writeStackState(state);
}

/** Stops every server (data is kept for the next `up`; `purge` removes it too). */
export async function stackDown(log: Log, options: { purge?: boolean } = {}): Promise<void> {
  const state = readStackState();
  // Containers a killed node agent or test left behind would keep calling the servers below.
  const removed = await removeStackContainers(stackDir()).catch(() => 0);
  if (removed) log(`removed ${removed} container(s) left running against this stack`);
  if (state) {
    // Reverse dependency order: the controller manager before the API server before etcd.
    await Promise.all([stopProcess(state.pids.prometheus), stopProcess(state.pids.alertmanager)]);
    await stopProcess(state.pids['kube-controller-manager']);
    await Promise.all([stopProcess(state.pids['kube-apiserver']).then(() => stopProcess(state.pids.etcd)), stopProcess(state.pids.kafka, 30_000), stopProcess(state.pids.hbase, 30_000), stopProcess(state.pids['schema-registry'])]);
    writeStackState({ ...state, pids: {} });
    log('stack stopped');
  } else {
    log('no stack state: nothing to stop');
  }
  if (options.purge) {
    fs.rmSync(stackDir(), { recursive: true, force: true });
    log(`removed ${stackDir()}`);
  }
}

export async function serverHealth(state: StackState): Promise<Record<ServerName, boolean>> {
  const alive = (name: ServerName) => isAlive(state.pids[name]);
  const pki = pkiPaths(path.join(state.dir, 'pki'));
  const [etcd, apiserver, kcm, kafka, hbase, registry, prometheus, alertmanager] = await Promise.all([
    alive('etcd') && httpGet(`http://127.0.0.1:${state.kube.etcdPort}/health`).then((r) => r.body.includes('"health":"true"'), () => false),
    alive('kube-apiserver') && apiserverHealthy(state.kube.server, pki),
    alive('kube-controller-manager') && httpGet(`https://127.0.0.1:${state.kube.controllerManagerPort}/healthz`, { insecure: true }).then((r) => r.status === 200, () => false),
    // Both listeners: a stack from before the SASL_SSL listener counts as down and is restarted with it.
    alive('kafka') && (async () => state.kafka.sasl !== undefined && (await kafkaHealthy(state.kafka.bootstrap)) && kafkaHealthy(state.kafka.sasl.bootstrap, { caFile: state.kafka.sasl.caFile, username: 'admin', password: state.kafka.sasl.users.admin }))(),
    alive('hbase') && hbaseHealthy({ zookeeper: state.hbase.zookeeperPort, master: state.hbase.masterPort, regionServer: state.hbase.regionServerPort }).catch(() => false),
    alive('schema-registry') && state.registry !== undefined && registryHealthy(state.registry.url),
    alive('prometheus') && state.monitoring !== undefined && prometheusHealthy(state.monitoring.prometheusPort),
    alive('alertmanager') && state.monitoring !== undefined && alertmanagerHealthy(state.monitoring.alertmanagerPort),
  ]);
  return { etcd, 'kube-apiserver': apiserver, 'kube-controller-manager': kcm, kafka, hbase, 'schema-registry': registry, prometheus, alertmanager };
}

export interface ServerStatus {
  name: ServerName;
  version: string;
  pid?: number;
  healthy: boolean;
  rssBytes?: number;
  address: string;
}

export async function stackStatus(): Promise<ServerStatus[] | undefined> {
  const state = readStackState();
  if (!state) return undefined;
  const health = await serverHealth(state);
  const address: Record<ServerName, string> = {
    etcd: `http://127.0.0.1:${state.kube.etcdPort}`,
    'kube-apiserver': state.kube.server,
    'kube-controller-manager': `https://127.0.0.1:${state.kube.controllerManagerPort}`,
    kafka: state.kafka.sasl ? `${state.kafka.bootstrap} (PLAINTEXT), ${state.kafka.sasl.bootstrap} (SASL_SSL ${state.kafka.sasl.mechanism.toUpperCase()})` : state.kafka.bootstrap,
    hbase: `zookeeper ${state.hbase.zookeeperQuorum}`,
    'schema-registry': state.registry?.url ?? '-',
    prometheus: state.monitoring?.prometheusUrl ?? '-',
    alertmanager: state.monitoring ? `${state.monitoring.alertmanagerUrl} (webhook 127.0.0.1:${state.monitoring.webhookPort})` : '-',
  };
  const version: Record<ServerName, string> = {
    etcd: VERSIONS.etcd,
    'kube-apiserver': VERSIONS.kubernetes,
    'kube-controller-manager': VERSIONS.kubernetes,
    kafka: VERSIONS.kafka,
    hbase: VERSIONS.hbase,
    'schema-registry': `apicurio-${VERSIONS.registry}`,
    prometheus: VERSIONS.prometheus,
    alertmanager: VERSIONS.alertmanager,
  };
  return SERVER_NAMES.map((name) => ({ name, version: version[name], pid: state.pids[name], healthy: health[name], rssBytes: rssBytes(state.pids[name]), address: address[name] }));
}

/** kubectl from PATH when there is one (any recent version talks to this API server), else built. */
async function findKubectl(log: Log): Promise<string> {
  const onPath = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  return path.join((await obtainKubectl(log)).dir, 'kubectl');
}
