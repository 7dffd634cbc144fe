import http from 'node:http';
import type { StackState } from '../stack/state.js';

/**
 * What the tests see of the stack's monitoring: Prometheus queries, Alertmanager's v2 API, and a
 * webhook receiver on the address the stack's Alertmanager delivers every alert to.
 */

export interface Notification {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  /** When the receiver got it (ms). */
  receivedMs: number;
}

export class WebhookReceiver {
  private constructor(
    private readonly server: http.Server,
    readonly notifications: Notification[],
  ) {}

  /** Listens on the stack's webhook port (tests run one file at a time, so it is free). */
  static async start(state: StackState): Promise<WebhookReceiver> {
    const notifications: Notification[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        try {
          const payload = JSON.parse(body) as { alerts: Omit<Notification, 'receivedMs'>[] };
          for (const alert of payload.alerts) notifications.push({ ...alert, receivedMs: Date.now() });
        } catch {
          /* not a webhook payload: ignored */
        }
        res.writeHead(200).end();
      });
    });
    const receiver = new WebhookReceiver(server, notifications);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(state.monitoring.webhookPort, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  /** The first notification of `alertname` with this status and labels received after `sinceMs`. */
  find(alertname: string, status: Notification['status'], labels: Record<string, string> = {}, sinceMs = 0): Notification | undefined {
    return this.notifications.find((n) => n.receivedMs > sinceMs && n.status === status && n.labels['alertname'] === alertname && Object.entries(labels).every(([k, v]) => n.labels[k] === v));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  startsAt: string;
}

/** Alerts Alertmanager holds now (v2 API), optionally only those with these labels. */
export async function alertmanagerAlerts(state: StackState, labels: Record<string, string> = {}): Promise<ActiveAlert[]> {
  const filter = Object.entries(labels).map(([k, v]) => `filter=${encodeURIComponent(`${k}="${v}"`)}`).join('&');
  const response = await fetch(`${state.monitoring.alertmanagerUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false${filter ? `&${filter}` : ''}`);
  if (!response.ok) throw new Error(`Alertmanager answered ${response.status}`);
  return (await response.json()) as ActiveAlert[];
}

/** An instant query's result vector. */
export async function promQuery(state: StackState, expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${state.monitoring.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query failed (${body.error}): ${expr}`);
  return body.data.result;
}

/**
 * Samples a pipeline's data health while a run goes on: any DataHealthy=False and any alert
 * naming the pipeline's namespace is recorded (the demo and the normal-traffic scenario must see
 * none). `stop` ends sampling and says what was seen.
 */
export class HealthWatch {
  readonly problems: string[] = [];
  last: { status: string; reason: string; message: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: StackState,
    private readonly namespace: string,
    private readonly condition: () => Promise<{ status: string; reason: string; message: string } | undefined>,
    private readonly intervalMs = 2000,
  ) {}

  start(): this {
    this.timer = setInterval(() => (this.sampling = this.sampling.then(() => this.sample())), this.intervalMs);
    return this;
  }

  async stop(): Promise<string[]> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    return [...new Set(this.problems)];
  }

  private async sample(): Promise<void> {
    const c = await this.condition().catch(() => undefined);
    if (c) this.last = c;
    if (c?.status === 'False') this.problems.push(`DataHealthy=False ${c.reason}: ${c.message}`);
    const alerts = await alertmanagerAlerts(this.state, { namespace: this.namespace }).catch(() => []);
    for (const a of alerts) this.problems.push(`alert ${a.labels['alertname']} (${a.annotations['summary'] ?? ''})`);
  }
}
