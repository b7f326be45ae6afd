// A Vault address that does not resolve, end to end. The CLI runs in its own mount namespace whose
// /etc/resolv.conf names only 127.0.0.1, where no DNS server listens, so the lookup of the
// in-cluster name fails on this machine and no query leaves it. Needs root (unshare -m), as CI has.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';
import type { Report } from '../../src/report/types.js';

const BIN = new URL('../../bin/vault-selfcheck.js', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;

let servers: Awaited<ReturnType<typeof startServers>>;
let resolvConf: string;

beforeAll(async () => {
  if (!isRoot) return;
  const dir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-dns-'));
  resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  servers = await startServers({ runDir: join(dir, 'run'), log: () => {} });
}, 300_000);

afterAll(async () => {
  await servers?.stop();
});

function runIsolated(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-m', 'sh', '-c', `mount --bind '${resolvConf}' /etc/resolv.conf && exec "$0" "$@"`, process.execPath, BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('Vault address that does not resolve', () => {
  it.skipIf(!isRoot)('names the DNS failure and the port-forward', async () => {
    const loaded = await loadScenario(servers, 'argo-stack-fixed');
    const run = await runIsolated(['--output', 'json', '--only', 'vault', '--vault-addr', 'https://vault.vault.svc.cluster.local:8200'], { KUBECONFIG: loaded.env.KUBECONFIG });
    const report = JSON.parse(run.stdout) as Report;
    const health = report.results.filter((result) => result.check === 'vault.health');
    expect(health.map((result) => `${result.status} ${result.messageId}`), run.stderr).toEqual(['fail dns']);
    expect(health[0]!.message).toContain('does not resolve');
    expect(health[0]!.fix?.commands).toEqual(['kubectl port-forward -n vault svc/vault 8200:8200', 'vault-selfcheck --vault-addr https://127.0.0.1:8200']);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(1);
  });
});
