import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/**
 * One `adpipe` subcommand. A command either runs, or holds subcommands (e.g. `query performance`);
 * its options are declared once and give both the parser and the --help text.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder in help, e.g. `N` or `DIR`. */
  value?: string;
  description: string;
  multiple?: boolean;
}

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  io: Io;
  /** e.g. `produce`: for messages that point at `adpipe <path> --help`. */
  path: string;
}

export interface Command {
  name: string;
  summary: string;
  /** Text after the command path in the usage line, e.g. `--seed N --impressions M --out DIR`. */
  usage?: string;
  /** Lines after the options in --help: examples, notes. */
  details?: string;
  options?: Record<string, OptionSpec>;
  subcommands?: Command[];
  run?: (ctx: CommandContext) => Promise<number>;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

export function helpText(command: Command, path: string): string {
  const lines: string[] = [];
  lines.push(`usage: adpipe ${path}${path ? ' ' : ''}${command.subcommands ? '<command> [options]' : (command.usage ?? '[options]')}`, '', command.summary);
  if (command.subcommands) {
    lines.push('', 'commands:');
    const width = Math.max(...command.subcommands.map((c) => c.name.length));
    for (const c of command.subcommands) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
    lines.push('', `Run 'adpipe ${path}${path ? ' ' : ''}<command> --help' for a command's options.`);
  }
  const options = Object.entries({ ...command.options, help: HELP });
  lines.push('', 'options:');
  const label = ([name, spec]: [string, OptionSpec]): string => `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
  const width = Math.max(...options.map((o) => label(o).length));
  for (const o of options) lines.push(`  ${label(o).padEnd(width)}  ${o[1].description}`);
  if (command.details) lines.push('', command.details.trimEnd());
  return lines.join('\n') + '\n';
}

/** Finds the command for argv, parses its options, and runs it (or prints help). Returns the exit code. */
export async function dispatch(root: Command, argv: string[], io: Io): Promise<number> {
  let command = root;
  let rest = argv;
  const names: string[] = [];
  while (command.subcommands) {
    const [first, ...tail] = rest;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(helpText(command, names.join(' ')));
      return first === undefined ? 2 : 0;
    }
    const next = command.subcommands.find((c) => c.name === first);
    if (!next) {
      const known = command.subcommands.map((c) => c.name).join(', ');
      throw new UsageError(`unknown command '${[...names, first].join(' ')}' (commands: ${known})`, names.join(' '));
    }
    command = next;
    names.push(first);
    rest = tail;
  }
  const path = names.join(' ');
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: HELP }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''), path);
  }
  if (parsed.values.help) {
    io.stdout.write(helpText(command, path));
    return 0;
  }
  if (!command.run) throw new UsageError(`'${path}' cannot run by itself`, path);
  return command.run({ values: parsed.values as CommandContext['values'], positionals: parsed.positionals, io, path });
}

/** Helpers for reading option values with errors that name the option. */
export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredString(ctx: CommandContext, name: string): string {
  const v = stringOption(ctx, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`, ctx.path);
  return v;
}

export function intOption(ctx: CommandContext, name: string, min = 0): number | undefined {
  const v = stringOption(ctx, name);
  if (v === undefined) return undefined;
  const n = Number(v.replaceAll('_', ''));
  if (!/^-?[\d_]+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`, ctx.path);
  return n;
}

export function numberOption(ctx: CommandContext, name: string): number | undefined {
  const v = stringOption(ctx, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${v}'`, ctx.path);
  return n;
}

export function noPositionals(ctx: CommandContext): void {
  if (ctx.positionals.length) throw new UsageError(`unexpected argument '${ctx.positionals[0]}'`, ctx.path);
}
