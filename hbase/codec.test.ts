import { decodeCellBlock, encodeCellBlock, CellType } from './cells.js';
import { FrameReader, parseResponse, requestFrame } from './framing.js';
import { encodeDelimited, decode, type PbRequestHeader } from './proto.js';
import { prefixUpperBound } from './bytes.js';
import { backoffDelay } from './retry.js';
import { needsRelocation, remoteError } from './errors.js';

// Pure codecs: cell blocks, RPC frames, key arithmetic. No I/O.

test('cell blocks round-trip rows, families, qualifiers, timestamps, types and binary values', () => {
  const cells = [
    { row: Buffer.from('r1'), family: Buffer.from('f'), qualifier: Buffer.from('q'), timestamp: 1_700_000_000_123, type: CellType.Put, value: Buffer.from([0, 1, 255]) },
    { row: Buffer.from('r2'), family: Buffer.from('fam'), qualifier: Buffer.alloc(0), timestamp: 5, type: CellType.DeleteFamily, value: Buffer.alloc(0) },
  ];
  const decoded = decodeCellBlock(encodeCellBlock(cells));
  expect(decoded.map((cell) => ({ ...cell }))).toEqual(cells);
});

test('a cell without timestamp is sent as LATEST_TIMESTAMP (server time)', () => {
  const [cell] = decodeCellBlock(encodeCellBlock([{ row: Buffer.from('r'), family: Buffer.from('f'), qualifier: Buffer.from('q'), type: CellType.Put, value: Buffer.from('v') }]));
  expect(BigInt(cell!.timestamp)).toBeGreaterThan(2n ** 62n);
});

test('a truncated cell block is rejected, not misread', () => {
  const block = encodeCellBlock([{ row: Buffer.from('r'), family: Buffer.from('f'), qualifier: Buffer.from('q'), type: CellType.Put, value: Buffer.from('value') }]);
  expect(() => decodeCellBlock(block.subarray(0, block.length - 2))).toThrow(RangeError);
});

test('frames split across arbitrary chunks are reassembled', () => {
  const frames = [Buffer.from('first'), Buffer.alloc(70_000, 7), Buffer.from('x')].map((body) => {
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length);
    body.copy(frame, 4);
    return frame;
  });
  const stream = Buffer.concat(frames);
  const reader = new FrameReader();
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += 999) out.push(...reader.push(stream.subarray(at, at + 999)));
  expect(out.map((frame) => frame.length)).toEqual([5, 70_000, 1]);
});

test('a request frame is length | delimited header | delimited param | cell block', () => {
  const header: PbRequestHeader = { call_id: 7, method_name: 'Get', request_param: true };
  const frame = requestFrame(header, 'TableNameRequest', { table_name: { namespace: Buffer.from('default'), qualifier: Buffer.from('t') } }, Buffer.from('CELLS'));
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  expect(frame.subarray(frame.length - 5).toString()).toBe('CELLS');
  // A response with the same layout parses back into header, body and cells.
  const responseHeader = encodeDelimited('ResponseHeader', { call_id: 7, cell_block_meta: { length: 5 } });
  const body = encodeDelimited('ProcIdResponse', { proc_id: 42 });
  const parsed = parseResponse(Buffer.concat([responseHeader, body, Buffer.from('CELLS')]));
  expect(parsed.header.call_id).toBe(7);
  expect(Number(decode<{ proc_id: number }>('ProcIdResponse', parsed.body!).proc_id)).toBe(42);
  expect(parsed.cellBlock?.toString()).toBe('CELLS');
});

test('prefix upper bound', () => {
  expect(prefixUpperBound(Buffer.from('abc')).toString()).toBe('abd');
  expect(prefixUpperBound(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]));
  expect(prefixUpperBound(Buffer.from([0xff, 0xff])).length).toBe(0);
});

test('backoff grows, is jittered, and is capped', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 2000 };
  expect(backoffDelay(0, policy, () => 0)).toBe(50);
  expect(backoffDelay(0, policy, () => 1)).toBe(100);
  expect(backoffDelay(3, policy, () => 1)).toBe(800);
  expect(backoffDelay(30, policy, () => 1)).toBe(2000);
});

test('server exceptions map to stable codes, retriability and relocation', () => {
  const moved = remoteError('org.apache.hadoop.hbase.NotServingRegionException', 'org.apache.hadoop.hbase.NotServingRegionException: t,,1.abc. is not online on rs1\n\tat ...', {});
  expect(moved).toMatchObject({ code: 'REGION_UNAVAILABLE', retriable: true, message: 'NotServingRegionException: t,,1.abc. is not online on rs1' });
  expect(needsRelocation(moved)).toBe(true);
  const busy = remoteError('org.apache.hadoop.hbase.RegionTooBusyException', 'busy', {});
  expect(busy).toMatchObject({ code: 'SERVER_BUSY', retriable: true });
  expect(needsRelocation(busy)).toBe(false);
  expect(remoteError('org.apache.hadoop.hbase.TableExistsException', 't', {})).toMatchObject({ code: 'TABLE_EXISTS', retriable: false });
  // Unknown classes follow the server's do_not_retry flag.
  expect(remoteError('com.example.Odd', 'x', { doNotRetry: true })).toMatchObject({ code: 'REMOTE', retriable: false });
  expect(remoteError('com.example.Odd', 'x', {})).toMatchObject({ code: 'REMOTE', retriable: true });
  expect(needsRelocation(moved.withContext({ table: 't' }))).toBe(true);
});
