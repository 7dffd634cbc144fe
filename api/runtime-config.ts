/**
 * The runtime's configuration: what the operator renders from an AdPipeline into the worker
 * ConfigMap (as JSON) and what the worker reads at start. Every field is resolved (no defaults left
 * to guess), durations are milliseconds, and secrets are file paths, never values.
 */
export interface RuntimeConfig {
  pipeline: { namespace: string; name: string };
  kafka: {
    brokers: string[];
    clientId: string;
    /** One consumer group per pipeline; every worker replica joins it. */
    groupId: string;
    tls?: { caFile?: string; certFile?: string; keyFile?: string };
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; usernameFile: string; passwordFile: string };
  };
  /** `tls`: files of the mounted Secrets spec.hbase.tls names (absent: plaintext RPC). */
  hbase: { zookeeperQuorum: string; znodeParent: string; table: string; tls?: { caFile?: string; certFile?: string; keyFile?: string } };
  sources: {
    bidRequests: {
      topic: string;
      avro: {
        writerSchema?: string;
        /** Confluent framing; writer schemas by id from this registry (its Confluent-compatible API). */
        schemaRegistryUrl?: string;
        schemaRegistryAuth?: { usernameFile: string; passwordFile: string };
        schemaRegistryCaFile?: string;
      };
    };
    impressions: { topic: string; fieldMapping: Record<string, string> };
    clicks: { topic: string; csv: CsvConfig; fieldMapping: Record<string, string> };
    conversions: { topic: string; csv: CsvConfig; fieldMapping: Record<string, string> };
  };
  deadLetterTopic: string;
  correlation: { attributionWindowMs: number; conversionWindowMs: number; latenessMs: number };
  storage: {
    saltBuckets: number;
    aggregatesTtlSeconds: number;
    /** Column families of the table (the operator creates them with these TTLs). */
    families: { aggregates: string; state: string; dedup: string };
  };
  batchSize: number;
  /**
   * Task-owned state (decision 0051): the fixed task count, the internal topic (one partition per
   * task) that carries records between tasks and is each task's changelog, and how often a task
   * commits its transaction and snapshots its state.
   */
  tasks: { count: number; topic: string; commitIntervalMs: number; snapshotIntervalMs: number; evictionGraceMs: number };
  http: { port: number };
  /**
   * Who may use the query API (spec.query; decision 0120). Absent in a config rendered before it
   * existed: open, as it was then. `tls`: serve HTTPS only, with this certificate and key.
   */
  query?: { auth: 'kubernetes' | 'none'; reviewCacheMs: number; tls?: { certFile: string; keyFile: string } };
  /** Worker settings from spec.workers (absent in a config rendered before they existed: defaults). */
  worker?: { logLevel: string; partitionConcurrency: number; poisonAttempts: number; stallThresholdMs: number };
}

export interface CsvConfig {
  header: boolean;
  delimiter: string;
  /** Column names in message order; absent means the contract's canonical order. */
  columns?: string[];
}

export const SOURCE_NAMES = ['bidRequests', 'impressions', 'clicks', 'conversions'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/**
 * The worker process's memory settings, set on its container (and by the tests' and benches'
 * launcher, so they measure the product). glibc otherwise keeps freed buffers' memory in its
 * arenas: with a fixed mmap threshold every buffer of 32 KiB or more (task tables, fetch responses
 * and socket reads, frames, produce requests, snapshot pieces) is mapped on its own and returned
 * when freed, and two arenas stop each thread from holding its own (decision 0076; the threshold
 * was 1 MiB there, which left the frames and fetch chunks in between to the arenas). A young
 * generation of 8 MiB semi-spaces instead of V8's 16 keeps less garbage resident at no cost in
 * throughput measured. Together, after a million probe impressions (2.3 M live ids), the worst
 * RSS went from 546–595 to 483–499 MiB (decision 0140).
 */
export const WORKER_PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024),
  NODE_OPTIONS: '--max-semi-space-size=8',
};
