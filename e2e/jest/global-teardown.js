import { stackDown } from '../../dist/e2e/stack/stack.js';

export default async function globalTeardown() {
  if (process.env.ADPIPE_STACK_STARTED_BY_TESTS === '1' && process.env.ADPIPE_KEEP_STACK !== '1') {
    await stackDown((line) => process.stderr.write(`[stack] ${line}\n`));
  }
}
