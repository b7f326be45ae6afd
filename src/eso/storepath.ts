// Classification of a store's `path` against Vault's mount table. ESO treats `path` as the KV mount and, for
// v2, inserts `data/` right after it, so any folder in `path` or an API-style `…/data` ends up in
// the wrong place.

import type { VaultStore } from './model.js';

export interface MountInfo {
  path: string;
  type: string;
  kvVersion?: 1 | 2;
}

export type StorePathVerdict =
  | { kind: 'ok'; mount: MountInfo }
  | { kind: 'folder'; mount: MountInfo; folder: string }
  | { kind: 'api-segment'; mount: MountInfo; folder: string }
  | { kind: 'trailing-slash'; mount?: MountInfo }
  | { kind: 'empty' }
  | { kind: 'omitted' }
  | { kind: 'no-mount' }
  | { kind: 'not-kv'; mount: MountInfo }
  | { kind: 'unknown' };

/** Find the mount that contains a path: the longest mount whose segments prefix the path's segments. */
export function mountOf(path: string, mounts: MountInfo[]): MountInfo | undefined {
  const segments = path.split('/').filter((segment) => segment !== '');
  let best: MountInfo | undefined;
  for (const mount of mounts) {
    const mountSegments = mount.path.split('/').filter((segment) => segment !== '');
    if (mountSegments.length === 0 || mountSegments.length > segments.length) continue;
    if (mountSegments.every((segment, index) => segments[index] === segment)) {
      if (!best || mountSegments.length > best.path.split('/').length) best = mount;
    }
  }
  return best;
}

/** Classify a store's `path` against the mount table; `mounts` undefined means it is unknown. */
export function classifyStorePath(store: VaultStore, mounts: MountInfo[] | undefined): StorePathVerdict {
  const path = store.path;
  if (path === undefined) return { kind: 'omitted' };
  if (path === '') return { kind: 'empty' };
  if (path.endsWith('/')) {
    return { kind: 'trailing-slash', mount: mounts ? mountOf(path, mounts) : undefined };
  }
  if (!mounts) {
    const segments = path.split('/');
    if (store.version === 'v2' && (segments.includes('data') || segments.includes('metadata')) && segments.length > 1) {
      const index = segments.findIndex((segment) => segment === 'data' || segment === 'metadata');
      if (index > 0) {
        const mount = segments.slice(0, index).join('/');
        return { kind: 'api-segment', mount: { path: mount, type: 'kv', kvVersion: 2 }, folder: segments.slice(index).join('/') };
      }
    }
    return { kind: 'unknown' };
  }
  const mount = mountOf(path, mounts);
  if (!mount) return { kind: 'no-mount' };
  if (mount.type !== 'kv' && mount.type !== 'generic') return { kind: 'not-kv', mount };
  if (mount.path === path) return { kind: 'ok', mount };
  const folder = path.slice(mount.path.length + 1);
  const first = folder.split('/')[0];
  if (mount.kvVersion === 2 && (first === 'data' || first === 'metadata')) return { kind: 'api-segment', mount, folder };
  return { kind: 'folder', mount, folder };
}

/**
 * The key to use after moving a store's folder into the keys: `workflows/x` under folder `argo`
 * becomes `argo/workflows/x`. An API segment (`data/…`) is dropped from the folder.
 */
export function keyAfterFolderFix(verdict: StorePathVerdict, key: string): string | undefined {
  if (verdict.kind !== 'folder' && verdict.kind !== 'api-segment') return undefined;
  let folder = verdict.folder;
  if (verdict.kind === 'api-segment') folder = folder.split('/').slice(1).join('/');
  return folder === '' ? key : `${folder}/${key.replace(/^\/+/, '')}`;
}
