import { toBuffer, type Bytes } from './bytes.js';
import { encode, type PbComparator, type PbFilter } from './proto.js';

/**
 * Server-side filters, as plain data. Each maps to the HBase filter class of the same meaning
 * (serialized the way the server's `parseFrom` reads it). Pure.
 */
export type CompareOp = 'LESS' | 'LESS_OR_EQUAL' | 'EQUAL' | 'NOT_EQUAL' | 'GREATER_OR_EQUAL' | 'GREATER';

export type ScanFilter =
  /** Rows whose key starts with `prefix` (the scan's `prefix` option is cheaper: it bounds the scan). */
  | { type: 'prefix'; prefix: Bytes }
  /** Only columns whose qualifier starts with `prefix`. */
  | { type: 'columnPrefix'; prefix: Bytes }
  /** Only columns whose qualifier starts with one of `prefixes` (the server seeks between them). */
  | { type: 'columnPrefixes'; prefixes: Bytes[] }
  /** Cells without values (keys only): for counting or listing rows. */
  | { type: 'keyOnly' }
  /** Only the first cell of each row. */
  | { type: 'firstKeyOnly' }
  /** Rows whose key compares to `value` with `op`. */
  | { type: 'row'; op: CompareOp; value: Bytes }
  /** Rows whose cell family:qualifier compares to `value` with `op`; `filterIfMissing` drops rows without the cell. */
  | { type: 'singleColumnValue'; family: Bytes; qualifier: Bytes; op: CompareOp; value: Bytes; filterIfMissing?: boolean }
  /** All filters must pass (`all`) or at least one (`one`). */
  | { type: 'list'; operator: 'all' | 'one'; filters: ScanFilter[] };

const COMPARE: Record<CompareOp, number> = { LESS: 0, LESS_OR_EQUAL: 1, EQUAL: 2, NOT_EQUAL: 3, GREATER_OR_EQUAL: 4, GREATER: 5 };
const FILTER = 'org.apache.hadoop.hbase.filter.';

export function compareCode(op: CompareOp): number {
  return COMPARE[op];
}

export function binaryComparator(value: Bytes): PbComparator {
  return { name: `${FILTER}BinaryComparator`, serialized_comparator: encode('BinaryComparator', { comparable: { value: toBuffer(value) } }) };
}

/** Matches a missing cell (used for "put only if absent"). */
export function nullComparator(): PbComparator {
  return { name: `${FILTER}NullComparator`, serialized_comparator: new Uint8Array(0) };
}

export function filterProto(filter: ScanFilter): PbFilter {
  switch (filter.type) {
    case 'prefix':
      return { name: `${FILTER}PrefixFilter`, serialized_filter: encode('PrefixFilter', { prefix: toBuffer(filter.prefix) }) };
    case 'columnPrefix':
      return { name: `${FILTER}ColumnPrefixFilter`, serialized_filter: encode('ColumnPrefixFilter', { prefix: toBuffer(filter.prefix) }) };
    case 'columnPrefixes': {
      // The server puts them in its own sorted set and refuses repeats ("prefixes must be distinct").
      const distinct = new Map<string, Buffer>();
      for (const prefix of filter.prefixes) {
        const bytes = toBuffer(prefix);
        distinct.set(bytes.toString('latin1'), bytes);
      }
      return { name: `${FILTER}MultipleColumnPrefixFilter`, serialized_filter: encode('MultipleColumnPrefixFilter', { sorted_prefixes: [...distinct.values()] }) };
    }
    case 'keyOnly':
      return { name: `${FILTER}KeyOnlyFilter`, serialized_filter: encode('KeyOnlyFilter', { len_as_val: false }) };
    case 'firstKeyOnly':
      return { name: `${FILTER}FirstKeyOnlyFilter`, serialized_filter: encode('FirstKeyOnlyFilter', {}) };
    case 'row':
      return {
        name: `${FILTER}RowFilter`,
        serialized_filter: encode('RowFilter', { compare_filter: { compare_op: COMPARE[filter.op], comparator: binaryComparator(filter.value) } }),
      };
    case 'singleColumnValue':
      return {
        name: `${FILTER}SingleColumnValueFilter`,
        serialized_filter: encode('SingleColumnValueFilter', {
          column_family: toBuffer(filter.family),
          column_qualifier: toBuffer(filter.qualifier),
          compare_op: COMPARE[filter.op],
          comparator: binaryComparator(filter.value),
          filter_if_missing: filter.filterIfMissing ?? false,
          latest_version_only: true,
        }),
      };
    case 'list':
      return {
        name: `${FILTER}FilterList`,
        serialized_filter: encode('FilterList', { operator: filter.operator === 'all' ? 1 : 2, filters: filter.filters.map(filterProto) }),
      };
  }
}
