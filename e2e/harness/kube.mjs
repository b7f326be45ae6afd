// A small Kubernetes API client for the harness: server-side apply, list, delete and TokenRequest
// over mutual TLS. It resolves kinds through API discovery, so scenarios may use any kind the
// server serves, including custom resources.
import { Agent, fetch } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';

const FIELD_MANAGER = 'vault-selfcheck-e2e';

/**
 * @typedef {{ apiVersion: string, kind: string, metadata: { name: string, namespace?: string, [key: string]: unknown }, [key: string]: unknown }} KubeObject
 * @typedef {{ apiVersion: string, kind: string, name: string, namespace?: string }} KubeRef
 * @typedef {{ name: string, namespaced: boolean }} ResourceInfo
 */

/**
 * @typedef {object} KubeClient
 * @property {string} server
 * @property {(method: string, path: string, options?: { body?: unknown, contentType?: string, okStatuses?: number[] }) => Promise<{ status: number, body: any }>} request
 * @property {(object: KubeObject) => Promise<KubeObject>} apply creates or updates by server-side apply
 * @property {(ref: KubeRef) => Promise<KubeObject | null>} get null when not found
 * @property {(apiVersion: string, kind: string, namespace?: string) => Promise<KubeObject[]>} list all namespaces when `namespace` is omitted
 * @property {(ref: KubeRef) => Promise<boolean>} remove false when it was not found
 * @property {(namespace: string, serviceAccount: string, options?: { expirationSeconds?: number, audiences?: string[] }) => Promise<string>} requestToken
 * @property {() => Promise<void>} close
 */

/**
 * @param {{ server: string, caPem: string, certPem: string, keyPem: string }} options
 * @returns {KubeClient}
 */
export function createKubeClient({ server, caPem, certPem, keyPem }) {
  const dispatcher = new Agent({ connect: { ca: caPem, cert: certPem, key: keyPem }, keepAliveTimeout: 2_000 });
  /** @type {Map<string, ResourceInfo[]>} */
  const discovery = new Map();

  /** @type {KubeClient['request']} */
  async function request(method, path, { body, contentType = 'application/json', okStatuses = [] } = {}) {
    const deadline = Date.now() + 30_000;
    let response;
    let text;
    for (;;) {
      response = await fetch(`${server}${path}`, {
        method,
        dispatcher,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': contentType },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      text = await response.text();
      // The API server returns 429 "storage is (re)initializing" while the watch cache of a CRD
      // that was just established fills, and 429 under priority-and-fairness throttling.
      // Both clear within seconds.
      if (response.status !== 429 || okStatuses.includes(429) || Date.now() > deadline) break;
      const retryAfter = Number(response.headers.get('retry-after'));
      await sleep(Math.min(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 200, 1_000));
    }
    /** @type {any} */
    let parsed = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Non-JSON bodies (for example from /readyz) are returned as text.
    }
    if (response.ok || okStatuses.includes(response.status)) return { status: response.status, body: parsed };
    const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed ? parsed.message : text.slice(0, 500);
    throw new Error(`Kubernetes API ${method} ${path} failed with HTTP ${response.status}: ${message}`);
  }

  /**
   * Finds the plural resource name of `kind` in `apiVersion`, asking discovery again once when
   * the kind is missing because a CRD may have been established since the last lookup.
   * @param {string} apiVersion
   * @param {string} kind
   * @returns {Promise<ResourceInfo>}
   */
  async function resourceOf(apiVersion, kind) {
    for (let attempt = 0; attempt < 2; attempt++) {
      let resources = discovery.get(apiVersion);
      if (resources === undefined || attempt === 1) {
        const { status, body } = await request('GET', groupVersionPath(apiVersion), { okStatuses: [404] });
        resources = status === 404 ? [] : body.resources.filter((/** @type {any} */ r) => !r.name.includes('/'));
        discovery.set(apiVersion, /** @type {ResourceInfo[]} */ (resources));
      }
      const found = /** @type {any[]} */ (resources).find((r) => r.kind === kind);
      if (found) return { name: found.name, namespaced: found.namespaced };
    }
    throw new Error(
      `the Kubernetes API does not serve kind ${kind} in ${apiVersion}; check the apiVersion, or apply its CRD first`,
    );
  }

  /** @param {string} apiVersion @param {string} kind @param {string} [namespace] @param {string} [name] */
  async function pathOf(apiVersion, kind, namespace, name) {
    const resource = await resourceOf(apiVersion, kind);
    if (resource.namespaced && name !== undefined && namespace === undefined) {
      throw new Error(`${kind} ${name} is namespaced but has no metadata.namespace; set one`);
    }
    const scope = resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const suffix = name === undefined ? '' : `/${encodeURIComponent(name)}`;
    return `${groupVersionPath(apiVersion)}${scope}/${resource.name}${suffix}`;
  }

  return {
    server,
    request,

    async apply(object) {
      const { apiVersion, kind, metadata } = object;
      const path = await pathOf(apiVersion, kind, metadata.namespace, metadata.name);
      const { body } = await request('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, {
        body: object,
        contentType: 'application/apply-patch+yaml',
      });
      return body;
    },

    async get({ apiVersion, kind, namespace, name }) {
      const { status, body } = await request('GET', await pathOf(apiVersion, kind, namespace, name), { okStatuses: [404] });
      return status === 404 ? null : body;
    },

    async list(apiVersion, kind, namespace) {
      const { body } = await request('GET', await pathOf(apiVersion, kind, namespace));
      return body.items;
    },

    async remove({ apiVersion, kind, namespace, name }) {
      const { status } = await request('DELETE', await pathOf(apiVersion, kind, namespace, name), { okStatuses: [404] });
      return status !== 404;
    },

    async requestToken(namespace, serviceAccount, { expirationSeconds = 3600, audiences } = {}) {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
      /** @type {Record<string, unknown>} */
      const spec = { expirationSeconds };
      if (audiences !== undefined) spec.audiences = audiences;
      const { body } = await request('POST', path, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
      });
      return body.status.token;
    },

    async close() {
      if (!dispatcher.closed && !dispatcher.destroyed) await dispatcher.close();
    },
  };
}

/** @param {string} apiVersion */
function groupVersionPath(apiVersion) {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * Waits until every named CRD reports the condition Established=True.
 * @param {KubeClient} kube
 * @param {string[]} names CRD names such as `externalsecrets.external-secrets.io`
 * @param {number} [timeoutMs]
 */
export async function waitForCrdsEstablished(kube, names, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await kube.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      const conditions = /** @type {any} */ (crd)?.status?.conditions ?? [];
      if (conditions.some((/** @type {any} */ c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) {
        throw new Error(
          `CRD ${name} was not Established after ${timeoutMs / 1000} s (conditions: ${JSON.stringify(conditions)}); ` +
            'read the kube-apiserver log in the run directory',
        );
      }
      await sleep(200);
    }
  }
}

/**
 * Writes a kubeconfig with one cluster, user and context named `e2e`, with the CA and the client
 * certificate embedded so the file works from any directory.
 * @param {{ server: string, caPem: string, certPem: string, keyPem: string }} options
 */
export function kubeconfigYaml({ server, caPem, certPem, keyPem }) {
  const b64 = (/** @type {string} */ text) => Buffer.from(text).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: e2e',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    '- name: e2e-admin',
    '  user:',
    `    client-certificate-data: ${b64(certPem)}`,
    `    client-key-data: ${b64(keyPem)}`,
    'contexts:',
    '- name: e2e',
    '  context:',
    '    cluster: e2e',
    '    user: e2e-admin',
    'current-context: e2e',
    '',
  ].join('\n');
}
