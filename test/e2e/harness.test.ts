// Smoke test of the e2e harness on real etcd, kube-apiserver and Vault 1.14 servers: the CRDs,
// the Kubernetes auth wiring and the scenario loader. Needs the binaries of `npm run servers`.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyExternalSecretsCrds, CRD_NAMES } from '../../e2e/harness/crds.mjs';
import { isRunning } from '../../e2e/harness/processes.mjs';
import { loginAsServiceAccount, REPO_ROOT, startServers, type Servers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';

const STORE_ACCOUNT = { namespace: 'external-secrets-system', serviceAccount: 'eso-vault-auth', role: 'argo-stack' };

let servers: Servers | undefined;
let stopped = false;
const canaries: string[] = [];

function running(): Servers {
  if (!servers) throw new Error('servers did not start; see the beforeAll error');
  return servers;
}

beforeAll(async () => {
  await mkdir(join(REPO_ROOT, '.e2e-run'), { recursive: true });
  const runDir = await mkdtemp(join(REPO_ROOT, '.e2e-run', 'harness-'));
  servers = await startServers({ runDir, log: (message) => console.log(message) });
  const sealStatus = await servers.vault.request('GET', 'sys/seal-status', { token: null });
  console.log(`Vault ${sealStatus.body.version}, resident memory (KiB): ${JSON.stringify(servers.memoryKiB())}`);
}, 180_000);

afterAll(async () => {
  if (servers && !stopped) await servers.stop();
  // On a start failure the directory stays, because the error names a log file in it.
  if (servers) await rm(servers.runDir, { recursive: true, force: true });
}, 60_000);

describe('e2e harness', () => {
  it('establishes the ESO CRDs', async () => {
    for (const name of CRD_NAMES) {
      const crd: any = await running().kube.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      const established = crd?.status?.conditions?.find((c: any) => c.type === 'Established');
      expect(established?.status, name).toBe('True');
      expect(crd.spec.versions.map((v: any) => `${v.name}:${v.served}:${v.storage}`), name).toEqual(['v1:true:true', 'v1beta1:true:false']);
    }
  });

  it('logs in and reads with argo-stack-fixed', async () => {
    const loaded = await loadScenario(running(), 'argo-stack-fixed');
    canaries.push(...loaded.canaries);
    expect(loaded.canaries).toHaveLength(2);
    expect(loaded.env.VAULT_ADDR).toBe(running().vaultAddr);

    const login = await loginAsServiceAccount(running(), STORE_ACCOUNT);
    expect(login.errors).toEqual([]);
    expect(login.status).toBe(200);
    expect(login.policies).toContain('argo-stack');

    const read = await running().vault.request('GET', 'kv/data/argo/workflows/artifacts', { token: login.clientToken });
    expect(read.status).toBe(200);
    expect(read.body.data.data.accessKey).toBe(loaded.canaries[0]);
    expect(read.body.data.data.secretKey).toBe(loaded.canaries[1]);
  });

  it('creates the ESO objects of a scenario', async () => {
    const store: any = await running().kube.get({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: 'vault-argo' });
    expect(store.spec.provider.vault.server).toBe(running().vaultAddr);
    const secret: any = await running().kube.get({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      namespace: 'argo-workflows',
      name: 'artifact-s3',
    });
    expect(secret.spec.data.map((entry: any) => entry.remoteRef.property)).toEqual(['accessKey', 'secretKey']);
  });

  it('rejects a role bound to another namespace', async () => {
    const loaded = await loadScenario(running(), 'argo-stack-role-namespace');
    canaries.push(...loaded.canaries);

    const login = await loginAsServiceAccount(running(), STORE_ACCOUNT);
    expect(login.status).toBe(403);
    // Vault's text for a namespace outside bound_service_account_namespaces, as Vault 1.14.2
    // (the version e2e/gobins builds) returns it.
    expect(login.errors).toEqual(['namespace not authorized']);
    expect(login.clientToken).toBeNull();
  });

  it('resets state between scenarios', async () => {
    const loaded = await loadScenario(running(), 'argo-stack-broken');
    canaries.push(...loaded.canaries);
    const store: any = await running().kube.get({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: 'vault-argo' });
    expect(store.spec.provider.vault.auth.kubernetes.serviceAccountRef).toEqual({ name: 'eso-vault-auth' });
    const policy = await running().vault.read('sys/policies/acl/argo-stack');
    expect(policy.policy).toContain('path "kv/argo/*"');
    // The old scenario's secret version is gone because the kv mount was re-created.
    const metadata = await running().vault.read('kv/metadata/argo/workflows/artifacts');
    expect(Object.keys(metadata.versions)).toEqual(['1']);
  });

  it('stops serving v1beta1 when asked', async () => {
    await applyExternalSecretsCrds(running().kube, { serveV1beta1: false });
    const { body } = await running().kube.request('GET', '/apis/external-secrets.io');
    expect(body.versions.map((v: any) => v.version)).toEqual(['v1']);
    const stores = await running().kube.list('external-secrets.io/v1', 'ClusterSecretStore');
    expect(stores.map((s) => s.metadata.name)).toEqual(['vault-argo']);

    await applyExternalSecretsCrds(running().kube);
    const { body: restored } = await running().kube.request('GET', '/apis/external-secrets.io');
    expect(restored.versions.map((v: any) => v.version).sort()).toEqual(['v1', 'v1beta1']);
  });

  it('keeps canaries out of server logs', async () => {
    expect(canaries.length).toBeGreaterThan(0);
    for (const path of Object.values(running().logs)) {
      const text = await readFile(path, 'utf8');
      for (const canary of canaries) expect(text.includes(canary), `${path} contains a canary`).toBe(false);
    }
  });

  it('stops every server', async () => {
    const pids = Object.values(running().pids);
    await running().stop();
    stopped = true;
    for (const pid of pids) expect(isRunning(pid), `PID ${pid}`).toBe(false);
  }, 60_000);
});
