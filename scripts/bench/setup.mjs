// The large benchmark setup: its layout (a pure function, so the floor replay and the by-hand
// sample can be derived from it) and its creation on the harness servers with a bounded pool.
import { randomBytes } from 'node:crypto';
import { writeKvV2 } from '../../e2e/harness/vault.mjs';

export const ESO_API_VERSION = 'external-secrets.io/v1';
export const KV_MOUNT = 'kv';
export const AUTH_MOUNT = 'kubernetes';
export const POLICY = 'bench-read';
/** Namespace and name the tool picks as the ESO controller's identity (the only SA of that name). */
export const CONTROLLER = { namespace: 'external-secrets', name: 'external-secrets' };
const SHARED_SA = { namespace: 'external-secrets', name: 'eso-vault-auth' };
const REFERENT_SA = 'vault-reader';

/**
 * @typedef {{ name: string, serviceAccountRef?: { name: string, namespace?: string }, role: string }} StoreDef
 * @typedef {{ namespace: string, name: string, store: string, refs: { key: string, property: string }[] }} EsDef
 * @typedef {{ identity: string, role: string, paths: string[], refs: number }} LoginPlan
 */

/**
 * Five ClusterSecretStores. Two pairs share an identity and role, as duplicated stores do in real
 * clusters, so a run that keys facts by store rather than by login token shows it in the counts.
 * The `team-*` pair has no serviceAccountRef.namespace, so ESO logs in once per consuming namespace.
 * @type {StoreDef[]}
 */
export const STORES = [
  { name: 'bench-shared-a', serviceAccountRef: { ...SHARED_SA }, role: 'bench-shared' },
  { name: 'bench-shared-b', serviceAccountRef: { ...SHARED_SA }, role: 'bench-shared' },
  { name: 'bench-team-a', serviceAccountRef: { name: REFERENT_SA }, role: 'bench-team' },
  { name: 'bench-team-b', serviceAccountRef: { name: REFERENT_SA }, role: 'bench-team' },
  { name: 'bench-controller', role: 'bench-controller' },
];

/** A small deterministic generator, so every run checks the same refs. */
function lcg(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

/**
 * Builds the layout: `namespaces` x `perNamespace` ExternalSecrets with `refsPerEs` remoteRefs each,
 * drawn from `secrets` KV v2 secrets with 4 properties each.
 */
export function buildLayout({ namespaces = 20, perNamespace = 50, refsPerEs = 4, secrets = 200, prefix = 'bench' } = {}) {
  const next = lcg(0x5eed);
  const nsNames = Array.from({ length: namespaces }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
  /** @type {EsDef[]} */
  const externalSecrets = [];
  for (const namespace of nsNames) {
    for (let j = 0; j < perNamespace; j++) {
      const refs = [];
      for (let k = 0; k < refsPerEs; k++) {
        refs.push({ key: `apps/s${String(next() % secrets).padStart(3, '0')}`, property: `p${next() % 4}` });
      }
      externalSecrets.push({ namespace, name: `es-${String(j).padStart(3, '0')}`, store: STORES[j % STORES.length].name, refs });
    }
  }
  return { namespaces: nsNames, externalSecrets, secrets: Array.from({ length: secrets }, (_, i) => `apps/s${String(i).padStart(3, '0')}`) };
}

/** Returns the service account ESO presents for an ExternalSecret synced through a store (ESO's namespace rule). */
export function identityOf(store, es) {
  if (!store.serviceAccountRef) return `${CONTROLLER.namespace}/${CONTROLLER.name}`;
  return `${store.serviceAccountRef.namespace ?? es.namespace}/${store.serviceAccountRef.name}`;
}

/**
 * Plans the minimal request set the verdicts need: one TokenRequest and login per (identity, role), one
 * capabilities-self per login token for all of its paths, one read per unique path per token.
 * @param {ReturnType<typeof buildLayout>} layout
 */
export function planLogins(layout) {
  const byStore = new Map(STORES.map((store) => [store.name, store]));
  /** @type {Map<string, LoginPlan & { pathSet: Set<string> }>} */
  const logins = new Map();
  for (const es of layout.externalSecrets) {
    const store = /** @type {StoreDef} */ (byStore.get(es.store));
    const identity = identityOf(store, es);
    const key = `${identity}|${store.role}`;
    let login = logins.get(key);
    if (!login) {
      login = { identity, role: store.role, paths: [], refs: 0, pathSet: new Set() };
      logins.set(key, login);
    }
    for (const ref of es.refs) {
      login.pathSet.add(`${KV_MOUNT}/data/${ref.key}`);
      login.refs += 1;
    }
  }
  return [...logins.values()].map(({ pathSet, ...login }) => ({ ...login, paths: [...pathSet].sort() }));
}

/** Runs `tasks` with at most `size` in flight. The first failure rejects once all tasks have settled. */
export async function pool(size, tasks) {
  let next = 0;
  /** @type {unknown[]} */
  const errors = [];
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      try {
        await task();
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

function storeObject(store, vaultAddr) {
  /** @type {Record<string, unknown>} */
  const kubernetes = { mountPath: AUTH_MOUNT, role: store.role };
  if (store.serviceAccountRef) kubernetes.serviceAccountRef = { ...store.serviceAccountRef };
  return {
    apiVersion: ESO_API_VERSION,
    kind: 'ClusterSecretStore',
    metadata: { name: store.name },
    spec: { provider: { vault: { server: vaultAddr, path: KV_MOUNT, version: 'v2', auth: { kubernetes } } } },
  };
}

function externalSecretObject(es) {
  return {
    apiVersion: ESO_API_VERSION,
    kind: 'ExternalSecret',
    metadata: { name: es.name, namespace: es.namespace },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'ClusterSecretStore', name: es.store },
      target: { name: es.name },
      data: es.refs.map((ref, index) => ({ secretKey: `K${index}`, remoteRef: { key: ref.key, property: ref.property } })),
    },
  };
}

/**
 * Creates the namespaces, service accounts, Vault mount, secrets, policy, roles, stores and
 * ExternalSecrets of `layout`. Secret values are random and never leave this function.
 * @param {import('../../e2e/harness/servers.mjs').Servers} servers
 * @param {ReturnType<typeof buildLayout>} layout
 * @param {{ concurrency?: number, withStores?: boolean }} [options]
 */
export async function createLayout(servers, layout, { concurrency = 16, withStores = true } = {}) {
  const { kube, vault } = servers;
  const counts = { kube: 0, vault: 0 };
  const apply = (object) => async () => {
    await kube.apply(object);
    counts.kube += 1;
  };

  const namespaces = withStores ? [CONTROLLER.namespace, ...layout.namespaces] : layout.namespaces;
  await pool(concurrency, namespaces.map((name) => apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  const accounts = layout.namespaces.map((namespace) => ({ namespace, name: REFERENT_SA }));
  if (withStores) accounts.push(SHARED_SA, CONTROLLER);
  await pool(concurrency, accounts.map((account) => apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: account })));

  if (withStores) {
    await vault.write(`sys/mounts/${KV_MOUNT}`, { type: 'kv', options: { version: '2' } });
    counts.vault += 1;
    await pool(concurrency, layout.secrets.map((path) => async () => {
      const data = Object.fromEntries(['p0', 'p1', 'p2', 'p3'].map((property) => [property, randomBytes(12).toString('hex')]));
      await writeKvV2(vault, KV_MOUNT, path, data);
      counts.vault += 1;
    }));
    await vault.write(`sys/policies/acl/${POLICY}`, { policy: `path "${KV_MOUNT}/data/apps/*" { capabilities = ["read"] }\n` });
    counts.vault += 1;
  }
  // Roles are rewritten for the sample too, because the referent role lists every namespace it admits.
  const roles = [
    { name: 'bench-shared', names: [SHARED_SA.name], namespaces: [SHARED_SA.namespace] },
    { name: 'bench-team', names: [REFERENT_SA], namespaces: layout.namespaces },
    { name: 'bench-controller', names: [CONTROLLER.name], namespaces: [CONTROLLER.namespace] },
  ];
  await pool(concurrency, roles.map((role) => async () => {
    const existing = withStores ? null : await vault.read(`auth/${AUTH_MOUNT}/role/${role.name}`);
    const namespacesBound = [...new Set([...(existing?.bound_service_account_namespaces ?? []), ...role.namespaces])];
    await vault.write(`auth/${AUTH_MOUNT}/role/${role.name}`, {
      bound_service_account_names: role.names,
      bound_service_account_namespaces: namespacesBound,
      token_policies: [POLICY],
      token_ttl: '10m',
    });
    counts.vault += 1;
  }));

  if (withStores) await pool(concurrency, STORES.map((store) => apply(storeObject(store, servers.vaultAddr))));
  await pool(concurrency, layout.externalSecrets.map((es) => apply(externalSecretObject(es))));
  return counts;
}

/**
 * Counts what a run that memoizes capabilities and reads per store (not per login token) sends:
 * one capabilities-self per (store, identity) and one read per (store, identity, path).
 * @param {ReturnType<typeof buildLayout>} layout
 */
export function perStoreCounts(layout) {
  const byStore = new Map(STORES.map((store) => [store.name, store]));
  const capabilities = new Set();
  const reads = new Set();
  for (const es of layout.externalSecrets) {
    const store = /** @type {StoreDef} */ (byStore.get(es.store));
    const key = `${store.name}|${identityOf(store, es)}`;
    capabilities.add(key);
    for (const ref of es.refs) reads.add(`${key}|${ref.key}`);
  }
  return { capabilities: capabilities.size, reads: reads.size };
}
