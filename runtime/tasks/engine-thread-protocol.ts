import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { RuntimeConfig } from '../../api/runtime-config.js';

/** What the worker's main thread and an engine thread say to each other (decision 0074). Plain data only. */

export interface EngineThreadData {
  /** The config as the main thread resolved it (environment overrides applied). */
  config: RuntimeConfig;
  /** The main thread's pino level and bindings, so every thread's lines carry the same fields. */
  log: { level: string; bindings: Record<string, unknown> };
  /** 1, 2, …: the main thread runs engine 0. */
  index: number;
}

export type EngineMetrics = MetricObjectWithValues<MetricValue<string>>[];

export type MainToEngine = { type: 'status'; id: number } | { type: 'metrics'; id: number } | { type: 'stop' };

export type EngineToMain =
  | { type: 'started' }
  | { type: 'start-failed'; message: string }
  | { type: 'status'; id: number; ready: boolean; healthy: boolean }
  | { type: 'metrics'; id: number; metrics: EngineMetrics }
  | { type: 'stopped' };
