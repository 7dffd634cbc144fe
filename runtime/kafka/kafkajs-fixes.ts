import { installFetchedBatch } from './fetched-batch.js';
import { installReadCommittedFilter } from './read-committed.js';
import { installRecordBatchDecoder } from './record-batch-decoder.js';
import { installRecordBatchEncoder } from './record-batch-encoder.js';
import { installProduceRequest } from './produce-request.js';

// Imported first by every entry that consumes with kafkajs: our read_committed filter (decision
// 0073), fetched batch (decision 0141), record batch decoder, record batch encoder and produce
// request (decision 0079) in place of kafkajs's own.
installReadCommittedFilter();
// After the filter: loading kafkajs's own batch module loads the filter it replaces.
installFetchedBatch();
installRecordBatchDecoder();
installRecordBatchEncoder();
// After the encoder: loading kafkajs's own produce request loads the record module it replaces.
installProduceRequest();
