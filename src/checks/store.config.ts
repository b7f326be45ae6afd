import type { CheckContext } from '../context/context.js';
import type { VaultStore } from '../eso/model.js';
import { buildDataPath } from '../eso/paths.js';
import { classifyStorePath, keyAfterFolderFix, type MountInfo, type StorePathVerdict } from '../eso/storepath.js';
import type { Result } from '../report/types.js';
import { VaultError } from '../vault/client.js';
import { kubectlStore, ResultBuilder, storeLabel, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'store.config',
  title: 'Store path, KV version and service account reference',
  description: 'The store path is exactly a KV mount, its version matches the mount, and serviceAccountRef obeys the namespace rules',
  group: 'store',
  needs: [],
  modes: ['live', 'lint'],
  messages: {
    'path-ok': 'path "{path}" is the KV v{n} mount "{mount}".',
    'path-folder': 'path "{path}" is mount "{mount}" plus folder "{folder}"; ESO would read {example}.',
    'path-api-segment': 'path "{path}" contains the KV v2 API segment "data"; ESO adds it itself.',
    'path-trailing-slash': 'path "{path}" ends with "/", which stops ESO from stripping the mount from keys.',
    'path-empty': 'path is "", which ESO does not treat as omitted: it reads /v1/data/<key>.',
    'path-omitted': 'path is omitted: ESO takes the first segment of each key as the mount.',
    'path-no-mount': 'path "{path}" is not inside any secrets mount of this Vault.',
    'path-not-kv': 'path "{path}" is in mount "{mount}" of type {type}, not a KV mount.',
    'path-unverified': 'path "{path}" could not be compared with the mount table: {reason}.',
    'path-multi-segment': 'path "{path}" has several segments and the mount table is unknown; it must be exactly the mount.',
    'version-mismatch': 'version {version} does not match the KV v{n} mount "{mount}".',
    'version-invalid': 'version "{version}" is neither v1 nor v2.',
    'sa-namespace-ignored': 'serviceAccountRef.namespace "{ns}" on a SecretStore in "{storeNs}" is rejected by the ESO webhook and ignored at runtime.',
    'sa-referent': 'serviceAccountRef has no namespace, so ESO uses each ExternalSecret\'s namespace ({namespaces}).',
    'sa-ok': 'serviceAccountRef {ns}/{name} follows the namespace rules.',
    'auth-not-kubernetes': 'auth method {method} is not checked by this tool.',
    'auth-no-sa-ref': 'auth.kubernetes has no serviceAccountRef or secretRef: ESO logs in with its own pod token.',
    'auth-secret-ref': 'auth.kubernetes.secretRef is not checked yet.',
    'server-missing': 'spec.provider.vault.server is empty.',
    'no-consumers': 'No ExternalSecret in the checked namespaces uses this store.',
  },
};

async function mountTable(context: CheckContext, store: VaultStore): Promise<{ mounts?: MountInfo[]; reason?: string; source?: string }> {
  if (context.mode === 'lint') {
    const mounts = await context.secretsMounts(store);
    if (mounts.ok) return { mounts: mounts.value, source: 'the mount table given to lint' };
    return { reason: 'no mount table was given (--mounts, or the JSON of vault secrets list -format=json)' };
  }
  if (context.hasOperatorToken) {
    const mounts = await context.secretsMounts(store);
    if (mounts.ok) return { mounts: mounts.value, source: 'sys/mounts' };
    return { reason: `reading sys/mounts with the operator token failed: ${mounts.error.message}` };
  }
  // Without an operator token, a login token can still locate the mount of the store path.
  const identity = context.identities(store)[0];
  if (!identity || !store.path) return { reason: 'no operator token (VAULT_TOKEN) and no login to ask with' };
  const login = await context.login(store, identity);
  if (!login.ok) return { reason: 'no operator token (VAULT_TOKEN), and the store login failed' };
  const mount = await context.mountOfPathAs(store, identity, store.path);
  if (mount.ok) return { mounts: [mount.value], source: 'sys/internal/ui/mounts with the login token' };
  const status = mount.error instanceof VaultError ? mount.error.status : undefined;
  return { reason: `no operator token, and the login token may not look up the mount of "${store.path}"${status ? ` (HTTP ${status})` : ''}` };
}

function exampleKey(context: CheckContext, store: VaultStore): string {
  for (const consumer of context.consumers(store)) {
    const entry = consumer.entries.find((candidate) => (candidate.kind !== 'find' && candidate.key !== '') || candidate.findPath);
    if (entry) return entry.kind === 'find' ? entry.findPath! : entry.key;
  }
  return 'app/config';
}

function pathFix(store: VaultStore, verdict: StorePathVerdict, keys: string[]): { summary: string; yaml: string; commands: string[] } | undefined {
  if (verdict.kind !== 'folder' && verdict.kind !== 'api-segment') return undefined;
  const mount = verdict.mount.path;
  const moved = keys.map((key) => `${key} -> ${keyAfterFolderFix(verdict, key)}`);
  const prefix = keyAfterFolderFix(verdict, '') ?? '';
  return {
    summary: `Set path: ${mount}${prefix ? ` and prefix every remoteRef.key of this store with "${prefix}"` : ''}${moved.length ? ` (${moved.join(', ')})` : ''}. The alternative is one store per folder, each with path: ${mount}.`,
    yaml: `spec:\n  provider:\n    vault:\n      path: ${mount}\n      version: ${store.version}\n`,
    commands: [`kubectl edit ${kubectlStore(store)}`],
  };
}

async function checkPath(context: CheckContext, store: VaultStore, out: ResultBuilder): Promise<void> {
  const target = storeTarget(store, ['spec', 'provider', 'vault', store.path === undefined ? 'server' : 'path']);
  if (store.versionRaw !== undefined && store.versionRaw !== 'v1' && store.versionRaw !== 'v2') {
    out.add('fail', 'version-invalid', target, `version "${store.versionRaw}" is neither v1 nor v2; ESO accepts only those two.`, {
      fix: { summary: 'Set version: v2 for a KV v2 mount or v1 for a KV v1 mount.', commands: [], yaml: 'spec:\n  provider:\n    vault:\n      version: v2\n' },
    });
  }
  const table = store.path === undefined || store.path === '' ? {} : await mountTable(context, store);
  const verdict = classifyStorePath(store, table.mounts);
  const key = exampleKey(context, store);
  const keys = [...new Set(context.consumers(store).flatMap((consumer) => consumer.entries.filter((entry) => entry.kind !== 'find').map((entry) => entry.key)))].slice(0, 5);
  const details: Record<string, unknown> = { path: store.path ?? null, version: store.version, mountSource: table.source };
  switch (verdict.kind) {
    case 'ok': {
      const kvVersion = verdict.mount.kvVersion ?? 1;
      if (`v${kvVersion}` !== store.version) {
        const wrong = store.version === 'v1'
          ? `ESO reads ${buildDataPath(store.path, 'v1', key)}, which on a KV v2 mount answers 404 with only a warning, so ESO reports "Secret does not exist"`
          : `ESO reads ${buildDataPath(store.path, 'v2', key)}, a key literally named "data/..." on a KV v1 mount, so ESO reports "Secret does not exist"`;
        out.add('fail', 'version-mismatch', target, `version ${store.version} does not match mount "${verdict.mount.path}", which is KV v${kvVersion}: ${wrong}.`, {
          details: { ...details, mount: verdict.mount.path, kvVersion },
          fix: { summary: `Set version: v${kvVersion}.`, commands: [`kubectl edit ${kubectlStore(store)}`], yaml: `spec:\n  provider:\n    vault:\n      version: v${kvVersion}\n` },
        });
      } else {
        out.add('pass', 'path-ok', target, `path "${store.path}" is the KV v${kvVersion} mount "${verdict.mount.path}".`, { details: { ...details, mount: verdict.mount.path, kvVersion } });
      }
      return;
    }
    case 'folder':
    case 'api-segment': {
      const wrongPath = buildDataPath(store.path, store.version, key);
      const fixedKey = keyAfterFolderFix(verdict, key) ?? key;
      const rightPath = buildDataPath(verdict.mount.path, store.version, fixedKey);
      const fix = pathFix(store, verdict, keys);
      const message =
        verdict.kind === 'folder'
          ? `path "${store.path}" is mount "${verdict.mount.path}" plus folder "${verdict.folder}". ESO inserts "data/" after the whole path, so key "${key}" is read from ${wrongPath} instead of ${rightPath}.`
          : `path "${store.path}" contains the KV v2 API segment "${verdict.folder.split('/')[0]}" after mount "${verdict.mount.path}". ESO adds "data/" itself, so key "${key}" is read from ${wrongPath} instead of ${rightPath}.`;
      out.add('fail', verdict.kind === 'folder' ? 'path-folder' : 'path-api-segment', target, message, {
        details: { ...details, mount: verdict.mount.path, folder: verdict.folder, requested: wrongPath, expected: rightPath },
        cause: 'ESO treats spec.provider.vault.path as the KV mount; it cannot tell where a mount ends because mount names may contain slashes.',
        fix,
      });
      return;
    }
    case 'trailing-slash': {
      const trimmed = store.path!.replace(/\/+$/, '');
      const prefixed = key.startsWith(`${trimmed}/`) ? key : `${trimmed}/${key}`;
      out.add('fail', 'path-trailing-slash', target, `path "${store.path}" ends with "/". ESO strips "${trimmed}/" from keys only when path has no trailing slash, so key "${prefixed}" is read from ${buildDataPath(store.path, store.version, prefixed)}.`, {
        details,
        fix: { summary: `Set path: ${trimmed}.`, commands: [`kubectl edit ${kubectlStore(store)}`], yaml: `spec:\n  provider:\n    vault:\n      path: ${trimmed}\n` },
      });
      return;
    }
    case 'empty':
      out.add('fail', 'path-empty', target, `path is "" (set but empty), which ESO does not treat as omitted: key "${key}" is read from ${buildDataPath('', store.version, key)}.`, {
        details,
        fix: { summary: 'Set path to the KV mount (for example path: secret), or remove the field.', commands: [`kubectl edit ${kubectlStore(store)}`], yaml: 'spec:\n  provider:\n    vault:\n      path: secret\n' },
      });
      return;
    case 'omitted': {
      const mount = key.replace(/^\/+/, '').split('/')[0] || 'secret';
      const relative = key.replace(/^\/+/, '').split('/').slice(1).filter((segment, index) => !(index === 0 && segment === 'data')).join('/');
      out.add('warn', 'path-omitted', target, `path is omitted, so ESO takes the first segment of each key as the mount${store.version === 'v2' ? ' and inserts "data/" after it unless the key already contains "/data/"' : ''}: key "${key}" is read from ${buildDataPath(undefined, store.version, key)}.`, {
        details,
        fix: {
          summary: `Set path: ${mount} (the KV mount) and make keys and find.path relative to it${relative ? `, for example "${relative}"` : ''}; this also makes dataFrom.find and metadata reads work.`,
          commands: [`kubectl edit ${kubectlStore(store)}`],
          yaml: `spec:\n  provider:\n    vault:\n      path: ${mount}\n`,
        },
      });
      return;
    }
    case 'no-mount':
      out.add('fail', 'path-no-mount', target, `path "${store.path}" is not inside any secrets mount of this Vault (${table.source}).`, {
        details: { ...details, mounts: table.mounts?.map((mount) => mount.path) },
        fix: { summary: `Set path to one of the KV mounts: ${(table.mounts ?? []).filter((mount) => mount.type === 'kv').map((mount) => mount.path).join(', ') || '(none found)'}.`, commands: ['vault secrets list'] },
      });
      return;
    case 'not-kv':
      out.add('fail', 'path-not-kv', target, `path "${store.path}" is in mount "${verdict.mount.path}" of type ${verdict.mount.type}, not a KV mount; ESO's Vault provider reads only KV.`, {
        details,
        fix: { summary: `For dynamic credentials use ESO's VaultDynamicSecret generator; otherwise point path at a KV mount.`, commands: ['vault secrets list'] },
      });
      return;
    case 'unknown': {
      const segments = store.path!.split('/').length;
      if (segments > 1) {
        out.add('warn', 'path-multi-segment', target, `path "${store.path}" has ${segments} segments and the mount table could not be read (${table.reason ?? 'unknown'}). ESO treats the whole path as the KV mount: if the mount is "${store.path!.split('/')[0]}", key "${key}" is read from ${buildDataPath(store.path, store.version, key)} instead of ${buildDataPath(store.path!.split('/')[0], store.version, `${store.path!.split('/').slice(1).join('/')}/${key}`)}.`, {
          details,
          fix: {
            summary: context.mode === 'lint'
              ? 'Give lint the mount table (--mounts kv=2, or a file with the output of vault secrets list -format=json), or check with: vault secrets list.'
              : 'Run again with an operator token (VAULT_TOKEN) so the mount table can be read, or check with: vault secrets list.',
            commands: ['vault secrets list -detailed'],
          },
        });
      } else {
        out.add('skip', 'path-unverified', target, `path "${store.path}" could not be compared with the mount table: ${table.reason ?? 'unknown'}.`, { details });
      }
    }
  }
}

function checkServiceAccountRef(context: CheckContext, store: VaultStore, out: ResultBuilder): void {
  const target = storeTarget(store, ['spec', 'provider', 'vault', 'auth', 'kubernetes', 'serviceAccountRef']);
  if (store.authMethod !== 'kubernetes') {
    out.add('skip', 'auth-not-kubernetes', target, `auth method ${store.authMethod} is not checked by this tool; only auth.kubernetes is.`, { details: { authMethod: store.authMethod } });
    return;
  }
  const k8s = store.kubernetes!;
  if (!k8s.serviceAccountRef && k8s.secretRef) {
    // TODO: log in with the JWT from auth.kubernetes.secretRef, as ESO does.
    out.add('skip', 'auth-secret-ref', target, 'auth.kubernetes.secretRef is not checked yet; the login checks skip this store.');
    return;
  }
  if (!k8s.serviceAccountRef) {
    const controller = context.options.controllerServiceAccount;
    const identity = controller
      ? `the ESO controller's service account, taken to be ${controller.namespace}/${controller.name} (${controller.source}); the auth checks use that identity`
      : "the ESO controller's service account, which this tool does not know (pass --eso-service-account NAMESPACE/NAME)";
    out.add('warn', 'auth-no-sa-ref', target, `auth.kubernetes has neither serviceAccountRef nor secretRef, so ESO logs in with the token mounted in its own pod: the login identity is ${identity}.`, {
      fix: {
        summary: 'Name the service account the Vault role binds, with its namespace.',
        commands: [],
        yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          serviceAccountRef:\n            name: <service account bound by role ${k8s.role}>\n            namespace: <its namespace>\n`,
      },
    });
    return;
  }
  const ref = k8s.serviceAccountRef;
  if (store.kind === 'SecretStore') {
    if (ref.namespace && ref.namespace !== store.namespace) {
      out.add('fail', 'sa-namespace-ignored', target, `serviceAccountRef.namespace "${ref.namespace}" on a SecretStore in "${store.namespace}": the ESO webhook rejects it, and without the webhook ESO ignores it and uses "${store.namespace}/${ref.name}".`, {
        fix: {
          summary: `Remove serviceAccountRef.namespace and create service account ${ref.name} in ${store.namespace}, or use a ClusterSecretStore to reach a service account in ${ref.namespace}.`,
          commands: [`kubectl create serviceaccount ${ref.name} -n ${store.namespace}`],
          yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          serviceAccountRef:\n            name: ${ref.name}\n`,
        },
      });
      return;
    }
    out.add('pass', 'sa-ok', target, `serviceAccountRef ${store.namespace}/${ref.name} is in the store's own namespace.`);
    return;
  }
  if (ref.namespace) {
    out.add('pass', 'sa-ok', target, `serviceAccountRef ${ref.namespace}/${ref.name} names its namespace, so every ExternalSecret logs in as that service account.`);
    return;
  }
  const namespaces = context.identities(store).map((identity) => identity.namespace);
  out.add('warn', 'sa-referent', target, `serviceAccountRef "${ref.name}" has no namespace, so ESO requests the token in the namespace of each ExternalSecret (${namespaces.length ? namespaces.join(', ') : 'none checked'}); the store still shows Ready because ESO does not test such a store.`, {
    details: { namespaces },
    cause: 'On a ClusterSecretStore a serviceAccountRef without namespace is "referent": it is resolved per consuming namespace, never in the ESO namespace.',
    fix: {
      summary: 'Add the namespace of the service account that the Vault role binds; serviceaccount.exists shows which namespaces lack it.',
      commands: [`kubectl get serviceaccounts -A --field-selector metadata.name=${ref.name}`],
      yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          serviceAccountRef:\n            name: ${ref.name}\n            namespace: <namespace of ${ref.name}>\n`,
    },
  });
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      if (!store.server && !context.options.vaultAddr) {
        out.add('fail', 'server-missing', storeTarget(store), `spec.provider.vault.server is empty in ${storeLabel(store)}.`, {
          fix: { summary: 'Set server to the Vault address ESO should use, for example https://vault.vault.svc:8200.', commands: [] },
        });
      }
      await checkPath(context, store, out);
      checkServiceAccountRef(context, store, out);
      if (context.consumers(store).length === 0) {
        out.add('skip', 'no-consumers', storeTarget(store), `No ExternalSecret in the checked namespaces uses ${storeLabel(store)}, so no remote reference is checked through it.`);
      }
    }
    return out.results;
  },
};
