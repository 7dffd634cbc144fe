import { saltSplitKeys } from '../../runtime/storage/layout.js';
import { parseDuration } from '../../api/duration.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { DEFAULTS } from './defaults.js';
import { tableNameOf } from './names.js';
import { FAMILIES } from './runtime-config.js';

/** The HBase table a pipeline wants, as plain data for the table reconciler. */
export interface DesiredFamily {
  name: string;
  ttlSeconds: number;
  compression: 'NONE' | 'GZ' | 'SNAPPY' | 'LZ4' | 'ZSTD';
  bloomFilter: 'NONE' | 'ROW' | 'ROWCOL';
  maxVersions: number;
  /** HFile encryption under the HBase cluster's master key (spec.storage.encryption). */
  encryption: 'NONE' | 'AES';
}

export interface DesiredTable {
  name: string;
  families: DesiredFamily[];
  /** Region boundaries at creation: one region per salt bucket. */
  splitKeys: Buffer[];
}

/**
 * Row keys start with one salt byte, 0 … buckets-1 (the runtime's layout, one home:
 * runtime/storage/layout.ts), so the table starts with one region per bucket.
 */
export { saltSplitKeys };

export function desiredTable(pipeline: AdPipeline): DesiredTable {
  const spec = pipeline.spec;
  const ms = (value: string) => parseDuration(value);
  const attribution = ms(spec.correlation?.attributionWindow ?? DEFAULTS.attributionWindow);
  const conversion = ms(spec.correlation?.conversionWindow ?? DEFAULTS.conversionWindow);
  const lateness = spec.correlation?.lateness ? ms(spec.correlation.lateness) : attribution;
  const compression = spec.storage?.compression ?? DEFAULTS.compression;
  const bloomFilter = spec.storage?.bloomFilter ?? DEFAULTS.bloomFilter;
  const encryption = spec.storage?.encryption ?? DEFAULTS.encryption;
  const family = (name: string, ttlMs: number): DesiredFamily => ({ name, ttlSeconds: Math.ceil(ttlMs / 1000), compression, bloomFilter, maxVersions: 1, encryption });
  return {
    name: tableNameOf(pipeline),
    families: [
      family(FAMILIES.aggregates, ms(spec.retention?.aggregates ?? DEFAULTS.aggregates)),
      // An impression waits for its clicks, a click for its conversions, each up to its window plus
      // the lateness bound; correlation state older than that can never match again.
      family(FAMILIES.state, Math.max(attribution, conversion) + lateness),
      // Ids are remembered as long as Kafka can replay the records that carry them.
      family(FAMILIES.dedup, ms(spec.retention?.rawEvents ?? DEFAULTS.rawEvents)),
    ],
    splitKeys: saltSplitKeys(spec.storage?.preSplitRegions ?? DEFAULTS.preSplitRegions),
  };
}
