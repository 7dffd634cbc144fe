import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The kubelet's port-forward endpoint, for the node agent (decision 0122): the API server's
 * `pods/portforward` subresource finds the Pod's Node, connects to its kubelet endpoint
 * (`status.daemonEndpoints.kubeletEndpoint`, over TLS) at `/portForward/NS/POD?port=N` and passes the
 * client's WebSocket upgrade through. This serves the kubelet's WebSocket port-forward protocol
 * (`v4.channel.k8s.io`): binary messages whose first byte is the channel, channel 2i carries
 * port i's data and 2i+1 its errors, and the first message on each channel is the port number
 * (2 bytes, little-endian). Each WebSocket carries one TCP connection to each port asked for,
 * here to the host port the agent gave that container port.
 */

/** The host port a Pod's container port runs on, or undefined (no such Pod on this node, or port). */
export type PortResolver = (namespace: string, pod: string, containerPort: number) => number | undefined;

const PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io'];

export class KubeletStreams {
  private readonly server: https.Server;
  private readonly sockets = new WebSocketServer({ noServer: true, handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false });

  constructor(
    tls: { cert: string; key: string },
    private readonly resolve: PortResolver,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.server = https.createServer(tls, (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('only /portForward/NAMESPACE/POD upgrades are served\n');
    });
    this.server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'https://kubelet');
      const match = /^\/portForward\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      const ports = [...url.searchParams.getAll('port'), ...url.searchParams.getAll('ports')].map(Number);
      if (!match || !ports.length || ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      const [namespace, pod] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
      // As a kubelet: the upgrade succeeds, and a port nothing serves is reported on its error channel.
      const targets = ports.map((port) => this.resolve(namespace, pod, port));
      this.sockets.handleUpgrade(request, socket, head, (ws) => this.forward(ws, ports, targets, `${namespace}/${pod}`));
    });
  }

  /** Listens on 127.0.0.1 (a free port); resolves to the port, for the Node's kubeletEndpoint. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  async close(): Promise<void> {
    for (const ws of this.sockets.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private forward(ws: WebSocket, ports: number[], hostPorts: (number | undefined)[], pod: string): void {
    const send = (channel: number, data: Buffer) => ws.send(Buffer.concat([Buffer.from([channel]), data]));
    const connections = hostPorts.map((hostPort, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(ports[i]!);
      send(2 * i, portBytes);
      send(2 * i + 1, portBytes);
      if (hostPort === undefined) {
        send(2 * i + 1, Buffer.from(`error forwarding port ${ports[i]} to pod ${pod}: no container of the pod serves that port on this node`));
        ws.close();
        return undefined;
      }
      const connection = net.connect(hostPort, '127.0.0.1');
      connection.on('data', (chunk: Buffer) => send(2 * i, chunk));
      connection.on('error', (error) => {
        send(2 * i + 1, Buffer.from(`error forwarding port ${ports[i]} to pod ${pod}: ${error.message}`));
        ws.close();
      });
      connection.on('close', () => ws.close());
      return connection;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const message = isBinary ? data : Buffer.from(data.toString(), 'utf8');
      if (!message.length) return;
      const channel = message[0]!;
      // Data for port i arrives on channel 2i; the client writes nothing on error channels.
      if (channel % 2 === 0) connections[channel / 2]?.write(message.subarray(1));
    });
    ws.on('close', () => connections.forEach((c) => c?.destroy()));
    ws.on('error', (error) => this.log(`port-forward to ${pod}: ${error.message}`));
  }
}
