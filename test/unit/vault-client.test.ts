import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { readHealth, kubernetesLogin, capabilitiesSelf } from '../../src/vault/api.js';
import { flattenMultierror, VaultClient, VaultError } from '../../src/vault/client.js';

const ADDRESS = 'http://vault.test:8200';
let agent: MockAgent;
let client: VaultClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new VaultClient({ address: ADDRESS, timeoutMs: 2000, dispatcher: agent, maxRetries: 2 });
});

afterEach(async () => {
  await agent.close();
});

function errorWithCode(code: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code} vault.test`), { code });
}

describe('VaultClient', () => {
  it('reads a sealed health answer', async () => {
    agent.get(ADDRESS).intercept({ path: '/v1/sys/health' }).reply(503, { initialized: true, sealed: true, standby: true });
    const health = await readHealth(client);
    expect(health).toMatchObject({ httpStatus: 503, sealed: true, initialized: true });
  });

  it('classifies a DNS failure', async () => {
    agent.get(ADDRESS).intercept({ path: '/v1/sys/health' }).replyWithError(errorWithCode('ENOTFOUND'));
    await expect(readHealth(client)).rejects.toMatchObject({ kind: 'dns', code: 'ENOTFOUND' });
  });

  it('classifies a refused connection', async () => {
    agent.get(ADDRESS).intercept({ path: '/v1/sys/health' }).replyWithError(errorWithCode('ECONNREFUSED'));
    await expect(readHealth(client)).rejects.toMatchObject({ kind: 'refused' });
  });

  it('classifies an unknown certificate authority', async () => {
    agent.get(ADDRESS).intercept({ path: '/v1/sys/health' }).replyWithError(errorWithCode('SELF_SIGNED_CERT_IN_CHAIN'));
    await expect(readHealth(client)).rejects.toMatchObject({ kind: 'tls-untrusted' });
  });

  it('keeps the login error text', async () => {
    agent.get(ADDRESS).intercept({ path: '/v1/auth/kubernetes/login', method: 'PUT' }).reply(403, { errors: ['namespace not authorized'] });
    const error = await kubernetesLogin(client, { mountPath: 'kubernetes', role: 'r', jwt: 'header.payload.signature' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).status).toBe(403);
    expect((error as VaultError).vaultErrors).toEqual(['namespace not authorized']);
    expect((error as VaultError).message).not.toContain('header.payload.signature');
  });

  it('sends the namespace header on login', async () => {
    agent
      .get(ADDRESS)
      .intercept({ path: '/v1/auth/k8s/login', method: 'PUT', headers: { 'x-vault-namespace': 'team-a' } })
      .reply(200, { auth: { client_token: 'hvs.x', policies: ['default'], token_policies: ['default'] } });
    const login = await kubernetesLogin(client, { mountPath: 'k8s', role: 'r', jwt: 'j', namespace: 'team-a' });
    expect(login.policies).toEqual(['default']);
  });

  it('retries a 502 on reads, then answers', async () => {
    const pool = agent.get(ADDRESS);
    pool.intercept({ path: '/v1/kv/data/x' }).reply(502, { errors: ['bad gateway'] });
    pool.intercept({ path: '/v1/kv/data/x' }).reply(200, { data: { data: { a: 1 } } });
    const response = await client.raw({ method: 'GET', path: 'kv/data/x', token: 't' });
    expect(response.status).toBe(200);
  });

  it('does not retry a sealed answer', async () => {
    agent.get(ADDRESS).intercept({ path: '/v1/kv/data/x' }).reply(503, { errors: ['Vault is sealed'] });
    const response = await client.raw({ method: 'GET', path: 'kv/data/x', token: 't' });
    expect(response.status).toBe(503);
  });

  it('reads capabilities per path', async () => {
    agent
      .get(ADDRESS)
      .intercept({ path: '/v1/sys/capabilities-self', method: 'POST' })
      .reply(200, { 'kv/data/a': ['read'], 'kv/data/b': ['deny'], data: { 'kv/data/a': ['read'], 'kv/data/b': ['deny'] } });
    expect(await capabilitiesSelf(client, 't', ['kv/data/a', 'kv/data/b'])).toEqual({ 'kv/data/a': ['read'], 'kv/data/b': ['deny'] });
  });
});

describe('flattenMultierror', () => {
  it('flattens go-multierror text', () => {
    expect(flattenMultierror('1 error occurred:\n\t* permission denied\n\n')).toBe('permission denied');
  });

  it('keeps a plain message', () => {
    expect(flattenMultierror('permission denied')).toBe('permission denied');
  });
});
