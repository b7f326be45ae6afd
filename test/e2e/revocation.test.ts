// The Vault token from the run's Kubernetes login must not outlive the run, whatever ends it: a
// pass, a failing check, a request that times out, or SIGINT while a request is held. Vault's own
// accessor list, read with the root token before and after, is the witness.


import { describe, expect, it } from 'vitest';

import { loadScenario } from '../../e2e/scenarios/index.mjs';
import { capturedOutputs, runCli } from './run-cli.js';
import { startCli } from './support/cli.js';
import { scanForLeaks, stackFrames } from './support/leak-scan.js';
import { useServersWithProxy } from './support/servers-with-proxy.js';

const running = useServersWithProxy('vault-selfcheck-revocation-');
const canaries: string[] = [];

async function accessors(): Promise<Set<string>> {
  const { body } = await running().servers.vault.request('LIST', 'auth/token/accessors');
  return new Set<string>(body?.data?.keys ?? []);
}

/** Returns the paths of the tokens created since `before` that are still valid. */
async function newLiveTokenPaths(before: Set<string>): Promise<string[]> {
  const paths: string[] = [];
  for (const accessor of await accessors()) {
    if (before.has(accessor)) continue;
    const { status, body } = await running().servers.vault.request('POST', 'auth/token/lookup-accessor', { body: { accessor }, okStatuses: [400, 403] });
    if (status === 200) paths.push(String(body?.data?.path ?? ''));
  }
  return paths;
}

const SECRET_PATH = /^\/v1\/kv\/data\/argo\/workflows\/artifacts$/;

async function prepare(scenario: string): Promise<{ env: Record<string, string>; before: Set<string> }> {
  const { servers, proxy } = running();
  const loaded = await loadScenario(servers, scenario);
  canaries.push(...loaded.canaries);
  proxy.clear();
  return { env: { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_TOKEN: loaded.env.VAULT_TOKEN }, before: await accessors() };
}

/** Asserts that the run logged in through the proxy, so a token existed that had to be revoked. */
function expectLoggedIn(): void {
  const logins = running().proxy.requests.filter((request) => request.method === 'PUT' && request.url === '/v1/auth/kubernetes/login');
  expect(logins.map((request) => request.status)).toEqual([200]);
}

async function expectNoLoginTokenLeft(before: Set<string>): Promise<void> {
  const paths = await newLiveTokenPaths(before);
  expect(paths.filter((path) => path.startsWith('auth/kubernetes/login'))).toEqual([]);
}

describe('login token revocation', () => {
  it('revoked after a passing run', async () => {
    const { env, before } = await prepare('argo-stack-fixed');
    const run = await runCli(['--output', 'json', '--vault-addr', running().proxy.url], env);
    expect(run.code).toBe(0);
    expectLoggedIn();
    expect(running().proxy.requests.filter((request) => request.url === '/v1/auth/token/revoke-self').map((request) => request.status)).toEqual([204]);
    await expectNoLoginTokenLeft(before);
  });

  it('revoked after a failing run', async () => {
    const { env, before } = await prepare('argo-stack-policy-path');
    const run = await runCli(['--output', 'json', '--vault-addr', running().proxy.url], env);
    expect(run.code).toBe(1);
    expectLoggedIn();
    await expectNoLoginTokenLeft(before);
  });

  it('revoked after a request timed out', async () => {
    const { env, before } = await prepare('argo-stack-fixed');
    const { proxy } = running();
    proxy.setRules([{ method: 'GET', path: SECRET_PATH, delayMs: 3_000 }]);
    try {
      const run = await runCli(['--output', 'json', '--timeout', '1', '--vault-addr', proxy.url], env);
      const report = JSON.parse(run.stdout) as { results: { check: string; status: string; messageId: string; message: string }[] };
      const reads = report.results.filter((result) => result.check === 'secret.read');
      const described = reads.map((result) => `${result.status} ${result.messageId}: ${result.message}`).join('\n');
      expect(reads.filter((result) => result.message.includes('timed out')).length, described).toBeGreaterThan(0);
      // faults.test.ts covers this run's exit code, so here only revocation counts.
      expect(run.code, described).not.toBe(2);
      expectLoggedIn();
      await expectNoLoginTokenLeft(before);
    } finally {
      proxy.setRules([]);
    }
  });

  it('revoked after SIGINT while a request is held', async () => {
    const { env, before } = await prepare('argo-stack-fixed');
    const { proxy } = running();
    proxy.setRules([{ method: 'GET', path: SECRET_PATH, delayMs: 30_000 }]);
    try {
      const cli = startCli(['--output', 'json', '--vault-addr', proxy.url], env, 60_000);
      await proxy.waitForRequest((request) => request.method === 'GET' && SECRET_PATH.test(request.url), 30_000);
      cli.child.kill('SIGINT');
      const run = await cli.done;
      expect(run.signal).toBeNull();
      expect(run.code).toBe(130);
      expect(stackFrames(run.stdout + run.stderr)).toEqual([]);
      const report = JSON.parse(run.stdout) as { errors: { message: string }[] };
      expect(report.errors.map((error) => error.message)).toEqual([expect.stringContaining('Interrupted')]);
      expectLoggedIn();
      await expectNoLoginTokenLeft(before);
    } finally {
      proxy.setRules([]);
    }
  });

  it('outputs leak no secret or token', () => {
    const scan = scanForLeaks(capturedOutputs, canaries);
    console.log(`revocation: scanned ${scan.scannedBytes} bytes of ${capturedOutputs.length} outputs`);
    expect(canaries.length).toBeGreaterThan(0);
    expect({ canaries: scan.canaryHits, jwts: scan.jwtHits, vaultTokens: scan.vaultTokenHits, outputs: scan.outputsWithHits }).toEqual({ canaries: 0, jwts: 0, vaultTokens: 0, outputs: [] });
  });
});
