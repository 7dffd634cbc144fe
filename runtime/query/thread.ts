import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { hbaseClient } from '../hbase-client.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { QueryAuthorizer } from './auth.js';
import { createHttpServer } from './http.js';
import { kubeReviewer } from './kube-reviewer.js';
import type { HttpReply, MainRoute } from './reply.js';
import { fromWire, type MainToThread, type QueryThreadData, type ThreadToMain } from './thread-protocol.js';

/**
 * The query thread's entry (started by query-thread.ts, decision 0069): owns the worker's HTTP
 * server and an HBase client of its own, so a query never waits behind the tasks' processing on
 * the main loop. Probes and metrics are asked of the main thread.
 */
if (!parentPort) throw new Error('runtime/query/thread.js runs as a worker thread of the worker (runtime/main.ts), not on its own');
const port: MessagePort = parentPort;
const data = workerData as QueryThreadData;
const tell = (message: ThreadToMain): void => port.postMessage(message);

const log = pino({ base: { ...data.log.bindings, thread: 'query' }, level: data.log.level });
const hbase = hbaseClient(data.hbase);
const pending = new Map<number, { resolve: (reply: HttpReply) => void; reject: (error: Error) => void }>();
let nextId = 0;

function askMain(route: MainRoute): Promise<HttpReply> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    tell({ type: 'ask', id, route });
  });
}

const server = createHttpServer({
  store: new HBaseStore(hbase, data.hbase.table),
  settings: data.settings,
  log,
  mainRoute: askMain,
  authorizer: data.auth ? new QueryAuthorizer(kubeReviewer(data.auth.kubeconfig), { pipeline: data.auth.pipeline, ttlMs: data.auth.reviewCacheMs }) : undefined,
  tls: data.tls ? { cert: fs.readFileSync(data.tls.certFile, 'utf8'), key: fs.readFileSync(data.tls.keyFile, 'utf8') } : undefined,
});
// A listen error (port taken) is an unhandled 'error' event: it ends the thread, and the main
// thread's QueryThread reports it (the worker stops with exit code 1).
server.listen(data.port, () => tell({ type: 'listening', port: (server.address() as AddressInfo).port }));

port.on('message', (message: MainToThread) => {
  if (message.type === 'close') return close();
  const waiting = pending.get(message.id);
  pending.delete(message.id);
  if (message.type === 'answer') waiting?.resolve(message.reply);
  else waiting?.reject(fromWire(message.error));
});

/** Stops accepting, lets requests in hand finish, then releases HBase and the port so the thread ends by itself. */
function close(): void {
  // server.close() drops idle keep-alive connections at once but waits for busy ones, which turn
  // idle after their response and then held shutdown for the keep-alive timeout (5 s): sweep them.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  server.close(() => {
    clearInterval(sweep);
    hbase.close();
    port.close();
  });
}
