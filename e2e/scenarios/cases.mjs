// Scenarios reconstructed from public ESO and Vault bug reports: each one sets up a single fault
// on the local servers. Hosts, namespaces and names follow the reports, with the Vault address
// replaced by a local one.
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { applyExternalSecretsCrds, readExternalSecretsCrds } from '../harness/crds.mjs';
import { writeServiceAccountKubeconfig } from '../harness/kubeconfig.mjs';
import { pickFreePorts } from '../harness/processes.mjs';
import { buildSpec, createContext, createState, ESO_API_VERSION, resetState } from './fixtures.mjs';
import { scenarios as argoScenarios } from './index.mjs';

/**
 * @typedef {import('./fixtures.mjs').ScenarioSpec} ScenarioSpec
 * @typedef {import('../harness/servers.mjs').Servers} Servers
 * @typedef {import('../harness/kube.mjs').KubeObject} KubeObject
 *
 * @typedef {object} ExtraVaultAddress
 * @property {string} addr
 * @property {string} [caPem] the CA of a TLS server
 *
 * @typedef {object} CaseContext
 * @property {string} vaultAddr the shared Vault of the harness
 * @property {(label: string) => string} canary
 * @property {{ tls: ExtraVaultAddress, sealed: ExtraVaultAddress }} extraVaults second Vault servers
 *   that the TLS and sealed cases point their stores at
 *
 * @typedef {object} AuthMountSetup
 * @property {string} path a Kubernetes auth mount besides the shared `kubernetes` one
 * @property {(servers: Servers) => Promise<Record<string, unknown>>} config body for auth/<path>/config,
 *   written after the rest of the scenario exists so it may use the scenario's service accounts
 *
 * @typedef {object} CaseDefinition
 * @property {string} description the fault, in a few words
 * @property {(context: CaseContext) => ScenarioSpec} base
 * @property {((spec: ScenarioSpec) => void)[]} patches
 * @property {AuthMountSetup[]} [authMounts]
 * @property {'tls' | 'sealed'} [extraVault] the second Vault server the case's stores point at
 * @property {(servers: Servers) => Promise<Record<string, string>>} [environment] extra environment
 *   of the CLI run, for example another KUBECONFIG
 */

/** The ESO controller identity that most reports use. */
const ESO_NAMESPACE = 'external-secrets';
const ESO_SERVICE_ACCOUNT = 'external-secrets';

/** The harness's token reviewer: a service account bound to system:auth-delegator by servers.mjs. */
const HARNESS_REVIEWER = { namespace: 'vault-auth', name: 'token-reviewer' };

/** @returns {ScenarioSpec} */
function emptySpec() {
  return { namespaces: [], serviceAccounts: [], vaultMounts: [], kvSecrets: [], policies: [], kubernetesRoles: [], objects: [] };
}

/**
 * Builds `spec.provider.vault` of a store that logs in with Kubernetes auth.
 * @param {{ server: string, path?: string, version?: string, mountPath: string, role: string,
 *   serviceAccountRef?: { name: string, namespace?: string }, extra?: Record<string, unknown> }} options
 */
function vaultProvider({ server, path, version = 'v2', mountPath, role, serviceAccountRef, extra = {} }) {
  /** @type {Record<string, unknown>} */
  const kubernetes = { mountPath, role };
  if (serviceAccountRef) kubernetes.serviceAccountRef = serviceAccountRef;
  /** @type {Record<string, unknown>} */
  const provider = { server };
  if (path !== undefined) provider.path = path;
  provider.version = version;
  return { ...provider, ...extra, auth: { kubernetes } };
}

/**
 * @param {string} name
 * @param {ReturnType<typeof vaultProvider>} vault
 * @param {{ namespace?: string, apiVersion?: string }} [options] a namespace makes it a SecretStore
 * @returns {KubeObject}
 */
function secretStore(name, vault, { namespace, apiVersion = ESO_API_VERSION } = {}) {
  const metadata = namespace === undefined ? { name } : { name, namespace };
  return { apiVersion, kind: namespace === undefined ? 'ClusterSecretStore' : 'SecretStore', metadata, spec: { provider: { vault } } };
}

/**
 * @param {{ name: string, namespace: string, store: { kind: string, name: string }, data?: unknown[],
 *   dataFrom?: unknown[], apiVersion?: string }} options
 * @returns {KubeObject}
 */
function externalSecret({ name, namespace, store, data, dataFrom, apiVersion = ESO_API_VERSION }) {
  /** @type {Record<string, unknown>} */
  const spec = { refreshInterval: '1h', secretStoreRef: store, target: { name } };
  if (data) spec.data = data;
  if (dataFrom) spec.dataFrom = dataFrom;
  return { apiVersion, kind: 'ExternalSecret', metadata: { name, namespace }, spec };
}

/**
 * @param {string} mount
 * @param {string} name
 * @param {{ names: string[], namespaces: string[], policies: string[], ttl?: string }} binding
 */
function kubernetesRole(mount, name, { names, namespaces, policies, ttl = '10m' }) {
  return {
    mount,
    name,
    settings: { bound_service_account_names: names, bound_service_account_namespaces: namespaces, token_policies: policies, token_ttl: ttl },
  };
}

const KV2 = /** @type {Record<string, string>} */ ({ version: '2' });

/**
 * Builds the auth config that the harness writes for `kubernetes`, for use on another mount, with
 * a fresh token of the harness's reviewer. `overrides` replaces single fields.
 * @param {Servers} servers
 * @param {Record<string, unknown>} [overrides]
 */
async function harnessAuthConfig(servers, overrides = {}) {
  const reviewerJwt =
    overrides.token_reviewer_jwt ?? (await servers.kube.requestToken(HARNESS_REVIEWER.namespace, HARNESS_REVIEWER.name, { expirationSeconds: 86_400 }));
  return {
    kubernetes_host: servers.kubeServer,
    kubernetes_ca_cert: servers.caPem,
    token_reviewer_jwt: reviewerJwt,
    // Vault runs outside the cluster, so it has no pod service-account files to fall back to.
    disable_local_ca_jwt: true,
    ...overrides,
  };
}

/**
 * Builds the common shape of most reports: a ClusterSecretStore that logs in as
 * external-secrets/external-secrets, one role, one policy and one ExternalSecret.
 * @param {CaseContext} context
 * @param {{ storeName: string, storePath?: string, mountPath?: string, role: string, policy: string,
 *   rules: string, mounts: ScenarioSpec['vaultMounts'], secrets: { mount: string, path: string, fields: string[] }[],
 *   es: { name: string, namespace: string, data?: unknown[], dataFrom?: unknown[] }, apiVersion?: string }} options
 * @returns {ScenarioSpec}
 */
function clusterStoreChain(context, { storeName, storePath, mountPath = 'kubernetes', role, policy, rules, mounts, secrets, es, apiVersion }) {
  const spec = emptySpec();
  spec.namespaces.push(ESO_NAMESPACE, es.namespace);
  spec.serviceAccounts.push({ namespace: ESO_NAMESPACE, name: ESO_SERVICE_ACCOUNT });
  spec.vaultMounts.push(...mounts);
  for (const secret of secrets) {
    spec.kvSecrets.push({ mount: secret.mount, path: secret.path, data: Object.fromEntries(secret.fields.map((field) => [field, context.canary(field)])) });
  }
  spec.policies.push({ name: policy, rules });
  spec.kubernetesRoles.push(kubernetesRole(mountPath, role, { names: [ESO_SERVICE_ACCOUNT], namespaces: [ESO_NAMESPACE], policies: [policy] }));
  const provider = vaultProvider({
    server: context.vaultAddr,
    path: storePath,
    mountPath,
    role,
    serviceAccountRef: { name: ESO_SERVICE_ACCOUNT, namespace: ESO_NAMESPACE },
  });
  spec.objects.push(
    secretStore(storeName, provider, { apiVersion }),
    externalSecret({ ...es, store: { kind: 'ClusterSecretStore', name: storeName }, apiVersion }),
  );
  return spec;
}

/**
 * Builds the store, role and secret that the CRD-version reports share: ClusterSecretStore
 * vault-backend on the KV v2 mount `secret`, read by ExternalSecret app/app.
 * @param {CaseContext} context
 * @param {{ apiVersion?: string }} [options]
 */
function vaultBackendChain(context, { apiVersion } = {}) {
  return clusterStoreChain(context, {
    storeName: 'vault-backend',
    storePath: 'secret',
    role: 'eso',
    policy: 'eso-read',
    rules: 'path "secret/data/*" { capabilities = ["read"] }\n',
    mounts: [{ path: 'secret', type: 'kv', options: KV2 }],
    secrets: [{ mount: 'secret', path: 'app/db', fields: ['password'] }],
    es: { name: 'app', namespace: 'app', data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }] },
    apiVersion,
  });
}

/**
 * Points the first store of a spec at another Kubernetes auth mount.
 * @param {string} mountPath
 * @returns {(spec: ScenarioSpec) => void}
 */
function useAuthMount(mountPath) {
  return (spec) => {
    spec.objects[0].spec.provider.vault.auth.kubernetes.mountPath = mountPath;
    for (const role of spec.kubernetesRoles) role.mount = mountPath;
  };
}

/** Name of the restricted user's service account and of its ClusterRole. */
export const RESTRICTED_USER = { namespace: 'selfcheck-users', name: 'selfcheck-reader' };

/** @type {Record<string, CaseDefinition>} */
export const cases = {
  'case-01-kv1-policy-path': {
    description: 'the policy names the KV v1 form kv/team/app/account of a KV v2 secret',
    base: (context) =>
      clusterStoreChain(context, {
        storeName: 'vault-kv',
        storePath: 'kv',
        role: 'app-reader',
        policy: 'app-account-read',
        rules: 'path "kv/team/app/account" {\n  capabilities = ["read"]\n}\n',
        mounts: [{ path: 'kv', type: 'kv', options: KV2 }],
        secrets: [{ mount: 'kv', path: 'team/app/account', fields: ['login', 'password'] }],
        es: { name: 'app-account', namespace: 'app', data: [{ secretKey: 'login', remoteRef: { key: 'team/app/account', property: 'login' } }] },
      }),
    patches: [],
  },

  'case-02-store-path-folder': {
    description: 'the store path gitops/testing is mount gitops plus a folder',
    base: (context) => {
      const spec = emptySpec();
      spec.namespaces.push('system', 'gitops-apps');
      spec.serviceAccounts.push({ namespace: 'system', name: 'vault-operator' });
      spec.vaultMounts.push({ path: 'gitops', type: 'kv', options: KV2 });
      spec.kvSecrets.push({ mount: 'gitops', path: 'testing/live/database-access', data: { db: context.canary('db') } });
      spec.policies.push({ name: 'gitops-read', rules: 'path "gitops/data/testing/*" {\n  capabilities = ["read"]\n}\n' });
      spec.kubernetesRoles.push(kubernetesRole('kubernetes', 'gitops', { names: ['vault-operator'], namespaces: ['system'], policies: ['gitops-read'] }));
      // The report's store also sets a Vault Enterprise namespace. It stays here because Vault
      // 1.14.2 CE ignores X-Vault-Namespace, so the header changes nothing on the local server.
      const provider = vaultProvider({
        server: context.vaultAddr,
        path: 'gitops/testing',
        mountPath: 'kubernetes',
        role: 'gitops',
        serviceAccountRef: { name: 'vault-operator', namespace: 'system' },
        extra: { namespace: 'platform' },
      });
      spec.objects.push(
        secretStore('gitops', provider),
        externalSecret({
          name: 'db-admin',
          namespace: 'gitops-apps',
          store: { kind: 'ClusterSecretStore', name: 'gitops' },
          data: [{ secretKey: 'dbadmin', remoteRef: { key: 'live/database-access', property: 'db' } }],
        }),
      );
      return spec;
    },
    patches: [],
  },

  'case-03-store-path-api-segment': {
    description: 'the store path secret/data/k8s/cluster-a was copied from an API URL',
    base: (context) =>
      clusterStoreChain(context, {
        storeName: 'vault-backend',
        storePath: 'secret/data/k8s/cluster-a',
        role: 'eso',
        policy: 'cluster-a-read',
        rules: 'path "secret/data/k8s/cluster-a/*" {\n  capabilities = ["read"]\n}\n',
        mounts: [{ path: 'secret', type: 'kv', options: KV2 }],
        secrets: [{ mount: 'secret', path: 'k8s/cluster-a/ns-a/app-secret', fields: ['password'] }],
        es: { name: 'app-secret', namespace: 'ns-a', data: [{ secretKey: 'password', remoteRef: { key: 'ns-a/app-secret', property: 'password' } }] },
      }),
    patches: [],
  },

  'case-04-database-mount-in-key': {
    description: 'keys of a KV v2 store name the database secrets engine',
    base: (context) =>
      clusterStoreChain(context, {
        storeName: 'vault-kv',
        storePath: 'openbank',
        role: 'eso',
        policy: 'eso-read',
        rules: 'path "openbank/data/*"            { capabilities = ["read"] }\npath "database/creds/ledger-db-role" { capabilities = ["read"] }\n',
        // The database engine needs no connection for the fault: the KV store never reaches it.
        mounts: [
          { path: 'openbank', type: 'kv', options: KV2 },
          { path: 'database', type: 'database' },
        ],
        secrets: [],
        es: {
          name: 'ledger-db',
          namespace: 'ledger',
          data: [
            { secretKey: 'username', remoteRef: { key: 'database/creds/ledger-db-role', property: 'username' } },
            { secretKey: 'password', remoteRef: { key: 'database/creds/ledger-db-role', property: 'password' } },
          ],
        },
      }),
    patches: [],
  },

  'case-05-find-without-store-path': {
    description: 'a store without path lists mykv_data/data/path/to/secrets with dataFrom.find',
    base: (context) => {
      const spec = clusterStoreChain(context, {
        storeName: 'multi-kv',
        role: 'eso',
        policy: 'eso-read',
        rules: 'path "mykv_data/data/path/to/secrets/*"     { capabilities = ["read"] }\npath "mykv_data/metadata/path/to/secrets/*" { capabilities = ["read", "list"] }\n',
        mounts: [{ path: 'mykv_data', type: 'kv', options: KV2 }],
        secrets: [{ mount: 'mykv_data', path: 'path/to/secrets/a', fields: ['k'] }],
        es: { name: 'list-secrets', namespace: 'apps', dataFrom: [{ find: { path: 'mykv_data/data/path/to/secrets', name: { regexp: '.*' } } }] },
      });
      spec.objects[1].spec.refreshInterval = '1m';
      return spec;
    },
    patches: [],
  },

  'case-06-referent-service-account': {
    description: 'the ClusterSecretStore serviceAccountRef has no namespace and the ExternalSecret is in certs',
    base: (context) => {
      const spec = emptySpec();
      spec.namespaces.push(ESO_NAMESPACE, 'certs');
      spec.serviceAccounts.push({ namespace: ESO_NAMESPACE, name: 'vault-secret-store-reader' });
      spec.vaultMounts.push({ path: 'secret', type: 'kv', options: KV2 });
      spec.kvSecrets.push({ mount: 'secret', path: 'certs/wildcard', data: { key: context.canary('key') } });
      spec.policies.push({ name: 'eso-read', rules: 'path "secret/data/*" { capabilities = ["read"] }\n' });
      spec.kubernetesRoles.push(
        kubernetesRole('kubernetes', 'external-secret-reader', { names: ['vault-secret-store-reader'], namespaces: [ESO_NAMESPACE], policies: ['eso-read'] }),
      );
      const provider = vaultProvider({
        server: context.vaultAddr,
        path: 'secret',
        mountPath: 'kubernetes',
        role: 'external-secret-reader',
        serviceAccountRef: { name: 'vault-secret-store-reader' },
      });
      spec.objects.push(
        secretStore('vault-backend', provider),
        externalSecret({
          name: 'wildcard-cert',
          namespace: 'certs',
          store: { kind: 'ClusterSecretStore', name: 'vault-backend' },
          data: [{ secretKey: 'tls.key', remoteRef: { key: 'certs/wildcard', property: 'key' } }],
        }),
      );
      return spec;
    },
    patches: [],
  },

  'case-07-no-service-account-ref': {
    description: 'the store has no serviceAccountRef, so ESO logs in with its own pod token',
    base: (context) => {
      const spec = emptySpec();
      spec.namespaces.push(ESO_NAMESPACE, 'vault', 'dev');
      spec.serviceAccounts.push({ namespace: ESO_NAMESPACE, name: ESO_SERVICE_ACCOUNT }, { namespace: 'vault', name: 'vault-auth' });
      spec.vaultMounts.push({ path: 'secret', type: 'kv', options: KV2 });
      spec.kvSecrets.push({ mount: 'secret', path: 'dev/rds', data: { user: context.canary('user'), password: context.canary('password') } });
      spec.policies.push({ name: 'k8s-policy-read', rules: 'path "secret/data/dev/*" { capabilities = ["read"] }\n' });
      spec.kubernetesRoles.push(kubernetesRole('k8s-cluster', 'sbx', { names: ['vault-auth'], namespaces: ['vault'], policies: ['k8s-policy-read'], ttl: '1h' }));
      const provider = vaultProvider({ server: context.vaultAddr, path: 'secret', mountPath: 'k8s-cluster', role: 'sbx' });
      spec.objects.push(
        secretStore('vault-backend', provider),
        externalSecret({
          name: 'rds',
          namespace: 'dev',
          store: { kind: 'ClusterSecretStore', name: 'vault-backend' },
          data: [{ secretKey: 'user', remoteRef: { key: 'dev/rds', property: 'user' } }],
        }),
      );
      return spec;
    },
    patches: [],
    authMounts: [{ path: 'k8s-cluster', config: (servers) => harnessAuthConfig(servers) }],
  },

  'case-08-role-namespace-not-bound': {
    description: 'the role binds namespace my-app-namespace, the SecretStore lives in other-namespace',
    base: (context) => {
      const spec = emptySpec();
      spec.namespaces.push('other-namespace', 'my-app-namespace');
      spec.serviceAccounts.push({ namespace: 'other-namespace', name: 'eso-reader' });
      spec.vaultMounts.push({ path: 'secret', type: 'kv', options: KV2 });
      spec.kvSecrets.push({ mount: 'secret', path: 'my-app/api', data: { token: context.canary('token') } });
      spec.policies.push({ name: 'my-policy', rules: 'path "secret/data/my-app/*" { capabilities = ["read"] }\n' });
      spec.kubernetesRoles.push(kubernetesRole('kubernetes', 'my-role', { names: ['*'], namespaces: ['my-app-namespace'], policies: ['my-policy'], ttl: '1h' }));
      const provider = vaultProvider({ server: context.vaultAddr, path: 'secret', mountPath: 'kubernetes', role: 'my-role', serviceAccountRef: { name: 'eso-reader' } });
      spec.objects.push(
        secretStore('vault', provider, { namespace: 'other-namespace' }),
        externalSecret({
          name: 'app',
          namespace: 'other-namespace',
          store: { kind: 'SecretStore', name: 'vault' },
          data: [{ secretKey: 'token', remoteRef: { key: 'my-app/api', property: 'token' } }],
        }),
      );
      return spec;
    },
    patches: [],
  },

  'case-09-reviewer-without-auth-delegator': {
    description: 'the auth config reviews tokens as default/vault-tokenreview, which may not create tokenreviews',
    base: (context) => {
      const spec = vaultBackendChain(context);
      spec.namespaces.push('default');
      spec.serviceAccounts.push({ namespace: 'default', name: 'vault-tokenreview' });
      return spec;
    },
    // A mount of its own keeps the shared `kubernetes` mount, which other cases use, intact.
    patches: [useAuthMount('kubernetes-case09')],
    authMounts: [
      {
        path: 'kubernetes-case09',
        config: async (servers) => {
          // No ClusterRoleBinding to system:auth-delegator exists for this service account.
          const reviewerJwt = await servers.kube.requestToken('default', 'vault-tokenreview', { expirationSeconds: 86_400 });
          return harnessAuthConfig(servers, { token_reviewer_jwt: reviewerJwt });
        },
      },
    ],
  },

  'case-10-kubernetes-host-unreachable': {
    description: 'kubernetes_host of the auth config is a loopback port where nothing listens',
    base: (context) => vaultBackendChain(context),
    patches: [useAuthMount('kubernetes-case10')],
    authMounts: [
      {
        path: 'kubernetes-case10',
        config: async (servers) => {
          // NOTE: the port is free when picked, but another process on the machine could bind it
          // before the login, which would then fail for another reason.
          const [closedPort] = await pickFreePorts([1]);
          return harnessAuthConfig(servers, { kubernetes_host: `https://127.0.0.1:${closedPort}` });
        },
      },
    ],
  },

  'case-11-untrusted-vault-ca': {
    description: 'Vault serves TLS with a CA that store vault-backend does not name; store vault-backend-ca carries it as caBundle',
    base: (context) => {
      const { tls } = context.extraVaults;
      const spec = emptySpec();
      spec.namespaces.push(ESO_NAMESPACE, 'app');
      spec.serviceAccounts.push({ namespace: ESO_NAMESPACE, name: ESO_SERVICE_ACCOUNT });
      const serviceAccountRef = { name: ESO_SERVICE_ACCOUNT, namespace: ESO_NAMESPACE };
      const untrusted = vaultProvider({ server: tls.addr, path: 'secret', mountPath: 'cluster-dev', role: 'eso', serviceAccountRef });
      // caBundle is base64 of the PEM, encoded once, as ESO expects it.
      const trusted = { ...untrusted, caBundle: Buffer.from(tls.caPem ?? '').toString('base64') };
      spec.objects.push(
        secretStore('vault-backend', untrusted),
        secretStore('vault-backend-ca', trusted),
        externalSecret({
          name: 'app',
          namespace: 'app',
          store: { kind: 'ClusterSecretStore', name: 'vault-backend' },
          data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }],
        }),
      );
      return spec;
    },
    patches: [],
    extraVault: 'tls',
  },

  'case-12-sealed-vault': {
    description: "the SecretStore's Vault server is sealed",
    base: (context) => {
      const spec = emptySpec();
      spec.namespaces.push('tenant-a');
      spec.serviceAccounts.push({ namespace: 'tenant-a', name: 'eso-tenant-a' });
      const provider = vaultProvider({
        server: context.extraVaults.sealed.addr,
        path: 'secret',
        mountPath: 'kubernetes',
        role: 'tenant-a',
        serviceAccountRef: { name: 'eso-tenant-a' },
      });
      spec.objects.push(
        secretStore('openbao', provider, { namespace: 'tenant-a' }),
        externalSecret({
          name: 'app',
          namespace: 'tenant-a',
          store: { kind: 'SecretStore', name: 'openbao' },
          data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }],
        }),
      );
      return spec;
    },
    patches: [],
    extraVault: 'sealed',
  },

  'case-13-v1beta1-manifests': {
    description: 'the manifests were written as external-secrets.io/v1beta1',
    base: (context) => vaultBackendChain(context, { apiVersion: 'external-secrets.io/v1beta1' }),
    patches: [],
  },

  'case-14-crds-serve-only-v1beta1': {
    description: 'the CRDs serve only external-secrets.io/v1beta1 (switch with serveOnlyV1beta1)',
    base: (context) => vaultBackendChain(context, { apiVersion: 'external-secrets.io/v1beta1' }),
    patches: [],
  },

  'case-15-token-request-forbidden': {
    description: 'the user running the tool may read ESO objects and service accounts but not create tokens',
    base: (context) => {
      const spec = emptySpec();
      spec.namespaces.push('default', RESTRICTED_USER.namespace);
      spec.serviceAccounts.push({ namespace: 'default', name: 'internal-app' }, { namespace: RESTRICTED_USER.namespace, name: RESTRICTED_USER.name });
      spec.vaultMounts.push({ path: 'secret', type: 'kv', options: KV2 });
      // The report reads key app/db, which its own policy secret/data/internal-app/* does not
      // cover. The key here lies inside the policy, so the token permission is the only fault.
      spec.kvSecrets.push({ mount: 'secret', path: 'internal-app/db', data: { password: context.canary('password') } });
      spec.policies.push({ name: 'internal-app', rules: 'path "secret/data/internal-app/*" { capabilities = ["read"] }\n' });
      spec.kubernetesRoles.push(kubernetesRole('kubernetes', 'internal-app', { names: ['internal-app'], namespaces: ['default'], policies: ['internal-app'] }));
      const provider = vaultProvider({ server: context.vaultAddr, path: 'secret', mountPath: 'kubernetes', role: 'internal-app', serviceAccountRef: { name: 'internal-app' } });
      spec.objects.push(
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: RESTRICTED_USER.name },
          rules: [
            {
              apiGroups: ['external-secrets.io'],
              resources: ['externalsecrets', 'secretstores', 'clustersecretstores', 'clusterexternalsecrets'],
              verbs: ['get', 'list', 'watch'],
            },
            // The serviceaccounts/token subresource needs a rule of its own, so this one omits it.
            { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: RESTRICTED_USER.name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: RESTRICTED_USER.name },
          subjects: [{ kind: 'ServiceAccount', name: RESTRICTED_USER.name, namespace: RESTRICTED_USER.namespace }],
        },
        secretStore('alpha-beta-test', provider, { namespace: 'default' }),
        externalSecret({
          name: 'app',
          namespace: 'default',
          store: { kind: 'SecretStore', name: 'alpha-beta-test' },
          data: [{ secretKey: 'password', remoteRef: { key: 'internal-app/db', property: 'password' } }],
        }),
      );
      return spec;
    },
    patches: [],
    environment: async (servers) => ({ KUBECONFIG: await writeServiceAccountKubeconfig(servers, RESTRICTED_USER, join(servers.runDir, 'restricted-kubeconfig')) }),
  },
};

/** Auth mounts that some case adds. The loader disables all of them before each case. */
const CASE_AUTH_MOUNTS = [...new Set(Object.values(cases).flatMap((definition) => (definition.authMounts ?? []).map((mount) => mount.path)))];

/** Stand-ins for the second Vault servers, for building specs only to collect what a reset removes. */
const PLACEHOLDER_EXTRA_VAULTS = { tls: { addr: 'https://127.0.0.1:0', caPem: '' }, sealed: { addr: 'http://127.0.0.1:0' } };

/**
 * Collects what the argo-stack scenarios and these cases may create, so that a reset also removes
 * what an earlier scenario of either set left behind. The shared auth mount `kubernetes` only loses
 * its roles, while the mounts in CASE_AUTH_MOUNTS are disabled as a whole by the loader.
 */
function resetScope() {
  const placeholder = createContext('http://127.0.0.1:0').context;
  const argoSpecs = Object.values(argoScenarios).map((definition) => buildSpec(definition, placeholder));
  const caseSpecs = Object.values(cases).map((definition) => buildSpec(definition, { ...placeholder, extraVaults: PLACEHOLDER_EXTRA_VAULTS }));
  const specs = [...argoSpecs, ...caseSpecs];
  const unique = (/** @type {string[]} */ values) => [...new Set(values)];
  return {
    namespaces: unique(specs.flatMap((spec) => [...spec.namespaces, ...spec.serviceAccounts.map((account) => account.namespace)])),
    knownObjects: specs.flatMap((spec) => spec.objects),
    authMounts: unique(['kubernetes', ...specs.flatMap((spec) => spec.kubernetesRoles.map((role) => role.mount))]).filter((mount) => !CASE_AUTH_MOUNTS.includes(mount)),
    secretMounts: unique(['kv', ...specs.flatMap((spec) => spec.vaultMounts.map((mount) => mount.path))]),
  };
}

/**
 * Resets the servers and creates case `name` on them.
 * @param {Servers} servers
 * @param {string} name a key of `cases`
 * @param {{ extraVaults?: CaseContext['extraVaults'] }} [options] needed by the cases whose store
 *   points at a second Vault server
 * @returns {Promise<{ name: string, canaries: string[], env: Record<string, string> }>} `env` has
 *   KUBECONFIG and VAULT_TOKEN, plus what the case adds. It has no VAULT_ADDR, because that
 *   variable would replace every store's server address.
 */
export async function loadCase(servers, name, { extraVaults } = {}) {
  const definition = cases[name];
  if (!definition) throw new Error(`unknown case '${name}'; choose one of: ${Object.keys(cases).join(', ')}`);
  const { context, canaries } = createContext(servers.vaultAddr);
  if (definition.extraVault && !extraVaults?.[definition.extraVault]) {
    throw new Error(`case '${name}' points its stores at the ${definition.extraVault} Vault server; pass its address in options.extraVaults`);
  }
  const spec = buildSpec(definition, { ...context, extraVaults: extraVaults ?? PLACEHOLDER_EXTRA_VAULTS });

  for (const mount of CASE_AUTH_MOUNTS) await servers.vault.remove(`sys/auth/${mount}`);
  await resetState(servers, resetScope());
  for (const mount of definition.authMounts ?? []) await servers.vault.write(`sys/auth/${mount.path}`, { type: 'kubernetes' });
  await createState(servers, spec);
  for (const mount of definition.authMounts ?? []) await servers.vault.write(`auth/${mount.path}/config`, await mount.config(servers));

  const extraEnv = definition.environment ? await definition.environment(servers) : {};
  return { name, canaries, env: { KUBECONFIG: servers.kubeconfig, VAULT_TOKEN: servers.rootToken, ...extraEnv } };
}

/** Plural resource names of the ESO kinds. */
const ESO_PLURALS = ['externalsecrets', 'secretstores', 'clustersecretstores', 'clusterexternalsecrets'];

/**
 * Waits until every ESO kind can be listed in each of `versions`. After a CRD update the API server
 * returns 429 "storage is (re)initializing" for lists until its watch cache is filled again, which
 * happens after discovery already shows the new versions. The harness client retries 429 for 30 s.
 * @param {import('../harness/kube.mjs').KubeClient} kube
 * @param {string[]} versions
 */
async function waitForEsoLists(kube, versions) {
  for (const version of versions) {
    for (const plural of ESO_PLURALS) await kube.request('GET', `/apis/external-secrets.io/${version}/${plural}?limit=1`);
  }
}

/**
 * Waits until API discovery for external-secrets.io shows exactly `expected`.
 * @param {import('../harness/kube.mjs').KubeClient} kube
 * @param {string[]} expected
 */
async function waitForServedVersions(kube, expected) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status, body } = await kube.request('GET', '/apis/external-secrets.io', { okStatuses: [404] });
    const served = status === 404 ? [] : body.versions.map((/** @type {any} */ v) => v.version).sort();
    if (served.join(',') === [...expected].sort().join(',')) return;
    if (Date.now() > deadline) {
      throw new Error(
        `API discovery for external-secrets.io serves [${served.join(', ')}] 30 s after applying the CRDs, expected [${expected.join(', ')}]; ` +
          'read the kube-apiserver log in the run directory',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Re-applies the ESO CRDs with only v1 served, the layout of ESO 0.17 and later. `restoreCrds`
 * undoes it.
 * @param {import('../harness/kube.mjs').KubeClient} kube
 */
export async function serveOnlyV1(kube) {
  await applyExternalSecretsCrds(kube, { serveV1beta1: false });
  await waitForEsoLists(kube, ['v1']);
}

/**
 * Re-applies the ESO CRDs with only v1beta1 served, the layout of ESO releases before 0.16.
 * `restoreCrds` undoes it.
 * @param {import('../harness/kube.mjs').KubeClient} kube
 */
export async function serveOnlyV1beta1(kube) {
  const crds = await readExternalSecretsCrds();
  for (const crd of crds) {
    // v1 stays the storage version, so objects written before keep their stored form.
    for (const version of crd.spec.versions) version.served = version.name === 'v1beta1';
    await kube.apply(crd);
  }
  await waitForServedVersions(kube, ['v1beta1']);
  await waitForEsoLists(kube, ['v1beta1']);
}

/**
 * Re-applies the ESO CRDs as the harness installs them, with v1 and v1beta1 served.
 * @param {import('../harness/kube.mjs').KubeClient} kube
 */
export async function restoreCrds(kube) {
  await applyExternalSecretsCrds(kube);
  await waitForEsoLists(kube, ['v1', 'v1beta1']);
}
