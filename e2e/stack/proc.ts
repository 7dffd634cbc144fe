import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class StackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackError';
  }
}

/** Fails with a message a person can act on when a tool the stack builds with is not installed. */
export function requireTool(command: string, why: string, install: string): void {
  // Only a missing executable makes spawn fail; the exit code of `--version` does not matter.
  if (spawnSync(command, ['--version'], { stdio: 'ignore' }).error) {
    throw new StackError(`'${command}' is not installed (needed to ${why}). Install it: ${install}`);
  }
}

/**
 * Runs a build step to completion, its output appended to `logFile`. Throws with the log's tail so
 * the failure is readable without opening the file.
 */
export function runLogged(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string },
): Promise<void> {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  fs.mkdirSync(options.cwd, { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  fs.writeSync(log, `\n$ ${command} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', log, log],
    });
    child.once('error', (error) => {
      fs.closeSync(log);
      reject(new StackError(`could not run ${command}: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code, signal) => {
      fs.closeSync(log);
      if (code === 0) return resolve();
      reject(new StackError(`${command} ${args.slice(0, 3).join(' ')} failed (${signal ?? `exit ${code}`}); see ${options.logFile}:\n${tail(options.logFile, 15)}`));
    });
  });
}

export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts a long-running server that outlives this process: its own process group, output to a log
 * file, pid returned for the state file.
 */
export function startDaemon(command: string, args: string[], options: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv }): number {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  fs.mkdirSync(options.cwd, { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  fs.writeSync(log, `\n--- ${new Date().toISOString()} $ ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new StackError(`could not start ${command}`);
  child.unref();
  return child.pid;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the process group, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(pid: number | undefined, graceMs = 15_000): Promise<void> {
  if (!pid || !isAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
}

/** Signals a process's whole group (servers and pods run in their own), else the process alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns true, failing with the server's log tail when `deadlineMs` passes
 * (the process is stopped then) or the process dies first (a crash should not look like a slow start).
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { deadlineMs: number; pid?: number; logFile?: string; intervalMs?: number },
): Promise<void> {
  const end = Date.now() + options.deadlineMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    const logTail = options.logFile ? `\n--- last lines of ${options.logFile}:\n${tail(options.logFile, 20)}` : '';
    if (options.pid !== undefined && !isAlive(options.pid)) throw new StackError(`${what} exited during start-up${logTail}`);
    if (Date.now() > end) {
      // Not left running: it would hold its port and data (a second start finds them locked).
      await stopProcess(options.pid);
      throw new StackError(`${what} was not healthy after ${Math.round(options.deadlineMs / 1000)} s${logTail}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** Process resident set size in bytes (Linux /proc), or undefined when the process is gone. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) a process has used so far (Linux /proc), or undefined when it is
 * gone. Clock ticks are taken as 100 per second, the Linux default (`getconf CLK_TCK`).
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
