import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KubeClient, KubeObject } from '../controller/kube.js';
import { EventRecorder } from './events.js';

function recorder(repeatMs: number) {
  const created: KubeObject[] = [];
  const kube = { create: async (_type: unknown, _namespace: string, object: KubeObject) => void created.push(object) } as unknown as KubeClient;
  return { events: new EventRecorder(kube, 'test', repeatMs), created };
}

const pipeline = { apiVersion: 'adpipe.io/v1alpha1', kind: 'AdPipeline', metadata: { name: 'p', namespace: 'ns', uid: 'u-1', resourceVersion: '1' }, spec: {} } as unknown as AdPipeline;

test('a failure repeated during an outage is one Warning event per reason, whatever its message; Normal events are all kept', async () => {
  const { events, created } = recorder(60_000);
  await events.record(pipeline, 'Warning', 'KafkaUnavailable', 'connect ECONNREFUSED 127.0.0.1:9092');
  await events.record(pipeline, 'Warning', 'KafkaUnavailable', 'Request Metadata timed out');
  await events.record(pipeline, 'Warning', 'HBaseUnavailable', 'connection refused');
  await events.record(pipeline, 'Normal', 'TopicCreated', 'created topic a');
  await events.record(pipeline, 'Normal', 'TopicCreated', 'created topic a');
  expect(created.map((event) => `${String(event.type)} ${String(event.reason)}`)).toEqual(['Warning KafkaUnavailable', 'Warning HBaseUnavailable', 'Normal TopicCreated', 'Normal TopicCreated']);
  // Healthy again: the next outage is recorded at once.
  events.clear(pipeline);
  await events.record(pipeline, 'Warning', 'KafkaUnavailable', 'connect ECONNREFUSED 127.0.0.1:9092');
  expect(created).toHaveLength(5);
});

test('after repeatMs the same failure is recorded again', async () => {
  const { events, created } = recorder(0);
  await events.record(pipeline, 'Warning', 'KafkaUnavailable', 'a');
  await new Promise((resolve) => setTimeout(resolve, 5));
  await events.record(pipeline, 'Warning', 'KafkaUnavailable', 'a');
  expect(created).toHaveLength(2);
});
