// Runs the built CLI as a user would, with a clean environment: no ~/.vault-token, no colour.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Report } from '../../src/report/types.js';

const BIN = new URL('../../bin/vault-selfcheck.js', import.meta.url).pathname;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output captured in the suite, for the scan that no secret or token leaks. */
export const capturedOutputs: string[] = [];

const home = mkdtempSync(join(tmpdir(), 'vault-selfcheck-home-'));

export function runCli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      capturedOutputs.push(stdout, stderr);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export async function runJson(args: string[], env: Record<string, string | undefined>): Promise<{ run: CliRun; report: Report }> {
  const run = await runCli(['--output', 'json', ...args], env);
  let report: Report;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`the CLI printed no JSON report (exit ${run.code}); stderr:\n${run.stderr}\nstdout:\n${run.stdout.slice(0, 2000)}`);
  }
  return { run, report };
}
