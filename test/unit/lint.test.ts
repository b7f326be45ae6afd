import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lint } from '../../src/lint.js';
import type { Report, Result } from '../../src/report/types.js';

const examples = new URL('../../examples/', import.meta.url).pathname;

function failures(report: Report): Result[] {
  return report.results.filter((result) => result.status === 'fail' || result.status === 'warn');
}

function find(report: Report, check: string, messageId: string): Result | undefined {
  return report.results.find((result) => result.check === check && result.messageId === messageId);
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lint-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('lint on the examples', () => {
  it('finds nothing in the fixed example', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack')] });
    expect(report.errors).toEqual([]);
    expect(failures(report)).toEqual([]);
    expect(report.summary.pass).toBeGreaterThan(5);
  });

  it('finds every offline fault in the broken example', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    expect(report.errors).toEqual([]);
    const missing = find(report, 'serviceaccount.exists', 'missing-referent');
    expect(missing?.fix?.yaml).toContain('namespace: external-secrets-system');
    const binding = find(report, 'auth.binding', 'namespace-not-bound');
    expect(binding?.fix?.commands[0]).toContain('bound_service_account_namespaces=external-secrets-system');
    const policy = find(report, 'policy.read', 'denied-kv2-data');
    expect(policy?.fix?.hcl).toContain('path "kv/data/argo/*"');
    const folder = find(report, 'store.config', 'path-folder');
    expect(folder?.fix?.yaml).toContain('path: kv\n');
  });

  it('gives every finding a file, line and column', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    for (const result of failures(report)) {
      expect(result.target.location, `${result.check} ${result.messageId}`).toMatch(/external-secrets\.yaml:\d+:\d+$/);
    }
  });

  it('points the folder finding at the path field', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    expect(find(report, 'store.config', 'path-folder')?.target.location).toMatch(/external-secrets\.yaml:38:13$/);
  });
});

describe('lint inputs', () => {
  it('reads stdin', async () => {
    const text = 'apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    vault:\n      server: http://v:8200\n      path: secret/data\n      auth: {kubernetes: {role: r, serviceAccountRef: {name: a, namespace: b}}}\n';
    const report = await lint({ paths: ['-'], stdin: async () => text });
    const segment = find(report, 'store.config', 'path-api-segment');
    expect(segment?.target.location).toBe('<stdin>:8:13');
  });

  it('unpacks List objects', async () => {
    const path = tempFile('list.yaml', 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: external-secrets.io/v1\n  kind: ClusterSecretStore\n  metadata: {name: s}\n  spec: {provider: {vault: {server: "http://v", path: "", auth: {kubernetes: {role: r, serviceAccountRef: {name: a, namespace: b}}}}}}\n');
    const report = await lint({ paths: [path] });
    expect(find(report, 'store.config', 'path-empty')).toBeDefined();
  });

  it('reports broken YAML with its position', async () => {
    const path = tempFile('broken.yaml', 'apiVersion: v1\nkind: [unclosed\n');
    const report = await lint({ paths: [path] });
    expect(report.errors[0]?.message).toMatch(/broken\.yaml:\d+:\d+: invalid YAML/);
  });

  it('reports a policy syntax error with its position', async () => {
    const path = tempFile('bad.hcl', 'path "kv/data/*" {\n  capabilities = ["read", "fly"]\n}\n');
    const report = await lint({ paths: [path] });
    const invalid = find(report, 'policy.syntax', 'invalid');
    expect(invalid?.status).toBe('fail');
    expect(invalid?.target.location).toMatch(/bad\.hcl:\d+:\d+$/);
    expect(invalid?.message).toContain('fly');
  });

  it('warns about v1beta1 manifests', async () => {
    const path = tempFile('old.yaml', 'apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: e, namespace: n}\nspec: {data: []}\n');
    const report = await lint({ paths: [path] });
    expect(find(report, 'crd.versions', 'manifest-v1beta1')?.target.location).toMatch(/old\.yaml:1:1$/);
  });

  it('rejects an invalid mount table', async () => {
    const report = await lint({ paths: [examples], mounts: 'kv' });
    expect(report.errors[0]?.message).toContain('invalid --mounts entry "kv"');
  });

  it('reports a missing path', async () => {
    const report = await lint({ paths: ['/nonexistent/manifests'] });
    expect(report.errors[0]?.message).toContain('ENOENT');
  });

  it('uses --mounts for the mount table', async () => {
    const path = tempFile('store.yaml', 'apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    vault: {server: "http://v", path: gitops/testing, version: v2, auth: {kubernetes: {role: r, serviceAccountRef: {name: a, namespace: b}}}}\n');
    const report = await lint({ paths: [path], mounts: 'gitops=2' });
    expect(find(report, 'store.config', 'path-folder')?.message).toContain('mount "gitops" plus folder "testing"');
  });
});
