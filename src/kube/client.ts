// A thin client: @kubernetes/client-node reads the kubeconfig and resolves credentials (files,
// exec plugins, auth providers, in-cluster), and undici sends the requests over one keep-alive pool.
// client-node's own transport opens a new TLS connection for every request, which made a check of a
// large cluster wait on handshakes. client-node is imported lazily because loading it costs hundreds
// of milliseconds that `--help` and `--version` should not pay.

import type { RequestOptions } from 'node:https';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { fileErrorReason } from '../file-error.js';
import { classifyNetworkError, type NetworkErrorKind } from '../net/errors.js';

type KubeConfig = import('./kubeconfig.js').KubeConfig;

export type KubeErrorKind = NetworkErrorKind | 'forbidden' | 'unauthorized' | 'not-found' | 'http' | 'config';

/** A failed Kubernetes request; `message` names the object and, for 403, the missing permission. */
export class KubeError extends Error {
  constructor(
    readonly kind: KubeErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface KubeClientOptions {
  kubeconfig?: string;
  context?: string;
  timeoutMs: number;
}

export interface ObjectList {
  items: Record<string, unknown>[];
}

/** A non-2xx response of the API server, classified by `classify`. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}`);
  }
}

const ESO_GROUP = 'external-secrets.io';
const ESO_PATH = `/apis/${ESO_GROUP}`;

interface Transport {
  dispatcher: Dispatcher;
  headers: Record<string, string>;
}

export class KubeClient {
  readonly counts: Record<string, number> = {};
  private pool?: { key: string; dispatcher: Dispatcher };

  private constructor(
    private readonly config: KubeConfig,
    readonly server: string,
    readonly contextName: string,
    private readonly timeoutMs: number,
    private readonly proxyUrl: string | undefined,
  ) {}

  static async connect(options: KubeClientOptions): Promise<KubeClient> {
    const { KubeConfig } = await import('./kubeconfig.js');
    const config = new KubeConfig();
    if (!options.kubeconfig && !process.env.KUBECONFIG && !process.env.KUBERNETES_SERVICE_HOST) {
      const home = process.env.HOME ?? '';
      const { existsSync } = await import('node:fs');
      if (!existsSync(`${home}/.kube/config`)) {
        throw new KubeError('config', 'no kubeconfig was found: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod');
      }
    }
    try {
      if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
      else config.loadFromDefault();
    } catch (error) {
      const source = options.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
      throw new KubeError('config', `cannot load the kubeconfig ${source}: ${fileErrorReason(error)}`);
    }
    if (options.context) {
      if (!config.getContexts().some((context) => context.name === options.context)) {
        const known = config.getContexts().map((context) => context.name).join(', ') || 'none';
        throw new KubeError('config', `context "${options.context}" is not in the kubeconfig (contexts: ${known})`);
      }
      config.setCurrentContext(options.context);
    }
    const cluster = config.getCurrentCluster();
    if (!cluster) {
      throw new KubeError('config', 'the kubeconfig names no current cluster; set a context with --context or KUBECONFIG');
    }
    let server: URL;
    try {
      server = new URL(cluster.server);
    } catch {
      throw new KubeError('config', `the server "${cluster.server}" of cluster ${cluster.name} in the kubeconfig is not a URL`);
    }
    if (server.protocol !== 'https:' && server.protocol !== 'http:') {
      throw new KubeError('config', `the server "${cluster.server}" of cluster ${cluster.name} in the kubeconfig must start with https:// or http://`);
    }
    if (server.protocol === 'http:' && !cluster.skipTLSVerify) {
      throw new KubeError('config', `the server "${cluster.server}" of cluster ${cluster.name} is plain HTTP, which @kubernetes/client-node accepts only with insecure-skip-tls-verify: true on the cluster; use the https:// address`);
    }
    // TODO: support a SOCKS proxy-url, which client-node's own transport accepts; it is rejected here.
    if (cluster.proxyUrl && !/^https?:\/\//.test(cluster.proxyUrl)) {
      throw new KubeError('config', `the proxy-url "${cluster.proxyUrl}" of cluster ${cluster.name} is not supported; use an http:// or https:// proxy`);
    }
    return new KubeClient(config, cluster.server.replace(/\/+$/, ''), config.getCurrentContext(), options.timeoutMs, cluster.proxyUrl);
  }

  /**
   * Return the pool and headers for the next request. Credentials are resolved per request, as
   * client-node does, so an exec plugin's token or certificate is refreshed when it expires. The
   * pool is kept while the TLS material stays the same.
   */
  private async transport(): Promise<Transport> {
    const options: RequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    const tls = {
      ca: pem(options.ca),
      cert: pem(options.cert),
      key: pem(options.key),
      servername: options.servername,
      rejectUnauthorized: options.rejectUnauthorized,
    };
    const key = JSON.stringify(tls);
    if (this.pool?.key !== key) {
      const previous = this.pool?.dispatcher;
      const connect = Object.fromEntries(Object.entries(tls).filter(([, value]) => value !== undefined));
      const dispatcher = this.proxyUrl
        ? new ProxyAgent({ uri: this.proxyUrl, requestTls: connect, connections: 32 })
        : new Agent({ connect, connections: 32 });
      this.pool = { key, dispatcher };
      void previous?.close().catch(() => {});
    }
    return { dispatcher: this.pool.dispatcher, headers };
  }

  /** Close the connection pool; `force` drops requests still in flight. */
  async close(force = false): Promise<void> {
    const dispatcher = this.pool?.dispatcher;
    this.pool = undefined;
    if (!dispatcher) return;
    if (force) await dispatcher.destroy();
    else await dispatcher.close();
  }

  /**
   * Send one request and parse the JSON response. A 429 is retried up to 3 times, because the API
   * server returns it while its storage is (re)initializing after CRD changes, and for its rate limit.
   */
  private async call<T>(label: string, method: 'GET' | 'POST', path: string, describe: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.callOnce<T>(label, method, path, describe, body);
      } catch (error) {
        if (!(error instanceof KubeError) || error.status !== 429 || attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  private async callOnce<T>(label: string, method: 'GET' | 'POST', path: string, describe: string, body?: unknown): Promise<T> {
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      const { dispatcher, headers } = await this.transport();
      headers.Accept = 'application/json';
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const response = await request(`${this.server}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
        signal: abort.signal,
      });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) throw new HttpStatusError(response.statusCode, text);
      return JSON.parse(text) as T;
    } catch (error) {
      if (abort.signal.aborted) throw new KubeError('timeout', `${describe}: the request to ${this.server} timed out after ${this.timeoutMs} ms`);
      throw this.classify(error, describe);
    } finally {
      clearTimeout(timer);
    }
  }

  private classify(error: unknown, describe: string): KubeError {
    if (error instanceof KubeError) return error;
    if (error instanceof HttpStatusError) {
      const code = error.status;
      const message = kubeStatusMessage(error.body) ?? `HTTP ${code}`;
      if (code === 403) return new KubeError('forbidden', `${describe}: forbidden: ${message}`, 403);
      if (code === 401) return new KubeError('unauthorized', `${describe}: the API server rejected the credentials (HTTP 401); refresh the kubeconfig credentials`, 401);
      if (code === 404) return new KubeError('not-found', `${describe}: not found`, 404);
      return new KubeError('http', `${describe}: HTTP ${code}: ${message}`, code);
    }
    if (error instanceof SyntaxError) return new KubeError('http', `${describe}: the API server ${this.server} returned a response that is not JSON`);
    const failure = classifyNetworkError(error, this.server);
    if (failure) return new KubeError(failure.kind, `${describe}: ${failure.message}`);
    return new KubeError('http', `${describe}: ${(error as Error).message ?? String(error)}`);
  }

  /** List the versions of external-secrets.io the API server serves, preferred first. */
  async esoVersions(): Promise<string[]> {
    const groups = await this.call<ApiGroupList>('discovery', 'GET', '/apis', 'list API groups');
    const group = (groups.groups ?? []).find((candidate) => candidate.name === ESO_GROUP);
    if (!group) return [];
    const preferred = group.preferredVersion?.version;
    const versions = (group.versions ?? []).map((version) => version.version);
    return preferred ? [preferred, ...versions.filter((version) => version !== preferred)] : versions;
  }

  async listClusterObjects(version: string, plural: string): Promise<ObjectList> {
    return this.list(`list ${plural}`, `${ESO_PATH}/${seg(version)}/${seg(plural)}`, `list ${plural}.${ESO_GROUP}/${version}`);
  }

  /** List a namespaced ESO kind in the given namespaces, or in all when `namespaces` is empty. */
  async listNamespacedObjects(version: string, plural: string, namespaces: string[]): Promise<ObjectList> {
    if (namespaces.length === 0) {
      return this.list(`list ${plural}`, `${ESO_PATH}/${seg(version)}/${seg(plural)}`, `list ${plural}.${ESO_GROUP}/${version} in all namespaces`);
    }
    const items: Record<string, unknown>[] = [];
    for (const namespace of namespaces) {
      const list = await this.list(`list ${plural}`, `${ESO_PATH}/${seg(version)}/namespaces/${seg(namespace)}/${seg(plural)}`, `list ${plural}.${ESO_GROUP}/${version} in namespace ${namespace}`);
      items.push(...list.items);
    }
    return { items };
  }

  async getClusterObject(version: string, plural: string, name: string): Promise<Record<string, unknown>> {
    return this.call(`get ${plural}`, 'GET', `${ESO_PATH}/${seg(version)}/${seg(plural)}/${seg(name)}`, `get ${plural}/${name}`);
  }

  async getNamespacedObject(version: string, plural: string, namespace: string, name: string): Promise<Record<string, unknown>> {
    return this.call(`get ${plural}`, 'GET', `${ESO_PATH}/${seg(version)}/namespaces/${seg(namespace)}/${seg(plural)}/${seg(name)}`, `get ${plural} ${namespace}/${name}`);
  }

  /** Check whether a service account exists; throw KubeError for anything but found or not found. */
  async serviceAccountExists(namespace: string, name: string): Promise<boolean> {
    try {
      await this.call('get serviceaccount', 'GET', `/api/v1/namespaces/${seg(namespace)}/serviceaccounts/${seg(name)}`, `get serviceaccount ${namespace}/${name}`);
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'not-found') return false;
      throw error;
    }
  }

  /** Namespaces that hold a service account of this name (needs list on serviceaccounts cluster-wide). */
  async namespacesWithServiceAccount(name: string): Promise<string[]> {
    const list = await this.list('list serviceaccounts', `/api/v1/serviceaccounts?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`, `list serviceaccounts named ${name}`);
    return list.items
      .map((item) => (item.metadata as { namespace?: string } | undefined)?.namespace ?? '')
      .filter((namespace) => namespace !== '')
      .sort();
  }

  /** A TokenRequest as ESO sends it; the returned JWT must never be printed or stored. */
  async createServiceAccountToken(namespace: string, name: string, audiences: string[], expirationSeconds: number): Promise<string> {
    const spec: { expirationSeconds: number; audiences?: string[] } = { expirationSeconds };
    if (audiences.length > 0) spec.audiences = audiences;
    const response = await this.call<{ status?: { token?: string } }>(
      'create serviceaccounts/token',
      'POST',
      `/api/v1/namespaces/${seg(namespace)}/serviceaccounts/${seg(name)}/token`,
      `create serviceaccounts/token for ${namespace}/${name}`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
    );
    const token = response.status?.token;
    if (!token) throw new KubeError('http', `create serviceaccounts/token for ${namespace}/${name}: the response carries no token`);
    return token;
  }

  /** Read one key of a Secret or ConfigMap, for caProvider. The value is kept in memory only. */
  async readConfigValue(type: 'Secret' | 'ConfigMap', namespace: string, name: string, key: string): Promise<string | undefined> {
    if (type === 'Secret') {
      const secret = await this.call<{ data?: Record<string, string> }>('get secret', 'GET', `/api/v1/namespaces/${seg(namespace)}/secrets/${seg(name)}`, `get secret ${namespace}/${name}`);
      const value = secret.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    }
    const map = await this.call<{ data?: Record<string, string> }>('get configmap', 'GET', `/api/v1/namespaces/${seg(namespace)}/configmaps/${seg(name)}`, `get configmap ${namespace}/${name}`);
    return map.data?.[key];
  }

  /** Ask the API server whether the current user may do something (SelfSubjectAccessReview). */
  async canI(verb: string, resource: string, options: { namespace?: string; group?: string; subresource?: string; name?: string } = {}): Promise<boolean> {
    const review = await this.call<{ status?: { allowed?: boolean } }>(
      'create selfsubjectaccessreviews',
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      `check permission ${verb} ${resource}`,
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb, resource, group: options.group ?? '', namespace: options.namespace, subresource: options.subresource, name: options.name } },
      },
    );
    return review.status?.allowed === true;
  }

  private async list(label: string, path: string, describe: string): Promise<ObjectList> {
    const list = await this.call<{ items?: Record<string, unknown>[] | null }>(label, 'GET', path, describe);
    return { items: list.items ?? [] };
  }
}

interface ApiGroupList {
  groups?: { name: string; preferredVersion?: { version: string }; versions?: { version: string }[] }[];
}

/** One path segment; names from manifests are user input. */
const seg = (value: string): string => encodeURIComponent(value);

/** TLS material as undici's connector takes it: one string, several PEMs joined. */
function pem(value: RequestOptions['ca'] | RequestOptions['key']): string | undefined {
  if (value === undefined || value === null) return undefined;
  const parts = Array.isArray(value) ? value : [value];
  return parts.map((part) => (typeof part === 'string' ? part : Buffer.isBuffer(part) ? part.toString('utf8') : String((part as { pem?: unknown }).pem ?? ''))).join('\n');
}

function kubeStatusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      return parsed.message ?? body.slice(0, 300);
    } catch {
      return body.slice(0, 300) || undefined;
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return undefined;
}
