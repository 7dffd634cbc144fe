import { createRequire } from 'node:module';

/**
 * Puts `replacement` in place of one kafkajs 2.2.4 module in Node's require cache (decisions 0073,
 * 0079). kafkajs modules take what they require once, when they load, so this must run before
 * `loadedBy` (the module that requires it) is loaded. Run late, it throws rather than leave
 * kafkajs's own module in place, or, with `ifStillPossible`, leaves it quietly (for entries that
 * are also imported by tests, which load kafkajs first).
 */
export function replaceKafkajsModule(spec: { module: string; loadedBy: string; replacement: unknown; what: string; ifStillPossible?: boolean }): void {
  const require = createRequire(import.meta.url);
  const modulePath = require.resolve(`kafkajs/src/${spec.module}`);
  const loadedByPath = require.resolve(`kafkajs/src/${spec.loadedBy}`);
  const cache = require.cache;
  if (cache[modulePath]?.exports === spec.replacement) return;
  if (cache[loadedByPath] && spec.ifStillPossible) return;
  if (cache[loadedByPath]) throw new Error(`kafkajs was loaded before its ${spec.what} could be replaced: import runtime/kafka/kafkajs-fixes.js first`);
  const original = require(modulePath) as unknown;
  if (typeof original !== typeof spec.replacement) throw new Error(`kafkajs has no ${spec.module} module where 2.2.4 has it: check the ${spec.what} replacement against this version`);
  cache[modulePath]!.exports = spec.replacement;
}
