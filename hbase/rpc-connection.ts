import net from 'node:net';
import tls from 'node:tls';
import { HBaseError, remoteError } from './errors.js';
import { connectionPreamble, FrameReader, parseResponse, requestFrame } from './framing.js';
import { decode, type MessageName } from './proto.js';

/**
 * One TCP connection to one HBase server for one service (ClientService on a region server,
 * MasterService on the master). Calls are multiplexed by call id; a broken socket fails every
 * pending call with a retriable CONNECTION error and the connection is not reused.
 */

export type ServiceName = 'ClientService' | 'MasterService' | 'AdminService';

/**
 * TLS to HBase's RPC ports (HBase >= 2.6 with `hbase.server.netty.tls.enabled`). The server's
 * certificate must chain to `ca` and name the host HBase advertises (or `servername`).
 */
export interface TlsSettings {
  /** PEM CA certificate(s); default: Node's bundled public roots. */
  ca?: string | Buffer;
  /** PEM client certificate and key, for a server with `hbase.server.netty.tls.client.auth.mode` NEED. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name to verify in the server's certificate instead of the advertised host. */
  servername?: string;
}

export interface RpcConnectionOptions {
  host: string;
  port: number;
  service: ServiceName;
  user: string;
  connectTimeoutMs: number;
  tls?: TlsSettings;
}

/** Node's codes for a certificate it does not trust, a name mismatch, or a TLS alert from the peer. */
const TLS_ERROR = /^(ERR_SSL_|ERR_TLS_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|HOSTNAME_MISMATCH)/;

/**
 * A failed TLS handshake is not retried: an untrusted certificate, a name mismatch or a refused
 * client certificate stay so until someone changes a certificate or a setting.
 */
export function socketError(error: Error & { code?: string }, what: string, address: string, connecting: boolean): HBaseError {
  if (error.code && TLS_ERROR.test(error.code)) {
    return new HBaseError('TLS', `TLS to ${what} failed: ${error.message.trim()} (${error.code}); check the CA, the server certificate's names and the client certificate`, {
      context: { server: address },
      cause: error,
    });
  }
  return new HBaseError('CONNECTION', connecting ? `could not connect to ${what}: ${error.message}` : `connection to ${what} failed: ${error.message}`, { retriable: true, context: { server: address }, cause: error });
}

export interface CallOptions {
  timeoutMs: number;
  cellBlock?: Buffer;
  /** HBase QoS: 200 (HIGH) for meta lookups so they are not stuck behind data calls. */
  priority?: number;
}

export interface CallResult<T> {
  response: T;
  cellBlock?: Buffer;
}

interface Pending {
  resolve: (frame: ReturnType<typeof parseResponse>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  method: string;
}

export class RpcConnection {
  readonly address: string;
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private readonly reader = new FrameReader();
  private nextCallId = 1;
  /** When anything last arrived; nothing has when the connection opens (a first call sent in the
   * same millisecond must still find the connection silent). */
  private lastReceivedAt = 0;
  private closedWith: HBaseError | undefined;
  private readonly onClose = new Set<() => void>();

  private constructor(socket: net.Socket, address: string) {
    this.socket = socket;
    this.address = address;
    socket.setNoDelay(true);
    // A server that vanished without closing (host down, cable pulled) shows up as silence.
    socket.setKeepAlive(true, 10_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(socketError(error, address, address, false)));
    socket.on('close', () => this.fail(new HBaseError('CONNECTION', `connection to ${address} closed`, { retriable: true, context: { server: address } })));
  }

  static open(options: RpcConnectionOptions): Promise<RpcConnection> {
    const address = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const settings = options.tls;
      const socket = settings
        ? tls.connect({
            host: options.host,
            port: options.port,
            ...(settings.ca ? { ca: settings.ca } : {}),
            ...(settings.cert ? { cert: settings.cert } : {}),
            ...(settings.key ? { key: settings.key } : {}),
            ...(settings.servername ? { servername: settings.servername } : {}),
          })
        : net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new HBaseError('CONNECTION', `could not connect to ${address} within ${options.connectTimeoutMs} ms`, { retriable: true, context: { server: address } }));
      }, options.connectTimeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(socketError(error, `${options.service} at ${address}`, address, true));
      });
      socket.once(settings ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.write(connectionPreamble(options.service, options.user, true));
        resolve(new RpcConnection(socket, address));
      });
    });
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Registers a callback run once when the connection breaks or is closed (pools drop it then). */
  whenClosed(callback: () => void): void {
    if (this.closedWith) callback();
    else this.onClose.add(callback);
  }

  async call<T>(method: string, requestType: MessageName, request: object, responseType: MessageName, options: CallOptions): Promise<CallResult<T>> {
    if (this.closedWith) throw this.closedWith;
    const callId = this.nextCallId;
    this.nextCallId = this.nextCallId >= 0x7fffffff ? 1 : this.nextCallId + 1;
    const frame = requestFrame(
      { call_id: callId, method_name: method, request_param: true, timeout: options.timeoutMs, ...(options.priority ? { priority: options.priority } : {}) },
      requestType,
      request,
      options.cellBlock,
    );
    const response = await new Promise<ReturnType<typeof parseResponse>>((resolve, reject) => {
      const sentAt = Date.now();
      const timer = setTimeout(() => {
        this.pending.delete(callId);
        reject(new HBaseError('TIMEOUT', `${method} to ${this.address} got no answer within ${options.timeoutMs} ms`, { retriable: true, context: { server: this.address } }));
        // Nothing at all arrived since this call went out: the connection is presumed dead, so
        // the next call opens a fresh one instead of timing out on it too.
        if (this.lastReceivedAt < sentAt) {
          this.fail(new HBaseError('CONNECTION', `connection to ${this.address} silent for ${options.timeoutMs} ms; closed`, { retriable: true, context: { server: this.address } }));
        }
      }, options.timeoutMs);
      this.pending.set(callId, { resolve, reject, timer, method });
      this.socket.write(frame);
    });
    const exception = response.header.exception;
    if (exception) {
      throw remoteError(exception.exception_class_name ?? 'unknown', exception.stack_trace ?? '', {
        server: this.address,
        ...(exception.do_not_retry !== undefined ? { doNotRetry: exception.do_not_retry } : {}),
      });
    }
    const decoded = decode<T>(responseType, response.body ?? new Uint8Array(0));
    return { response: decoded, ...(response.cellBlock ? { cellBlock: response.cellBlock } : {}) };
  }

  close(): void {
    this.fail(new HBaseError('CLOSED', `connection to ${this.address} was closed by the client`, { context: { server: this.address } }));
  }

  private onData(chunk: Buffer): void {
    this.lastReceivedAt = Date.now();
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.fail(new HBaseError('PROTOCOL', `unreadable data from ${this.address}: ${(error as Error).message}`, { context: { server: this.address }, cause: error }));
      return;
    }
    for (const frame of frames) {
      let parsed: ReturnType<typeof parseResponse>;
      try {
        parsed = parseResponse(frame);
      } catch (error) {
        this.fail(new HBaseError('PROTOCOL', `unreadable response from ${this.address}: ${(error as Error).message}`, { context: { server: this.address }, cause: error }));
        return;
      }
      const callId = parsed.header.call_id ?? -1;
      const pending = this.pending.get(callId);
      if (!pending) {
        // No call id: the server refused the connection itself (bad header, unsupported auth).
        if (parsed.header.exception && !parsed.header.call_id) {
          const exception = parsed.header.exception;
          this.fail(remoteError(exception.exception_class_name ?? 'unknown', exception.stack_trace ?? '', { server: this.address }));
        }
        continue; // an answer to a call that already timed out
      }
      this.pending.delete(callId);
      clearTimeout(pending.timer);
      pending.resolve(parsed);
    }
  }

  private fail(error: HBaseError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.destroy();
    for (const [, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
    for (const callback of this.onClose) callback();
    this.onClose.clear();
  }
}
