import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { startOperator } from './operator.js';
import { hbaseTableAdmins } from './reconcile/hbase-admin.js';
import { DEFAULT_REVIEWERS_BINDING } from './reconcile/query-reviewers.js';

/**
 * The operator process: arguments and environment in, `startOperator` out, SIGTERM/SIGINT for a
 * graceful stop (finish reconciles in flight, release the Lease). Wiring only.
 *
 *   node dist/operator/main.js [--namespace NS] [--lease-namespace NS] [--lease-name NAME]
 *     [--identity ID] [--http-port 8081] [--no-leader-election] [--drift-check-ms N] [--workers N]
 *     [--prometheus-url URL] [--health-interval-ms N] [--kafka-admin-config FILE]
 *     [--kafka-acl-admin-config FILE]
 *     [--query-reviewers-binding NAME|'']
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (value: string | undefined) => (value === undefined ? undefined : Number(value));

const log = pino({ name: 'adpipe-operator', level: process.env['LOG_LEVEL'] ?? 'info' });
const kubeConfig = new k8s.KubeConfig();
const kubeconfigFile = arg('kubeconfig') ?? process.env['KUBECONFIG'];
if (kubeconfigFile) kubeConfig.loadFromFile(kubeconfigFile);
else kubeConfig.loadFromDefault();

const leaseNamespace = arg('lease-namespace') ?? process.env['POD_NAMESPACE'] ?? 'default';
const operator = await startOperator({
  kubeConfig,
  namespace: arg('namespace'),
  identity: arg('identity') ?? process.env['POD_NAME'],
  leaderElection: process.argv.includes('--no-leader-election')
    ? false
    : { namespace: leaseNamespace, name: arg('lease-name') ?? 'adpipe-operator', leaseMs: num(arg('lease-ms')), renewMs: num(arg('renew-ms')), retryMs: num(arg('retry-ms')) },
  tables: hbaseTableAdmins(),
  // ADPIPE_HTTP_PORT: the port the platform assigned (the local node agent's host-port mapping).
  httpPort: num(process.env['ADPIPE_HTTP_PORT'] ?? arg('http-port')) ?? 8081,
  driftCheckMs: num(arg('drift-check-ms')),
  workers: num(arg('workers')),
  cleanupTimeoutMs: num(arg('cleanup-timeout-ms')),
  prometheusUrl: arg('prometheus-url') ?? process.env['ADPIPE_PROMETHEUS_URL'],
  healthIntervalMs: num(arg('health-interval-ms')),
  kafkaAdminConfig: arg('kafka-admin-config') ?? process.env['ADPIPE_KAFKA_ADMIN_CONFIG'],
  kafkaAclAdminConfig: arg('kafka-acl-admin-config') ?? process.env['ADPIPE_KAFKA_ACL_ADMIN_CONFIG'],
  // '' leaves the workers' review rights to someone else (decision 0121).
  queryReviewersBinding: arg('query-reviewers-binding') ?? DEFAULT_REVIEWERS_BINDING,
  log,
});
log.info({ port: operator.port }, 'operator started');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    operator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: String(error) }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
