// A small Vault HTTP API client for the harness. It never puts a token or a response body that
// may carry secret data into an error message.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @typedef {{ status: number, body: any, errors: string[] }} VaultResponse
 * @typedef {object} VaultClient
 * @property {string} addr
 * @property {(method: string, path: string, options?: { body?: unknown, token?: string | null, okStatuses?: number[] }) => Promise<VaultResponse>} request
 *   `path` is relative to /v1/; `token: null` sends no token (for logins)
 * @property {(path: string, body?: unknown) => Promise<VaultResponse>} write
 * @property {(path: string) => Promise<any | null>} read the response's data, or null for 404
 * @property {(path: string) => Promise<string[]>} list keys, or [] for 404
 * @property {(path: string) => Promise<void>} remove
 */

/**
 * @param {{ addr: string, token: string }} options
 * @returns {VaultClient}
 */
export function createVaultClient({ addr, token }) {
  /** @type {VaultClient['request']} */
  async function request(method, path, { body, token: tokenOverride, okStatuses = [] } = {}) {
    const sendToken = tokenOverride === undefined ? token : tokenOverride;
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    if (sendToken !== null) headers['x-vault-token'] = sendToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${addr}/v1/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    /** @type {any} */
    let parsed = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    const errors = Array.isArray(parsed?.errors) ? parsed.errors.map(String) : [];
    if (response.ok || okStatuses.includes(response.status)) return { status: response.status, body: parsed, errors };
    throw new Error(
      `Vault ${method} /v1/${path} at ${addr} failed with HTTP ${response.status}: ${errors.join('; ') || '(no error text)'}`,
    );
  }

  return {
    addr,
    request,
    write: (path, body = {}) => request('POST', path, { body }),
    async read(path) {
      const { status, body } = await request('GET', path, { okStatuses: [404] });
      return status === 404 ? null : body?.data ?? null;
    },
    async list(path) {
      // GET with list=true is Vault's documented alternative to the non-standard LIST method.
      const { status, body } = await request('GET', `${path}?list=true`, { okStatuses: [404] });
      return status === 404 ? [] : body?.data?.keys ?? [];
    },
    async remove(path) {
      await request('DELETE', path, { okStatuses: [404] });
    },
  };
}

/**
 * Logs in with a service-account JWT at a Kubernetes auth mount. A rejected login is returned,
 * not thrown, so tests can check Vault's status and error text.
 * @param {VaultClient} vault
 * @param {{ mount?: string, role: string, jwt: string }} options
 * @returns {Promise<{ status: number, errors: string[], clientToken: string | null, policies: string[] }>}
 */
export async function loginWithKubernetesJwt(vault, { mount = 'kubernetes', role, jwt }) {
  const { status, body, errors } = await vault.request('POST', `auth/${mount}/login`, {
    body: { role, jwt },
    token: null,
    okStatuses: [400, 403, 500],
  });
  return {
    status,
    errors,
    clientToken: body?.auth?.client_token ?? null,
    policies: body?.auth?.token_policies ?? [],
  };
}

/**
 * Writes a KV v2 secret, retrying while a mount that was just enabled still upgrades its storage,
 * because Vault returns 400 "Upgrading from non-versioned to versioned data" for a short time.
 * @param {VaultClient} vault
 * @param {string} mount
 * @param {string} path
 * @param {Record<string, string>} data
 */
export async function writeKvV2(vault, mount, path, data) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await vault.request('POST', `${mount}/data/${path}`, { body: { data }, okStatuses: [400, 503] });
    if (response.status < 300) return;
    const retryable = response.errors.some((e) => /upgrading|unavailable|no handler/i.test(e));
    if (!retryable || Date.now() > deadline) {
      throw new Error(
        `writing KV v2 secret ${mount}/data/${path} failed with HTTP ${response.status}: ${response.errors.join('; ')}. ` +
          `Check that ${mount} is a KV version 2 mount.`,
      );
    }
    await sleep(200);
  }
}
