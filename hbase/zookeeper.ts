import net from 'node:net';

/**
 * Just enough of the ZooKeeper wire protocol (jute over TCP) to read the znodes through which HBase
 * publishes where its master and meta region live. Each call opens a session, reads, and closes:
 * these reads happen at start-up and after a region-location failure, never on the data path.
 */

const OP_GET_DATA = 4;
const OP_GET_CHILDREN = 8;
const OP_CLOSE = -11;
const ERR_NO_NODE = -101;

export class ZooKeeperError extends Error {
  constructor(
    message: string,
    readonly code: number | 'timeout' | 'connection',
  ) {
    super(message);
    this.name = 'ZooKeeperError';
  }
}

/** Returns the znode's data, or `undefined` when the znode does not exist. */
export async function getZnodeData(quorum: string, path: string, timeoutMs = 5000): Promise<Buffer | undefined> {
  const reply = await readZnode(quorum, path, OP_GET_DATA, timeoutMs);
  if (!reply) return undefined;
  const dataLength = reply.readInt32BE(0);
  return dataLength < 0 ? Buffer.alloc(0) : Buffer.from(reply.subarray(4, 4 + dataLength));
}

/** Returns the names of the znode's children, or `undefined` when the znode does not exist. */
export async function getZnodeChildren(quorum: string, path: string, timeoutMs = 5000): Promise<string[] | undefined> {
  const reply = await readZnode(quorum, path, OP_GET_CHILDREN, timeoutMs);
  if (!reply) return undefined;
  const count = reply.readInt32BE(0);
  const children: string[] = [];
  let offset = 4;
  for (let i = 0; i < count; i++) {
    const length = reply.readInt32BE(offset);
    children.push(reply.subarray(offset + 4, offset + 4 + length).toString('utf8'));
    offset += 4 + length;
  }
  return children;
}

/** One read request on a fresh session: the reply body after the header, undefined for no node. */
async function readZnode(quorum: string, path: string, op: number, timeoutMs: number): Promise<Buffer | undefined> {
  const errors: string[] = [];
  for (const server of quorum.split(',')) {
    try {
      return await readFrom(server.trim(), path, op, timeoutMs);
    } catch (error) {
      if (error instanceof ZooKeeperError && typeof error.code === 'number') throw error;
      errors.push(`${server}: ${(error as Error).message}`);
    }
  }
  throw new ZooKeeperError(`no ZooKeeper server of '${quorum}' answered (${errors.join('; ')})`, 'connection');
}

function readFrom(server: string, path: string, op: number, timeoutMs: number): Promise<Buffer | undefined> {
  const [host, portText] = splitHostPort(server);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(portText) });
    let received = Buffer.alloc(0);
    let stage: 'connect' | 'data' = 'connect';
    const finish = (error: Error | undefined, value?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new ZooKeeperError(`ZooKeeper at ${server} did not answer within ${timeoutMs} ms`, 'timeout')), timeoutMs);
    socket.once('error', (error) => finish(new ZooKeeperError(`ZooKeeper at ${server}: ${error.message}`, 'connection')));
    socket.once('connect', () => socket.write(connectRequest(timeoutMs)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 4) {
        const length = received.readInt32BE(0);
        if (received.length < 4 + length) return;
        const frame = received.subarray(4, 4 + length);
        received = received.subarray(4 + length);
        if (stage === 'connect') {
          stage = 'data';
          socket.write(readRequest(1, op, path));
          continue;
        }
        const xid = frame.readInt32BE(0);
        if (xid !== 1) continue; // pings or notifications
        const err = frame.readInt32BE(12);
        socket.write(closeRequest(2));
        if (err === ERR_NO_NODE) return finish(undefined, undefined);
        if (err !== 0) return finish(new ZooKeeperError(`ZooKeeper ${op === OP_GET_DATA ? 'getData' : 'getChildren'} ${path} failed with code ${err}`, err));
        return finish(undefined, Buffer.from(frame.subarray(16)));
      }
    });
  });
}

function splitHostPort(server: string): [string, string] {
  const at = server.lastIndexOf(':');
  return at < 0 ? [server, '2181'] : [server.slice(0, at), server.slice(at + 1)];
}

function frame(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeInt32BE(body.length);
  return Buffer.concat([header, body]);
}

function connectRequest(sessionTimeoutMs: number): Buffer {
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  let offset = 0;
  offset = body.writeInt32BE(0, offset); // protocol version
  offset = body.writeBigInt64BE(0n, offset); // last zxid seen
  offset = body.writeInt32BE(sessionTimeoutMs, offset);
  offset = body.writeBigInt64BE(0n, offset); // session id: new session
  offset = body.writeInt32BE(16, offset); // password length (zeros)
  body.writeUInt8(0, offset + 16); // read-only: false
  return frame(body);
}

function readRequest(xid: number, op: number, path: string): Buffer {
  const pathBytes = Buffer.from(path, 'utf8');
  const body = Buffer.alloc(4 + 4 + 4 + pathBytes.length + 1);
  let offset = body.writeInt32BE(xid, 0);
  offset = body.writeInt32BE(op, offset);
  offset = body.writeInt32BE(pathBytes.length, offset);
  offset += pathBytes.copy(body, offset);
  body.writeUInt8(0, offset); // no watch
  return frame(body);
}

function closeRequest(xid: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeInt32BE(xid, 0);
  body.writeInt32BE(OP_CLOSE, 4);
  return frame(body);
}

/**
 * HBase prefixes its znode payloads with 0xFF, a 4-byte id length, the id, and the magic `PBUF`
 * before the protobuf message; this returns the protobuf part.
 */
export function stripHBaseZnodePrefix(data: Buffer): Buffer {
  if (data.length < 5 || data[0] !== 0xff) return data;
  const idLength = data.readInt32BE(1);
  const rest = data.subarray(5 + idLength);
  return rest.subarray(0, 4).toString('latin1') === 'PBUF' ? rest.subarray(4) : rest;
}
