// The tool claims to be read-only apart from what ESO itself writes to authenticate. Two recording
// proxies check that claim on a full run: one in front of Vault (plain HTTP) and one in front of
// the kube-apiserver (TLS with the harness's own serving certificate, forwarding with the admin
// client certificate). The API server's resourceVersions, compared before and after, witness the
// Kubernetes side a second time.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServers, type Servers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';
import { capturedOutputs, runCli } from './run-cli.js';
import { startFaultProxy, type FaultProxy, type RecordedRequest } from './support/fault-proxy.js';
import { scanForLeaks } from './support/leak-scan.js';

let servers: Servers | undefined;
let vaultProxy: FaultProxy | undefined;
let kubeProxy: FaultProxy | undefined;
let proxiedKubeconfig: string | undefined;
let runDir: string | undefined;
const canaries: string[] = [];

function running(): { servers: Servers; vaultProxy: FaultProxy; kubeProxy: FaultProxy; kubeconfig: string } {
  if (!servers || !vaultProxy || !kubeProxy || !proxiedKubeconfig) throw new Error('servers did not start; see the beforeAll error');
  return { servers, vaultProxy, kubeProxy, kubeconfig: proxiedKubeconfig };
}

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-readonly-'));
  servers = await startServers({ runDir: join(runDir, 'servers') });
  vaultProxy = await startFaultProxy({ upstream: servers.vaultAddr });
  const pki = join(servers.runDir, 'pki');
  const read = (name: string) => readFileSync(join(pki, name), 'utf8');
  // The kube-apiserver's certificate names 127.0.0.1, so the tool trusts the proxy through the
  // kubeconfig's own CA; upstream, the proxy presents the admin certificate the tool would.
  kubeProxy = await startFaultProxy({
    upstream: servers.kubeServer,
    serveTls: { cert: read('kube-apiserver.crt'), key: read('kube-apiserver.key') },
    upstreamTls: { ca: read('ca.crt'), cert: read('admin.crt'), key: read('admin.key') },
  });
  proxiedKubeconfig = join(runDir, 'kubeconfig-proxied');
  writeFileSync(proxiedKubeconfig, readFileSync(servers.kubeconfig, 'utf8').replace(servers.kubeServer, kubeProxy.url), { mode: 0o600 });
}, 300_000);

afterAll(async () => {
  const outcomes = await Promise.allSettled([vaultProxy?.stop(), kubeProxy?.stop(), servers?.stop()]);
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}, 60_000);

const ALLOWED_VAULT_WRITES: { methods: string[]; path: RegExp }[] = [
  { methods: ['PUT'], path: /^\/v1\/auth\/[^?]+\/login$/ },
  { methods: ['PUT', 'POST'], path: /^\/v1\/auth\/token\/revoke-self$/ },
  { methods: ['POST'], path: /^\/v1\/sys\/capabilities-self$/ },
  { methods: ['POST'], path: /^\/v1\/auth\/token\/lookup-self$/ },
];

function vaultWritesOutsideTheList(requests: RecordedRequest[]): string[] {
  return requests
    .filter((request) => request.method !== 'GET')
    .filter((request) => !ALLOWED_VAULT_WRITES.some((allowed) => allowed.methods.includes(request.method) && allowed.path.test(request.url.split('?')[0]!)))
    .map((request) => `${request.method} ${request.url.split('?')[0]}`);
}

const ESO = 'external-secrets.io/v1';
const WATCHED: { kind: string; path: string }[] = [
  { kind: 'ServiceAccount', path: '/api/v1/serviceaccounts' },
  { kind: 'Secret', path: '/api/v1/secrets' },
  { kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { kind: 'ClusterSecretStore', path: `/apis/${ESO}/clustersecretstores` },
  { kind: 'SecretStore', path: `/apis/${ESO}/secretstores` },
  { kind: 'ExternalSecret', path: `/apis/${ESO}/externalsecrets` },
];

/** kind/namespace/name -> resourceVersion of every watched object, read directly from the API server. */
async function snapshot(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const { kind, path } of WATCHED) {
    const { body } = await running().servers.kube.request('GET', path);
    for (const item of body.items as { metadata: { namespace?: string; name: string; resourceVersion: string } }[]) {
      versions[`${kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`] = item.metadata.resourceVersion;
    }
  }
  return versions;
}

/** namespace/name of each service account ESO would ask a token for, by the store's namespace rules. */
async function configuredServiceAccounts(): Promise<Set<string>> {
  const kube = running().servers.kube;
  const allowed = new Set<string>();
  const externalSecrets = await kube.list(ESO, 'ExternalSecret');
  for (const kind of ['ClusterSecretStore', 'SecretStore']) {
    for (const store of await kube.list(ESO, kind)) {
      const ref = (store as any).spec?.provider?.vault?.auth?.kubernetes?.serviceAccountRef;
      if (!ref?.name) continue;
      if (ref.namespace) allowed.add(`${ref.namespace}/${ref.name}`);
      else if (kind === 'SecretStore') allowed.add(`${store.metadata.namespace}/${ref.name}`);
      // A ClusterSecretStore ref without a namespace resolves in each consumer's namespace.
      else for (const external of externalSecrets) allowed.add(`${external.metadata.namespace}/${ref.name}`);
    }
  }
  return allowed;
}

const TOKEN_REQUEST = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;

describe('read-only', () => {
  it.each(['argo-stack-broken', 'argo-stack-fixed'])('%s: only authentication writes', async (scenario) => {
    const { servers, vaultProxy, kubeProxy, kubeconfig } = running();
    const loaded = await loadScenario(servers, scenario);
    canaries.push(...loaded.canaries);
    const allowedAccounts = await configuredServiceAccounts();
    const before = await snapshot();
    vaultProxy.clear();
    kubeProxy.clear();

    const run = await runCli(['--output', 'json', '--vault-addr', vaultProxy.url], { KUBECONFIG: kubeconfig, VAULT_TOKEN: loaded.env.VAULT_TOKEN });
    expect([0, 1], run.stderr.slice(0, 1000)).toContain(run.code);
    const report = JSON.parse(run.stdout) as { errors: unknown[]; results: unknown[] };
    expect(report.errors).toEqual([]);
    expect(report.results.length).toBeGreaterThan(0);

    // The runs went through both proxies.
    expect(vaultProxy.requests.some((request) => request.url === '/v1/sys/health')).toBe(true);
    expect(kubeProxy.requests.length).toBeGreaterThan(0);

    expect(vaultWritesOutsideTheList(vaultProxy.requests)).toEqual([]);

    const kubeWrites = kubeProxy.requests.filter((request) => request.method !== 'GET');
    const outside = kubeWrites.filter((request) => {
      const match = request.method === 'POST' ? TOKEN_REQUEST.exec(request.url.split('?')[0]!) : null;
      return !match || !allowedAccounts.has(`${match[1]}/${match[2]}`);
    });
    expect(outside.map((request) => `${request.method} ${request.url}`)).toEqual([]);
    // The passing chain logs in, so its TokenRequest must have crossed the proxy.
    if (scenario === 'argo-stack-fixed') expect(kubeWrites.map((request) => request.status)).toEqual([201]);

    expect(await snapshot()).toEqual(before);
  });

  it('outputs leak no secret or token', () => {
    const scan = scanForLeaks(capturedOutputs, canaries);
    console.log(`readonly: scanned ${scan.scannedBytes} bytes of ${capturedOutputs.length} outputs`);
    expect(canaries.length).toBeGreaterThan(0);
    expect({ canaries: scan.canaryHits, jwts: scan.jwtHits, vaultTokens: scan.vaultTokenHits, outputs: scan.outputsWithHits }).toEqual({ canaries: 0, jwts: 0, vaultTokens: 0, outputs: [] });
  });
});
