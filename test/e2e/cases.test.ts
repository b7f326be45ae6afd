// Faults reconstructed from public ESO and Vault bug reports, each set up on real servers: the
// shared etcd, kube-apiserver and Vault 1.14.2 of the harness, plus a second Vault with TLS and a
// third one that is sealed. Each test runs the built CLI and checks the verdict and fix that the
// JSON report gives for the fault.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startExtraVault, type ExtraVault } from '../../e2e/harness/extra-vault.mjs';
import { startServers, type Servers } from '../../e2e/harness/servers.mjs';
import { loadCase, restoreCrds, RESTRICTED_USER, serveOnlyV1, serveOnlyV1beta1 } from '../../e2e/scenarios/cases.mjs';
import type { Report, Result } from '../../src/report/types.js';
import { capturedOutputs, runJson } from './run-cli.js';

let servers: Servers | undefined;
let tlsVault: ExtraVault | undefined;
let sealedVault: ExtraVault | undefined;
let runDir: string | undefined;
const canaries: string[] = [];

function running(): Servers {
  if (!servers) throw new Error('servers did not start; see the beforeAll error');
  return servers;
}

function extraVaults(): { tls: ExtraVault; sealed: ExtraVault } {
  if (!tlsVault || !sealedVault) throw new Error('the second Vault servers did not start; see the beforeAll error');
  return { tls: tlsVault, sealed: sealedVault };
}

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-cases-'));
  servers = await startServers({ runDir });
  tlsVault = await startExtraVault({ dir: join(runDir, 'vault-tls'), name: 'vault-tls', tls: true });
  sealedVault = await startExtraVault({ dir: join(runDir, 'vault-sealed'), name: 'vault-sealed' });
  await sealedVault.seal();
}, 300_000);

afterAll(async () => {
  const outcomes = await Promise.allSettled([tlsVault?.stop(), sealedVault?.stop(), servers?.stop()]);
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failures.length > 0) throw failures[0]!.reason;
  // The directory stays when a server could not be stopped, because its logs and PIDs are there.
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}, 60_000);

interface CaseRun {
  report: Report;
  code: number;
}

/**
 * Loads a case and runs the CLI on it with the root token of the shared Vault as operator token,
 * unless `env` replaces it.
 */
async function runCase(name: string, options: { args?: string[]; env?: Record<string, string> } = {}): Promise<CaseRun> {
  const { tls, sealed } = extraVaults();
  const loaded = await loadCase(running(), name, {
    extraVaults: { tls: { addr: tls.addr, caPem: tls.caPem }, sealed: { addr: sealed.addr } },
  });
  canaries.push(...loaded.canaries);
  const { run, report } = await runJson(options.args ?? [], { ...loaded.env, ...options.env });
  return { report, code: run.code };
}

function only(report: Report, checkId: string, status?: Result['status']): Result[] {
  return report.results.filter((result) => result.check === checkId && (status === undefined || result.status === status));
}

function ofStore(report: Report, store: string): Report {
  return { ...report, results: report.results.filter((result) => result.target.store === store) };
}

function describeResults(report: Report): string {
  return report.results.map((result) => `${result.status} ${result.check} ${result.messageId} [${result.target.store ?? ''}]: ${result.message}`).join('\n');
}

/** Asserts that every check except `exceptions` passed or skipped, so a case shows only its own fault. */
function expectNoOtherFailure(report: Report, exceptions: string[]): void {
  const others = report.results.filter((result) => !exceptions.includes(result.check) && (result.status === 'fail' || result.status === 'error'));
  expect(others.map((result) => `${result.check} ${result.messageId}`), describeResults(report)).toEqual([]);
}

describe('faults from ESO and Vault bug reports', () => {
  it('KV v1 policy path on KV v2 mount', async () => {
    const { report, code } = await runCase('case-01-kv1-policy-path');

    const denied = only(report, 'policy.read', 'fail');
    expect(denied, describeResults(report)).toHaveLength(1);
    expect(denied[0]!.messageId).toBe('denied-kv2-data');
    expect(denied[0]!.target.path).toBe('kv/data/team/app/account');
    expect(denied[0]!.fix?.hcl).toContain('path "kv/data/team/app/account"');
    expect(denied[0]!.fix?.hcl).toContain('"read"');
    expect(denied[0]!.fix?.summary).toContain('replace path "kv/team/app/account"');
    expect(denied[0]!.fix?.commands).toContain('vault policy write app-account-read app-account-read.hcl');

    // The login token really is denied, as in the report.
    expect(only(report, 'secret.read', 'fail').map((result) => result.messageId)).toEqual(['denied']);
    expect(only(report, 'auth.login', 'pass')).toHaveLength(1);
    expectNoOtherFailure(report, ['policy.read', 'secret.read']);
    expect(code).toBe(1);
  });

  it('store path with a folder below the mount', async () => {
    const { report, code } = await runCase('case-02-store-path-folder');

    const failures = only(report, 'store.config', 'fail');
    expect(failures, describeResults(report)).toHaveLength(1);
    expect(failures[0]!.messageId).toBe('path-folder');
    expect(failures[0]!.message).toContain('gitops/testing/data/live/database-access');
    expect(failures[0]!.message).toContain('gitops/data/testing/live/database-access');
    expect(failures[0]!.fix?.yaml).toContain('path: gitops\n');
    expect(failures[0]!.fix?.summary).toContain('"testing/"');
    expect(failures[0]!.fix?.summary).toContain('live/database-access -> testing/live/database-access');

    // At the corrected path the policy grants the read and the secret exists.
    expect(only(report, 'policy.read', 'skip').map((result) => result.messageId)).toEqual(['store-path-invalid']);
    expect(only(report, 'secret.read', 'skip').map((result) => result.messageId)).toEqual(['store-path-invalid']);
    expectNoOtherFailure(report, ['store.config']);
    expect(code).toBe(1);
  });

  it('store path copied from an API URL', async () => {
    const { report, code } = await runCase('case-03-store-path-api-segment');

    const failures = only(report, 'store.config', 'fail');
    expect(failures, describeResults(report)).toHaveLength(1);
    expect(failures[0]!.messageId).toBe('path-api-segment');
    expect(failures[0]!.message).toContain('secret/data/k8s/cluster-a/data/ns-a/app-secret');
    expect(failures[0]!.fix?.yaml).toContain('path: secret\n');
    expect(failures[0]!.fix?.yaml).toContain('version: v2');
    expect(failures[0]!.fix?.summary).toContain('"k8s/cluster-a/"');
    expect(failures[0]!.fix?.summary).toContain('ns-a/app-secret -> k8s/cluster-a/ns-a/app-secret');

    expect(only(report, 'policy.read', 'skip').map((result) => result.messageId)).toEqual(['store-path-invalid']);
    expect(only(report, 'secret.read', 'skip').map((result) => result.target.path)).toEqual(['secret/data/k8s/cluster-a/ns-a/app-secret']);
    expectNoOtherFailure(report, ['store.config']);
    expect(code).toBe(1);
  });

  it('database engine key through a KV store', async () => {
    const { report, code } = await runCase('case-04-database-mount-in-key');

    const failures = only(report, 'secret.read', 'fail');
    expect(failures, describeResults(report)).toHaveLength(2);
    for (const failure of failures) {
      expect(failure.messageId).toBe('mount-in-key');
      expect(failure.target.path).toBe('openbank/data/database/creds/ledger-db-role');
      expect(failure.message).toContain('another database mount');
      expect(failure.fix?.summary).toContain('store whose path is "database"');
      expect(failure.fix?.summary).toContain('key "creds/ledger-db-role"');
      expect(failure.fix?.summary).toContain('VaultDynamicSecret');
    }
    expect(failures.map((failure) => failure.target.entry).sort()).toEqual(['data[0]', 'data[1]']);

    // More policy changes nothing, as the report found: the policy already grants the read.
    expect(only(report, 'policy.read', 'pass')).toHaveLength(2);
    // remoteref.key, where present, flags the same key without reading Vault.
    expectNoOtherFailure(report, ['secret.read', 'remoteref.key']);
    expect(code).toBe(1);
  });

  it('find through a store without path', async () => {
    const { report, code } = await runCase('case-05-find-without-store-path');

    const warnings = only(report, 'store.config', 'warn');
    expect(warnings.map((result) => result.messageId), describeResults(report)).toEqual(['path-omitted']);

    // ESO turns find.path mykv_data/data/path/to/secrets into a LIST on the metadata path. The
    // 'data' inside the mount name stays, because ESO replaces only the '/data/' segment.
    const list = only(report, 'policy.read');
    expect(list, describeResults(report)).toHaveLength(1);
    expect(list[0]!.status).toBe('pass');
    expect(list[0]!.messageId).toBe('allowed');
    expect(list[0]!.target.path).toBe('mykv_data/metadata/path/to/secrets/');
    expect(list[0]!.message).toContain('list is granted');
    expect(list[0]!.message).toContain('mykv_data/metadata/path/to/secrets/*');

    const read = only(report, 'secret.read');
    expect(read.map((result) => `${result.status} ${result.messageId}`)).toEqual(['skip find-not-checked']);
    expectNoOtherFailure(report, []);
    expect(code).toBe(0);
  });

  it('store without path fix names the mount', async () => {
    const { report } = await runCase('case-05-find-without-store-path');

    const warning = only(report, 'store.config', 'warn')[0];
    expect(warning, describeResults(report)).toBeDefined();
    expect(warning!.fix?.yaml).toContain('path: mykv_data\n');
  });

  it('referent service account missing in consumer namespace', async () => {
    const { report, code } = await runCase('case-06-referent-service-account');

    const missing = only(report, 'serviceaccount.exists', 'fail');
    expect(missing, describeResults(report)).toHaveLength(1);
    expect(missing[0]!.messageId).toBe('missing-referent');
    expect(missing[0]!.target.namespace).toBe('certs');
    expect(missing[0]!.target.name).toBe('vault-secret-store-reader');
    expect(missing[0]!.message).toContain('serviceaccounts "vault-secret-store-reader" not found');
    expect(missing[0]!.fix?.yaml).toContain('name: vault-secret-store-reader\n');
    expect(missing[0]!.fix?.yaml).toContain('namespace: external-secrets\n');

    expect(only(report, 'store.config', 'warn').map((result) => result.messageId)).toContain('sa-referent');
    expect(only(report, 'auth.login', 'skip').map((result) => result.messageId)).toEqual(['sa-missing']);
    expectNoOtherFailure(report, ['serviceaccount.exists']);
    expect(code).toBe(1);
  });

  it('store without serviceAccountRef', async () => {
    const { report, code } = await runCase('case-07-no-service-account-ref');

    const warnings = only(report, 'store.config', 'warn');
    expect(warnings.map((result) => result.messageId), describeResults(report)).toEqual(['auth-no-sa-ref']);
    expect(warnings[0]!.message).toContain("ESO controller's service account");
    expect(warnings[0]!.fix?.yaml).toContain('serviceAccountRef:');
    expect(warnings[0]!.fix?.yaml).toContain('role sbx');

    expect(warnings[0]!.message).toContain('external-secrets/external-secrets');

    // With no serviceAccountRef, ESO presents the controller's own service account, which the
    // tool finds by the Helm chart's default name and then checks like any other identity.
    const binding = only(report, 'auth.binding', 'fail');
    expect(binding.map((result) => result.messageId).sort(), describeResults(report)).toEqual(['name-not-bound', 'namespace-not-bound']);
    expect(binding[0]!.fix?.commands[0]).toContain('vault write auth/k8s-cluster/role/sbx bound_service_account_names=external-secrets bound_service_account_namespaces=external-secrets');
    const login = only(report, 'auth.login', 'fail');
    expect(login, describeResults(report)).toHaveLength(1);
    expect(login[0]!.message).toMatch(/not authorized/);
    expect(code).toBe(1);
  });

  it('role not bound to the store namespace', async () => {
    const { report, code } = await runCase('case-08-role-namespace-not-bound');

    const binding = only(report, 'auth.binding', 'fail');
    expect(binding, describeResults(report)).toHaveLength(1);
    expect(binding[0]!.messageId).toBe('namespace-not-bound');
    expect(binding[0]!.target.serviceAccount).toBe('other-namespace/eso-reader');
    const command = binding[0]!.fix?.commands[0] ?? '';
    expect(command).toContain('vault write auth/kubernetes/role/my-role');
    expect(command).toMatch(/bound_service_account_namespaces=\S*other-namespace/);
    expect(command).toContain('bound_service_account_names=*');
    expect(command).toContain('token_policies=my-policy');

    const login = only(report, 'auth.login', 'fail');
    expect(login, describeResults(report)).toHaveLength(1);
    expect(login[0]!.messageId).toBe('namespace-not-authorized');
    expect(login[0]!.message).toContain('"namespace not authorized"');
    expect(login[0]!.details?.httpStatus).toBe(403);
    expectNoOtherFailure(report, ['auth.binding', 'auth.login']);
    expect(code).toBe(1);
  });

  it('token reviewer without auth-delegator', async () => {
    const { report, code } = await runCase('case-09-reviewer-without-auth-delegator');

    const login = only(report, 'auth.login', 'fail');
    expect(login, describeResults(report)).toHaveLength(1);
    // Vault 1.14.2 returns 403 "permission denied" and logs the Kubernetes Forbidden status only
    // at debug level, so the client cannot tell this cause from the others.
    expect(login[0]!.details?.httpStatus).toBe(403);
    expect(login[0]!.details?.vaultErrors).toEqual(['permission denied']);
    expect(login[0]!.messageId).toBe('permission-denied');
    expect(login[0]!.message).toContain('system:auth-delegator');
    expect(login[0]!.fix?.commands).toContain('vault read auth/kubernetes-case09/config');

    // The role side is sound, so the run points at the auth config alone.
    expect(only(report, 'auth.role', 'pass')).toHaveLength(1);
    expect(only(report, 'auth.binding', 'pass')).toHaveLength(1);
    expectNoOtherFailure(report, ['auth.login']);
    expect(code).toBe(1);
  });

  it('kubernetes_host on a closed port', async () => {
    const { report, code } = await runCase('case-10-kubernetes-host-unreachable');

    const login = only(report, 'auth.login', 'fail');
    expect(login, describeResults(report)).toHaveLength(1);
    // Vault 1.14.2 hides the refused TokenReview connection behind 403 "permission denied" too.
    expect(login[0]!.details?.httpStatus).toBe(403);
    expect(login[0]!.details?.vaultErrors).toEqual(['permission denied']);
    expect(login[0]!.messageId).toBe('permission-denied');
    expect(login[0]!.message).toContain('kubernetes_host unreachable');
    expect(login[0]!.fix?.commands).toContain('vault read auth/kubernetes-case10/config');
    expectNoOtherFailure(report, ['auth.login']);
    expect(code).toBe(1);
  });

  describe('Vault TLS certificate from an unknown CA', () => {
    const untrusted = 'ClusterSecretStore/vault-backend';
    const withBundle = 'ClusterSecretStore/vault-backend-ca';

    it('store without CA fails health', async () => {
      const { report } = await runCase('case-11-untrusted-vault-ca', { env: { VAULT_TOKEN: extraVaults().tls.rootToken } });

      const health = only(ofStore(report, untrusted), 'vault.health');
      expect(health.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['fail tls-untrusted']);
      expect(health[0]!.target.server).toBe(extraVaults().tls.addr);
      expect(health[0]!.message).toContain('certificate signed by unknown authority');
      expect(health[0]!.fix?.summary).toContain('caBundle');
      expect(health[0]!.fix?.yaml).toContain('caProvider:');
      expect(health[0]!.fix?.commands.join('\n')).toContain('--ca-cert');
    });

    it('--ca-cert makes health pass', async () => {
      const { report } = await runCase('case-11-untrusted-vault-ca', {
        args: ['--ca-cert', extraVaults().tls.caFile!, '--store', 'vault-backend'],
        env: { VAULT_TOKEN: extraVaults().tls.rootToken },
      });

      const health = only(report, 'vault.health');
      expect(health.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['pass active']);
      expect(health[0]!.details?.trust).toBe(`--ca-cert ${extraVaults().tls.caFile}`);
      expect(report.results.filter((result) => /TLS verification/.test(result.message))).toEqual([]);
    });

    it('caBundle makes health pass', async () => {
      const { report } = await runCase('case-11-untrusted-vault-ca', {
        args: ['--store', 'vault-backend-ca'],
        env: { VAULT_TOKEN: extraVaults().tls.rootToken },
      });

      const health = only(report, 'vault.health');
      expect(health.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['pass active']);
      expect(health[0]!.details?.trust).toBe('caBundle');
      expect(report.results.filter((result) => /TLS verification/.test(result.message))).toEqual([]);
    });

    it('caBundle store beside an untrusted one', async () => {
      const { report } = await runCase('case-11-untrusted-vault-ca', { env: { VAULT_TOKEN: extraVaults().tls.rootToken } });

      const trusted = ofStore(report, withBundle);
      expect(only(trusted, 'vault.health').map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['pass active']);
      // A store with the right CA must not inherit the TLS failures of another store on the same address.
      const inherited = trusted.results.filter((result) => /TLS verification/.test(result.message));
      expect(inherited.map((result) => `${result.check} ${result.messageId}`), describeResults(trusted)).toEqual([]);
    });
  });

  describe('sealed Vault', () => {
    it('sealed Vault fails health', async () => {
      const { report, code } = await runCase('case-12-sealed-vault', { env: { VAULT_TOKEN: extraVaults().sealed.rootToken } });

      const health = only(report, 'vault.health');
      expect(health.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['fail sealed']);
      expect(health[0]!.target.server).toBe(extraVaults().sealed.addr);
      expect(health[0]!.details?.httpStatus).toBe(503);
      expect(health[0]!.details?.sealed).toBe(true);
      expect(health[0]!.fix?.summary).toContain('Unseal');
      expect(health[0]!.fix?.summary).toContain('only the active node');
      expect(health[0]!.fix?.commands).toContain(`VAULT_ADDR=${extraVaults().sealed.addr} vault operator unseal`);
      expect(code).toBe(1);
    });

    it('sealed Vault read not reported missing', async () => {
      const { report } = await runCase('case-12-sealed-vault', { env: { VAULT_TOKEN: extraVaults().sealed.rootToken } });

      // A 503 "Vault is sealed" does not show whether the secret exists.
      const reads = only(report, 'secret.read');
      expect(reads.length, describeResults(report)).toBeGreaterThan(0);
      expect(reads.map((result) => result.messageId), describeResults(report)).not.toContain('not-found');
    });
  });

  it('v1beta1 manifests read through v1', async () => {
    // ESO 0.17 and later serve only v1. Objects applied as v1beta1 before that are stored and read
    // as v1 by the API server, so a live run cannot see which apiVersion the manifests use.
    const kube = running().kube;
    const loaded = await loadCase(running(), 'case-13-v1beta1-manifests');
    canaries.push(...loaded.canaries);
    await serveOnlyV1(kube);
    try {
      const manifest = {
        apiVersion: 'external-secrets.io/v1beta1',
        kind: 'ExternalSecret',
        metadata: { name: 'app-v1beta1', namespace: 'app' },
        spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault-backend' }, target: { name: 'app-v1beta1' } },
      };
      await expect(kube.apply(manifest)).rejects.toThrow(/v1beta1/);

      const { run, report } = await runJson([], loaded.env);
      expect(report.errors).toEqual([]);
      expect(report.stores.map((store) => store.ref)).toEqual(['ClusterSecretStore/vault-backend']);
      const crd = only(report, 'crd.versions');
      expect(crd.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['pass ok']);
      expect(crd[0]!.details?.versions).toEqual(['v1']);
      expect(only(report, 'secret.read', 'pass').map((result) => result.messageId)).toEqual(['property-ok']);
      expectNoOtherFailure(report, []);
      expect(run.code).toBe(0);
    } finally {
      await restoreCrds(kube);
    }
  });

  it('CRDs serving only v1beta1', async () => {
    const kube = running().kube;
    const loaded = await loadCase(running(), 'case-14-crds-serve-only-v1beta1');
    canaries.push(...loaded.canaries);
    await serveOnlyV1beta1(kube);
    try {
      const { run, report } = await runJson([], loaded.env);

      expect(report.errors).toEqual([]);
      const crd = only(report, 'crd.versions');
      expect(crd.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['warn v1beta1-only']);
      expect(crd[0]!.details?.versions).toEqual(['v1beta1']);
      expect(crd[0]!.message).toContain('external-secrets.io/v1');
      expect(crd[0]!.fix?.summary).toContain('Apply the CRDs of the same ESO release as the controller');

      // The objects are still read, through v1beta1.
      expect(report.stores.map((store) => store.ref)).toEqual(['ClusterSecretStore/vault-backend']);
      expect(only(report, 'secret.read', 'pass').map((result) => result.messageId)).toEqual(['property-ok']);
      expectNoOtherFailure(report, []);
      expect(run.code).toBe(0);
    } finally {
      await restoreCrds(kube);
    }
  });

  it('tool user without serviceaccounts/token create', async () => {
    const { report, code } = await runCase('case-15-token-request-forbidden');

    expect(report.errors, describeResults(report)).toEqual([]);
    const login = only(report, 'auth.login');
    expect(login.map((result) => `${result.status} ${result.messageId}`), describeResults(report)).toEqual(['error token-request-forbidden']);
    expect(login[0]!.target.serviceAccount).toBe('default/internal-app');
    expect(login[0]!.message).toContain('cannot create resource "serviceaccounts/token"');
    expect(login[0]!.message).toContain(`system:serviceaccount:${RESTRICTED_USER.namespace}:${RESTRICTED_USER.name}`);
    expect(login[0]!.message).toContain('in the namespace "default"');
    expect(login[0]!.fix?.commands).toContain('kubectl auth can-i create serviceaccounts/token -n default');

    // The restricted user still reads the objects and the service account.
    expect(only(report, 'serviceaccount.exists', 'pass')).toHaveLength(1);
    expectNoOtherFailure(report, ['auth.login']);
    expect(code).toBe(2);
  });

  it('outputs leak no secret or token', () => {
    const all = capturedOutputs.join('\n');
    expect(canaries.length).toBeGreaterThan(0);
    for (const canary of canaries) expect(all.includes(canary), 'a secret value was printed').toBe(false);
    for (const token of [extraVaults().tls.rootToken, extraVaults().sealed.rootToken]) {
      expect(all.includes(token), 'a root token of a second Vault server was printed').toBe(false);
    }
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toMatch(/\bhvs\.[A-Za-z0-9]{20,}/);
  });
});
