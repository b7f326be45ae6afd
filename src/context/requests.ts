// The requests ESO makes for each remote reference of a store, computed once so that policy.read
// and secret.read agree on the exact paths.

import type { LoginIdentity } from '../eso/identity.js';
import type { ExternalSecretView, RemoteEntry, VaultStore } from '../eso/model.js';
import { buildDataPath, buildFindListPath, buildMetadataPath, readQuery } from '../eso/paths.js';
import { classifyStorePath, keyAfterFolderFix, type MountInfo, type StorePathVerdict } from '../eso/storepath.js';
import type { CheckContext } from './context.js';

export interface PlannedRequest {
  store: VaultStore;
  es: ExternalSecretView;
  entry: RemoteEntry;
  identity?: LoginIdentity;
  /** API path without /v1/ and without query; undefined when ESO fails before sending. */
  path?: string;
  query: string;
  /** ESO's own error when it cannot build a path. */
  buildError?: string;
  capability: 'read' | 'list';
  /** The path after the store path fix, when store.config finds a folder in `path`. */
  correctedPath?: string;
  /** The KV mount of the path, when known. */
  mount?: string;
}

/** Classify a store's path, with the mount table when an operator token can read it. */
export async function storePathVerdict(context: CheckContext, store: VaultStore): Promise<{ verdict: StorePathVerdict; mounts?: MountInfo[] }> {
  let mounts: MountInfo[] | undefined;
  if (context.hasOperatorToken && store.path) {
    const table = await context.secretsMounts(store);
    if (table.ok) mounts = table.value;
  }
  return { verdict: classifyStorePath(store, mounts), mounts };
}

const plans = new WeakMap<CheckContext, Map<VaultStore, Promise<PlannedRequest[]>>>();

/** Plan a store's requests once per run; policy.read and secret.read share the plan. */
export function planRequests(context: CheckContext, store: VaultStore): Promise<PlannedRequest[]> {
  let byStore = plans.get(context);
  if (!byStore) {
    byStore = new Map();
    plans.set(context, byStore);
  }
  let plan = byStore.get(store);
  if (!plan) {
    plan = buildPlan(context, store);
    byStore.set(store, plan);
  }
  return plan;
}

async function buildPlan(context: CheckContext, store: VaultStore): Promise<PlannedRequest[]> {
  const { verdict } = await storePathVerdict(context, store);
  const out: PlannedRequest[] = [];
  for (const { es, entries } of context.consumers(store)) {
    const identity = context.identityFor(store, es);
    for (const entry of entries) {
      const request: PlannedRequest = { store, es, entry, identity, query: '', capability: 'read' };
      if (entry.kind === 'find') {
        const built = buildFindListPath(store.path, store.version, entry.findPath);
        request.capability = 'list';
        request.query = '?list=true';
        if ('error' in built) request.buildError = built.error;
        // Vault's router adds the trailing slash to every LIST before the ACL check, so the
        // capability that counts is the one on "<path>/".
        else request.path = `${built.path}/`;
      } else if (entry.metadataPolicy === 'Fetch') {
        const built = buildMetadataPath(store.path, store.version, entry.key);
        if ('error' in built) request.buildError = built.error;
        else request.path = built.path;
      } else {
        request.path = buildDataPath(store.path, store.version, entry.key);
        request.query = readQuery(entry.version);
        const fixedKey = keyAfterFolderFix(verdict, entry.key);
        if (fixedKey !== undefined && (verdict.kind === 'folder' || verdict.kind === 'api-segment')) {
          request.correctedPath = buildDataPath(verdict.mount.path, store.version, fixedKey);
          request.mount = verdict.mount.path;
        }
      }
      if (!request.mount) {
        if (verdict.kind === 'ok') request.mount = verdict.mount.path;
        else if (store.path === undefined && request.path) request.mount = request.path.split('/')[0];
        else if (store.path) request.mount = store.path.replace(/\/+$/, '');
      }
      out.push(request);
    }
  }
  return out;
}
