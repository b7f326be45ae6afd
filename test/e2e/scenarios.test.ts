// The argo-stack scenarios on a real kube-apiserver and a real Vault: each fault gives exactly the
// expected check verdict and fix in the JSON report, and no output ever contains a secret or token.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';
import type { Report, Result } from '../../src/report/types.js';
import { capturedOutputs, runCli, runJson } from './run-cli.js';

type Servers = Awaited<ReturnType<typeof startServers>>;

let servers: Servers;
const canaries: string[] = [];

beforeAll(async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-e2e-'));
  servers = await startServers({ runDir, log: () => {} });
});

afterAll(async () => {
  await servers?.stop();
});

async function check(name: string, options: { operatorToken?: boolean; args?: string[] } = {}): Promise<{ report: Report; code: number; env: Record<string, string> }> {
  const loaded = await loadScenario(servers, name);
  canaries.push(...loaded.canaries);
  const env: Record<string, string> = { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_ADDR: loaded.env.VAULT_ADDR };
  if (options.operatorToken !== false) env.VAULT_TOKEN = loaded.env.VAULT_TOKEN;
  const { run, report } = await runJson(options.args ?? [], env);
  return { report, code: run.code, env };
}

function only(report: Report, checkId: string, status?: Result['status']): Result[] {
  return report.results.filter((result) => result.check === checkId && (status === undefined || result.status === status));
}

function describeResults(report: Report): string {
  return report.results.map((result) => `${result.status} ${result.check} ${result.messageId}: ${result.message}`).join('\n');
}

describe('argo-stack scenarios', () => {
  it('argo-stack-fixed passes every check', async () => {
    const { report, code } = await check('argo-stack-fixed');
    expect(report.errors, describeResults(report)).toEqual([]);
    expect(report.summary.fail, describeResults(report)).toBe(0);
    expect(report.summary.error, describeResults(report)).toBe(0);
    expect(report.summary.warn, describeResults(report)).toBe(0);
    for (const id of ['crd.versions', 'store.config', 'vault.health', 'serviceaccount.exists', 'auth.role', 'auth.binding', 'auth.login', 'policy.read', 'secret.read']) {
      expect(only(report, id, 'pass').length, `${id} has a pass\n${describeResults(report)}`).toBeGreaterThan(0);
    }
    expect(only(report, 'secret.read', 'pass')).toHaveLength(2);
    expect(code).toBe(0);
  });

  it('argo-stack-fixed without operator token skips what needs it', async () => {
    const { report, code } = await check('argo-stack-fixed', { operatorToken: false });
    expect(report.summary.fail, describeResults(report)).toBe(0);
    expect(only(report, 'auth.role', 'skip')).toHaveLength(1);
    expect(only(report, 'auth.role')[0]!.message).toContain('no operator token');
    expect(only(report, 'auth.binding', 'skip')).toHaveLength(1);
    expect(only(report, 'auth.login', 'pass')).toHaveLength(1);
    expect(only(report, 'policy.read', 'pass')).toHaveLength(2);
    expect(only(report, 'secret.read', 'pass')).toHaveLength(2);
    expect(code).toBe(0);
  });

  it('argo-stack-sa-namespace fails serviceaccount.exists', async () => {
    const { report, code } = await check('argo-stack-sa-namespace');
    const failures = only(report, 'serviceaccount.exists', 'fail');
    expect(failures, describeResults(report)).toHaveLength(1);
    expect(failures[0]!.target.namespace).toBe('argo-workflows');
    expect(failures[0]!.fix?.yaml).toContain('namespace: external-secrets-system');
    expect(only(report, 'store.config', 'warn').map((result) => result.messageId)).toContain('sa-referent');
    expect(code).toBe(1);
  });

  it('argo-stack-role-namespace fails auth.binding and auth.login', async () => {
    const { report, code } = await check('argo-stack-role-namespace');
    const binding = only(report, 'auth.binding', 'fail');
    expect(binding, describeResults(report)).toHaveLength(1);
    expect(binding[0]!.messageId).toBe('namespace-not-bound');
    const command = binding[0]!.fix?.commands[0] ?? '';
    expect(command).toContain('vault write auth/kubernetes/role/argo-stack');
    expect(command).toContain('bound_service_account_namespaces=external-secrets-system');
    expect(command).toContain('bound_service_account_names=eso-vault-auth');
    expect(command).toContain('token_policies=argo-stack');
    const login = only(report, 'auth.login', 'fail');
    expect(login, describeResults(report)).toHaveLength(1);
    expect(login[0]!.message).toContain('namespace not authorized');
    expect(code).toBe(1);
  });

  it('argo-stack-policy-path fails policy.read with the data path', async () => {
    const { report, code } = await check('argo-stack-policy-path');
    const failures = only(report, 'policy.read', 'fail');
    expect(failures, describeResults(report)).toHaveLength(2);
    for (const failure of failures) {
      expect(failure.messageId).toBe('denied-kv2-data');
      expect(failure.target.path).toBe('kv/data/argo/workflows/artifacts');
      expect(failure.fix?.hcl).toContain('path "kv/data/argo/*"');
    }
    expect(code).toBe(1);
  });

  it('argo-stack-field-in-key fails secret.read with the split', async () => {
    const { report, code } = await check('argo-stack-field-in-key');
    const failures = only(report, 'secret.read', 'fail');
    expect(failures, describeResults(report)).toHaveLength(1);
    expect(failures[0]!.messageId).toBe('field-in-key');
    expect(failures[0]!.target.entry).toBe('data[0]');
    expect(failures[0]!.fix?.yaml).toContain('key: argo/workflows/artifacts\n');
    expect(failures[0]!.fix?.yaml).toContain('property: accessKey');
    expect(code).toBe(1);
  });

  it('argo-stack-path-prefix fails store.config', async () => {
    const { report, code } = await check('argo-stack-path-prefix');
    const failures = only(report, 'store.config', 'fail');
    expect(failures, describeResults(report)).toHaveLength(1);
    expect(failures[0]!.messageId).toBe('path-folder');
    expect(failures[0]!.fix?.yaml).toContain('path: kv\n');
    expect(failures[0]!.fix?.summary).toContain('argo/workflows/artifacts');
    expect(code).toBe(1);
  });

  it('argo-stack-broken reports all four faults', async () => {
    const { report, code } = await check('argo-stack-broken');
    const failed = new Set(report.results.filter((result) => result.status === 'fail').map((result) => result.check));
    expect([...failed].sort(), describeResults(report)).toEqual(expect.arrayContaining(['auth.binding', 'policy.read', 'secret.read', 'serviceaccount.exists']));
    expect(only(report, 'secret.read', 'fail')[0]!.messageId).toBe('field-in-key');
    expect(only(report, 'policy.read', 'fail')[0]!.fix?.hcl).toContain('path "kv/data/argo/*"');
    expect(code).toBe(1);
  });

  it('human output shows fixes and a summary', async () => {
    const loaded = await loadScenario(servers, 'argo-stack-broken');
    canaries.push(...loaded.canaries);
    const run = await runCli([], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_ADDR: loaded.env.VAULT_ADDR, VAULT_TOKEN: loaded.env.VAULT_TOKEN });
    expect(run.stdout).toContain('ClusterSecretStore vault-argo');
    expect(run.stdout).toContain('FAIL  serviceaccount.exists');
    expect(run.stdout).toContain('path "kv/data/argo/*"');
    expect(run.stdout).toMatch(/Summary: \d+ passed, \d+ failed/);
    expect(run.code).toBe(1);
  });

  it('trace shows the request and deciding rule', async () => {
    const loaded = await loadScenario(servers, 'argo-stack-fixed');
    canaries.push(...loaded.canaries);
    const run = await runCli(['trace', 'argo-workflows/artifact-s3'], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_ADDR: loaded.env.VAULT_ADDR, VAULT_TOKEN: loaded.env.VAULT_TOKEN });
    expect(run.stdout).toContain('GET /v1/kv/data/argo/workflows/artifacts');
    expect(run.stdout).toContain('allowed: read by rule "kv/data/argo/*"');
    expect(run.stdout).toContain('PUT /v1/auth/kubernetes/login as external-secrets-system/eso-vault-auth');
    expect(run.code).toBe(0);
  });

  it('verbose output leaks no secret or token', async () => {
    const loaded = await loadScenario(servers, 'argo-stack-fixed');
    canaries.push(...loaded.canaries);
    await runCli(['--verbose'], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_ADDR: loaded.env.VAULT_ADDR, VAULT_TOKEN: loaded.env.VAULT_TOKEN });
    await runCli(['--verbose', '--output', 'json'], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_ADDR: loaded.env.VAULT_ADDR, VAULT_TOKEN: loaded.env.VAULT_TOKEN });
    const all = capturedOutputs.join('\n');
    expect(canaries.length).toBeGreaterThan(0);
    for (const canary of canaries) expect(all.includes(canary), 'a secret value was printed').toBe(false);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toMatch(/\bhvs\.[A-Za-z0-9]{20,}/);
  });
});
