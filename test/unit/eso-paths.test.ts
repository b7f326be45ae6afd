import { describe, expect, it } from 'vitest';

import { buildDataPath, buildFindListPath, buildMetadataPath, cleanPath, readQuery, type KvVersion } from '../../src/eso/paths.js';

// The request paths ESO builds (providers/v1/vault/client_get.go, buildPath and buildMetadataPath).
const dataRows: [string | undefined, KvVersion, string, string][] = [
  ['kv', 'v2', 'argo/x', 'kv/data/argo/x'],
  ['kv', 'v2', 'kv/argo/x', 'kv/data/argo/x'],
  ['kv', 'v2', 'kv/data/argo/x', 'kv/data/argo/x'],
  ['kv/argo', 'v2', 'x', 'kv/argo/data/x'],
  ['kv/argo', 'v2', 'argo/x', 'kv/argo/data/argo/x'],
  ['kv/argo', 'v2', 'kv/argo/x', 'kv/argo/data/x'],
  ['kv/argo', 'v2', 'kv/data/argo/x', 'kv/argo/data/kv/data/argo/x'],
  ['secret', 'v2', '/dev/config', 'secret/data/dev/config'],
  ['secret/data', 'v2', 'x', 'secret/data/data/x'],
  ['kv/', 'v2', 'kv/argo/x', 'kv/data/kv/argo/x'],
  ['', 'v2', 'argo/x', 'data/argo/x'],
  [undefined, 'v2', 'argo/x', 'argo/data/x'],
  [undefined, 'v2', 'kv/argo/x', 'kv/data/argo/x'],
  [undefined, 'v2', 'kv/data/argo/x', 'kv/data/argo/x'],
  [undefined, 'v2', 'x', 'x/data'],
  [undefined, 'v2', '/dev/config', 'data/dev/config'],
  [undefined, 'v2', 'kv/app/data/x', 'kv/app/data/x'],
  ['kv', 'v1', 'argo/x', 'kv/argo/x'],
  ['kv', 'v1', 'kv/argo/x', 'kv/argo/x'],
  ['kv', 'v1', 'kv/data/argo/x', 'kv/data/argo/x'],
  [undefined, 'v1', 'a/b', 'a/b'],
];

const metadataRows: [string | undefined, KvVersion, string, string | { error: string }][] = [
  ['kv', 'v2', 'argo/x', 'kv/metadata/argo/x'],
  ['kv', 'v2', 'kv/argo/x', 'kv/metadata/kv/argo/x'],
  ['kv', 'v2', 'kv/data/argo/x', 'kv/metadata/kv/data/argo/x'],
  ['kv/argo', 'v2', 'x', 'kv/argo/metadata/x'],
  ['secret', 'v2', '/dev/config', 'secret/metadata/dev/config'],
  ['', 'v2', 'argo/x', 'metadata/argo/x'],
  [undefined, 'v2', 'argo/x', { error: "provided Path isn't a valid kv v2 path" }],
  [undefined, 'v2', 'kv/data/argo/x', 'kv/metadata/argo/x'],
  [undefined, 'v2', 'kv/app/data/x', 'kv/app/metadata/x'],
  [undefined, 'v2', 'kv/database/x', 'kv/database/x'],
  ['kv', 'v1', 'argo/x', { error: 'cannot perform metadata fetch operations with kv version v1' }],
];

describe('buildDataPath', () => {
  it.each(dataRows)('path %j %s key %j reads %s', (storePath, version, key, expected) => {
    expect(buildDataPath(storePath, version, key)).toBe(expected);
  });
});

describe('buildMetadataPath', () => {
  it.each(metadataRows)('path %j %s key %j gives %j', (storePath, version, key, expected) => {
    const built = buildMetadataPath(storePath, version, key);
    if (typeof expected === 'string') expect(built).toEqual({ path: expected });
    else expect(built).toEqual(expected);
  });
});

describe('buildFindListPath', () => {
  it('lists under the store path', () => {
    expect(buildFindListPath('kv', 'v2', 'app')).toEqual({ path: 'kv/metadata/app' });
  });

  it('rejects a v2 store without path or find.path', () => {
    expect(buildFindListPath(undefined, 'v2', undefined)).toEqual({ error: "provided Path isn't a valid kv v2 path" });
  });
});

describe('cleanPath', () => {
  it('collapses slashes and drops the trailing slash', () => {
    expect(cleanPath('kv//data/x/')).toBe('kv/data/x');
  });

  it('resolves dot segments', () => {
    expect(cleanPath('kv/data/../x/./y')).toBe('kv/x/y');
  });
});

describe('readQuery', () => {
  it('adds the version when set', () => {
    expect(readQuery('2')).toBe('?version=2');
  });

  it('adds nothing without a version', () => {
    expect(readQuery(undefined)).toBe('');
  });
});
