// Facts loaded once per run and shared by every check. Each fact is memoized by key, so two
// checks that need the same login or read cause one request, and all network calls go through
// one limiter so --concurrency bounds the load on the servers.

import { Buffer } from 'node:buffer';

import { loginIdentities, identityKey, type LoginIdentity } from '../eso/identity.js';
import { storeOfEntry, type ExternalSecretView, type RemoteEntry, type VaultStore } from '../eso/model.js';
import type { MountInfo } from '../eso/storepath.js';
import type { KubeClient } from '../kube/client.js';
import * as api from '../vault/api.js';
import { VaultClient, VaultError } from '../vault/client.js';
import { Limiter, Memo, settle, type Fact } from './limit.js';
import { OfflineError, type OfflineSources } from './offline.js';
import { ESO_TOKEN_SECONDS, type RunOptions } from './options.js';

export interface Consumer {
  es: ExternalSecretView;
  entries: RemoteEntry[];
}

export interface LoginFact extends api.LoginResult {
  identity: LoginIdentity;
}

/** A failed login, with the stage that failed: the TokenRequest or the Vault login. */
export class LoginError extends Error {
  constructor(
    readonly stage: 'token-request' | 'login',
    readonly cause: Error,
  ) {
    super(cause.message);
    this.name = 'LoginError';
  }
}

export interface TrustSource {
  pem?: string;
  source: string;
  error?: string;
}

export class CheckContext {
  readonly stores: VaultStore[];
  readonly externalSecrets: ExternalSecretView[];
  readonly kube?: KubeClient;
  /** Versions of external-secrets.io the cluster serves, preferred first; empty offline. */
  readonly esoVersions: string[];
  /** Set for offline runs: facts then come from files and flags instead of servers. */
  readonly offline?: OfflineSources;
  private readonly memo = new Memo();
  // Per-store views are computed once: checks ask for them once per ExternalSecret.
  private readonly consumerCache = new Map<VaultStore, Consumer[]>();
  private readonly identityCache = new Map<VaultStore, LoginIdentity[]>();
  private readonly identityByConsumer = new Map<VaultStore, Map<string, LoginIdentity>>();
  private readonly limiter: Limiter;
  private readonly clients = new Map<string, VaultClient>();
  private readonly clientKeys = new Map<VaultClient, string>();
  private readonly logins: { client: VaultClient; token: string; namespace?: string }[] = [];

  constructor(
    readonly options: RunOptions,
    inputs: { stores: VaultStore[]; externalSecrets: ExternalSecretView[]; kube?: KubeClient; esoVersions?: string[]; offline?: OfflineSources },
  ) {
    this.offline = inputs.offline;
    this.esoVersions = inputs.esoVersions ?? [];
    this.stores = inputs.stores;
    this.externalSecrets = inputs.externalSecrets;
    this.kube = inputs.kube;
    this.limiter = new Limiter(options.concurrency);
  }

  get mode(): 'live' | 'lint' {
    return this.offline ? 'lint' : 'live';
  }

  /** Whether roles, policies and mounts can be read: with an operator token, or from offline inputs. */
  get hasOperatorToken(): boolean {
    if (this.offline) return this.offline.roles.length > 0 || this.offline.policies.size > 0 || this.offline.mounts !== undefined;
    return Boolean(this.options.operatorToken);
  }

  /** The reason roles, policies or mounts cannot be read, for skip messages. */
  get operatorMissing(): string {
    return this.offline
      ? 'no role definitions, policy files or --mounts were given to this offline run'
      : 'no operator token (VAULT_TOKEN, ~/.vault-token or --vault-token-file)';
  }

  /** List the ExternalSecrets that read from a store, each with only the entries that use it. */
  consumers(store: VaultStore): Consumer[] {
    const cached = this.consumerCache.get(store);
    if (cached) return cached;
    const out: Consumer[] = [];
    for (const es of this.externalSecrets) {
      const entries = es.entries.filter((entry) => !entry.generator && storeOfEntry(es, entry) === store.ref);
      if (entries.length > 0) out.push({ es, entries });
    }
    this.consumerCache.set(store, out);
    return out;
  }

  identities(store: VaultStore): LoginIdentity[] {
    const cached = this.identityCache.get(store);
    if (cached) return cached;
    const identities = loginIdentities(
      store,
      this.consumers(store).map((consumer) => consumer.es),
      this.options.controllerServiceAccount,
    );
    this.identityCache.set(store, identities);
    return identities;
  }

  /** Find the identity ESO logs in as when it syncs one ExternalSecret through a store. */
  identityFor(store: VaultStore, es: ExternalSecretView): LoginIdentity | undefined {
    let byConsumer = this.identityByConsumer.get(store);
    if (!byConsumer) {
      byConsumer = new Map();
      for (const identity of this.identities(store)) for (const consumer of identity.consumers) byConsumer.set(consumer, identity);
      this.identityByConsumer.set(store, byConsumer);
    }
    return byConsumer.get(`${es.namespace}/${es.name}`);
  }

  serverOf(store: VaultStore): { address: string; source: string } {
    if (this.options.vaultAddr) return { address: this.options.vaultAddr, source: this.options.vaultAddrSource ?? '--vault-addr' };
    return { address: store.server, source: `${store.ref} spec.provider.vault.server` };
  }

  loginNamespace(store: VaultStore): string | undefined {
    return store.authNamespace ?? store.vaultNamespace;
  }

  operatorNamespace(store: VaultStore, forAuth = false): string | undefined {
    return (forAuth ? store.authNamespace : undefined) ?? store.vaultNamespace ?? this.options.vaultNamespace;
  }

  private run<T>(key: string, load: () => Promise<T>, priority: 'normal' | 'low' = 'normal'): Promise<Fact<T>> {
    return this.memo.get(key, () => settle(() => this.limiter.run(load, priority)));
  }

  /** Run `use` with the store's Vault client, or return the failure to create that client as a fact. */
  private async withClient<T>(store: VaultStore, use: (client: VaultClient) => Promise<Fact<T>>): Promise<Fact<T>> {
    let client: VaultClient;
    try {
      client = await this.vault(store);
    } catch (error) {
      return { ok: false, error: error as Error };
    }
    return use(client);
  }

  /**
   * Memoize a request made with an identity's login token. The login is awaited before the request
   * takes a slot of the limiter, so requests waiting for a login never hold slots the login needs.
   */
  private runAsLogin<T>(store: VaultStore, identity: LoginIdentity, key: string, load: (client: VaultClient, token: string) => Promise<T>, priority: 'normal' | 'low' = 'normal'): Promise<Fact<T>> {
    return this.withClient(store, (client) =>
      this.memo.get(`${this.clientId(client)}:${this.loginKey(store, identity)}:${key}`, () =>
        settle(async () => {
          const login = await this.login(store, identity);
          if (!login.ok) throw login.error;
          return this.limiter.run(() => load(client, login.value.token), priority);
        }),
      ),
    );
  }

  /** Memoize a Vault fact per client, so stores that differ in address or trust never share it. */
  private runOnVault<T>(store: VaultStore, key: string, load: (client: VaultClient) => Promise<T>, priority: 'normal' | 'low' = 'normal'): Promise<Fact<T>> {
    return this.withClient(store, (client) => this.run(`${this.clientId(client)}:${key}`, () => load(client), priority));
  }

  private clientId(client: VaultClient): string {
    let id = this.clientKeys.get(client);
    if (id === undefined) {
      id = `client${this.clientKeys.size}`;
      this.clientKeys.set(client, id);
    }
    return id;
  }

  /** The CA that will be trusted for a store: --ca-cert, else the store's caBundle or caProvider. */
  trust(store: VaultStore): Promise<TrustSource> {
    return this.memo.get(`trust:${store.ref}`, async () => {
      if (this.options.caCertPem) return { pem: this.options.caCertPem, source: this.options.caCertSource ?? '--ca-cert' };
      if (store.caBundle) {
        const pem = decodeCaBundle(store.caBundle);
        if (!pem) return { source: 'caBundle', error: 'spec.provider.vault.caBundle is not base64-encoded PEM' };
        return { pem, source: 'caBundle' };
      }
      if (store.caProvider) {
        const provider = store.caProvider;
        const namespace = store.kind === 'SecretStore' ? store.namespace : provider.namespace;
        if (!namespace) return { source: 'caProvider', error: 'caProvider has no namespace, which a ClusterSecretStore requires (ESO: missing namespace on caProvider secret)' };
        if (!this.kube) return { source: 'caProvider', error: 'caProvider needs the Kubernetes API, which is not available' };
        const type = provider.type === 'Secret' ? 'Secret' : 'ConfigMap';
        try {
          const pem = await this.limiter.run(() => this.kube!.readConfigValue(type, namespace, provider.name, provider.key));
          if (!pem) return { source: `caProvider ${type} ${namespace}/${provider.name}`, error: `key "${provider.key}" not found in ${type} ${namespace}/${provider.name}` };
          return { pem, source: `caProvider ${type} ${namespace}/${provider.name}` };
        } catch (error) {
          return { source: `caProvider ${type} ${namespace}/${provider.name}`, error: (error as Error).message };
        }
      }
      return { source: 'system roots' };
    });
  }

  /** Get the Vault client of a store: one per server address and trust, shared by stores that agree on both. */
  async vault(store: VaultStore): Promise<VaultClient> {
    const trust = await this.trust(store);
    const { address } = this.serverOf(store);
    const key = `${address}|${trust.pem ?? ''}|${this.options.tlsSkipVerify}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new VaultClient({ address, caPem: trust.pem, skipVerify: this.options.tlsSkipVerify, timeoutMs: this.options.timeoutMs });
      this.clients.set(key, client);
    }
    return client;
  }

  /** sys/health once per Vault client, so stores that share a server and trust share one request. */
  async health(store: VaultStore): Promise<Fact<api.Health>> {
    if (this.offline) return { ok: false, error: new OfflineError('Vault is not contacted in an offline run') };
    return this.runOnVault(store, 'health', (client) => api.readHealth(client));
  }

  serviceAccountExists(namespace: string, name: string): Promise<Fact<boolean>> {
    if (this.offline) {
      const known = this.offline.serviceAccounts;
      return Promise.resolve(known ? { ok: true, value: known.has(`${namespace}/${name}`) } : { ok: false, error: new OfflineError('the input has no ServiceAccount manifests') });
    }
    return this.run(`sa:${namespace}/${name}`, async () => {
      if (!this.kube) throw new Error('the Kubernetes API is not available');
      return this.kube.serviceAccountExists(namespace, name);
    });
  }

  namespacesWithServiceAccount(name: string): Promise<Fact<string[]>> {
    if (this.offline) {
      const known = [...(this.offline.serviceAccounts ?? [])].filter((id) => id.endsWith(`/${name}`)).map((id) => id.split('/')[0]!);
      return Promise.resolve({ ok: true, value: known.sort() });
    }
    return this.run(`sa-namespaces:${name}`, async () => {
      if (!this.kube) throw new Error('the Kubernetes API is not available');
      return this.kube.namespacesWithServiceAccount(name);
    });
  }

  private operator(): string {
    if (!this.options.operatorToken) throw new Error('no operator token');
    return this.options.operatorToken;
  }

  authMounts(store: VaultStore): Promise<Fact<api.AuthMount[]>> {
    if (this.offline) {
      if (this.offline.roles.length === 0) return Promise.resolve({ ok: false, error: new OfflineError('no role definitions were given') });
      const mounts = [...new Set(this.offline.roles.map((role) => role.mount))];
      return Promise.resolve({ ok: true, value: mounts.map((path) => ({ path, type: 'kubernetes' })) });
    }
    const namespace = this.operatorNamespace(store, true);
    return this.runOnVault(store, `auth-mounts:${namespace ?? ''}`, (client) => api.listAuthMounts(client, this.operator(), namespace));
  }

  role(store: VaultStore): Promise<Fact<api.RoleData | undefined>> {
    if (this.offline) {
      const k8s = store.kubernetes!;
      if (this.offline.roles.length === 0) return Promise.resolve({ ok: false, error: new OfflineError('no role definitions were given') });
      const onMount = this.offline.roles.filter((role) => role.mount === k8s.mountPath);
      if (onMount.length === 0) return Promise.resolve({ ok: false, error: new OfflineError(`no role definition for auth mount "${k8s.mountPath}" was given`) });
      const found = onMount.find((role) => role.role.toLowerCase() === k8s.role.toLowerCase());
      return Promise.resolve({ ok: true, value: found?.data });
    }
    const k8s = store.kubernetes!;
    const namespace = this.operatorNamespace(store, true);
    return this.runOnVault(store, `role:${namespace ?? ''}:${k8s.mountPath}:${k8s.role.toLowerCase()}`, (client) =>
      api.readKubernetesRole(client, this.operator(), k8s.mountPath, k8s.role, namespace),
    );
  }

  authConfig(store: VaultStore): Promise<Fact<Record<string, unknown> | undefined>> {
    if (this.offline) return Promise.resolve({ ok: false, error: new OfflineError('the auth config is not read offline') });
    const k8s = store.kubernetes!;
    const namespace = this.operatorNamespace(store, true);
    return this.runOnVault(store, `auth-config:${namespace ?? ''}:${k8s.mountPath}`, (client) =>
      api.readKubernetesConfig(client, this.operator(), k8s.mountPath, namespace),
    );
  }

  /** Read the secrets mount table from sys/mounts with the operator token. */
  secretsMounts(store: VaultStore): Promise<Fact<MountInfo[]>> {
    if (this.offline) {
      const mounts = this.offline.mounts;
      return Promise.resolve(mounts ? { ok: true, value: mounts } : { ok: false, error: new OfflineError('no --mounts were given') });
    }
    const namespace = this.operatorNamespace(store);
    return this.runOnVault(store, `mounts:${namespace ?? ''}`, (client) => api.listSecretsMounts(client, this.operator(), namespace));
  }

  /** Look up the mount that contains a path with an identity's login token (sys/internal/ui/mounts). */
  mountOfPathAs(store: VaultStore, identity: LoginIdentity, path: string): Promise<Fact<MountInfo>> {
    return this.runAsLogin(store, identity, `mount-of:${store.vaultNamespace ?? ''}:${path}`, (client, token) => api.lookupMountOf(client, token, path, store.vaultNamespace));
  }


  policyText(store: VaultStore, name: string): Promise<Fact<string | undefined>> {
    if (this.offline) {
      if (name === 'default') return Promise.resolve({ ok: true, value: this.offline.policies.get('default')?.text ?? '' });
      return Promise.resolve({ ok: true, value: this.offline.policies.get(name.toLowerCase())?.text });
    }
    const namespace = this.operatorNamespace(store, true);
    return this.runOnVault(store, `policy:${namespace ?? ''}:${name}`, (client) => api.readAclPolicy(client, this.operator(), name, namespace));
  }

  /** TokenRequest for the identity exactly as ESO makes it, then the Vault login. */
  login(store: VaultStore, identity: LoginIdentity): Promise<Fact<LoginFact>> {
    if (this.offline) return Promise.resolve({ ok: false, error: new LoginError('login', new OfflineError('no login in an offline run')) });
    const k8s = store.kubernetes!;
    const namespace = this.loginNamespace(store);
    return this.runOnVault(store, this.loginKey(store, identity), async (client) => {
      if (!this.kube) throw new LoginError('token-request', new Error('the Kubernetes API is not available'));
      let jwt: string;
      try {
        jwt = await this.kube.createServiceAccountToken(identity.namespace, identity.serviceAccount, identity.audiences, ESO_TOKEN_SECONDS);
      } catch (error) {
        throw new LoginError('token-request', error as Error);
      }
      try {
        const result = await api.kubernetesLogin(client, { mountPath: k8s.mountPath, role: k8s.role, jwt, namespace });
        this.logins.push({ client, token: result.token, namespace });
        return { ...result, identity };
      } catch (error) {
        throw new LoginError('login', error as Error);
      }
    });
  }

  /** auth/token/lookup-self with the operator token, to tell a revoked token from a missing grant. */
  operatorLookup(store: VaultStore): Promise<Fact<api.TokenInfo>> {
    if (this.offline) return Promise.resolve({ ok: false, error: new OfflineError('no operator token in an offline run') });
    const namespace = this.operatorNamespace(store);
    return this.runOnVault(store, `operator-lookup:${namespace ?? ''}`, (client) => api.lookupSelf(client, this.operator(), namespace));
  }

  /** Build the memo key of a login: stores that share server, mount, role and identity share one login. */
  private loginKey(store: VaultStore, identity: LoginIdentity): string {
    const k8s = store.kubernetes!;
    return `login:${this.loginNamespace(store) ?? ''}:${k8s.mountPath}:${k8s.role}:${identityKey(identity)}:${identity.audiences.join(',')}`;
  }

  /** Group key of requests that can share one login token and one capabilities query. */
  async tokenGroup(store: VaultStore, identity: LoginIdentity): Promise<string> {
    const client = await this.vault(store);
    return `${this.clientId(client)}:${this.loginKey(store, identity)}:${store.vaultNamespace ?? ''}`;
  }

  /** sys/capabilities-self for the login token of an identity; callers batch all paths of a token group. */
  capabilities(store: VaultStore, identity: LoginIdentity, paths: string[]): Promise<Fact<Record<string, string[]>>> {
    const unique = [...new Set(paths)].sort();
    return this.runAsLogin(store, identity, `caps:${store.vaultNamespace ?? ''}:${unique.join('|')}`, (client, token) => api.capabilitiesSelf(client, token, unique, store.vaultNamespace), 'low');
  }

  /** Read a data path with the identity's login token. */
  readAs(store: VaultStore, identity: LoginIdentity, pathWithQuery: string): Promise<Fact<api.SecretRead>> {
    return this.runAsLogin(store, identity, `read:${store.vaultNamespace ?? ''}:${store.version}:${pathWithQuery}`, (client, token) => api.readSecretPath(client, token, pathWithQuery, store.version, store.vaultNamespace), 'low');
  }

  /** Read a data path with the operator token. */
  readAsOperator(store: VaultStore, pathWithQuery: string, version: 'v1' | 'v2' = store.version): Promise<Fact<api.SecretRead>> {
    if (this.offline) return Promise.resolve({ ok: false, error: new OfflineError('secrets are not read in an offline run') });
    const namespace = this.operatorNamespace(store);
    return this.runOnVault(store, `read-op:${namespace ?? ''}:${version}:${pathWithQuery}`, (client) => api.readSecretPath(client, this.operator(), pathWithQuery, version, namespace), 'low');
  }

  /** Revoke every Vault token this run obtained by login, then close the Vault and Kubernetes clients. */
  async close(options: { force?: boolean } = {}): Promise<{ revoked: number; failed: number }> {
    let revoked = 0;
    let failed = 0;
    const logins = this.logins.splice(0);
    await Promise.all(
      logins.map(async (login) => {
        try {
          await api.revokeSelf(login.client, login.token, login.namespace);
          revoked += 1;
        } catch (error) {
          // A token that is already gone needs no revocation.
          if (error instanceof VaultError && error.status === 403) revoked += 1;
          else failed += 1;
        }
      }),
    );
    await Promise.all([...this.clients.values()].map((client) => client.close(options.force)));
    this.clients.clear();
    // Closing ends the keep-alive connections to the API server now, as the Vault pools are ended,
    // instead of leaving them to the server's idle timeout.
    await this.kube?.close(options.force);
    return { revoked, failed };
  }

  requestCounts(): Record<string, number> {
    const counts: Record<string, number> = { ...(this.kube?.counts ?? {}) };
    for (const client of this.clients.values()) {
      for (const [kind, count] of Object.entries(client.counts)) counts[kind] = (counts[kind] ?? 0) + count;
    }
    return counts;
  }
}

/** ESO accepts caBundle as base64 of the PEM, and also base64 of that. */
export function decodeCaBundle(value: string): string | undefined {
  let text = Buffer.from(value, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN')) text = Buffer.from(text, 'base64').toString('utf8');
  return text.includes('-----BEGIN') ? text : undefined;
}
