import { installReadCommittedFilter } from './read-committed.js';
import { installRecordBatchDecoder } from './record-batch-decoder.js';

// Imported first by every entry that consumes with kafkajs: our read_committed filter (decision
// 0073) and record batch decoder (decision 0079) in place of kafkajs's own.
installReadCommittedFilter();
installRecordBatchDecoder();
