// A kubeconfig for the test API server whose only credential is one service account's token, for
// tests that run the tool with fewer permissions than the harness admin.
import { Buffer } from 'node:buffer';
import { writeFile } from 'node:fs/promises';

/**
 * Write a kubeconfig that authenticates as a service account with a bearer token from a
 * TokenRequest (valid for one hour), and return `path`.
 * @param {{ kube: { requestToken(namespace: string, name: string, options: { expirationSeconds: number }): Promise<string> }, kubeServer: string, caPem: string }} servers
 * @param {{ namespace: string, name: string }} account
 * @param {string} path
 */
export async function writeServiceAccountKubeconfig(servers, account, path) {
  const token = await servers.kube.requestToken(account.namespace, account.name, { expirationSeconds: 3_600 });
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: e2e',
    '  cluster:',
    `    server: ${servers.kubeServer}`,
    `    certificate-authority-data: ${Buffer.from(servers.caPem).toString('base64')}`,
    'users:',
    `- name: ${account.name}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: e2e-restricted',
    '  context:',
    '    cluster: e2e',
    `    user: ${account.name}`,
    'current-context: e2e-restricted',
    '',
  ].join('\n');
  await writeFile(path, text, { mode: 0o600 });
  return path;
}
