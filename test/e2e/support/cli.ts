// Runs the built CLI as run-cli.ts does, for the cases run-cli.ts cannot express: a child that the
// test signals while it runs, and a child measured by /usr/bin/time. Every output joins
// `capturedOutputs`, so the leak scan covers these runs too.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { capturedOutputs, type CliRun } from '../run-cli.js';

const BIN = new URL('../../../bin/vault-selfcheck.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'vault-selfcheck-home-'));

function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) result[key] = value;
  return result;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliRun & { signal: NodeJS.Signals | null; elapsedMs: number }>;
}

/** Starts the CLI and returns at once; `done` settles when the child exits, and it is killed after `limitMs`. */
export function startCli(args: string[], env: Record<string, string | undefined>, limitMs = 60_000): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const done = new Promise<CliRun & { signal: NodeJS.Signals | null; elapsedMs: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      capturedOutputs.push(stdout, stderr);
      resolve({ code: code ?? -1, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
  return { child, done };
}

export interface TimedRun extends CliRun {
  /** Peak resident set size of the child in KiB, from /usr/bin/time -f %M. */
  peakKiB: number;
}

/**
 * Runs the CLI under /usr/bin/time. With `stdinFile`, that file is the child's stdin.
 * `nodeOptions` caps the child's heap, so a run that would read without bound cannot take the
 * machine's memory from the other suites.
 */
export function runCliTimed(args: string[], env: Record<string, string | undefined>, options: { stdinFile?: string; nodeOptions?: string; limitMs?: number } = {}): Promise<TimedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-time-'));
  const timeFile = join(dir, 'time.txt');
  const stdinFd = options.stdinFile ? openSync(options.stdinFile, 'r') : 'ignore';
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, BIN, ...args], {
    env: childEnv({ ...env, NODE_OPTIONS: options.nodeOptions }),
    stdio: [stdinFd, 'pipe', 'pipe'],
  });
  if (typeof stdinFd === 'number') closeSync(stdinFd);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), options.limitMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(limit);
      capturedOutputs.push(stdout, stderr);
      const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
      resolve({ code: code ?? -1, stdout, stderr, peakKiB: Number(lines[lines.length - 1]) });
    });
  });
}
