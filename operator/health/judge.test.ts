import { baselineOf, judge, thresholdsOf, type HealthFigures, type SourceFigures, type Thresholds } from './judge.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';

const thresholds: Thresholds = { maxLag: 1000, maxStalenessSeconds: 60, maxInvalidRatio: 0.05, sensitivity: 'Medium', windowSeconds: 120, baselineSeconds: 3600 };
const NOW = 1_800_000_000;
const source = (over: Partial<SourceFigures> = {}): SourceFigures => ({ inRate: 100, invalidRate: 0.1, rollingBaseline: 100, rollingHigh: 120, sameTimeOnPreviousDays: [], ...over });
const healthy = (over: Partial<HealthFigures> = {}): HealthFigures => ({ nowSeconds: NOW, workersScraped: 2, newestWorkerStartSeconds: NOW - 3600, lastStoredSeconds: NOW - 2, lastReadSeconds: NOW - 1, lag: 10, sourceLag: 3, sources: { impressions: source(), clicks: source({ inRate: 10, invalidRate: 0.01, rollingBaseline: 10 }) }, ...over });

test('normal traffic within every threshold is Healthy', () => {
  expect(judge(healthy(), thresholds)).toMatchObject({ status: 'True', reason: 'Healthy', problems: [] });
});

test('no worker scraped is Unknown (NoMetrics), not healthy and not unhealthy', () => {
  expect(judge(healthy({ workersScraped: 0 }), thresholds)).toMatchObject({ status: 'Unknown', reason: 'NoMetrics' });
});

test('records read but nothing stored for longer than maxStaleness is Stale', () => {
  const verdict = judge(healthy({ lastStoredSeconds: NOW - 62, lastReadSeconds: NOW }), thresholds);
  expect(verdict).toMatchObject({ status: 'False', reason: 'Stale' });
  expect(verdict.message).toMatch(/none reached HBase for 62 s/);
  // Traffic stopped: the last read is not ahead of the last store, however long ago both were.
  expect(judge(healthy({ lastStoredSeconds: NOW - 600, lastReadSeconds: NOW - 601, sourceLag: 0, sources: { impressions: source({ inRate: 0, rollingBaseline: undefined }) } }), thresholds).status).toBe('True');
});

test('a worker that never stored counts from its start', () => {
  expect(judge(healthy({ lastStoredSeconds: undefined, newestWorkerStartSeconds: NOW - 30, lastReadSeconds: NOW }), thresholds).status).toBe('True');
  expect(judge(healthy({ lastStoredSeconds: undefined, newestWorkerStartSeconds: NOW - 90, lastReadSeconds: NOW }), thresholds).reason).toBe('Stale');
});

test('source records waiting, nothing read nor stored for maxStaleness is WorkersStuck (before TrafficDrop)', () => {
  const verdict = judge(healthy({ sourceLag: 500, lastStoredSeconds: NOW - 300, lastReadSeconds: NOW - 301, sources: { impressions: source({ inRate: 0 }) } }), thresholds);
  expect(verdict).toMatchObject({ status: 'False', reason: 'WorkersStuck' });
  expect(verdict.problems).toEqual(['WorkersStuck', 'TrafficDrop']);
  // The internal topic's transaction markers (lag without source lag) are not stuck work.
  expect(judge(healthy({ lag: 8, sourceLag: 0, lastStoredSeconds: NOW - 300, lastReadSeconds: NOW - 300, sources: { impressions: source({ inRate: 0, rollingBaseline: undefined }) } }), thresholds).status).toBe('True');
});

test('lag above maxLag is Lagging', () => {
  expect(judge(healthy({ lag: 1001 }), thresholds)).toMatchObject({ status: 'False', reason: 'Lagging' });
  expect(judge(healthy({ lag: 1000 }), thresholds).status).toBe('True');
});

test('an invalid ratio above maxInvalidPercent is InvalidRecordsSpike, but a handful of bad records is not', () => {
  const verdict = judge(healthy({ sources: { clicks: source({ inRate: 10, invalidRate: 6, rollingBaseline: 10 }) } }), thresholds);
  expect(verdict).toMatchObject({ status: 'False', reason: 'InvalidRecordsSpike' });
  expect(verdict.message).toContain('60% of clicks records are invalid');
  // 2 of 4 records over two minutes: too few to call a spike.
  expect(judge(healthy({ sources: { clicks: source({ inRate: 4 / 120, invalidRate: 2 / 120, rollingBaseline: undefined }) } }), thresholds).status).toBe('True');
});

test('traffic far below or above its baseline is TrafficDrop or TrafficSpike, by sensitivity', () => {
  expect(judge(healthy({ sources: { impressions: source({ inRate: 10 }) } }), thresholds)).toMatchObject({ reason: 'TrafficDrop' });
  expect(judge(healthy({ sources: { impressions: source({ inRate: 0 }) } }), thresholds)).toMatchObject({ reason: 'TrafficDrop' });
  expect(judge(healthy({ sources: { impressions: source({ inRate: 30 }) } }), thresholds).status).toBe('True');
  expect(judge(healthy({ sources: { impressions: source({ inRate: 30 }) } }), { ...thresholds, sensitivity: 'High' }).reason).toBe('TrafficDrop');
  expect(judge(healthy({ sources: { impressions: source({ inRate: 601 }) } }), thresholds)).toMatchObject({ reason: 'TrafficSpike' });
  // Traffic back after a lull: the median is low but the busy moments of the window were not.
  expect(judge(healthy({ sources: { impressions: source({ inRate: 100, rollingBaseline: 5, rollingHigh: 100 }) } }), thresholds).status).toBe('True');
  expect(judge(healthy({ sources: { impressions: source({ inRate: 0 }) } }), { ...thresholds, sensitivity: 'Off' }).status).toBe('True');
});

test('no baseline (too little history) or a thin one gives no traffic verdict', () => {
  expect(judge(healthy({ sources: { impressions: source({ inRate: 0, rollingBaseline: undefined }) } }), thresholds).status).toBe('True');
  expect(judge(healthy({ sources: { impressions: source({ inRate: 0, rollingBaseline: 0.1 }) } }), thresholds).status).toBe('True');
});

test('the baseline is the same time on previous days once three are known (daily seasonality), else the rolling median', () => {
  expect(baselineOf(source({ rollingBaseline: 5, rollingHigh: 8, sameTimeOnPreviousDays: [100, 90] }))).toEqual({ typical: 5, high: 8 });
  expect(baselineOf(source({ rollingBaseline: 5, sameTimeOnPreviousDays: [100, 90, 500] }))).toEqual({ typical: 100, high: 500 });
  // Night traffic at a tenth of the day's is normal when it was so on previous nights.
  expect(judge(healthy({ sources: { impressions: source({ inRate: 10, rollingBaseline: 100, sameTimeOnPreviousDays: [11, 9, 10, 12] }) } }), thresholds).status).toBe('True');
});

test("thresholds come from spec.monitoring, with the schema's defaults", () => {
  const pipeline = { spec: { monitoring: { maxStaleness: '30s', maxInvalidPercent: 10, window: '1m' } } } as unknown as AdPipeline;
  expect(thresholdsOf(pipeline)).toEqual({ maxLag: 100_000, maxStalenessSeconds: 30, maxInvalidRatio: 0.1, sensitivity: 'Medium', windowSeconds: 60, baselineSeconds: 3600 });
});

test('the Prometheus URL shown in messages carries no credentials', async () => {
  const { PrometheusClient } = await import('./prometheus.js');
  expect(new PrometheusClient('https://user:s3cret@prom.example:9090/').displayUrl).toBe('https://prom.example:9090/');
});
