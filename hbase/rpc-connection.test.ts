import net from 'node:net';
import { RpcConnection, socketError } from './rpc-connection.js';
import { isHBaseError } from './errors.js';

// The connection's own failure handling, against loopback sockets that misbehave on purpose
// (a server that never answers; one that hangs up). The protocol itself is tested against HBase.

async function server(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => srv.close(() => resolve()));
    },
  };
}

const open = (port: number) => RpcConnection.open({ host: '127.0.0.1', port, service: 'ClientService', user: 'test', connectTimeoutMs: 2000 });

test('a call without answer times out (retriable) and the silent connection is dropped', async () => {
  const silent = await server(() => undefined);
  try {
    const connection = await open(silent.port);
    const error = await connection.call('Get', 'Empty', {}, 'Empty', { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(isHBaseError(error, 'TIMEOUT')).toBe(true);
    expect(error).toMatchObject({ retriable: true, context: { server: `127.0.0.1:${silent.port}` } });
    expect(connection.isClosed).toBe(true);
  } finally {
    await silent.close();
  }
});

test('a server hanging up fails pending calls with a retriable CONNECTION error', async () => {
  const rude = await server((socket) => socket.once('data', () => setTimeout(() => socket.destroy(), 50)));
  try {
    const connection = await open(rude.port);
    let closed = false;
    connection.whenClosed(() => (closed = true));
    const error = await connection.call('Get', 'Empty', {}, 'Empty', { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(isHBaseError(error, 'CONNECTION')).toBe(true);
    expect(closed).toBe(true);
    await expect(connection.call('Get', 'Empty', {}, 'Empty', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'CONNECTION' });
  } finally {
    await rude.close();
  }
});

test('nothing listening: CONNECTION, retriable, naming the address', async () => {
  const gone = await server(() => undefined);
  await gone.close();
  await expect(open(gone.port)).rejects.toMatchObject({ code: 'CONNECTION', retriable: true, message: expect.stringContaining(`127.0.0.1:${gone.port}`) });
});

test('TLS to a plaintext-only server fails as a connection error, retriable; certificate errors are code TLS, not retriable', async () => {
  // A server that hangs up on bytes it cannot read (what a plaintext HBase does with a ClientHello).
  const plaintext = await server((socket) => socket.once('data', () => socket.destroy()));
  try {
    const error = await RpcConnection.open({ host: '127.0.0.1', port: plaintext.port, service: 'MasterService', user: 'test', connectTimeoutMs: 2000, tls: {} }).catch((e: unknown) => e);
    expect(isHBaseError(error, 'CONNECTION')).toBe(true);
    expect((error as { retriable: boolean }).retriable).toBe(true);
  } finally {
    await plaintext.close();
  }
  const untrusted = socketError(Object.assign(new Error('unable to get local issuer certificate'), { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }), 'MasterService at h:1', 'h:1', true);
  expect(untrusted).toMatchObject({ code: 'TLS', retriable: false, context: { server: 'h:1' } });
  expect(untrusted.message).toMatch(/^TLS to MasterService at h:1 failed: unable to get local issuer certificate \(UNABLE_TO_GET_ISSUER_CERT_LOCALLY\)/);
  expect(socketError(Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), 'h:1', 'h:1', false).code).toBe('TLS');
  expect(socketError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'h:1', 'h:1', true)).toMatchObject({ code: 'CONNECTION', retriable: true });
});
