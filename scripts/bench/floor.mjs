#!/usr/bin/env node
// The floor: a plain undici replay of the minimal request set the tool's verdicts need, run as
// its own Node process so that its wall time includes the same process start as the tool's.
// Usage: node floor.mjs PLAN.json, with VAULT_TOKEN set to the operator token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const operatorToken = process.env.VAULT_TOKEN ?? '';
const kubeAgent = new Agent({
  connect: {
    ca: readFileSync(join(plan.pkiDir, 'ca.crt'), 'utf8'),
    cert: readFileSync(join(plan.pkiDir, 'admin.crt'), 'utf8'),
    key: readFileSync(join(plan.pkiDir, 'admin.key'), 'utf8'),
  },
  connections: 32,
});
const vaultAgent = new Agent({ connections: 32 });

// One limiter for every request, as the tool's --concurrency bounds all of its network calls.
let active = 0;
/** @type {(() => void)[]} */
const waiting = [];
async function limited(task) {
  if (active >= plan.concurrency) await new Promise((resolve) => waiting.push(resolve));
  active += 1;
  try {
    return await task();
  } finally {
    active -= 1;
    waiting.shift()?.();
  }
}

async function call(base, dispatcher, method, path, { body, token, expect = [200, 204] } = {}) {
  return limited(async () => {
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    if (token) headers['x-vault-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await request(`${base}${path}`, { method, dispatcher, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.body.text();
    if (!expect.includes(response.statusCode)) throw new Error(`${method} ${path.split('?')[0]} returned HTTP ${response.statusCode}`);
    return text === '' ? null : JSON.parse(text);
  });
}
const kube = (method, path, options) => call(plan.kubeServer, kubeAgent, method, path, options);
const vault = (method, path, options) => call(plan.vaultAddr, vaultAgent, method, `/v1/${path}`, options);

const group = '/apis/external-secrets.io';
await kube('GET', group);
const [stores, , externalSecrets] = await Promise.all([
  kube('GET', `${group}/v1/clustersecretstores`),
  kube('GET', `${group}/v1/secretstores`),
  kube('GET', `${group}/v1/externalsecrets`),
  kube('GET', '/api/v1/serviceaccounts?fieldSelector=metadata.name%3Dexternal-secrets'),
]);
const refs = externalSecrets.items.reduce((sum, es) => sum + (es.spec.data?.length ?? 0), 0);
if (stores.items.length !== plan.stores || refs !== plan.refs) {
  throw new Error(`the cluster holds ${stores.items.length} stores and ${refs} refs; the plan expects ${plan.stores} and ${plan.refs}`);
}

const operator = { token: operatorToken };
const operatorReads = [
  vault('GET', 'sys/health'),
  // The tool checks the operator token once, to tell a revoked token from a missing grant.
  vault('GET', 'auth/token/lookup-self', operator),
  vault('GET', 'sys/auth', operator),
  vault('GET', `auth/${plan.authMount}/config`, operator),
  vault('GET', 'sys/mounts', operator),
  ...plan.roles.map((role) => vault('GET', `auth/${plan.authMount}/role/${role}`, operator)),
  ...plan.policies.map((policy) => vault('GET', `sys/policies/acl/${policy}`, operator)),
];

let reads = 0;
const tokens = await Promise.all(
  plan.logins.map(async (login) => {
    const [namespace, name] = login.identity.split('/');
    const account = `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`;
    await kube('GET', account);
    const tokenRequest = await kube('POST', `${account}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
      expect: [201],
    });
    const auth = await vault('POST', `auth/${plan.authMount}/login`, { body: { role: login.role, jwt: tokenRequest.status.token } });
    const token = auth.auth.client_token;
    const checks = [
      vault('POST', 'sys/capabilities-self', { token, body: { paths: login.paths } }),
      ...login.paths.map((path) => vault('GET', path, { token }).then(() => (reads += 1))),
    ];
    await Promise.all(checks);
    return token;
  }),
);
await Promise.all(operatorReads);
await Promise.all(tokens.map((token) => vault('POST', 'auth/token/revoke-self', { token })));
await Promise.all([kubeAgent.close(), vaultAgent.close()]);
process.stdout.write(`${JSON.stringify({ logins: tokens.length, reads })}\n`);
