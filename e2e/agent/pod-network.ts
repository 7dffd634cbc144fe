import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';

/**
 * A Pod's own IP, as a cluster network gives one, so the API server's service proxy
 * (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/…`) reaches it like in a cluster: the address is
 * added to the loopback device (the API server refuses to proxy to 127.0.0.0/8, but any other
 * address on `lo` is local and allowed), and each named container port listens there, forwarded to
 * the host port the container really uses. Needs CAP_NET_ADMIN (root); without it the Pod keeps
 * 127.0.0.1 and only host ports reach it (the service proxy then says why it cannot).
 */

const run = promisify(execFile);

export interface PodNetwork {
  ip: string;
  close(): Promise<void>;
}

/** A random address in 10.200.0.0/13 (agents of other stacks on the machine pick their own). */
function candidate(): string {
  const bytes = crypto.randomBytes(3);
  return `10.${200 + (bytes[0]! % 8)}.${bytes[1]}.${Math.max(1, bytes[2]! % 255)}`;
}

export async function attachPodNetwork(ports: { containerPort: number; hostPort: number }[]): Promise<PodNetwork | undefined> {
  let ip: string | undefined;
  for (let attempt = 0; attempt < 5 && !ip; attempt++) {
    const address = candidate();
    try {
      await run('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
      ip = address;
    } catch (error) {
      // Taken already (another Pod or stack): try another; no permission or no `ip`: give up.
      if (!/File exists/i.test(String((error as { stderr?: string }).stderr ?? error))) return undefined;
    }
  }
  if (!ip) return undefined;
  const servers: net.Server[] = [];
  try {
    for (const { containerPort, hostPort } of ports) {
      const server = net.createServer((client) => {
        const upstream = net.connect(hostPort, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end);
        upstream.on('error', end);
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(containerPort, ip, () => resolve()));
      servers.push(server);
    }
  } catch {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).catch(() => undefined);
    return undefined;
  }
  return {
    ip,
    async close() {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).catch(() => undefined);
    },
  };
}
