import { spawnSync } from 'node:child_process';

/**
 * Seconds a JVM's JIT compilers have spent so far (`jstat -compiler`, from the JDK the stack runs
 * Kafka and HBase on), or undefined when jstat is missing or the process is gone. A server still
 * compiling charges that CPU to whatever the bench times next: on a stack started just before the
 * bench, Kafka and HBase spent minutes of CPU compiling, and the first timed pipeline paid
 * 24 µs per message of server CPU where a warm stack costs 9.
 */
export function jitSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const result = spawnSync('jstat', ['-compiler', String(pid)], { encoding: 'utf8', timeout: 15_000 });
  if (result.status !== 0) return undefined;
  // Header, then: Compiled Failed Invalid Time FailedType FailedMethod
  const time = Number(result.stdout.trim().split('\n')[1]?.trim().split(/\s+/)[3]);
  return Number.isFinite(time) ? time : undefined;
}
