// The Kubernetes client's transport against a small loopback fake of the API server. The fake
// serves only the paths these tests request. The e2e suites run the client against the real
// kube-apiserver.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { KubeClient, KubeError } from '../../src/kube/client.js';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
  socket: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server | undefined;
let client: KubeClient | undefined;

afterEach(async () => {
  await client?.close(true);
  client = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function fakeApiServer(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const sockets = new Map<object, number>();
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body, socket: sockets.get(req.socket)! });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen };
}

function kubeconfigFor(url: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vault-selfcheck-kube-')), 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      // client-node sends credentials over plain HTTP only with insecure-skip-tls-verify.
      `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: tester\n  user:\n    token: fake-bearer',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: tester',
      'current-context: fake',
      '',
    ].join('\n'),
  );
  return file;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('KubeClient transport', () => {
  it('sends bearer token, reuses connections', async () => {
    const fake = await fakeApiServer((req, res) => json(res, 200, { kind: 'ServiceAccount', metadata: { name: 'eso' } }));
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    for (let i = 0; i < 5; i += 1) expect(await client.serviceAccountExists('team-a', 'eso')).toBe(true);
    expect(fake.seen.map((request) => request.url)).toEqual(Array(5).fill('/api/v1/namespaces/team-a/serviceaccounts/eso'));
    expect(new Set(fake.seen.map((request) => request.authorization))).toEqual(new Set(['Bearer fake-bearer']));
    // undici's pool may open a second connection, but never one per request.
    expect(new Set(fake.seen.map((request) => request.socket)).size).toBeLessThanOrEqual(2);
  });

  it('posts TokenRequest with audiences', async () => {
    const fake = await fakeApiServer((req, res, body) => json(res, 201, { status: { token: `jwt-for-${JSON.parse(body).spec.audiences.join(',')}` } }));
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    expect(await client.createServiceAccountToken('team-a', 'eso', ['vault'], 600)).toBe('jwt-for-vault');
    expect(fake.seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/namespaces/team-a/serviceaccounts/eso/token' });
    expect(JSON.parse(fake.seen[0]!.body)).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600, audiences: ['vault'] } });
  });

  it('encodes names as path segments', async () => {
    const fake = await fakeApiServer((req, res) => json(res, 404, { kind: 'Status', message: 'not found' }));
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    expect(await client.serviceAccountExists('team-a', '../secrets/x')).toBe(false);
    expect(fake.seen[0]!.url).toBe('/api/v1/namespaces/team-a/serviceaccounts/..%2Fsecrets%2Fx');
  });

  it.each([
    [403, { kind: 'Status', message: 'serviceaccounts "eso" is forbidden: User "dev" cannot get resource "serviceaccounts"' }, 'forbidden', 'get serviceaccount team-a/eso: forbidden: serviceaccounts "eso" is forbidden'],
    [401, { kind: 'Status', message: 'Unauthorized' }, 'unauthorized', 'refresh the kubeconfig credentials'],
    [500, { kind: 'Status', message: 'etcdserver: request timed out' }, 'http', 'HTTP 500: etcdserver: request timed out'],
  ])('classifies HTTP %i', async (status, body, kind, message) => {
    const fake = await fakeApiServer((req, res) => json(res, status, body));
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    const error = await client.serviceAccountExists('team-a', 'eso').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubeError);
    expect(error).toMatchObject({ kind, status });
    expect((error as Error).message).toContain(message);
  });

  it('retries a 429', async () => {
    let calls = 0;
    const fake = await fakeApiServer((req, res) => {
      calls += 1;
      if (calls === 1) json(res, 429, { kind: 'Status', message: 'storage is (re)initializing' });
      else json(res, 200, { groups: [{ name: 'external-secrets.io', preferredVersion: { version: 'v1' }, versions: [{ version: 'v1beta1' }, { version: 'v1' }] }] });
    });
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    expect(await client.esoVersions()).toEqual(['v1', 'v1beta1']);
    expect(fake.seen).toHaveLength(2);
  });

  it('names server and timeout', async () => {
    const fake = await fakeApiServer(() => {});
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 200 });
    await expect(client.listClusterObjects('v1', 'clustersecretstores')).rejects.toMatchObject({
      kind: 'timeout',
      message: `list clustersecretstores.external-secrets.io/v1: the request to ${fake.url} timed out after 200 ms`,
    });
  });

  it('reports a non-JSON response', async () => {
    const fake = await fakeApiServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    });
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    await expect(client.listClusterObjects('v1', 'clustersecretstores')).rejects.toMatchObject({ kind: 'http', message: expect.stringContaining('not JSON') });
  });

  it('lists per namespace and cluster-wide', async () => {
    const fake = await fakeApiServer((req, res) => json(res, 200, { items: [{ metadata: { name: 'es', namespace: 'x' } }] }));
    client = await KubeClient.connect({ kubeconfig: kubeconfigFor(fake.url), timeoutMs: 2000 });
    expect((await client.listNamespacedObjects('v1', 'externalsecrets', ['a', 'b'])).items).toHaveLength(2);
    expect((await client.listNamespacedObjects('v1', 'externalsecrets', [])).items).toHaveLength(1);
    expect(fake.seen.map((request) => request.url)).toEqual([
      '/apis/external-secrets.io/v1/namespaces/a/externalsecrets',
      '/apis/external-secrets.io/v1/namespaces/b/externalsecrets',
      '/apis/external-secrets.io/v1/externalsecrets',
    ]);
  });

  it('rejects plain HTTP without skip-verify', async () => {
    const file = kubeconfigFor('http://127.0.0.1:1');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    insecure-skip-tls-verify: true\n', ''));
    await expect(KubeClient.connect({ kubeconfig: file, timeoutMs: 2000 })).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('use the https:// address') });
  });

  it('rejects a non-HTTP server URL', async () => {
    await expect(KubeClient.connect({ kubeconfig: kubeconfigFor('ftp://127.0.0.1:1'), timeoutMs: 2000 })).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('must start with https:// or http://') });
  });
});
