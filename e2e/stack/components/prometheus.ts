import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../paths.js';
import { startDaemon, waitUntil } from '../proc.js';
import { httpGet } from './kubernetes.js';

/**
 * Prometheus from Debian's package, Alertmanager built from the Go module proxy (decision 0080).
 * Prometheus finds what it scrapes through files in `targets/`: the node agent lists the worker
 * Pods it runs, tests and the demo the operators they start. It loads the chart's alert rules unchanged and
 * sends alerts to the stack's Alertmanager, which routes every alert to one webhook address the
 * stack reserves for tests (nothing listens there unless a test does).
 */

export const RULES_FILE = path.join(REPO_ROOT, 'helm', 'adpipe-operator', 'rules', 'adpipe.rules.yaml');

export interface PrometheusPorts {
  prometheus: number;
  alertmanager: number;
  alertmanagerCluster: number;
  webhook: number;
}

/** Where a test or the demo drops a file_sd target file (one JSON file per scraped process). */
export function targetsDir(stackDir: string): string {
  return path.join(stackDir, 'prometheus', 'targets');
}

/** Scrape and rule evaluation every 5 s: alerts and health verdicts within seconds in tests. */
export const SCRAPE_INTERVAL_SECONDS = 5;

export function prometheusConfig(stackDir: string, ports: PrometheusPorts): string {
  const interval = `${SCRAPE_INTERVAL_SECONDS}s`;
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: '4s' },
    rule_files: [RULES_FILE],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${ports.alertmanager}`] }] }] },
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${ports.prometheus}`] }] },
      // Worker Pods: the node agent lists the ones it runs, with their host ports, in pods-*.json
      // (a kubelet's Pod IPs and the chart's PodMonitor do the same in a cluster). Debian's
      // Prometheus has no Kubernetes service discovery, so files it is.
      { job_name: 'adpipe-workers', file_sd_configs: [{ files: [path.join(targetsDir(stackDir), 'pods-*.json')], refresh_interval: '5s' }] },
      // Operators started by tests and the demo (operator-*.json); their per-pipeline series carry their own namespace label.
      { job_name: 'adpipe-operator', honor_labels: true, file_sd_configs: [{ files: [path.join(targetsDir(stackDir), 'operator-*.json')], refresh_interval: '5s' }] },
    ],
  });
}

/** Every alert to the one webhook; short waits so tests see deliveries and resolutions quickly. */
export function alertmanagerConfig(ports: PrometheusPorts): string {
  return stringify({
    route: { receiver: 'test-webhook', group_by: ['alertname', 'namespace', 'pipeline'], group_wait: '1s', group_interval: '5s', repeat_interval: '1h' },
    receivers: [{ name: 'test-webhook', webhook_configs: [{ url: `http://127.0.0.1:${ports.webhook}/alerts`, send_resolved: true }] }],
  });
}

export async function startPrometheus(binDir: string, dir: string, stackDir: string, ports: PrometheusPorts, logFile: string): Promise<number> {
  fs.mkdirSync(targetsDir(stackDir), { recursive: true });
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, prometheusConfig(stackDir, ports));
  const pid = startDaemon(path.join(binDir, 'prometheus'), [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    '--storage.tsdb.retention.time=2d',
    `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    '--web.enable-lifecycle',
    `--web.external-url=http://127.0.0.1:${ports.prometheus}/`,
  ], { cwd: dir, logFile });
  await waitUntil('prometheus', () => prometheusHealthy(ports.prometheus), { deadlineMs: 60_000, pid, logFile });
  return pid;
}

export async function startAlertmanager(binDir: string, dir: string, ports: PrometheusPorts, logFile: string): Promise<number> {
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(config, alertmanagerConfig(ports));
  const pid = startDaemon(path.join(binDir, 'alertmanager'), [
    `--config.file=${config}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
    `--cluster.listen-address=127.0.0.1:${ports.alertmanagerCluster}`,
    '--cluster.advertise-address=127.0.0.1:' + ports.alertmanagerCluster,
  ], { cwd: dir, logFile });
  await waitUntil('alertmanager', () => alertmanagerHealthy(ports.alertmanager), { deadlineMs: 60_000, pid, logFile });
  return pid;
}

export function prometheusHealthy(port: number): Promise<boolean> {
  return httpGet(`http://127.0.0.1:${port}/-/ready`).then((r) => r.status === 200, () => false);
}

export function alertmanagerHealthy(port: number): Promise<boolean> {
  return httpGet(`http://127.0.0.1:${port}/-/ready`).then((r) => r.status === 200, () => false);
}
