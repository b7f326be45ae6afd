import type { CheckContext } from '../context/context.js';
import type { ExternalSecretView, RemoteEntry, VaultStore } from '../eso/model.js';
import { buildDataPath, buildMetadataPath } from '../eso/paths.js';
import type { MountInfo } from '../eso/storepath.js';
import { storePathVerdict } from '../context/requests.js';
import type { Result } from '../report/types.js';
import { entryTarget, remoteRefYaml, ResultBuilder, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'remoteref.key',
  title: 'Remote keys avoid the path traps',
  description: 'Static traps in remoteRef.key: leading slash or single segment without store path, "data/" in the key, another mount in the key, mount prefix in metadata reads',
  group: 'remoteref',
  needs: [],
  modes: ['live', 'lint'],
  messages: {
    ok: 'Key "{key}" is read from {path}.',
    empty: 'remoteRef.key is empty.',
    'leading-slash-no-path': 'Key "{key}" starts with "/" and the store has no path: ESO reads {path}.',
    'single-segment-no-path': 'Key "{key}" has one segment and the store has no path: ESO takes it as the mount and reads {path}.',
    'data-in-key': 'Key "{key}" contains a "data" segment that ESO does not strip: it reads {path}.',
    'mount-in-key': 'Key "{key}" starts with mount "{mount}", but the store reads mount "{storeMount}": ESO reads {path}.',
    'metadata-mount-prefix': 'Key "{key}" keeps its mount prefix in the metadata read: ESO reads {path}.',
    'metadata-error': 'ESO cannot build the metadata path for key "{key}": {error}.',
  },
};


function checkEntry(store: VaultStore, es: ExternalSecretView, entry: RemoteEntry, mounts: MountInfo[] | undefined, pathNote: string, out: ResultBuilder): void {
  const key = entry.key;
  const path = buildDataPath(store.path, store.version, key);
  const target = entryTarget(store, es, entry, path);
  const segments = key.split('/').filter((segment) => segment !== '');
  if (key.trim() === '') {
    out.add('fail', 'empty', target, `remoteRef.key of ${entry.id} is empty; ESO reads ${path}.`, { fix: { summary: 'Set remoteRef.key to the secret path relative to the store path.', commands: [] } });
    return;
  }
  const storeMount = store.path?.replace(/\/+$/, '');
  if (store.path === undefined && key.startsWith('/')) {
    out.add('fail', 'leading-slash-no-path', target, `Key "${key}" starts with "/" and the store has no path, so ESO takes "" as the mount and reads ${path}.`, {
      fix: { summary: 'Remove the leading slash and name the mount first, or set the store path to the mount.', commands: [], yaml: remoteRefYaml(entry, key.replace(/^\/+/, ''), entry.property) },
    });
    return;
  }
  if (store.path === undefined && store.version === 'v2' && segments.length === 1) {
    out.add('fail', 'single-segment-no-path', target, `Key "${key}" has one segment and the store has no path, so ESO takes "${key}" as the mount and reads ${path}.`, {
      fix: { summary: 'Set the store path to the KV mount, or write the key as <mount>/<secret>.', commands: [] },
    });
    return;
  }
  if (store.path !== undefined && store.version === 'v2') {
    let rest = segments;
    if (storeMount && key.startsWith(`${storeMount}/`)) rest = key.slice(storeMount.length + 1).split('/').filter((segment) => segment !== '');
    const stripped = storeMount && key.startsWith(`${storeMount}/data/`);
    if (!stripped && rest.includes('data')) {
      const fixed = rest.filter((segment, index) => !(segment === 'data' && index === rest.indexOf('data'))).join('/');
      out.add(rest[0] === 'data' ? 'fail' : 'warn', 'data-in-key', target, `Key "${key}" contains a "data" segment that ESO does not strip (it strips only "${storeMount}/data/" at the start), so it reads ${path}${rest[0] === 'data' ? '' : '; this is right only if a folder is really named "data"'}.`, {
        fix: { summary: `Write the key without the KV v2 API segment: ${fixed}.`, commands: [], yaml: remoteRefYaml(entry, fixed, entry.property) },
      });
      return;
    }
    const other = mounts?.find((mount) => mount.path !== storeMount && key.startsWith(`${mount.path}/`));
    if (other && segments.length > 1) {
      out.add('fail', 'mount-in-key', target, `Key "${key}" starts with mount "${other.path}", but the store reads mount "${storeMount}", so ESO reads ${path}.`, {
        fix: { summary: `Read it through a store whose path is "${other.path}", with key "${key.slice(other.path.length + 1)}".`, commands: [] },
      });
      return;
    }
  }
  if (entry.metadataPolicy === 'Fetch') {
    const built = buildMetadataPath(store.path, store.version, key);
    if ('error' in built) {
      out.add('fail', 'metadata-error', target, `ESO cannot build the metadata path for key "${key}": ${built.error}.`, { fix: { summary: 'Set the store path to the KV v2 mount and make the key relative to it.', commands: [] } });
      return;
    }
    if (storeMount && key.startsWith(`${storeMount}/`)) {
      out.add('fail', 'metadata-mount-prefix', { ...target, path: built.path }, `Key "${key}" starts with the store mount; ESO strips it for data reads but not for metadataPolicy: Fetch, so it reads ${built.path}.`, {
        fix: { summary: `Write the key relative to the store path: ${key.slice(storeMount.length + 1)}.`, commands: [], yaml: remoteRefYaml(entry, key.slice(storeMount.length + 1), entry.property) },
      });
      return;
    }
  }
  out.add('pass', 'ok', target, `Key "${key}" is read from ${path}${pathNote}.`);
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      let mounts: MountInfo[] | undefined;
      if (context.hasOperatorToken) {
        const table = await context.secretsMounts(store);
        if (table.ok) mounts = table.value;
      }
      const { verdict } = await storePathVerdict(context, store);
      const pathNote = verdict.kind === 'folder' || verdict.kind === 'api-segment' ? ', a wrong path because the store path is not exactly the KV mount (see store.config)' : '';
      for (const { es, entries } of context.consumers(store)) {
        for (const entry of entries) {
          if (entry.kind !== 'find') checkEntry(store, es, entry, mounts, pathNote, out);
        }
      }
    }
    return out.results;
  },
};
