import { HBaseClient, type HBaseClientOptions } from '../hbase/index.js';
import type { RuntimeConfig } from '../api/runtime-config.js';
import { readTlsFiles } from './tls-files.js';

/** The worker's HBase client from its config: TLS when spec.hbase.tls is on (files read at start). */
export function hbaseClient(config: RuntimeConfig['hbase'], options: Partial<HBaseClientOptions> = {}): HBaseClient {
  return new HBaseClient({
    zookeeperQuorum: config.zookeeperQuorum,
    znodeParent: config.znodeParent,
    ...(config.tls ? { tls: readTlsFiles(config.tls) } : {}),
    ...options,
  });
}
