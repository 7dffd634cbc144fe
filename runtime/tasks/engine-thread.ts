// First: the kafkajs modules of kafkajs-fixes.ts are replaced before kafkajs loads (decisions 0073,
// 0079); each thread loads its own copy of kafkajs.
import '../kafka/kafkajs-fixes.js';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import type { EngineThreadData, EngineToMain, MainToEngine } from './engine-thread-protocol.js';
import { wireEngine } from './engine-wiring.js';

/**
 * An engine thread's entry (started by engine-threads.ts, decision 0074): one more consumer-group
 * member in the worker process, with its own Kafka and HBase clients, owning the tasks the group
 * assigns it. Its state, metrics and commits are its own; the main thread asks for probes and metrics.
 */
if (!parentPort) throw new Error('runtime/tasks/engine-thread.js runs as a worker thread of the worker (runtime/main.ts), not on its own');
const port: MessagePort = parentPort;
const data = workerData as EngineThreadData;
const tell = (message: EngineToMain): void => port.postMessage(message);
const log = pino({ base: { ...data.log.bindings, thread: `engine-${data.index}` }, level: data.log.level });
const { engine, metrics, stop } = wireEngine(data.config, log, data.settings, { defaultMetrics: false });

port.on('message', (message: MainToEngine) => {
  switch (message.type) {
    case 'status':
      return tell({ type: 'status', id: message.id, ready: engine.ready, healthy: engine.healthy, reason: engine.notReadyReason() });
    case 'metrics':
      return void metrics.registry.getMetricsAsJSON().then((json) => tell({ type: 'metrics', id: message.id, metrics: json }));
    case 'stop':
      return void stop().then(() => {
        tell({ type: 'stopped' });
        port.close();
      });
  }
});

engine.start().then(
  () => tell({ type: 'started' }),
  (error: unknown) => tell({ type: 'start-failed', message: error instanceof Error ? error.message : String(error) }),
);
