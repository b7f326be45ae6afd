// The packed tarball installs into an empty directory without dev dependencies and runs, both as
// vault-selfcheck and as the kubectl plugin, against the real servers.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';

const root = new URL('../..', import.meta.url).pathname;
let installDir: string;
let servers: Awaited<ReturnType<typeof startServers>>;

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 240_000 });
}

beforeAll(async () => {
  const packDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-pack-'));
  const packed = run('npm', ['pack', '--pack-destination', packDir], root);
  expect(packed.status, packed.stderr).toBe(0);
  const tarball = join(packDir, readdirSync(packDir).find((name) => name.endsWith('.tgz'))!);
  installDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-install-'));
  run('npm', ['init', '-y'], installDir);
  const installed = run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], installDir);
  expect(installed.status, installed.stderr).toBe(0);
  servers = await startServers({ runDir: mkdtempSync(join(tmpdir(), 'vault-selfcheck-pack-run-')), log: () => {} });
}, 300_000);

afterAll(async () => {
  await servers?.stop();
});

describe('packed package', () => {
  it('prints its version', () => {
    const result = run(join(installDir, 'node_modules/.bin/vault-selfcheck'), ['--version'], installDir);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('prints help', () => {
    const result = run(join(installDir, 'node_modules/.bin/vault-selfcheck'), ['--help'], installDir);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Exit codes');
  });

  it('installs without dev dependencies', () => {
    const modules = readdirSync(join(installDir, 'node_modules'));
    expect(modules).not.toContain('vitest');
    expect(modules).not.toContain('typescript');
    // KubeConfig ships bundled in dist/kube/kubeconfig.js; the package itself is a dev dependency.
    expect(modules).not.toContain('@kubernetes');
    expect(readdirSync(join(installDir, 'node_modules/vault-selfcheck/dist/kube'))).toContain('kubeconfig.licenses.txt');
  });

  it('runs as a kubectl plugin against real servers', async () => {
    const loaded = await loadScenario(servers, 'argo-stack-broken');
    const result = run(join(installDir, 'node_modules/.bin/kubectl-vault_selfcheck'), ['--output', 'json'], installDir, {
      KUBECONFIG: loaded.env.KUBECONFIG,
      VAULT_ADDR: loaded.env.VAULT_ADDR,
      VAULT_TOKEN: loaded.env.VAULT_TOKEN,
      NO_COLOR: '1',
    });
    expect(result.status, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.summary.fail).toBeGreaterThan(0);
    for (const canary of loaded.canaries) expect(result.stdout.includes(canary)).toBe(false);
  });

  it('lints the shipped examples', () => {
    const result = run(join(installDir, 'node_modules/.bin/vault-selfcheck'), ['lint', join(root, 'examples/argo-stack')], installDir);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});
