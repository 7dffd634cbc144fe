import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO_ROOT } from '../e2e/stack/paths.js';
import { stack } from '../e2e/support/stack-clients.js';

// The alert rules with the stack's promtool: valid, every alert unit-tested firing and silent
// (rules/adpipe.rules.test.yaml), and each with a severity, an absolute runbook_url and its
// runbook entry.

const run = promisify(execFile);
const dir = path.join(REPO_ROOT, 'helm', 'adpipe-operator', 'rules');

interface Rule {
  alert: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alertname: string;
  exp_alerts?: unknown[];
}
const rules = (parse(fs.readFileSync(path.join(dir, 'adpipe.rules.yaml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const tests = (parse(fs.readFileSync(path.join(dir, 'adpipe.rules.test.yaml'), 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []);

test('promtool check rules and promtool test rules pass', async () => {
  const promtool = stack().monitoring.promtool;
  await run(promtool, ['check', 'rules', 'adpipe.rules.yaml'], { cwd: dir });
  const { stdout } = await run(promtool, ['test', 'rules', 'adpipe.rules.test.yaml'], { cwd: dir });
  expect(stdout).toContain('SUCCESS');
});

test.each(rules.map((r) => [r.alert, r] as const))('%s has a unit test where it fires, severity, an absolute runbook_url and a runbook entry', (name, rule) => {
  expect(tests.some((t) => t.alertname === name && (t.exp_alerts?.length ?? 0) > 0)).toBe(true);
  expect(['critical', 'warning']).toContain(rule.labels?.['severity']);
  expect(rule.annotations?.['runbook_url']).toMatch(new RegExp(`^https://.+#${name.toLowerCase()}$`));
  expect(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'runbook.md'), 'utf8')).toContain(`### ${name}\n`);
});
