import type { TableAdmins } from './table.js';

/**
 * The TableAdmin adapter over the HBase module (hbase/index.ts, issue 3). Until that module's admin
 * API exists the operator runs without table management: StorageReady says StorageNotConfigured.
 */
export function hbaseTableAdmins(): TableAdmins | undefined {
  return undefined;
}
