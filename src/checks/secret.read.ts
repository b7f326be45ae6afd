import type { CheckContext } from '../context/context.js';
import type { Fact } from '../context/limit.js';
import { planRequests, type PlannedRequest } from '../context/requests.js';
import type { VaultStore } from '../eso/model.js';
import { buildDataPath } from '../eso/paths.js';
import { lookupProperty, topLevelKeys } from '../eso/property.js';
import type { Result, Target } from '../report/types.js';
import type { SecretRead } from '../vault/api.js';
import { VaultError } from '../vault/client.js';
import { entryTarget, kubectlStore, quoteList, remoteRefYaml, ResultBuilder, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'secret.read',
  title: 'Every remote reference exists with its property',
  description: "Every remoteRef is read at ESO's exact path; property exists; on \"does not exist\" detects a field in the key, a mount in the key and data/ in the key",
  group: 'secret',
  needs: ['login', 'operator-token'],
  modes: ['live'],
  messages: {
    ok: 'Secret {path} exists (version {version}, keys {keys}).',
    'property-ok': 'Secret {path} has property "{property}" ({type}, {length} bytes).',
    'property-missing': 'Secret {path} has no property "{property}"; its keys are {keys}.',
    'property-unsupported': 'Property "{property}" uses gjson syntax this tool does not evaluate.',
    'not-object': 'dataFrom.extract needs a JSON object, but "{property}" is a {type}.',
    'not-found': 'Secret does not exist at {path}.',
    'field-in-key': 'Secret does not exist at {path}, but {parent} has a field "{field}": the field is written into the key.',
    'data-in-key': 'Secret does not exist at {path}: the key contains "data/", which ESO adds itself.',
    'mount-in-key': 'Secret does not exist at {path}: the key starts with mount "{mount}", but the store reads mount "{storeMount}".',
    deleted: 'The requested version of {path} is deleted or destroyed.',
    denied: 'Reading {path} was denied to the login token (see policy.read).',
    'store-path-invalid': 'Not read at {path}, the path ESO builds now: the store path is not exactly the KV mount.',
    'find-not-checked': 'dataFrom.find is not read by this check; policy.read checks its list permission.',
    'read-failed': 'Reading {path} failed: {reason}.',
    'no-token': 'Not read: {reason}.',
  },
};

interface Reader {
  read(path: string): Promise<Fact<SecretRead>>;
  via: 'login' | 'operator';
  note?: string;
}

async function readerFor(context: CheckContext, request: PlannedRequest): Promise<Reader | string> {
  const { store, identity } = request;
  if (identity) {
    const login = await context.login(store, identity);
    if (login.ok) return { via: 'login', read: (path) => context.readAs(store, identity, path) };
  }
  if (context.hasOperatorToken) {
    return {
      via: 'operator',
      note: identity ? "Read with the operator token because the store's login could not be made (see auth.login)." : 'Read with the operator token because the store does not log in with a service account.',
      read: (path) => context.readAsOperator(store, path),
    };
  }
  return identity ? `the login as ${identity.namespace}/${identity.serviceAccount} could not log in (see auth.login) and there is no operator token` : 'the store does not log in with auth.kubernetes.serviceAccountRef and there is no operator token';
}

function keyFix(request: PlannedRequest, key: string, property?: string): { summary: string; commands: string[]; yaml: string } {
  const es = request.es;
  return {
    summary: `In ExternalSecret ${es.namespace}/${es.name} ${request.entry.id}, set key: ${key}${property ? ` and property: ${property}` : ''}.`,
    commands: [`kubectl edit externalsecret ${es.name} -n ${es.namespace}`],
    yaml: remoteRefYaml(request.entry, key, property),
  };
}

/** Look for the usual reasons behind "Secret does not exist" by reading nearby paths. */
async function diagnoseMissing(context: CheckContext, request: PlannedRequest, reader: Reader, target: Target, details: Record<string, unknown>, out: ResultBuilder): Promise<void> {
  const { store, entry } = request;
  const path = request.path!;
  const key = entry.key;
  const segments = key.split('/').filter((segment) => segment !== '');

  if (segments.length > 1 && !entry.property) {
    const parentKey = segments.slice(0, -1).join('/');
    const field = segments[segments.length - 1]!;
    const parentPath = buildDataPath(store.path, store.version, parentKey);
    const parent = await reader.read(parentPath);
    if (parent.ok && parent.value.status === 200 && parent.value.data && Object.prototype.hasOwnProperty.call(parent.value.data, field)) {
      out.add('fail', 'field-in-key', target, `Secret does not exist at ${path}, but ${parentPath} exists and has a field "${field}": the field name is written into remoteRef.key instead of remoteRef.property.`, {
        details: { ...details, parentPath, parentKeys: topLevelKeys(parent.value.data) },
        fix: keyFix(request, parentKey, field),
      });
      return;
    }
  }

  const dataIndex = segments.indexOf('data');
  if (store.version === 'v2' && dataIndex >= 0) {
    const stripped = [...segments.slice(0, dataIndex), ...segments.slice(dataIndex + 1)];
    const withoutMount = request.mount && stripped[0] === request.mount ? stripped.slice(1) : stripped;
    const fixedKey = withoutMount.join('/');
    const candidate = buildDataPath(store.path, store.version, fixedKey);
    const found = await reader.read(candidate);
    const exists = found.ok && found.value.status === 200;
    out.add('fail', 'data-in-key', target, `Secret does not exist at ${path}: key "${key}" contains "data/", which ESO adds itself for a KV v2 store${exists ? `; the secret exists at ${candidate}` : ''}.`, {
      details: { ...details, candidate, candidateExists: exists },
      fix: keyFix(request, fixedKey, entry.property),
    });
    return;
  }

  if (context.hasOperatorToken && segments.length > 1 && store.path !== undefined) {
    const mounts = await context.secretsMounts(store);
    if (mounts.ok) {
      const first = segments[0]!;
      const other = mounts.value.find((mount) => mount.path === first && mount.path !== request.mount);
      if (other) {
        out.add('fail', 'mount-in-key', target, `Secret does not exist at ${path}: key "${key}" starts with "${first}", another ${other.type} mount, but ${request.store.ref} reads mount "${request.mount}", so ESO requests ${path}.`, {
          details: { ...details, keyMount: other.path, keyMountType: other.type },
          fix: {
            summary: `Read ${key} through a store whose path is "${other.path}"${other.type === 'kv' ? ` (version: v${other.kvVersion ?? 1})` : ' (for dynamic credentials use a VaultDynamicSecret generator)'}, with key "${segments.slice(1).join('/')}".`,
            commands: [`kubectl get ${kubectlStore(store)} -o yaml`],
          },
        });
        return;
      }
    }
  }

  out.add('fail', 'not-found', target, `Secret does not exist at ${path}; ESO reports "Secret does not exist" for key "${key}".`, {
    details,
    fix: {
      summary: 'Check the key against what is stored; ESO inserts "data/" after the store path for KV v2.',
      commands: request.mount ? [`vault kv list ${request.mount}/${segments.slice(0, -1).join('/')}`] : [],
    },
  });
}

async function checkRequest(context: CheckContext, request: PlannedRequest, out: ResultBuilder): Promise<void> {
  const { store, es, entry } = request;
  const target = entryTarget(store, es, entry, request.path);
  if (entry.kind === 'find') {
    out.add('skip', 'find-not-checked', target, `dataFrom.find (path ${entry.findPath ?? '(none)'}) is not read by this check yet; policy.read checks the list permission on ${request.path ?? 'its path'}.`);
    return;
  }
  if (!request.path) return;
  const reader = await readerFor(context, request);
  if (typeof reader === 'string') {
    out.add('skip', 'no-token', target, `Not read: ${reader}.`);
    return;
  }
  const details: Record<string, unknown> = { readAs: reader.via, query: request.query || undefined };
  if (request.correctedPath) {
    const corrected = await reader.read(request.correctedPath + request.query);
    const exists = corrected.ok && corrected.value.status === 200;
    out.add(exists ? 'skip' : 'fail', exists ? 'store-path-invalid' : 'not-found', { ...target, path: request.correctedPath }, exists
      ? `Not read at ${request.path}, the path ESO builds now, because the store path is not exactly the KV mount (see store.config); the secret exists at the corrected path ${request.correctedPath}.`
      : `Secret does not exist at ${request.correctedPath} either, the path after the store path fix (see store.config).`, { details: { ...details, correctedPath: request.correctedPath }, cause: reader.note });
    return;
  }
  const response = await reader.read(request.path + request.query);
  if (!response.ok) {
    let unreachable = response.error instanceof VaultError && response.error.kind !== 'http';
    if (unreachable && context.mode === 'live') {
      // Vault passed its health check, so this failed read is a fault of its own (a slow path).
      const health = await context.health(store);
      if (health.ok) {
        out.add('fail', 'read-failed', target, `Reading ${request.path} failed although Vault answered its health check: ${response.error.message}; ESO's read of it fails the same way.`, { details, cause: reader.note });
        return;
      }
      unreachable = true;
    }
    out.add(unreachable ? 'skip' : 'error', 'read-failed', target, unreachable
      ? `Not read: Vault cannot be reached (${response.error.message}); see vault.health.`
      : `Reading ${request.path} failed: ${response.error.message}.`, { details, cause: reader.note });
    return;
  }
  const read = response.value;
  if (read.status === 403) {
    out.add(reader.via === 'login' ? 'fail' : 'error', 'denied', target, `Reading ${request.path} was denied to the ${reader.via === 'login' ? 'login' : 'operator'} token (HTTP 403)${reader.via === 'login' ? '; policy.read gives the corrected policy' : ''}.`, { details, cause: reader.note });
    return;
  }
  if (read.status >= 400 && read.status !== 404) {
    const sealed = read.status === 503 && read.errors.some((error) => error.includes('sealed'));
    if (sealed) {
      out.add('skip', 'read-failed', target, `Not read: Vault is sealed (HTTP 503), so whether ${request.path} exists cannot be seen; see vault.health.`, { details: { ...details, httpStatus: read.status }, cause: reader.note });
    } else {
      out.add('fail', 'read-failed', target, `Reading ${request.path} failed with HTTP ${read.status}: ${read.errors.join('; ')}; ESO reports "cannot read secret data from Vault".`, { details: { ...details, httpStatus: read.status }, cause: reader.note });
    }
    return;
  }
  if (read.data === null || (read.status === 404 && read.metadata)) {
    out.add('fail', 'deleted', target, `The ${entry.version ? `version ${entry.version}` : 'latest version'} of ${request.path} is deleted or destroyed; ESO reports "Secret does not exist".`, {
      details: { ...details, metadata: read.metadata },
      fix: { summary: 'Undelete the version, write a new one, or pin remoteRef.version to a live version.', commands: request.mount ? [`vault kv metadata get ${request.mount}/${entry.key}`] : [] },
    });
    return;
  }
  if (read.status === 404 || read.data === undefined) {
    await diagnoseMissing(context, request, reader, target, { ...details, httpStatus: read.status, warnings: read.warnings.length ? read.warnings : undefined }, out);
    return;
  }
  const data = read.data;
  const keys = topLevelKeys(data);
  const version = read.metadata?.version;
  Object.assign(details, { version, keys });
  if (!entry.property) {
    out.add('pass', 'ok', target, `Secret ${request.path} exists${version ? ` (version ${version})` : ''} with keys ${quoteList(keys)}.`, { details, cause: reader.note });
    return;
  }
  const lookup = lookupProperty(data, entry.property);
  if (!lookup.found) {
    if (lookup.unsupported) {
      out.add('warn', 'property-unsupported', target, `Property "${entry.property}" uses gjson syntax (queries, modifiers or pipes) this tool does not evaluate; the secret's keys are ${quoteList(keys)}.`, { details, cause: reader.note });
      return;
    }
    out.add('fail', 'property-missing', target, `Secret ${request.path} has no property "${entry.property}"; ESO fails with: cannot find secret data for key: "${entry.property}". Its keys are ${quoteList(keys)}.`, {
      details,
      cause: reader.note,
      fix: keyFix(request, entry.key, keys.find((candidate) => candidate.toLowerCase() === entry.property!.toLowerCase()) ?? keys[0]),
    });
    return;
  }
  if (entry.kind === 'extract' && lookup.valueType !== 'object') {
    out.add('fail', 'not-object', target, `dataFrom.extract needs a JSON object, but property "${entry.property}" of ${request.path} is a ${lookup.valueType}.`, {
      details,
      fix: { summary: 'Use spec.data with this property, or point extract at an object.', commands: [] },
    });
    return;
  }
  out.add('pass', 'property-ok', target, `Secret ${request.path} has property "${entry.property}" (${lookup.valueType}, ${lookup.length} bytes${lookup.via === 'path' ? ', found as a nested path' : ''}).`, {
    details: { ...details, valueType: lookup.valueType, length: lookup.length },
    cause: reader.note,
  });
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      const requests = await planRequests(context, store);
      await Promise.all(requests.map((request) => checkRequest(context, request, out)));
    }
    return out.results;
  },
};
