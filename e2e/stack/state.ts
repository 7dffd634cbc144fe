import fs from 'node:fs';
import { stateFile } from './paths.js';

/**
 * What a running stack tells its users: addresses, the kubeconfig, and the pids that `down` stops.
 * Tests, benchmarks and the demo read this file; nothing else about the stack is a public surface.
 */
export interface StackState {
  dir: string;
  startedAt: string;
  kubectl: string;
  kube: {
    kubeconfig: string;
    server: string;
    etcdPort: number;
    etcdPeerPort: number;
    apiserverPort: number;
    controllerManagerPort: number;
  };
  /**
   * `bootstrap` is the PLAINTEXT listener (principal ANONYMOUS, a super user). `sasl` is the SASL_SSL
   * listener: SCRAM-SHA-512, the broker's certificate signed by the stack CA (`caFile`), and the
   * stack's SCRAM users with their passwords (decision 0110).
   */
  kafka: {
    bootstrap: string;
    port: number;
    controllerPort: number;
    clusterId: string;
    sasl: { bootstrap: string; port: number; mechanism: 'scram-sha-512'; caFile: string; users: Record<'admin' | 'pipeline' | 'producer' | 'limited', string> };
  };
  /**
   * HBase; `rootDir` is its data on disk (HFiles, WALs). Its RPC ports also speak TLS to clients
   * with a certificate from the stack CA (`tls`); families with encryption are encrypted on disk
   * under the master key `masterKeyAlias`, and so is the WAL (decisions 0130, 0132).
   */
  hbase: {
    zookeeperQuorum: string;
    zookeeperPort: number;
    masterPort: number;
    regionServerPort: number;
    rootDir: string;
    tls: { caFile: string; clientCertFile: string; clientKeyFile: string };
    masterKeyAlias: string;
  };
  /**
   * The schema registry; `url` is its Confluent-compatible API (what a spec's `schemaRegistryUrl`
   * names); `tlsUrl` the same over https, its certificate signed by the stack CA (`caFile`).
   */
  registry: { url: string; port: number; tlsUrl: string; tlsPort: number; caFile: string };
  /** Prometheus and Alertmanager; `webhookPort` is where Alertmanager delivers every alert (a test listens there). */
  monitoring: { prometheusUrl: string; alertmanagerUrl: string; prometheusPort: number; alertmanagerPort: number; alertmanagerClusterPort: number; webhookPort: number; targetsDir: string; promtool: string };
  pids: Partial<Record<ServerName, number>>;
  logs: Record<ServerName, string>;
}

export const SERVER_NAMES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kafka', 'hbase', 'schema-registry', 'prometheus', 'alertmanager'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export function readStackState(): StackState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/** For tests: the state of a stack that must be up, with a message that says how to bring it up. */
export function requireStackState(): StackState {
  const state = readStackState();
  if (!state) throw new Error(`no local stack state at ${stateFile()}; run 'npm run stack -- up' first`);
  return state;
}

export function writeStackState(state: StackState): void {
  const file = stateFile();
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}
