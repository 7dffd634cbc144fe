import { HBaseError } from './errors.js';
import type { PbColumnFamilySchema } from './proto.js';

/**
 * Column family settings ↔ HBase's descriptor attributes. Pure. A FamilySpec is the WHOLE desired
 * family: a field left out means HBase's default, also when modifying an existing family.
 */

export type Compression = 'NONE' | 'GZ' | 'SNAPPY' | 'LZ4' | 'ZSTD';
export type BloomFilter = 'NONE' | 'ROW' | 'ROWCOL';
export type DataBlockEncoding = 'NONE' | 'PREFIX' | 'DIFF' | 'FAST_DIFF' | 'ROW_INDEX_V1';
/**
 * Transparent encryption of the family's HFiles (`ENCRYPTION => 'AES'`): each store gets a random
 * data key, wrapped by the cluster master key (`hbase.crypto.master.key.name`, from the servers'
 * key provider). A server without a key provider refuses such a family at create time.
 */
export type FamilyEncryption = 'NONE' | 'AES';

export interface FamilySpec {
  name: string;
  /** Cells older than this are dropped at compaction; default: kept forever. */
  ttlSeconds?: number;
  /** Versions kept per cell; default 1. */
  maxVersions?: number;
  /** Versions kept even past the TTL; default 0. */
  minVersions?: number;
  /** Default NONE. The codec must be available on the servers (GZ always is). */
  compression?: Compression;
  /** Default ROW. */
  bloomFilter?: BloomFilter;
  /** HFile block size; default 65536. */
  blockSizeBytes?: number;
  /** Default true. */
  blockCache?: boolean;
  /** Default false. */
  inMemory?: boolean;
  /** Default NONE. */
  dataBlockEncoding?: DataBlockEncoding;
  /** Default NONE (the attribute is left out). */
  encryption?: FamilyEncryption;
}

/** A family as HBase reports it: every setting filled in. */
export type FamilyDescription = Required<Omit<FamilySpec, 'ttlSeconds'>> & {
  /** undefined: kept forever. */
  ttlSeconds: number | undefined;
};

/** HConstants.FOREVER: the TTL HBase stores for "no TTL". */
const FOREVER = 2147483647;

export const FAMILY_DEFAULTS: FamilyDescription = {
  name: '',
  ttlSeconds: undefined,
  maxVersions: 1,
  minVersions: 0,
  compression: 'NONE',
  bloomFilter: 'ROW',
  blockSizeBytes: 65536,
  blockCache: true,
  inMemory: false,
  dataBlockEncoding: 'NONE',
  encryption: 'NONE',
};

/** HBase's rule for family names, checked before any call so the error names the culprit. */
export function validateFamilyName(name: string, table: string): void {
  const problem =
    name.length === 0
      ? 'is empty'
      : name.startsWith('.')
        ? 'starts with a period'
        : /[:\\/]/.test(name)
          ? "contains ':', '/' or '\\'"
          : [...name].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)
            ? 'contains a control character'
            : name === 'recovered.edits'
              ? 'is reserved'
              : undefined;
  if (problem) {
    throw new HBaseError('INVALID_ARGUMENT', `column family name '${name}' of table ${table} ${problem}`, { context: { table, family: name } });
  }
}

function positiveInteger(value: number | undefined, what: string, table: string, family: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new HBaseError('INVALID_ARGUMENT', `${what} of family '${family}' of table ${table} must be a non-negative integer, got ${value}`, { context: { table, family } });
  }
}

export function familySchema(spec: FamilySpec, table: string): PbColumnFamilySchema {
  validateFamilyName(spec.name, table);
  positiveInteger(spec.ttlSeconds, 'ttlSeconds', table, spec.name);
  positiveInteger(spec.maxVersions, 'maxVersions', table, spec.name);
  positiveInteger(spec.minVersions, 'minVersions', table, spec.name);
  positiveInteger(spec.blockSizeBytes, 'blockSizeBytes', table, spec.name);
  const full = { ...FAMILY_DEFAULTS, ...definedOnly(spec) };
  const attributes: Record<string, string> = {
    TTL: String(full.ttlSeconds === undefined || full.ttlSeconds >= FOREVER ? FOREVER : full.ttlSeconds),
    VERSIONS: String(full.maxVersions),
    MIN_VERSIONS: String(full.minVersions),
    COMPRESSION: full.compression,
    BLOOMFILTER: full.bloomFilter,
    BLOCKSIZE: String(full.blockSizeBytes),
    BLOCKCACHE: String(full.blockCache),
    IN_MEMORY: String(full.inMemory),
    DATA_BLOCK_ENCODING: full.dataBlockEncoding,
    // HBase reads any ENCRYPTION attribute as a cipher name, so "no encryption" is its absence.
    ...(full.encryption === 'NONE' ? {} : { ENCRYPTION: full.encryption }),
  };
  return {
    name: Buffer.from(spec.name),
    attributes: Object.entries(attributes).map(([key, value]) => ({ first: Buffer.from(key), second: Buffer.from(value) })),
  };
}

export function familyFromSchema(schema: PbColumnFamilySchema): FamilyDescription {
  const attributes = new Map<string, string>();
  for (const pair of schema.attributes ?? []) attributes.set(Buffer.from(pair.first).toString(), Buffer.from(pair.second).toString());
  const int = (key: string, fallback: number) => {
    const value = attributes.get(key);
    return value === undefined ? fallback : Number(value);
  };
  const bool = (key: string, fallback: boolean) => {
    const value = attributes.get(key);
    return value === undefined ? fallback : value.toLowerCase() === 'true';
  };
  const ttl = int('TTL', FOREVER);
  return {
    name: Buffer.from(schema.name).toString(),
    ttlSeconds: ttl >= FOREVER ? undefined : ttl,
    maxVersions: int('VERSIONS', FAMILY_DEFAULTS.maxVersions),
    minVersions: int('MIN_VERSIONS', FAMILY_DEFAULTS.minVersions),
    compression: (attributes.get('COMPRESSION') ?? FAMILY_DEFAULTS.compression) as Compression,
    bloomFilter: (attributes.get('BLOOMFILTER') ?? FAMILY_DEFAULTS.bloomFilter) as BloomFilter,
    blockSizeBytes: int('BLOCKSIZE', FAMILY_DEFAULTS.blockSizeBytes),
    blockCache: bool('BLOCKCACHE', FAMILY_DEFAULTS.blockCache),
    inMemory: bool('IN_MEMORY', FAMILY_DEFAULTS.inMemory),
    dataBlockEncoding: (attributes.get('DATA_BLOCK_ENCODING') ?? FAMILY_DEFAULTS.dataBlockEncoding) as DataBlockEncoding,
    encryption: (attributes.get('ENCRYPTION')?.toUpperCase() ?? FAMILY_DEFAULTS.encryption) as FamilyEncryption,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
