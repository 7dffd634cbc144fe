import { installFetchedBatch } from './fetched-batch.js';
import { installReadCommittedFilter } from './read-committed.js';
import { installRecordBatchDecoder } from './record-batch-decoder.js';
import { installRecordBatchEncoder } from './record-batch-encoder.js';
import { installProduceRequest } from './produce-request.js';

// For entries that are also imported as modules (the CLI: its tests load kafkajs first): the
// fixes go in when this runs before kafkajs loads, as in the `adpipe` process; else kafkajs's stay.
installReadCommittedFilter({ ifStillPossible: true });
// After the filter: loading kafkajs's own batch module loads the filter it replaces.
installFetchedBatch({ ifStillPossible: true });
installRecordBatchDecoder({ ifStillPossible: true });
installRecordBatchEncoder({ ifStillPossible: true });
// After the encoder: loading kafkajs's own produce request loads the record module it replaces.
installProduceRequest({ ifStillPossible: true });
