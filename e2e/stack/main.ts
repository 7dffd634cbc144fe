#!/usr/bin/env node
import { stackDown, stackStatus, stackUp } from './stack.js';
import { readStackState } from './state.js';

/** `npm run stack -- up|down|status|env`: the local stack of real servers, on loopback. */

const usage = `usage: npm run stack -- <command>

  up              build or fetch what is missing, start every server, wait until healthy
  down [--purge]  stop every server (--purge also deletes their data)
  status          each server's pid, health, memory and address (exit 1 if any is unhealthy)
  env             shell exports for the running stack: eval "$(npm run -s stack -- env)"
`;

const log = (line: string) => process.stderr.write(`[stack] ${line}\n`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const state = await stackUp(log);
      process.stdout.write(`KUBECONFIG=${state.kube.kubeconfig}\nKAFKA_BOOTSTRAP=${state.kafka.bootstrap}\nKAFKA_SASL_BOOTSTRAP=${state.kafka.sasl.bootstrap}\nHBASE_ZOOKEEPER_QUORUM=${state.hbase.zookeeperQuorum}\nSCHEMA_REGISTRY_URL=${state.registry.url}\n`);
      return 0;
    }
    case 'down':
      await stackDown(log, { purge: rest.includes('--purge') });
      return 0;
    case 'status': {
      const servers = await stackStatus();
      if (!servers) {
        process.stdout.write("no stack here; run 'npm run stack -- up'\n");
        return 1;
      }
      const mib = (bytes?: number) => (bytes === undefined ? '-' : `${Math.round(bytes / 1048576)} MiB`);
      const rows = servers.map((s) => [s.name, s.version, s.healthy ? 'healthy' : 'DOWN', String(s.pid ?? '-'), mib(s.rssBytes), s.address]);
      const header = ['SERVER', 'VERSION', 'STATE', 'PID', 'RSS', 'ADDRESS'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
      return servers.every((s) => s.healthy) ? 0 : 1;
    }
    case 'env': {
      const state = readStackState();
      if (!state) return 1;
      process.stdout.write(`export KUBECONFIG=${state.kube.kubeconfig}\nexport KAFKA_BOOTSTRAP=${state.kafka.bootstrap}\nexport KAFKA_SASL_BOOTSTRAP=${state.kafka.sasl?.bootstrap ?? ''}\nexport HBASE_ZOOKEEPER_QUORUM=${state.hbase.zookeeperQuorum}\nexport SCHEMA_REGISTRY_URL=${state.registry?.url ?? ''}\n`);
      return 0;
    }
    default:
      process.stdout.write(usage);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[stack] error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
