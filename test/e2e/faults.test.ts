// What the tool reports when the servers or inputs around it are broken: Vault down, slow, overloaded
// or a standby; the API server down; an operator token that is revoked or may not read policies;
// malformed lint input. Each row checks the verdict, the check id, a message that names the
// cause, the exit code, and that no stack trace reaches the user.

import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadScenario } from '../../e2e/scenarios/index.mjs';
import type { Report, Result } from '../../src/report/types.js';
import { capturedOutputs, runCli, type CliRun } from './run-cli.js';
import { runCliTimed } from './support/cli.js';
import { closedLoopbackPort } from './support/fault-proxy.js';
import { scanForLeaks, stackFrames } from './support/leak-scan.js';
import { useServersWithProxy } from './support/servers-with-proxy.js';

const running = useServersWithProxy('vault-selfcheck-faults-');
const canaries: string[] = [];

interface Row {
  run: CliRun;
  report: Report;
}

function parse(run: CliRun): Report {
  try {
    return JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`no JSON report (exit ${run.code}); stderr: ${run.stderr.slice(0, 2000)}`);
  }
}

/** Loads `scenario` and runs the live check against it; `env` may replace the operator token. */
async function live(scenario: string, args: string[], env: Record<string, string> = {}): Promise<Row> {
  const loaded = await loadScenario(running().servers, scenario);
  canaries.push(...loaded.canaries);
  const run = await runCli(['--output', 'json', ...args], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_TOKEN: loaded.env.VAULT_TOKEN, ...env });
  return { run, report: parse(run) };
}

async function lint(args: string[]): Promise<Row> {
  const run = await runCli(['lint', '--output', 'json', ...args], {});
  return { run, report: parse(run) };
}

function only(report: Report, check: string, status?: Result['status']): Result[] {
  return report.results.filter((result) => result.check === check && (status === undefined || result.status === status));
}

function describeRow({ run, report }: Row): string {
  const results = report.results.map((result) => `${result.status} ${result.check} ${result.messageId}: ${result.message}`);
  return [`exit ${run.code}`, ...results, ...report.errors.map((error) => `report error: ${error.message}`), `stderr: ${run.stderr.slice(0, 500)}`].join('\n');
}

function expectNoStackTrace(run: CliRun): void {
  expect(stackFrames(run.stdout), 'stack frames in stdout').toEqual([]);
  expect(stackFrames(run.stderr), 'stack frames in stderr').toEqual([]);
}

/** Asserts exactly one kind of verdict for `check` and returns its results. */
function expectVerdict(row: Row, check: string, status: Result['status'], messageId: string): Result[] {
  const results = only(row.report, check);
  expect(results.length, describeRow(row)).toBeGreaterThan(0);
  expect([...new Set(results.map((result) => `${result.status} ${result.messageId}`))], describeRow(row)).toEqual([`${status} ${messageId}`]);
  return results;
}

const SECRET_PATH = /^\/v1\/kv\/data\/argo\/workflows\/artifacts$/;

describe('Vault faults', () => {
  it('Vault down: health names the refused address', async () => {
    const address = `http://127.0.0.1:${await closedLoopbackPort()}`;
    const row = await live('argo-stack-fixed', ['--vault-addr', address]);

    const health = expectVerdict(row, 'vault.health', 'fail', 'unreachable');
    expect(health[0]!.message).toContain(address);
    expect(health[0]!.message).toContain('refused');
    expectVerdict(row, 'auth.login', 'fail', 'vault-unreachable');
    expect(row.run.code).toBe(1);
    expectNoStackTrace(row.run);
  });

  it('Vault slower than --timeout: health says timed out', async () => {
    const { proxy } = running();
    proxy.clear();
    proxy.setRules([{ path: /./, delayMs: 2_500 }]);
    try {
      const row = await live('argo-stack-fixed', ['--vault-addr', proxy.url, '--timeout', '1']);
      const health = expectVerdict(row, 'vault.health', 'fail', 'unreachable');
      expect(health[0]!.message).toContain('timed out');
      expect(health[0]!.fix?.summary).toContain('--timeout');
      expectVerdict(row, 'auth.login', 'fail', 'vault-unreachable');
      expect(row.run.code).toBe(1);
      expectNoStackTrace(row.run);
    } finally {
      proxy.setRules([]);
    }
  });

  it.each([
    { status: 503, headers: {} as Record<string, string>, minGapMs: 0 },
    { status: 429, headers: { 'retry-after': '1' } as Record<string, string>, minGapMs: 900 },
  ])('HTTP $status on the secret read: bounded retries, then reported', async ({ status, headers, minGapMs }) => {
    const { proxy } = running();
    proxy.clear();
    proxy.setRules([{ method: 'GET', path: SECRET_PATH, respond: { status, headers, body: JSON.stringify({ errors: ['injected by the fault proxy'] }) } }]);
    try {
      const row = await live('argo-stack-fixed', ['--vault-addr', proxy.url]);
      const reads = expectVerdict(row, 'secret.read', 'fail', 'read-failed');
      for (const read of reads) expect(read.message).toContain(`HTTP ${status}`);
      expect(row.run.code).toBe(1);
      expectNoStackTrace(row.run);

      // One read, retried twice: three attempts per token, each after the Retry-After delay.
      const attempts = proxy.requests.filter((request) => request.injected);
      const byToken = new Map<string, typeof attempts>();
      for (const attempt of attempts) byToken.set(attempt.tokenHash ?? '', [...(byToken.get(attempt.tokenHash ?? '') ?? []), attempt]);
      expect(byToken.size).toBeGreaterThan(0);
      for (const group of byToken.values()) {
        expect(group.length).toBe(3);
        for (let i = 1; i < group.length; i += 1) expect(group[i]!.receivedAt - group[i - 1]!.receivedAt).toBeGreaterThanOrEqual(minGapMs);
      }
    } finally {
      proxy.setRules([]);
    }
  });

  it('secret read slower than --timeout: a failure, exit 1', async () => {
    // sys/health responds in time, yet the timed-out read is a skip that blames an unreachable
    // Vault ("see vault.health", which passed), and the run exits 0.
    const { proxy } = running();
    proxy.clear();
    proxy.setRules([{ method: 'GET', path: SECRET_PATH, delayMs: 3_000 }]);
    try {
      const row = await live('argo-stack-fixed', ['--vault-addr', proxy.url, '--timeout', '1']);
      expectNoStackTrace(row.run);
      expectVerdict(row, 'vault.health', 'pass', 'active');
      const reads = only(row.report, 'secret.read');
      expect(reads.length, describeRow(row)).toBe(2);
      for (const read of reads) expect(read.message).toContain('timed out');
      expect(reads.map((read) => read.status), describeRow(row)).toEqual(['fail', 'fail']);
      expect(row.run.code).toBe(1);
    } finally {
      proxy.setRules([]);
    }
  });

  it('standby answer from sys/health passes as standby', async () => {
    const { proxy } = running();
    proxy.clear();
    const standby = { initialized: true, sealed: false, standby: true, performance_standby: false, version: '1.14.2', cluster_name: 'vault-cluster-e2e', server_time_utc: 1 };
    proxy.setRules([{ path: /^\/v1\/sys\/health$/, respond: { status: 429, body: JSON.stringify(standby) } }]);
    try {
      const row = await live('argo-stack-fixed', ['--vault-addr', proxy.url]);
      const health = expectVerdict(row, 'vault.health', 'pass', 'standby');
      expect(health[0]!.message).toContain('standby');
      expect(health[0]!.details?.httpStatus).toBe(429);
      // sys/health is a state, not an overload, so it is asked once.
      expect(proxy.requests.filter((request) => request.url.startsWith('/v1/sys/health'))).toHaveLength(1);
      expect(row.run.code).toBe(0);
      expectNoStackTrace(row.run);
    } finally {
      proxy.setRules([]);
    }
  });
});

describe('Kubernetes faults', () => {
  it('kube-apiserver down: names the server, exit 2', async () => {
    const { servers } = running();
    const server = `https://127.0.0.1:${await closedLoopbackPort()}`;
    const { readFile } = await import('node:fs/promises');
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'vault-selfcheck-kube-down-')), 'kubeconfig');
    writeFileSync(kubeconfig, (await readFile(servers.kubeconfig, 'utf8')).replace(servers.kubeServer, server), { mode: 0o600 });
    const run = await runCli(['--output', 'json'], { KUBECONFIG: kubeconfig, VAULT_ADDR: servers.vaultAddr, VAULT_TOKEN: servers.rootToken });
    const row = { run, report: parse(run) };

    // The run stops before any check, so the cause is a report error, not a check result.
    expect(row.report.results, describeRow(row)).toEqual([]);
    expect(row.report.errors.map((error) => error.message), describeRow(row)).toEqual([expect.stringContaining(server)]);
    expect(row.report.errors[0]!.message).toContain('refused');
    expect(row.run.code).toBe(2);
    expectNoStackTrace(row.run);
  });
});

/**
 * Run the CLI on a scenario with an operator token that may read only `paths`, then revoke it.
 * The scenario loads first, because loading deletes every policy it did not create.
 */
async function withLimitedOperatorToken(scenario: string, paths: string[], check: (row: Row) => void): Promise<void> {
  const { servers } = running();
  const loaded = await loadScenario(servers, scenario);
  canaries.push(...loaded.canaries);
  // sys/auth answers only a token with sudo on Vault 1.14, so every path gets read and sudo.
  await servers.vault.write('sys/policies/acl/operator-limited', {
    policy: paths.map((path) => `path "${path}" { capabilities = ["read", "sudo"] }`).join('\n'),
  });
  const created = await servers.vault.write('auth/token/create', { policies: ['operator-limited'], no_default_policy: true, ttl: '10m' });
  const token = String(created.body.auth.client_token);
  canaries.push(token);
  try {
    const run = await runCli(['--output', 'json'], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_TOKEN: token });
    check({ run, report: parse(run) });
  } finally {
    await servers.vault.write('auth/token/revoke', { token });
  }
}

async function revokedToken(): Promise<string> {
  const { servers } = running();
  const created = await servers.vault.write('auth/token/create', { ttl: '10m' });
  const token = String(created.body.auth.client_token);
  canaries.push(token);
  await servers.vault.write('auth/token/revoke', { token });
  return token;
}

describe('operator token faults', () => {
  it('revoked operator token is named as such', async () => {
    // Vault 1.14 returns 403 "permission denied" for a revoked token as for a missing grant, so
    // the tool tells them apart with auth/token/lookup-self.
    const row = await live('argo-stack-fixed', [], { VAULT_TOKEN: await revokedToken() });

    expectNoStackTrace(row.run);
    const messages = [...row.report.results.map((result) => result.message), ...row.report.errors.map((error) => error.message)];
    expect(messages.some((message) => /operator token.*(invalid|revoked|expired)/i.test(message)), describeRow(row)).toBe(true);
    expect(row.run.code, describeRow(row)).toBe(2);
  });

  it('revoked operator token: the login token still checks the chain', async () => {
    const row = await live('argo-stack-fixed', [], { VAULT_TOKEN: await revokedToken() });

    const role = expectVerdict(row, 'auth.role', 'skip', 'read-failed');
    expect(role[0]!.message).toContain('HTTP 403: permission denied');
    expectVerdict(row, 'auth.login', 'pass', 'ok');
    expect(only(row.report, 'secret.read', 'pass')).toHaveLength(2);
    expectNoStackTrace(row.run);
  });

  it('operator token without role read: named in auth.role', async () => {
    const paths = ['sys/auth', 'sys/mounts', 'sys/policies/acl/*', 'auth/kubernetes/config', 'auth/token/lookup-self'];
    await withLimitedOperatorToken('argo-stack-fixed', paths, (row) => {
      expectNoStackTrace(row.run);
      const role = only(row.report, 'auth.role');
      expect(role.map((result) => `${result.status} ${result.messageId}`), describeRow(row)).toEqual(['skip read-failed']);
      expect(role[0]!.message).toContain('auth/kubernetes/role/argo-stack');
      expect(role[0]!.message).toContain('403');
      expect(role[0]!.fix?.summary).toContain('read on auth/kubernetes/role/*');
      // The login token still proves the chain, so the run passes.
      expect(only(row.report, 'auth.login', 'pass')).toHaveLength(1);
      expect(row.run.code, describeRow(row)).toBe(0);
    });
  });

  it('operator token without sys/policies/acl read: named in policy.read', async () => {
    const paths = ['sys/auth', 'sys/mounts', 'auth/kubernetes/role/*', 'auth/kubernetes/config', 'auth/token/lookup-self'];
    await withLimitedOperatorToken('argo-stack-policy-path', paths, (row) => {
      expectNoStackTrace(row.run);
      const denied = only(row.report, 'policy.read', 'fail');
      expect(denied, describeRow(row)).toHaveLength(2);
      expect(row.run.code, describeRow(row)).toBe(1);
      expect(denied[0]!.message, describeRow(row)).toContain('sys/policies/acl');
      expect(denied[0]!.message, describeRow(row)).not.toContain('run with an operator token');
      expect(only(row.report, 'auth.role', 'pass'), describeRow(row)).toHaveLength(1);
    });
  });

});

describe('malformed lint input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-lint-faults-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string, text: string): string {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  const vaultStore = (apiVersion: string, kind: string) =>
    [
      `apiVersion: ${apiVersion}`,
      `kind: ${kind}`,
      'metadata:',
      '  name: vault-argo',
      'spec:',
      '  provider:',
      '    vault:',
      '      server: https://vault.vault.svc:8200',
      '      path: kv',
      '      version: v2',
      '      auth:',
      '        kubernetes:',
      '          mountPath: kubernetes',
      '          role: argo-stack',
      '          serviceAccountRef: { name: eso-vault-auth, namespace: external-secrets-system }',
      '',
    ].join('\n');

  it('broken YAML: names the file and position, exit 2', async () => {
    const path = file('broken/store.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n  x: : :\n');
    const row = await lint([path]);
    expect(row.report.results, describeRow(row)).toEqual([]);
    expect(row.report.errors.map((error) => error.message), describeRow(row)).toEqual([expect.stringMatching(/store\.yaml:\d+:\d+: invalid YAML/)]);
    expect(row.run.code).toBe(2);
    expectNoStackTrace(row.run);
  });

  it('unknown ESO apiVersion: flagged, not linted silently', async () => {
    // external-secrets.io/v9 is linted as if it were v1 and the run exits 0.
    const path = file('version/store.yaml', vaultStore('external-secrets.io/v9', 'ClusterSecretStore'));
    const row = await lint([path]);
    expectNoStackTrace(row.run);
    const crd = expectVerdict(row, 'crd.versions', 'fail', 'unknown-version');
    expect(crd[0]!.message).toContain('external-secrets.io/v9');
    expect(row.run.code).toBe(1);
  });

  it('unknown kind in the ESO group: named, exit 2', async () => {
    // A misspelt kind is dropped like any unknown kind, so the run finds nothing and exits 0.
    const path = file('kind/store.yaml', vaultStore('external-secrets.io/v1', 'ClusterSecretStor'));
    const row = await lint([path]);
    expectNoStackTrace(row.run);
    const messages = [...row.report.results.map((result) => result.message), ...row.report.errors.map((error) => error.message)];
    expect(messages.some((message) => message.includes('ClusterSecretStor')), describeRow(row)).toBe(true);
    expect(row.run.code).toBe(2);
  });

  it('store without a vault provider: said so, exit 2', async () => {
    // The live run reports "No SecretStore or ClusterSecretStore with a vault provider was found"
    // and exits 2; lint of the same manifests prints an empty summary and exits 0.
    const path = file(
      'aws/store.yaml',
      [
        'apiVersion: external-secrets.io/v1',
        'kind: ClusterSecretStore',
        'metadata: { name: aws-only }',
        'spec:',
        '  provider:',
        '    aws: { service: SecretsManager, region: eu-west-1 }',
        '---',
        'apiVersion: external-secrets.io/v1',
        'kind: ExternalSecret',
        'metadata: { name: app, namespace: app }',
        'spec:',
        '  secretStoreRef: { kind: ClusterSecretStore, name: aws-only }',
        '  target: { name: app }',
        '  data:',
        '    - secretKey: A',
        '      remoteRef: { key: app/a, property: x }',
        '',
      ].join('\n'),
    );
    const row = await lint([path]);
    expectNoStackTrace(row.run);
    expect(row.report.errors.map((error) => error.message), describeRow(row)).toEqual([expect.stringContaining('vault provider')]);
    expect(row.run.code).toBe(2);
  });

  it('policy syntax error: policy.syntax fails at the position', async () => {
    const path = file('policies/argo-stack.hcl', 'path "kv/data/argo/*" {\n  capabilities = ["read"\n}\n');
    const row = await lint([path]);
    const syntax = expectVerdict(row, 'policy.syntax', 'fail', 'invalid');
    expect(syntax[0]!.message).toContain('Policy "argo-stack" is invalid');
    expect(syntax[0]!.message).toContain('failed to parse policy');
    expect(JSON.stringify(syntax[0]!.target)).toContain('argo-stack.hcl:3:1');
    expect(row.run.code).toBe(1);
    expectNoStackTrace(row.run);
  });

  /** Writes about `megabytes` MiB of ConfigMap documents, which lint reads and ignores. */
  function bigManifest(megabytes: number): string {
    const path = join(dir, 'big', 'manifest.yaml');
    mkdirSync(join(path, '..'), { recursive: true });
    const doc = `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: filler\n  namespace: default\ndata:\n  k: "${'x'.repeat(1000)}"\n`;
    const fd = openSync(path, 'w');
    try {
      for (let written = 0; written < megabytes * 1024 * 1024; written += doc.length) writeSync(fd, doc);
    } finally {
      closeSync(fd);
    }
    return path;
  }

  it('100 MB manifest file: refused by size, under 300 MB RSS', async () => {
    const path = bigManifest(100);
    const run = await runCliTimed(['lint', '--output', 'json', path], {});
    const row = { run, report: parse(run) };
    expect(row.report.errors.map((error) => error.message), describeRow(row)).toEqual([expect.stringContaining('over the 32 MiB limit')]);
    expect(row.report.errors[0]!.message).toContain('manifest.yaml');
    expect(row.run.code).toBe(2);
    expect(run.peakKiB).toBeGreaterThan(0);
    expect(run.peakKiB).toBeLessThan(300 * 1024);
    expectNoStackTrace(row.run);
  });

  it('100 MB manifest on stdin: refused by size, under 300 MB RSS', async () => {
    // stdin has no size limit: uncapped, the same 100 MB took 3.6 GB RSS and 24 s, then exit 0
    // with an empty summary. The heap cap here keeps that from starving the other suites.
    const path = bigManifest(100);
    const run = await runCliTimed(['lint', '--output', 'json', '-'], {}, { stdinFile: path, nodeOptions: '--max-old-space-size=1024' });
    expectNoStackTrace(run);
    expect(run.peakKiB).toBeLessThan(300 * 1024);
    expect(run.stdout).toContain('limit');
    expect(run.code).toBe(2);
  });
});

describe('leaks', () => {
  it('outputs leak no secret or token', () => {
    const scan = scanForLeaks(capturedOutputs, canaries);
    console.log(`faults: scanned ${scan.scannedBytes} bytes of ${capturedOutputs.length} outputs`);
    expect(canaries.length).toBeGreaterThan(0);
    expect(scan.scannedBytes).toBeGreaterThan(0);
    expect({ canaries: scan.canaryHits, jwts: scan.jwtHits, vaultTokens: scan.vaultTokenHits, outputs: scan.outputsWithHits }).toEqual({ canaries: 0, jwts: 0, vaultTokens: 0, outputs: [] });
  });
});
