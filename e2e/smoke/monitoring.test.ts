import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { RULES_FILE } from '../stack/components/prometheus.js';
import { stackStatus } from '../stack/stack.js';
import { stack } from '../support/stack-clients.js';

// The stack's Prometheus and Alertmanager: healthy in `stack status`, the chart's rules loaded as
// they are, Alertmanager's v2 API answering with the stack's webhook route.

const state = stack();

test('stack status lists Prometheus and Alertmanager healthy', async () => {
  const servers = await stackStatus();
  for (const name of ['prometheus', 'alertmanager'] as const) expect(servers?.find((s) => s.name === name)).toMatchObject({ healthy: true });
});

test("Prometheus has loaded every alert of the chart's rule file", async () => {
  const want = (parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
  const answer = (await (await fetch(`${state.monitoring.prometheusUrl}/api/v1/rules?type=alert`)).json()) as { data: { groups: { file: string; rules: { name: string; health: string }[] }[] } };
  const loaded = answer.data.groups.flatMap((g) => g.rules);
  expect(answer.data.groups.every((g) => path.resolve(g.file) === RULES_FILE)).toBe(true);
  expect(loaded.map((r) => r.name).sort()).toEqual([...want].sort());
  expect(loaded.filter((r) => r.health === 'err')).toEqual([]);
});

test("Alertmanager's v2 API answers, routing to the stack's webhook", async () => {
  const status = (await (await fetch(`${state.monitoring.alertmanagerUrl}/api/v2/status`)).json()) as { config: { original: string } };
  expect(status.config.original).toContain(`http://127.0.0.1:${state.monitoring.webhookPort}/alerts`);
});
