// Vault states the dev server cannot show: a real Vault 1.14.2 started from a config file (in-memory
// storage, TLS with a certificate issued for another host name) is uninitialized, and reaching it
// by 127.0.0.1 is a TLS host name mismatch.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';
import type { Report } from '../../src/report/types.js';
import { runJson } from './run-cli.js';

type Servers = Awaited<ReturnType<typeof startServers>>;

let servers: Servers;
let vault: ChildProcess | undefined;
let address: string;
let caFile: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function vaultBinary(): string {
  const result = spawnSync('bash', [new URL('../../e2e/gobins/build.sh', import.meta.url).pathname, '--paths', 'vault'], { encoding: 'utf8' });
  const line = result.stdout.split('\n').find((item) => item.startsWith('vault='));
  if (result.status !== 0 || !line) throw new Error(`the vault binary is not built: ${result.stderr}`);
  return line.slice('vault='.length);
}

async function waitForListener(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = spawnSync('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `${url}/v1/sys/health`], { encoding: 'utf8' });
    if (probe.stdout.trim() !== '000') return;
    if (Date.now() > deadline) throw new Error(`Vault at ${url} did not start listening within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vault-states-'));
  caFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  // A self-signed certificate valid only for vault.example.internal, so 127.0.0.1 does not match.
  const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '1', '-subj', '/CN=vault.example.internal', '-addext', 'subjectAltName=DNS:vault.example.internal'], { encoding: 'utf8' });
  expect(openssl.status, openssl.stderr).toBe(0);
  const port = await freePort();
  const config = join(dir, 'vault.hcl');
  writeFileSync(config, `storage "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  tls_cert_file = "${caFile}"\n  tls_key_file = "${keyFile}"\n}\ndisable_mlock = true\n`);
  address = `https://127.0.0.1:${port}`;
  vault = spawn(vaultBinary(), ['server', `-config=${config}`], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: dir } });
  await waitForListener(address);
  servers = await startServers({ runDir: mkdtempSync(join(tmpdir(), 'vault-states-run-')), log: () => {} });
}, 240_000);

afterAll(async () => {
  vault?.kill('SIGTERM');
  await servers?.stop();
});

async function check(args: string[]): Promise<{ report: Report; code: number }> {
  const loaded = await loadScenario(servers, 'argo-stack-fixed');
  const { run, report } = await runJson(['--only', 'vault', ...args], { KUBECONFIG: loaded.env.KUBECONFIG });
  return { report, code: run.code };
}

describe('Vault states on a configured server', () => {
  it('host name mismatch is named', async () => {
    const { report, code } = await check(['--vault-addr', address, '--ca-cert', caFile]);
    const health = report.results.filter((result) => result.check === 'vault.health');
    expect(health.map((result) => `${result.status} ${result.messageId}`)).toEqual(['fail tls-hostname']);
    expect(health[0]!.message).toContain('not valid for this host name');
    expect(code).toBe(1);
  });

  it('uninitialized Vault fails health', async () => {
    const { report, code } = await check(['--vault-addr', address, '--tls-skip-verify']);
    const health = report.results.filter((result) => result.check === 'vault.health');
    expect(health.map((result) => `${result.status} ${result.messageId}`).sort()).toEqual(['fail uninitialized', 'warn skip-verify']);
    expect(health.find((result) => result.messageId === 'uninitialized')!.details?.httpStatus).toBe(501);
    expect(code).toBe(1);
  });
});
