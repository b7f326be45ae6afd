// A recording HTTP proxy on loopback in front of the Vault dev server. It counts requests by
// class and forwards them unchanged. It logs no headers or bodies, because they carry tokens and values.
import { Agent, request as httpRequest, createServer } from 'node:http';

/**
 * Sorts a Vault API request into the classes the benchmark reports.
 * @param {string} method
 * @param {string} url path with query, for example /v1/kv/data/apps/s001
 * @param {string} kvMount
 */
export function classifyVaultRequest(method, url, kvMount) {
  const path = url.split('?')[0].replace(/^\/v1\//, '');
  if (/^auth\/[^/]+(\/.+)?\/login$/.test(path) && (method === 'POST' || method === 'PUT')) return 'login';
  if (path === 'sys/capabilities-self') return 'capabilities';
  if (method === 'GET' && path.startsWith(`${kvMount}/data/`)) return 'read';
  if (path === 'auth/token/revoke-self') return 'other:revoke-self';
  if (path.startsWith('auth/') && path.includes('/role/')) return 'other:role';
  if (path.startsWith('sys/policies/acl/') || path.startsWith('sys/policy/')) return 'other:policy';
  return `other:${method} ${path.split('/').slice(0, 3).join('/')}`;
}

/**
 * Starts the proxy on 127.0.0.1 with an ephemeral port.
 * @param {{ target: string, kvMount: string }} options target is Vault's http://127.0.0.1:PORT
 */
export async function startRecordingProxy({ target, kvMount }) {
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:' || upstream.hostname !== '127.0.0.1') {
    throw new Error(`the recording proxy forwards only to plain HTTP on 127.0.0.1, not ${upstream.origin}`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** @type {Map<string, number>} */
  let counts = new Map();
  const server = createServer((req, res) => {
    const kind = classifyVaultRequest(req.method ?? 'GET', req.url ?? '/', kvMount);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve(undefined));
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    addr: `http://127.0.0.1:${address.port}`,
    /** Returns the counts since the last reset and starts new ones. */
    takeCounts() {
      const taken = Object.fromEntries([...counts.entries()].sort());
      counts = new Map();
      return taken;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      agent.destroy();
    },
  };
}

/**
 * Folds detailed counts into TokenRequest, login, capabilities, reads and other.
 * @param {Record<string, number>} vault
 * @param {number} tokenRequests
 */
export function summarizeCounts(vault, tokenRequests) {
  const summary = { tokenRequest: tokenRequests, login: 0, capabilities: 0, read: 0, other: 0 };
  for (const [kind, count] of Object.entries(vault)) {
    if (kind === 'login' || kind === 'capabilities' || kind === 'read') summary[kind] += count;
    else summary.other += count;
  }
  return summary;
}
