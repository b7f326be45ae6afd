// Building blocks for e2e scenarios: a scenario is a plain spec of Kubernetes and Vault state,
// and these helpers reset the servers and create that state.
import { randomBytes } from 'node:crypto';
import { writeKvV2 } from '../harness/vault.mjs';

/**
 * @typedef {import('../harness/kube.mjs').KubeObject} KubeObject
 * @typedef {import('../harness/kube.mjs').KubeClient} KubeClient
 * @typedef {import('../harness/vault.mjs').VaultClient} VaultClient
 *
 * @typedef {object} ScenarioSpec
 * @property {string[]} namespaces created when missing and never deleted, because namespace
 *   deletion needs the namespace controller of a kube-controller-manager, which the harness does not run
 * @property {{ namespace: string, name: string }[]} serviceAccounts
 * @property {{ path: string, type: string, options?: Record<string, string> }[]} vaultMounts
 * @property {{ mount: string, path: string, data: Record<string, string> }[]} kvSecrets KV v2 secrets;
 *   `path` is below the mount, without `data/`
 * @property {{ name: string, rules: string }[]} policies Vault ACL policies in HCL
 * @property {{ mount: string, name: string, settings: Record<string, unknown> }[]} kubernetesRoles
 *   roles of a Vault Kubernetes auth mount, `settings` as the role API takes them
 * @property {KubeObject[]} objects other Kubernetes objects, applied in order after the rest
 *
 * @typedef {object} ScenarioContext
 * @property {string} vaultAddr
 * @property {(label: string) => string} canary returns a new random secret value and records it
 *
 * @typedef {object} ScenarioDefinition
 * @property {string} description the fault the scenario sets up, or "none"
 * @property {(context: ScenarioContext) => ScenarioSpec} base
 * @property {((spec: ScenarioSpec) => void)[]} patches each changes the spec in place
 */

/** Kinds that every reset deletes, whether or not a scenario mentions them. */
export const ESO_KINDS = ['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret'];
export const ESO_API_VERSION = 'external-secrets.io/v1';

/** Policies that Vault creates itself and that cannot be deleted. */
const BUILT_IN_POLICIES = new Set(['default', 'root']);

/**
 * Builds the spec of a definition: the base, then each patch in order.
 * @param {ScenarioDefinition} definition
 * @param {ScenarioContext} context
 */
export function buildSpec(definition, context) {
  const spec = definition.base(context);
  for (const patch of definition.patches) patch(spec);
  return spec;
}

/**
 * Makes a context whose `canary` values are unique per call and collected in `canaries`.
 * @param {string} vaultAddr
 */
export function createContext(vaultAddr) {
  /** @type {string[]} */
  const canaries = [];
  /** @type {ScenarioContext} */
  const context = {
    vaultAddr,
    canary(label) {
      const value = `e2e-canary-${label}-${randomBytes(12).toString('hex')}`;
      canaries.push(value);
      return value;
    },
  };
  return { context, canaries };
}

/**
 * Finds the object of `kind` named `name` in a spec, for patches.
 * @param {ScenarioSpec} spec
 * @param {string} kind
 * @param {string} name
 * @returns {any}
 */
export function findObject(spec, kind, name) {
  const object = spec.objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`scenario spec has no ${kind} named ${name}; check the base the patch is applied to`);
  return object;
}

/**
 * @param {ScenarioSpec} spec
 * @param {string} name
 */
export function findKubernetesRole(spec, name) {
  const role = spec.kubernetesRoles.find((r) => r.name === name);
  if (!role) throw new Error(`scenario spec has no Vault Kubernetes auth role named ${name}; check the base the patch is applied to`);
  return role;
}

/**
 * @param {ScenarioSpec} spec
 * @param {string} name
 */
export function findPolicy(spec, name) {
  const policy = spec.policies.find((p) => p.name === name);
  if (!policy) throw new Error(`scenario spec has no Vault policy named ${name}; check the base the patch is applied to`);
  return policy;
}

/** @param {KubeClient} kube @param {string} name */
export async function ensureNamespace(kube, name) {
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** @param {KubeClient} kube @param {string} namespace @param {string} name */
export async function createServiceAccount(kube, namespace, name) {
  await kube.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
}

/**
 * Applies Kubernetes objects such as SecretStores and ExternalSecrets, in order.
 * @param {KubeClient} kube
 * @param {KubeObject[]} objects
 */
export async function applyObjects(kube, objects) {
  for (const object of objects) await kube.apply(object);
}

/**
 * Enables a secrets engine, for example `{ path: 'kv', type: 'kv', options: { version: '2' } }`.
 * @param {VaultClient} vault
 * @param {ScenarioSpec['vaultMounts'][number]} mount
 */
export async function enableVaultMount(vault, { path, type, options }) {
  await vault.write(`sys/mounts/${path}`, options ? { type, options } : { type });
}

/** @param {VaultClient} vault @param {string} name @param {string} rules HCL */
export async function writePolicy(vault, name, rules) {
  await vault.write(`sys/policies/acl/${encodeURIComponent(name)}`, { policy: rules });
}

/**
 * @param {VaultClient} vault
 * @param {ScenarioSpec['kubernetesRoles'][number]} role
 */
export async function writeKubernetesRole(vault, { mount, name, settings }) {
  await vault.write(`auth/${mount}/role/${encodeURIComponent(name)}`, settings);
}

/**
 * @param {VaultClient} vault
 * @param {ScenarioSpec['kvSecrets'][number]} secret
 */
export async function writeKvSecret(vault, { mount, path, data }) {
  await writeKvV2(vault, mount, path, data);
}

/**
 * Removes what any scenario may have created. In Kubernetes, that is every ESO object, the other
 * objects that `knownObjects` name, and every service account except `default` in `namespaces`.
 * In Vault, it is the roles of each Kubernetes auth mount in `authMounts`, every ACL policy but
 * `default` and `root`, and each secrets engine in `secretMounts`.
 * @param {{ kube: KubeClient, vault: VaultClient }} clients
 * @param {{ namespaces: string[], knownObjects: KubeObject[], authMounts: string[], secretMounts: string[] }} scope
 */
export async function resetState({ kube, vault }, { namespaces, knownObjects, authMounts, secretMounts }) {
  for (const kind of ESO_KINDS) {
    for (const object of await kube.list(ESO_API_VERSION, kind)) {
      await kube.remove({ apiVersion: ESO_API_VERSION, kind, name: object.metadata.name, namespace: object.metadata.namespace });
    }
  }
  for (const object of knownObjects) {
    if (ESO_KINDS.includes(object.kind)) continue;
    await kube.remove({ apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace: object.metadata.namespace });
  }
  for (const namespace of namespaces) {
    for (const account of await kube.list('v1', 'ServiceAccount', namespace)) {
      if (account.metadata.name === 'default') continue;
      await kube.remove({ apiVersion: 'v1', kind: 'ServiceAccount', name: account.metadata.name, namespace });
    }
  }

  for (const mount of authMounts) {
    for (const role of await vault.list(`auth/${mount}/role`)) await vault.remove(`auth/${mount}/role/${encodeURIComponent(role)}`);
  }
  for (const policy of await vault.list('sys/policies/acl')) {
    if (!BUILT_IN_POLICIES.has(policy)) await vault.remove(`sys/policies/acl/${encodeURIComponent(policy)}`);
  }
  // Disabling a mount deletes all of its data, which is the quickest way to drop old canaries.
  for (const path of secretMounts) await vault.remove(`sys/mounts/${path}`);
}

/**
 * Creates the state of a spec on servers that `resetState` cleared.
 * @param {{ kube: KubeClient, vault: VaultClient }} clients
 * @param {ScenarioSpec} spec
 */
export async function createState({ kube, vault }, spec) {
  for (const namespace of spec.namespaces) await ensureNamespace(kube, namespace);
  for (const account of spec.serviceAccounts) await createServiceAccount(kube, account.namespace, account.name);

  for (const mount of spec.vaultMounts) await enableVaultMount(vault, mount);
  for (const secret of spec.kvSecrets) await writeKvSecret(vault, secret);
  for (const policy of spec.policies) await writePolicy(vault, policy.name, policy.rules);
  for (const role of spec.kubernetesRoles) await writeKubernetesRole(vault, role);

  await applyObjects(kube, spec.objects);
}
