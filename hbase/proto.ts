import protobuf from 'protobufjs';
import type Long from 'long';

/**
 * The subset of HBase 2.x's protobuf wire format this module speaks, written down here as a schema
 * (field names and numbers are facts of the protocol; see docs/decisions/0020). Only the messages
 * and fields the client sends or reads are declared: protobuf skips unknown fields on decode, so a
 * newer server's extra fields do no harm.
 */
const SCHEMA = `
syntax = "proto2";
package hbase.pb;

message TableName { required bytes namespace = 1; required bytes qualifier = 2; }
message NameStringPair { required string name = 1; required string value = 2; }
message NameBytesPair { required string name = 1; optional bytes value = 2; }
message BytesBytesPair { required bytes first = 1; required bytes second = 2; }
message ServerName { required string host_name = 1; optional uint32 port = 2; optional uint64 start_code = 3; }
message TimeRange { optional uint64 from = 1; optional uint64 to = 2; }
message ColumnFamilySchema { required bytes name = 1; repeated BytesBytesPair attributes = 2; repeated NameStringPair configuration = 3; }
message TableSchema { optional TableName table_name = 1; repeated BytesBytesPair attributes = 2; repeated ColumnFamilySchema column_families = 3; repeated NameStringPair configuration = 4; }
message TableState { required int32 state = 1; }
message RegionInfo {
  required uint64 region_id = 1; required TableName table_name = 2; optional bytes start_key = 3; optional bytes end_key = 4;
  optional bool offline = 5; optional bool split = 6; optional int32 replica_id = 7; optional string region_encoded_name = 8;
}
message RegionSpecifier { required int32 type = 1; required bytes value = 2; }

message UserInformation { required string effective_user = 1; optional string real_user = 2; }
message ConnectionHeader { optional UserInformation user_info = 1; optional string service_name = 2; optional string cell_block_codec_class = 3; }
message CellBlockMeta { optional uint32 length = 1; }
message ExceptionResponse { optional string exception_class_name = 1; optional string stack_trace = 2; optional string hostname = 3; optional int32 port = 4; optional bool do_not_retry = 5; }
message RequestHeader { optional uint32 call_id = 1; optional string method_name = 3; optional bool request_param = 4; optional CellBlockMeta cell_block_meta = 5; optional uint32 priority = 6; optional uint32 timeout = 7; }
message ResponseHeader { optional uint32 call_id = 1; optional ExceptionResponse exception = 2; optional CellBlockMeta cell_block_meta = 3; }

message Master { required ServerName master = 1; optional uint32 rpc_version = 2; }
message MetaRegionServer { required ServerName server = 1; optional uint32 rpc_version = 2; optional int32 state = 3; }

message Cell { optional bytes row = 1; optional bytes family = 2; optional bytes qualifier = 3; optional uint64 timestamp = 4; optional int32 cell_type = 5; optional bytes value = 6; }
message Filter { required string name = 1; optional bytes serialized_filter = 2; }
message Comparator { required string name = 1; optional bytes serialized_comparator = 2; }
message ByteArrayComparable { optional bytes value = 1; }
message BinaryComparator { required ByteArrayComparable comparable = 1; }
message PrefixFilter { optional bytes prefix = 1; }
message ColumnPrefixFilter { required bytes prefix = 1; }
message MultipleColumnPrefixFilter { repeated bytes sorted_prefixes = 1; }
message KeyOnlyFilter { required bool len_as_val = 1; }
message FirstKeyOnlyFilter { }
message CompareFilter { required int32 compare_op = 1; optional Comparator comparator = 2; }
message RowFilter { required CompareFilter compare_filter = 1; }
message SingleColumnValueFilter {
  optional bytes column_family = 1; optional bytes column_qualifier = 2; required int32 compare_op = 3; required Comparator comparator = 4;
  optional bool filter_if_missing = 5; optional bool latest_version_only = 6;
}
message FilterList { required int32 operator = 1; repeated Filter filters = 2; }

message Column { required bytes family = 1; repeated bytes qualifier = 2; }
message Get {
  required bytes row = 1; repeated Column column = 2; optional Filter filter = 4; optional TimeRange time_range = 5;
  optional uint32 max_versions = 6; optional bool existence_only = 10;
}
message Result { repeated Cell cell = 1; optional int32 associated_cell_count = 2; optional bool exists = 3; optional bool stale = 4; optional bool partial = 5; }
message GetRequest { required RegionSpecifier region = 1; required Get get = 2; }
message GetResponse { optional Result result = 1; }
message Condition {
  required bytes row = 1; optional bytes family = 2; optional bytes qualifier = 3; optional int32 compare_type = 4; optional Comparator comparator = 5;
}
message QualifierValue { optional bytes qualifier = 1; optional bytes value = 2; optional uint64 timestamp = 3; optional int32 delete_type = 4; }
message ColumnValue { required bytes family = 1; repeated QualifierValue qualifier_value = 2; }
message MutationProto {
  optional bytes row = 1; optional int32 mutate_type = 2; repeated ColumnValue column_value = 3; optional uint64 timestamp = 4;
  optional int32 durability = 6; optional int32 associated_cell_count = 8; optional uint64 nonce = 9;
}
message MutateRequest { required RegionSpecifier region = 1; required MutationProto mutation = 2; optional Condition condition = 3; optional uint64 nonce_group = 4; }
message MutateResponse { optional Result result = 1; optional bool processed = 2; }
message Scan {
  repeated Column column = 1; optional bytes start_row = 3; optional bytes stop_row = 4; optional Filter filter = 5; optional TimeRange time_range = 6;
  optional uint32 max_versions = 7; optional bool cache_blocks = 8; optional uint64 max_result_size = 10; optional bool reversed = 15;
  optional uint32 caching = 17; optional bool include_start_row = 21; optional bool include_stop_row = 22;
}
message ScanRequest {
  optional RegionSpecifier region = 1; optional Scan scan = 2; optional uint64 scanner_id = 3; optional uint32 number_of_rows = 4;
  optional bool close_scanner = 5; optional uint64 next_call_seq = 6; optional bool client_handles_partials = 7;
  optional bool client_handles_heartbeats = 8; optional uint32 limit_of_rows = 11;
}
message ScanResponse {
  repeated uint32 cells_per_result = 1; optional uint64 scanner_id = 2; optional bool more_results = 3; optional uint32 ttl = 4;
  repeated Result results = 5; repeated bool partial_flag_per_result = 7; optional bool more_results_in_region = 8; optional bool heartbeat_message = 9;
}
message Action { optional uint32 index = 1; optional MutationProto mutation = 2; optional Get get = 3; }
message RegionAction { required RegionSpecifier region = 1; optional bool atomic = 2; repeated Action action = 3; optional Condition condition = 4; }
message ResultOrException { optional uint32 index = 1; optional Result result = 2; optional NameBytesPair exception = 3; }
message RegionActionResult { repeated ResultOrException resultOrException = 1; optional NameBytesPair exception = 2; optional bool processed = 3; }
message MultiRequest { repeated RegionAction regionAction = 1; optional uint64 nonceGroup = 2; }
message MultiResponse { repeated RegionActionResult regionActionResult = 1; optional bool processed = 2; }

message GenericExceptionMessage { optional string class_name = 1; optional string message = 2; }
message ForeignExceptionMessage { optional string source = 1; optional GenericExceptionMessage generic_exception = 2; }
message ProcIdResponse { optional uint64 proc_id = 1; }
message TableNameRequest { required TableName table_name = 1; optional uint64 nonce_group = 2; optional uint64 nonce = 3; }
message CreateTableRequest { required TableSchema table_schema = 1; repeated bytes split_keys = 2; optional uint64 nonce_group = 3; optional uint64 nonce = 4; }
message ColumnRequest { required TableName table_name = 1; required ColumnFamilySchema column_families = 2; optional uint64 nonce_group = 3; optional uint64 nonce = 4; }
message SplitTableRegionRequest { required RegionInfo region_info = 1; optional bytes split_row = 2; optional uint64 nonce_group = 3; optional uint64 nonce = 4; }
message RegionRequest { required RegionSpecifier region = 1; optional ServerName dest_server_name = 2; }
message Empty { }
message FlushRegionRequest { required RegionSpecifier region = 1; optional uint64 if_older_than_ts = 2; optional bool write_flush_wal_marker = 3; optional bytes family = 4; }
message FlushRegionResponse { required uint64 last_flush_time = 1; optional bool flushed = 2; optional bool wrote_flush_wal_marker = 3; }
message GetTableDescriptorsRequest { repeated TableName table_names = 1; optional string regex = 2; optional bool include_sys_tables = 3; optional string namespace = 4; }
message GetTableDescriptorsResponse { repeated TableSchema table_schema = 1; }
message GetTableNamesRequest { optional string regex = 1; optional bool include_sys_tables = 2; optional string namespace = 3; }
message GetTableNamesResponse { repeated TableName table_names = 1; }
message GetTableStateRequest { required TableName table_name = 1; }
message GetTableStateResponse { required TableState table_state = 1; }
message GetProcedureResultRequest { required uint64 proc_id = 1; }
message GetProcedureResultResponse {
  required int32 state = 1; optional uint64 submitted_time = 2; optional uint64 last_update = 3; optional bytes result = 4;
  optional ForeignExceptionMessage exception = 5;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

export type Int64 = number | Long | string;

export interface PbTableName { namespace: Uint8Array; qualifier: Uint8Array }
export interface PbServerName { host_name: string; port?: number; start_code?: Int64 }
export interface PbBytesBytesPair { first: Uint8Array; second: Uint8Array }
export interface PbNameStringPair { name: string; value: string }
export interface PbNameBytesPair { name: string; value?: Uint8Array }
export interface PbColumnFamilySchema { name: Uint8Array; attributes?: PbBytesBytesPair[]; configuration?: PbNameStringPair[] }
export interface PbTableSchema { table_name?: PbTableName; attributes?: PbBytesBytesPair[]; column_families?: PbColumnFamilySchema[]; configuration?: PbNameStringPair[] }
export interface PbRegionInfo {
  region_id: Int64; table_name: PbTableName; start_key?: Uint8Array; end_key?: Uint8Array;
  offline?: boolean; split?: boolean; replica_id?: number; region_encoded_name?: string;
}
export interface PbRegionSpecifier { type: number; value: Uint8Array }
export interface PbExceptionResponse { exception_class_name?: string; stack_trace?: string; hostname?: string; port?: number; do_not_retry?: boolean }
export interface PbRequestHeader { call_id: number; method_name: string; request_param: boolean; cell_block_meta?: { length: number }; priority?: number; timeout?: number }
export interface PbResponseHeader { call_id?: number; exception?: PbExceptionResponse; cell_block_meta?: { length?: number } }
export interface PbCell { row?: Uint8Array; family?: Uint8Array; qualifier?: Uint8Array; timestamp?: Int64; cell_type?: number; value?: Uint8Array }
export interface PbFilter { name: string; serialized_filter?: Uint8Array }
export interface PbComparator { name: string; serialized_comparator?: Uint8Array }
export interface PbColumn { family: Uint8Array; qualifier?: Uint8Array[] }
export interface PbTimeRange { from?: Int64; to?: Int64 }
export interface PbGet { row: Uint8Array; column?: PbColumn[]; filter?: PbFilter; time_range?: PbTimeRange; max_versions?: number; existence_only?: boolean }
export interface PbResult { cell?: PbCell[]; associated_cell_count?: number; exists?: boolean; stale?: boolean; partial?: boolean }
export interface PbQualifierValue { qualifier?: Uint8Array; value?: Uint8Array; timestamp?: Int64; delete_type?: number }
export interface PbMutation {
  row: Uint8Array; mutate_type: number; column_value?: { family: Uint8Array; qualifier_value: PbQualifierValue[] }[];
  timestamp?: Int64; durability?: number; associated_cell_count?: number; nonce?: Int64;
}
export interface PbCondition { row: Uint8Array; family?: Uint8Array; qualifier?: Uint8Array; compare_type?: number; comparator?: PbComparator }
export interface PbScan {
  column?: PbColumn[]; start_row?: Uint8Array; stop_row?: Uint8Array; filter?: PbFilter; time_range?: PbTimeRange; max_versions?: number;
  cache_blocks?: boolean; max_result_size?: Int64; reversed?: boolean; caching?: number; include_start_row?: boolean; include_stop_row?: boolean;
}
export interface PbScanRequest {
  region?: PbRegionSpecifier; scan?: PbScan; scanner_id?: Int64; number_of_rows?: number; close_scanner?: boolean; next_call_seq?: Int64;
  client_handles_partials?: boolean; client_handles_heartbeats?: boolean; limit_of_rows?: number;
}
export interface PbScanResponse {
  cells_per_result?: number[]; scanner_id?: Int64; more_results?: boolean; ttl?: number; results?: PbResult[];
  partial_flag_per_result?: boolean[]; more_results_in_region?: boolean; heartbeat_message?: boolean;
}
export interface PbAction { index: number; mutation?: PbMutation; get?: PbGet }
export interface PbResultOrException { index?: number; result?: PbResult; exception?: PbNameBytesPair }
export interface PbMultiResponse { regionActionResult?: { resultOrException?: PbResultOrException[]; exception?: PbNameBytesPair; processed?: boolean }[]; processed?: boolean }
export interface PbProcedureResult {
  state: number; result?: Uint8Array;
  exception?: { source?: string; generic_exception?: { class_name?: string; message?: string } };
}

/** Protobuf message types by the name used in this file's schema. */
export type MessageName =
  | 'TableName' | 'ServerName' | 'ColumnFamilySchema' | 'TableSchema' | 'RegionInfo' | 'RegionSpecifier'
  | 'ConnectionHeader' | 'RequestHeader' | 'ResponseHeader' | 'Master' | 'MetaRegionServer'
  | 'Filter' | 'Comparator' | 'BinaryComparator' | 'PrefixFilter' | 'ColumnPrefixFilter' | 'MultipleColumnPrefixFilter' | 'KeyOnlyFilter' | 'FirstKeyOnlyFilter'
  | 'RowFilter' | 'SingleColumnValueFilter' | 'FilterList'
  | 'GetRequest' | 'GetResponse' | 'MutateRequest' | 'MutateResponse' | 'ScanRequest' | 'ScanResponse' | 'MultiRequest' | 'MultiResponse'
  | 'ProcIdResponse' | 'TableNameRequest' | 'CreateTableRequest' | 'ColumnRequest' | 'SplitTableRegionRequest' | 'RegionRequest' | 'Empty' | 'FlushRegionRequest' | 'FlushRegionResponse'
  | 'GetTableDescriptorsRequest' | 'GetTableDescriptorsResponse' | 'GetTableNamesRequest' | 'GetTableNamesResponse' | 'GetTableStateRequest' | 'GetTableStateResponse'
  | 'GetProcedureResultRequest' | 'GetProcedureResultResponse';

const types = new Map<string, protobuf.Type>();
function type(name: MessageName): protobuf.Type {
  let found = types.get(name);
  if (!found) {
    found = root.lookupType(`hbase.pb.${name}`);
    types.set(name, found);
  }
  return found;
}

export function encode(name: MessageName, message: object): Uint8Array {
  return type(name).encode(message as Record<string, unknown>).finish();
}

/** Varint length prefix + message: how HBase frames the header and parameter of each call. */
export function encodeDelimited(name: MessageName, message: object): Uint8Array {
  return type(name).encodeDelimited(message as Record<string, unknown>).finish();
}

/** Decodes into the plain field shape declared by the Pb* interfaces (the caller names the one). */
export function decode<T>(name: MessageName, bytes: Uint8Array): T {
  return type(name).decode(bytes) as unknown as T;
}

/** A reader over a buffer holding several delimited messages (response header, then body). */
export function decodeDelimitedAt<T>(name: MessageName, bytes: Uint8Array, offset: number): { message: T; end: number } {
  const reader = protobuf.Reader.create(bytes);
  reader.pos = offset;
  const length = reader.uint32();
  const start = reader.pos;
  const message = type(name).decode(bytes.subarray(start, start + length)) as unknown as T;
  return { message, end: start + length };
}

/**
 * Whether a decoded message carried `field` on the wire. protobufjs puts proto2 defaults on the
 * prototype (false, 0, ''), so `message.field === undefined` cannot tell "absent" from "default".
 */
export function present(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

/** A protobuf 64-bit integer as a JavaScript number (exact below 2^53: ids, timestamps, counts). */
export function toNumber(value: Int64 | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  return value.toNumber();
}
