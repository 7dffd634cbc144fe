import { installReadCommittedFilter } from './read-committed.js';

// Imported first by every entry that consumes with kafkajs (decision 0073): see read-committed.ts.
installReadCommittedFilter();
