/**
 * The generator's public surface: deterministic ad traffic for the four sources and its answer key,
 * computed by a reference implementation of the contract that shares no code with runtime/.
 */
export { BID_REQUEST_SCHEMA, DEFAULT_TOPICS, SOURCES, type BidRequest, type Source } from './contract.js';
export { GeneratorError, type GeneratorErrorCode } from './errors.js';
export { generateInto, resolveOptions, type MessageSink } from './generate.js';
export {
  computeExpected,
  generate,
  messageLine,
  parseMessageLine,
  readGeneratedDirectory,
  readManifest,
  sourceLines,
  SOURCE_FILES,
  writeGeneratedDirectory,
  type LineEncoding,
  type Manifest,
  type WriteResult,
} from './output.js';
export { ReferencePipeline, type ReferenceOptions } from './reference/pipeline.js';
export { answerQuery, type CampaignHours } from './reference/query.js';
export { parseTimestamp } from './reference/timestamps.js';
export * from './types.js';
