import type { Command } from '../command.js';
import { dlqCommand } from './dlq.js';
import { generateCommand } from './generate.js';
import { produceCommand } from './produce.js';
import { queryCommand } from './query.js';

/**
 * Every `adpipe` subcommand. To add one: a file in this folder exporting a Command, and one line here.
 */
export const COMMANDS: Command[] = [generateCommand, produceCommand, queryCommand, dlqCommand];
