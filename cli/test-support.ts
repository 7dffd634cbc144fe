import { PassThrough } from 'node:stream';
import { main } from './adpipe.js';

/** Runs `adpipe` through main(), as a person would call it, and collects its exit code and output. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr, env: {} });
  return { code, stdout: out, stderr: err };
}
