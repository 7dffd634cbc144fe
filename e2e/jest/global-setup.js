// Jest loads global setup outside its module mapper, so this file imports the compiled stack
// manager (`npm test` builds first).
import { serverHealth, stackUp } from '../../dist/e2e/stack/stack.js';
import { readStackState, SERVER_NAMES } from '../../dist/e2e/stack/state.js';

/**
 * Tests run against the real local stack. A stack that is already up is used as it is and left
 * running; one this run starts is stopped at the end (set ADPIPE_KEEP_STACK=1 to keep it).
 */
export default async function globalSetup() {
  const previous = readStackState();
  const health = previous ? await serverHealth(previous) : undefined;
  const wasUp = !!health && SERVER_NAMES.every((name) => health[name]);
  if (!wasUp) {
    process.stderr.write('\n[stack] bringing up the local stack for the tests (first time on a machine: builds servers, several minutes)\n');
    await stackUp((line) => process.stderr.write(`[stack] ${line}\n`));
    process.env.ADPIPE_STACK_STARTED_BY_TESTS = '1';
  }
}
