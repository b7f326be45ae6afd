// The e2e scenarios: a working Argo Workflows artifact-store setup read through ESO from Vault,
// and copies of it with one or more typical faults. A scenario is a base spec plus patches, so a
// new fault is usually one patch function and one table entry.
import {
  buildSpec,
  createContext,
  createState,
  ESO_API_VERSION,
  findKubernetesRole,
  findObject,
  findPolicy,
  resetState,
} from './fixtures.mjs';

export {
  applyObjects,
  buildSpec,
  createServiceAccount,
  createState,
  enableVaultMount,
  ensureNamespace,
  findKubernetesRole,
  findObject,
  findPolicy,
  resetState,
  writeKubernetesRole,
  writeKvSecret,
  writePolicy,
} from './fixtures.mjs';

/**
 * @typedef {import('./fixtures.mjs').ScenarioSpec} ScenarioSpec
 * @typedef {import('./fixtures.mjs').ScenarioContext} ScenarioContext
 * @typedef {import('./fixtures.mjs').ScenarioDefinition} ScenarioDefinition
 */

const ESO_NAMESPACE = 'external-secrets-system';
const ESO_SERVICE_ACCOUNT = 'eso-vault-auth';
const APP_NAMESPACE = 'argo-workflows';
const STORE = 'vault-argo';
const EXTERNAL_SECRET = 'artifact-s3';
const ROLE = 'argo-stack';
const POLICY = 'argo-stack';

/**
 * Builds the spec of a correct chain. ClusterSecretStore `vault-argo` logs in as
 * external-secrets-system/eso-vault-auth on role `argo-stack`, whose policy reads `kv/data/argo/*`.
 * ExternalSecret argo-workflows/artifact-s3 reads two fields of the KV v2 secret `kv/argo/workflows/artifacts`.
 * @param {ScenarioContext} context
 * @returns {ScenarioSpec}
 */
export function argoStackBase({ vaultAddr, canary }) {
  return {
    namespaces: [ESO_NAMESPACE, APP_NAMESPACE],
    serviceAccounts: [{ namespace: ESO_NAMESPACE, name: ESO_SERVICE_ACCOUNT }],
    vaultMounts: [{ path: 'kv', type: 'kv', options: { version: '2' } }],
    kvSecrets: [
      {
        mount: 'kv',
        path: 'argo/workflows/artifacts',
        data: { accessKey: canary('accessKey'), secretKey: canary('secretKey') },
      },
    ],
    policies: [{ name: POLICY, rules: 'path "kv/data/argo/*" { capabilities = ["read"] }\n' }],
    kubernetesRoles: [
      {
        mount: 'kubernetes',
        name: ROLE,
        settings: {
          bound_service_account_names: [ESO_SERVICE_ACCOUNT],
          bound_service_account_namespaces: [ESO_NAMESPACE],
          token_policies: [POLICY],
          token_ttl: '10m',
        },
      },
    ],
    objects: [
      {
        apiVersion: ESO_API_VERSION,
        kind: 'ClusterSecretStore',
        metadata: { name: STORE },
        spec: {
          provider: {
            vault: {
              server: vaultAddr,
              path: 'kv',
              version: 'v2',
              auth: {
                kubernetes: {
                  mountPath: 'kubernetes',
                  role: ROLE,
                  serviceAccountRef: { name: ESO_SERVICE_ACCOUNT, namespace: ESO_NAMESPACE },
                },
              },
            },
          },
        },
      },
      {
        apiVersion: ESO_API_VERSION,
        kind: 'ExternalSecret',
        metadata: { name: EXTERNAL_SECRET, namespace: APP_NAMESPACE },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { kind: 'ClusterSecretStore', name: STORE },
          target: { name: EXTERNAL_SECRET },
          data: [
            { secretKey: 'AWS_ACCESS_KEY_ID', remoteRef: { key: 'argo/workflows/artifacts', property: 'accessKey' } },
            { secretKey: 'AWS_SECRET_ACCESS_KEY', remoteRef: { key: 'argo/workflows/artifacts', property: 'secretKey' } },
          ],
        },
      },
    ],
  };
}

/**
 * Fault: the store's serviceAccountRef has no namespace. For a ClusterSecretStore, ESO then looks
 * for the service account in the ExternalSecret's namespace, where it does not exist.
 * @param {ScenarioSpec} spec
 */
export function dropServiceAccountRefNamespace(spec) {
  delete findObject(spec, 'ClusterSecretStore', STORE).spec.provider.vault.auth.kubernetes.serviceAccountRef.namespace;
}

/**
 * Fault: the Vault role is bound to another namespace than the service account's.
 * @param {string} namespace
 * @returns {(spec: ScenarioSpec) => void}
 */
export function bindRoleToNamespace(namespace) {
  return (spec) => {
    findKubernetesRole(spec, ROLE).settings.bound_service_account_namespaces = [namespace];
  };
}

/**
 * Fault: the policy names the logical KV v2 path, without the `data/` segment that the API needs.
 * @param {ScenarioSpec} spec
 */
export function dropPolicyDataSegment(spec) {
  findPolicy(spec, POLICY).rules = 'path "kv/argo/*" { capabilities = ["read"] }\n';
}

/**
 * Fault: the first data entry puts the field name into the key instead of `property`.
 * @param {ScenarioSpec} spec
 */
export function moveFieldIntoKey(spec) {
  const entry = findObject(spec, 'ExternalSecret', EXTERNAL_SECRET).spec.data[0];
  entry.remoteRef = { key: `${entry.remoteRef.key}/${entry.remoteRef.property}` };
}

/**
 * Fault: the store path includes a folder below the mount, so ESO builds `kv/argo/data/...`
 * instead of `kv/data/argo/...`; the keys are shortened to match.
 * @param {ScenarioSpec} spec
 */
export function moveKeyPrefixIntoStorePath(spec) {
  findObject(spec, 'ClusterSecretStore', STORE).spec.provider.vault.path = 'kv/argo';
  for (const entry of findObject(spec, 'ExternalSecret', EXTERNAL_SECRET).spec.data) {
    entry.remoteRef.key = entry.remoteRef.key.replace(/^argo\//, '');
  }
}

/** @type {Record<string, ScenarioDefinition>} */
export const scenarios = {
  'argo-stack-fixed': {
    description: 'no faults',
    base: argoStackBase,
    patches: [],
  },
  'argo-stack-sa-namespace': {
    description: 'the ClusterSecretStore serviceAccountRef has no namespace',
    base: argoStackBase,
    patches: [dropServiceAccountRefNamespace],
  },
  'argo-stack-role-namespace': {
    description: 'the Vault role binds namespace argocd instead of external-secrets-system',
    base: argoStackBase,
    patches: [bindRoleToNamespace('argocd')],
  },
  'argo-stack-policy-path': {
    description: 'the policy grants kv/argo/* instead of kv/data/argo/*',
    base: argoStackBase,
    patches: [dropPolicyDataSegment],
  },
  'argo-stack-field-in-key': {
    description: 'the first ExternalSecret entry puts the field into the key and has no property',
    base: argoStackBase,
    patches: [moveFieldIntoKey],
  },
  'argo-stack-path-prefix': {
    description: 'the store path is kv/argo, so ESO reads kv/argo/data/workflows/artifacts',
    base: argoStackBase,
    patches: [moveKeyPrefixIntoStorePath],
  },
  'argo-stack-broken': {
    description: 'the sa-namespace, role-namespace, policy-path and field-in-key faults together',
    base: argoStackBase,
    patches: [dropServiceAccountRefNamespace, bindRoleToNamespace('argocd'), dropPolicyDataSegment, moveFieldIntoKey],
  },
};

/**
 * Collects what any registered scenario may create, so that a reset also removes what an earlier,
 * different scenario left behind.
 */
function resetScope() {
  const specs = Object.values(scenarios).map((definition) => buildSpec(definition, createContext('http://127.0.0.1:0').context));
  const unique = (/** @type {string[]} */ values) => [...new Set(values)];
  return {
    namespaces: unique(specs.flatMap((spec) => [...spec.namespaces, ...spec.serviceAccounts.map((account) => account.namespace)])),
    knownObjects: specs.flatMap((spec) => spec.objects),
    authMounts: unique(['kubernetes', ...specs.flatMap((spec) => spec.kubernetesRoles.map((role) => role.mount))]),
    secretMounts: unique(['kv', ...specs.flatMap((spec) => spec.vaultMounts.map((mount) => mount.path))]),
  };
}

/**
 * Resets the servers and creates scenario `name` on them.
 * @param {import('../harness/servers.mjs').Servers} servers
 * @param {string} name a key of `scenarios`
 * @returns {Promise<{ name: string, canaries: string[], env: { KUBECONFIG: string, VAULT_ADDR: string, VAULT_TOKEN: string } }>}
 *   `canaries` are the secret values written to Vault, which no output of the tool may contain
 */
export async function loadScenario(servers, name) {
  const definition = scenarios[name];
  if (!definition) {
    throw new Error(`unknown scenario '${name}'; choose one of: ${Object.keys(scenarios).join(', ')}`);
  }
  const { context, canaries } = createContext(servers.vaultAddr);
  const spec = buildSpec(definition, context);

  await resetState(servers, resetScope());
  await createState(servers, spec);

  return {
    name,
    canaries,
    env: { KUBECONFIG: servers.kubeconfig, VAULT_ADDR: servers.vaultAddr, VAULT_TOKEN: servers.rootToken },
  };
}
