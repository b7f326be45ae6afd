// A thin client over @kubernetes/client-node, imported lazily because loading it costs hundreds of
// milliseconds that `--help` and `--version` should not pay.

import { classifyNetworkError, type NetworkErrorKind } from '../net/errors.js';

type KubeModule = typeof import('@kubernetes/client-node');
type KubeConfig = import('@kubernetes/client-node').KubeConfig;

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

const ESO_GROUP = 'external-secrets.io';

export class KubeClient {
  readonly counts: Record<string, number> = {};

  private constructor(
    private readonly k8s: KubeModule,
    readonly config: KubeConfig,
    readonly server: string,
    readonly contextName: string,
    private readonly timeoutMs: number,
  ) {}

  static async connect(options: KubeClientOptions): Promise<KubeClient> {
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
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
      throw new KubeError('config', `cannot load the kubeconfig ${source}: ${(error as Error).message}`);
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
    return new KubeClient(k8s, config, cluster.server, config.getCurrentContext(), options.timeoutMs);
  }

  /** Send one request; a 429 (the API server's "storage is (re)initializing" after CRD changes, or its rate limit) is retried up to 3 times. */
  private async call<T>(label: string, run: () => Promise<T>, describe: string): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.callOnce(label, run, describe);
      } catch (error) {
        if (!(error instanceof KubeError) || error.status !== 429 || attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  private async callOnce<T>(label: string, run: () => Promise<T>, describe: string): Promise<T> {
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KubeError('timeout', `${describe}: the request to ${this.server} timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (error) {
      throw this.classify(error, describe);
    } finally {
      clearTimeout(timer);
    }
  }

  private classify(error: unknown, describe: string): KubeError {
    if (error instanceof KubeError) return error;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number') {
      const message = kubeStatusMessage((error as { body?: unknown }).body) ?? `HTTP ${code}`;
      if (code === 403) return new KubeError('forbidden', `${describe}: forbidden: ${message}`, 403);
      if (code === 401) return new KubeError('unauthorized', `${describe}: the API server rejected the credentials (HTTP 401); refresh the kubeconfig credentials`, 401);
      if (code === 404) return new KubeError('not-found', `${describe}: not found`, 404);
      return new KubeError('http', `${describe}: HTTP ${code}: ${message}`, code);
    }
    const failure = classifyNetworkError(error, this.server);
    if (failure) return new KubeError(failure.kind, `${describe}: ${failure.message}`);
    return new KubeError('http', `${describe}: ${(error as Error).message ?? String(error)}`);
  }

  /** List the versions of external-secrets.io the API server serves, preferred first. */
  async esoVersions(): Promise<string[]> {
    const api = this.config.makeApiClient(this.k8s.ApisApi);
    const groups = await this.call('discovery', () => api.getAPIVersions(), 'list API groups');
    const group = groups.groups.find((candidate) => candidate.name === ESO_GROUP);
    if (!group) return [];
    const preferred = group.preferredVersion?.version;
    const versions = group.versions.map((version) => version.version);
    return preferred ? [preferred, ...versions.filter((version) => version !== preferred)] : versions;
  }

  async listClusterObjects(version: string, plural: string): Promise<ObjectList> {
    const api = this.config.makeApiClient(this.k8s.CustomObjectsApi);
    return (await this.call(`list ${plural}`, () => api.listClusterCustomObject({ group: ESO_GROUP, version, plural }), `list ${plural}.${ESO_GROUP}/${version}`)) as ObjectList;
  }

  /** List a namespaced ESO kind in the given namespaces, or in all when `namespaces` is empty. */
  async listNamespacedObjects(version: string, plural: string, namespaces: string[]): Promise<ObjectList> {
    const api = this.config.makeApiClient(this.k8s.CustomObjectsApi);
    if (namespaces.length === 0) {
      return (await this.call(`list ${plural}`, () => api.listCustomObjectForAllNamespaces({ group: ESO_GROUP, version, plural }), `list ${plural}.${ESO_GROUP}/${version} in all namespaces`)) as ObjectList;
    }
    const items: Record<string, unknown>[] = [];
    for (const namespace of namespaces) {
      const list = (await this.call(`list ${plural}`, () => api.listNamespacedCustomObject({ group: ESO_GROUP, version, namespace, plural }), `list ${plural}.${ESO_GROUP}/${version} in namespace ${namespace}`)) as ObjectList;
      items.push(...list.items);
    }
    return { items };
  }

  async getClusterObject(version: string, plural: string, name: string): Promise<Record<string, unknown>> {
    const api = this.config.makeApiClient(this.k8s.CustomObjectsApi);
    return (await this.call(`get ${plural}`, () => api.getClusterCustomObject({ group: ESO_GROUP, version, plural, name }), `get ${plural}/${name}`)) as Record<string, unknown>;
  }

  async getNamespacedObject(version: string, plural: string, namespace: string, name: string): Promise<Record<string, unknown>> {
    const api = this.config.makeApiClient(this.k8s.CustomObjectsApi);
    return (await this.call(`get ${plural}`, () => api.getNamespacedCustomObject({ group: ESO_GROUP, version, plural, namespace, name }), `get ${plural} ${namespace}/${name}`)) as Record<string, unknown>;
  }

  /** Check whether a service account exists; throw KubeError for anything but found or not found. */
  async serviceAccountExists(namespace: string, name: string): Promise<boolean> {
    const api = this.config.makeApiClient(this.k8s.CoreV1Api);
    try {
      await this.call('get serviceaccount', () => api.readNamespacedServiceAccount({ namespace, name }), `get serviceaccount ${namespace}/${name}`);
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'not-found') return false;
      throw error;
    }
  }

  /** Namespaces that hold a service account of this name (needs list on serviceaccounts cluster-wide). */
  async namespacesWithServiceAccount(name: string): Promise<string[]> {
    const api = this.config.makeApiClient(this.k8s.CoreV1Api);
    const list = await this.call('list serviceaccounts', () => api.listServiceAccountForAllNamespaces({ fieldSelector: `metadata.name=${name}` }), `list serviceaccounts named ${name}`);
    return list.items.map((item) => item.metadata?.namespace ?? '').filter((namespace) => namespace !== '').sort();
  }

  /** A TokenRequest as ESO sends it; the returned JWT must never be printed or stored. */
  async createServiceAccountToken(namespace: string, name: string, audiences: string[], expirationSeconds: number): Promise<string> {
    const api = this.config.makeApiClient(this.k8s.CoreV1Api);
    const spec: { expirationSeconds: number; audiences?: string[] } = { expirationSeconds };
    if (audiences.length > 0) spec.audiences = audiences;
    const response = await this.call(
      'create serviceaccounts/token',
      () => api.createNamespacedServiceAccountToken({ namespace, name, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: spec as never } }),
      `create serviceaccounts/token for ${namespace}/${name}`,
    );
    const token = response.status?.token;
    if (!token) throw new KubeError('http', `create serviceaccounts/token for ${namespace}/${name}: the response carries no token`);
    return token;
  }

  /** Read one key of a Secret or ConfigMap, for caProvider. The value is kept in memory only. */
  async readConfigValue(type: 'Secret' | 'ConfigMap', namespace: string, name: string, key: string): Promise<string | undefined> {
    const api = this.config.makeApiClient(this.k8s.CoreV1Api);
    if (type === 'Secret') {
      const secret = await this.call('get secret', () => api.readNamespacedSecret({ namespace, name }), `get secret ${namespace}/${name}`);
      const value = secret.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    }
    const map = await this.call('get configmap', () => api.readNamespacedConfigMap({ namespace, name }), `get configmap ${namespace}/${name}`);
    return map.data?.[key];
  }

  /** Ask the API server whether the current user may do something (SelfSubjectAccessReview). */
  async canI(verb: string, resource: string, options: { namespace?: string; group?: string; subresource?: string; name?: string } = {}): Promise<boolean> {
    const api = this.config.makeApiClient(this.k8s.AuthorizationV1Api);
    const review = await this.call(
      'create selfsubjectaccessreviews',
      () =>
        api.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { verb, resource, group: options.group ?? '', namespace: options.namespace, subresource: options.subresource, name: options.name } },
          },
        }),
      `check permission ${verb} ${resource}`,
    );
    return review.status?.allowed === true;
  }
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
