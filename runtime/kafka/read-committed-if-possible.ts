import { installReadCommittedFilter } from './read-committed.js';

// For entries that are also imported as modules (the CLI: its tests load kafkajs first): the
// filter goes in when this runs before kafkajs loads, as in the `adpipe` process; else kafkajs's stays.
installReadCommittedFilter({ ifStillPossible: true });
