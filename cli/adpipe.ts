#!/usr/bin/env node
// First: the read_committed filter the workers run with (decision 0073), before kafkajs loads (dlq reads;
// tests that load kafkajs earlier keep kafkajs's own).
import '../runtime/kafka/read-committed-if-possible.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dispatch, helpText, type Command, type Io } from './command.js';
import { COMMANDS } from './commands/index.js';
import { EXIT, UsageError } from './errors.js';

/** The `adpipe` command: subcommands from cli/commands/, exit codes 0 ok, 1 failure, 2 usage. */
export const ROOT: Command = {
  name: 'adpipe',
  summary: 'Tools for adpipe, ad-event ingestion on Kubernetes: generate traffic, produce it into Kafka, query pipelines, inspect and replay dead letters.',
  subcommands: COMMANDS,
};

export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(ROOT, argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`adpipe: ${error.message}\nRun 'adpipe ${error.command ? `${error.command} ` : ''}--help' for usage.\n`);
      return EXIT.usage;
    }
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`adpipe: error${typeof code === 'string' ? ` [${code}]` : ''}: ${message}\n`);
    if (io.env.ADPIPE_DEBUG && error instanceof Error) io.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT.failure;
  }
}

export { helpText };

// Run only as the program itself (the bin, or `node dist/cli/adpipe.js`), not when a test imports main().
const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === realpathSync(fileURLToPath(import.meta.url))) {
  // `adpipe dlq inspect … | head`: a reader that stops reading ends the command, as with any Unix tool.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
