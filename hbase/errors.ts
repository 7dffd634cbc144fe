/**
 * One error type for the module. `code` is stable (callers switch on it), `retriable` says whether
 * trying again later can succeed, and the context fields say which table / row / region / server
 * a person has to look at.
 */

export type HBaseErrorCode =
  | 'TABLE_NOT_FOUND'
  | 'TABLE_EXISTS'
  | 'TABLE_NOT_ENABLED'
  | 'TABLE_NOT_DISABLED'
  | 'NO_SUCH_FAMILY'
  | 'INVALID_ARGUMENT'
  | 'REGION_UNAVAILABLE'
  | 'SERVER_BUSY'
  | 'SCANNER_EXPIRED'
  | 'CONNECTION'
  | 'TLS'
  | 'TIMEOUT'
  | 'DEADLINE_EXCEEDED'
  | 'PROCEDURE_FAILED'
  | 'PROTOCOL'
  | 'CLOSED'
  | 'REMOTE';

export interface HBaseErrorContext {
  table?: string;
  row?: string;
  family?: string;
  region?: string;
  server?: string;
  /** The Java exception class the server reported, when it came from the server. */
  remoteClass?: string;
}

export class HBaseError extends Error {
  readonly code: HBaseErrorCode;
  readonly retriable: boolean;
  readonly context: HBaseErrorContext;

  constructor(code: HBaseErrorCode, message: string, options: { retriable?: boolean; context?: HBaseErrorContext; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HBaseError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }

  get table(): string | undefined {
    return this.context.table;
  }

  get row(): string | undefined {
    return this.context.row;
  }

  get region(): string | undefined {
    return this.context.region;
  }

  /** The same error with more context (what the caller knows that the layer below did not). */
  withContext(context: HBaseErrorContext): HBaseError {
    const merged = { ...context, ...this.context };
    const where = describeContext(context, this.context);
    return new HBaseError(this.code, where ? `${this.message} (${where})` : this.message, {
      retriable: this.retriable,
      context: merged,
      cause: this.cause,
    });
  }
}

function describeContext(added: HBaseErrorContext, existing: HBaseErrorContext): string {
  const parts: string[] = [];
  if (added.table && !existing.table) parts.push(`table ${added.table}`);
  if (added.row && !existing.row) parts.push(`row ${added.row}`);
  if (added.region && !existing.region) parts.push(`region ${added.region}`);
  return parts.join(', ');
}

export function isHBaseError(error: unknown, code?: HBaseErrorCode): error is HBaseError {
  return error instanceof HBaseError && (code === undefined || error.code === code);
}

/** How the client reacts to a server exception class (see RemoteExceptionKind in the client). */
interface RemoteRule {
  code: HBaseErrorCode;
  retriable: boolean;
  /** The cached location of the region is stale: look it up again before retrying. */
  relocate?: boolean;
}

const REMOTE_RULES: Record<string, RemoteRule> = {
  'org.apache.hadoop.hbase.TableNotFoundException': { code: 'TABLE_NOT_FOUND', retriable: false },
  'org.apache.hadoop.hbase.TableExistsException': { code: 'TABLE_EXISTS', retriable: false },
  'org.apache.hadoop.hbase.TableNotEnabledException': { code: 'TABLE_NOT_ENABLED', retriable: false },
  'org.apache.hadoop.hbase.TableNotDisabledException': { code: 'TABLE_NOT_DISABLED', retriable: false },
  'org.apache.hadoop.hbase.InvalidFamilyOperationException': { code: 'NO_SUCH_FAMILY', retriable: false },
  'org.apache.hadoop.hbase.regionserver.NoSuchColumnFamilyException': { code: 'NO_SUCH_FAMILY', retriable: false },
  'org.apache.hadoop.hbase.DoNotRetryIOException': { code: 'INVALID_ARGUMENT', retriable: false },
  'java.lang.IllegalArgumentException': { code: 'INVALID_ARGUMENT', retriable: false },
  'org.apache.hadoop.hbase.NotServingRegionException': { code: 'REGION_UNAVAILABLE', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.exceptions.RegionMovedException': { code: 'REGION_UNAVAILABLE', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.exceptions.RegionOpeningException': { code: 'REGION_UNAVAILABLE', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.regionserver.RegionServerStoppedException': { code: 'REGION_UNAVAILABLE', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.client.RegionOfflineException': { code: 'REGION_UNAVAILABLE', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.regionserver.RegionServerAbortedException': { code: 'REGION_UNAVAILABLE', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.ipc.ServerNotRunningYetException': { code: 'SERVER_BUSY', retriable: true, relocate: true },
  'org.apache.hadoop.hbase.PleaseHoldException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.RegionTooBusyException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.ipc.ServerTooBusyException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.CallQueueTooBigException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.CallDroppedException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.RetryImmediatelyException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.quotas.RpcThrottlingException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.MultiActionResultTooLarge': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.exceptions.MasterStoppedException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.master.MasterStoppedException': { code: 'SERVER_BUSY', retriable: true },
  'org.apache.hadoop.hbase.UnknownScannerException': { code: 'SCANNER_EXPIRED', retriable: true },
  'org.apache.hadoop.hbase.exceptions.OutOfOrderScannerNextException': { code: 'SCANNER_EXPIRED', retriable: true },
  'org.apache.hadoop.hbase.exceptions.ScannerResetException': { code: 'SCANNER_EXPIRED', retriable: true },
  'org.apache.hadoop.hbase.regionserver.LeaseException': { code: 'SCANNER_EXPIRED', retriable: true },
};

/** Exceptions not listed above: retriable unless the server said not to retry. */
export function remoteError(className: string, message: string, options: { doNotRetry?: boolean; server?: string; hostname?: string; port?: number }): HBaseError {
  const rule = REMOTE_RULES[className];
  let firstLine = message.split('\n')[0]?.trim() ?? '';
  // Server messages start with the class name again, and some append whole table descriptors.
  if (firstLine.startsWith(`${className}: `)) firstLine = firstLine.slice(className.length + 2);
  if (firstLine.length > 300) firstLine = `${firstLine.slice(0, 300)}…`;
  const shortClass = className.slice(className.lastIndexOf('.') + 1);
  const error = new HBaseError(rule?.code ?? 'REMOTE', `${shortClass}: ${firstLine}`, {
    retriable: rule ? rule.retriable : !options.doNotRetry,
    context: { remoteClass: className, ...(options.server ? { server: options.server } : {}) },
  });
  return error;
}

/** True when the region's cached location must be dropped before retrying. */
export function needsRelocation(error: unknown): boolean {
  if (!(error instanceof HBaseError)) return false;
  if (error.code === 'CONNECTION' || error.code === 'TIMEOUT' || error.code === 'REGION_UNAVAILABLE') return true;
  const rule = error.context.remoteClass ? REMOTE_RULES[error.context.remoteClass] : undefined;
  return rule?.relocate === true;
}
