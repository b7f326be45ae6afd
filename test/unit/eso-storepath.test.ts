import { describe, expect, it } from 'vitest';

import { parseVaultStore } from '../../src/eso/model.js';
import { classifyStorePath, keyAfterFolderFix, mountOf, type MountInfo } from '../../src/eso/storepath.js';

const mounts: MountInfo[] = [
  { path: 'kv', type: 'kv', kvVersion: 2 },
  { path: 'team/kv', type: 'kv', kvVersion: 2 },
  { path: 'old', type: 'kv', kvVersion: 1 },
  { path: 'database', type: 'database' },
];

function store(path: string | undefined, version = 'v2') {
  const vault: Record<string, unknown> = { server: 'http://v:8200', version };
  if (path !== undefined) vault.path = path;
  return parseVaultStore({ kind: 'ClusterSecretStore', metadata: { name: 's' }, spec: { provider: { vault } } });
}

describe('mountOf', () => {
  it('picks the longest mount', () => {
    expect(mountOf('team/kv/app', mounts)?.path).toBe('team/kv');
  });

  it('matches whole segments only', () => {
    expect(mountOf('kvx/app', mounts)).toBeUndefined();
  });
});

describe('classifyStorePath', () => {
  it('accepts an exact mount', () => {
    expect(classifyStorePath(store('kv'), mounts)).toMatchObject({ kind: 'ok' });
  });

  it('finds a folder after the mount', () => {
    expect(classifyStorePath(store('kv/argo'), mounts)).toMatchObject({ kind: 'folder', folder: 'argo' });
  });

  it('finds an API segment', () => {
    expect(classifyStorePath(store('kv/data/k8s/a'), mounts)).toMatchObject({ kind: 'api-segment', folder: 'data/k8s/a' });
  });

  it('flags a trailing slash', () => {
    expect(classifyStorePath(store('kv/'), mounts)).toMatchObject({ kind: 'trailing-slash' });
  });

  it('tells empty from omitted', () => {
    expect(classifyStorePath(store(''), mounts).kind).toBe('empty');
    expect(classifyStorePath(store(undefined), mounts).kind).toBe('omitted');
  });

  it('flags a non-KV mount', () => {
    expect(classifyStorePath(store('database'), mounts)).toMatchObject({ kind: 'not-kv' });
  });

  it('reports a path outside every mount', () => {
    expect(classifyStorePath(store('nothing/here'), mounts).kind).toBe('no-mount');
  });

  it('spots an API segment without the mount table', () => {
    expect(classifyStorePath(store('secret/data/k8s'), undefined)).toMatchObject({ kind: 'api-segment', folder: 'data/k8s' });
  });

  it('is unknown for a plain path without the mount table', () => {
    expect(classifyStorePath(store('kv/argo'), undefined).kind).toBe('unknown');
  });
});

describe('keyAfterFolderFix', () => {
  it('prefixes keys with the folder', () => {
    const verdict = classifyStorePath(store('kv/argo'), mounts);
    expect(keyAfterFolderFix(verdict, 'workflows/artifacts')).toBe('argo/workflows/artifacts');
  });

  it('drops the API segment', () => {
    const verdict = classifyStorePath(store('secret/data/k8s/cluster-a'), [{ path: 'secret', type: 'kv', kvVersion: 2 }]);
    expect(keyAfterFolderFix(verdict, 'ns-a/app')).toBe('k8s/cluster-a/ns-a/app');
  });
});
