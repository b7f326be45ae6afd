// Typed views of ESO objects, read the way ESO reads them (apis/externalsecrets/v1 types).

import type { KvVersion } from './paths.js';

export type StoreKind = 'ClusterSecretStore' | 'SecretStore';

export interface ServiceAccountRef {
  name: string;
  namespace?: string;
  audiences: string[];
}

export type AuthMethod =
  | 'tokenSecretRef'
  | 'appRole'
  | 'kubernetes'
  | 'ldap'
  | 'userPass'
  | 'jwt'
  | 'cert'
  | 'iam'
  | 'gcp'
  | 'none';

/** ESO tries these in this fixed order and the first one set wins (auth.go setAuth). */
export const AUTH_ORDER: AuthMethod[] = ['tokenSecretRef', 'appRole', 'kubernetes', 'ldap', 'userPass', 'jwt', 'cert', 'iam', 'gcp'];

export interface CaProvider {
  type: string;
  name: string;
  key: string;
  namespace?: string;
}

export interface VaultStore {
  kind: StoreKind;
  name: string;
  namespace?: string;
  apiVersion: string;
  /** `ClusterSecretStore/name` or `SecretStore/namespace/name`. */
  ref: string;
  server: string;
  /** undefined when the field is omitted, which ESO treats differently from "". */
  path: string | undefined;
  version: KvVersion;
  /** The version as written, to report values other than v1 and v2. */
  versionRaw?: string;
  vaultNamespace?: string;
  authNamespace?: string;
  caBundle?: string;
  caProvider?: CaProvider;
  authMethod: AuthMethod;
  kubernetes?: {
    mountPath: string;
    role: string;
    serviceAccountRef?: ServiceAccountRef;
    secretRef?: { name: string; key: string; namespace?: string };
  };
  /** Source position of the object, for offline runs. */
  location?: string;
  /** Source position of a field inside the object, for offline runs. */
  locate?: Locator;
}

/** Maps a field path inside an object to `file:line:column`. */
export type Locator = (path: (string | number)[]) => string;

export interface RemoteEntry {
  /** `data[0]`, `dataFrom[1].extract` or `dataFrom[2].find`. */
  id: string;
  kind: 'data' | 'extract' | 'find';
  secretKey?: string;
  key: string;
  property?: string;
  version?: string;
  metadataPolicy?: string;
  findPath?: string;
  /** Per-entry `sourceRef.storeRef`, which overrides the ExternalSecret's store. */
  storeRef?: { kind: StoreKind; name: string };
  /** Set when the entry reads from a generator, which this tool does not check. */
  generator?: string;
  location?: string;
}

export interface ExternalSecretView {
  name: string;
  namespace: string;
  apiVersion: string;
  storeRef?: { kind: StoreKind; name: string };
  entries: RemoteEntry[];
  location?: string;
}

export class ManifestError extends Error {
  constructor(message: string, readonly location?: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function storeRefString(kind: StoreKind, name: string, namespace?: string): string {
  return kind === 'ClusterSecretStore' ? `ClusterSecretStore/${name}` : `SecretStore/${namespace ?? ''}/${name}`;
}

/** Check whether a store object uses the Vault provider. */
export function isVaultStore(object: Obj): boolean {
  return obj(obj(obj(object.spec)?.provider)?.vault) !== undefined;
}

/** Read a SecretStore or ClusterSecretStore whose provider is vault. */
export function parseVaultStore(object: Obj, locate?: Locator): VaultStore {
  const location = locate?.([]);
  const metadata = obj(object.metadata) ?? {};
  const kind = str(object.kind) as StoreKind;
  const name = str(metadata.name) ?? '';
  const namespace = kind === 'SecretStore' ? str(metadata.namespace) ?? 'default' : undefined;
  const vault = obj(obj(obj(object.spec)?.provider)?.vault);
  if (!vault) throw new ManifestError(`${kind} ${name} has no spec.provider.vault`, location);
  const auth = obj(vault.auth);
  let authMethod: AuthMethod = 'none';
  if (auth) authMethod = AUTH_ORDER.find((method) => auth[method] !== undefined && auth[method] !== null) ?? 'none';

  const versionRaw = str(vault.version);
  const store: VaultStore = {
    kind,
    name,
    namespace,
    apiVersion: str(object.apiVersion) ?? '',
    ref: storeRefString(kind, name, namespace),
    server: str(vault.server) ?? '',
    path: str(vault.path),
    version: versionRaw === 'v1' ? 'v1' : 'v2',
    versionRaw,
    vaultNamespace: str(vault.namespace),
    authNamespace: str(auth?.namespace),
    caBundle: str(vault.caBundle),
    authMethod,
    location,
    locate,
  };
  const caProvider = obj(vault.caProvider);
  if (caProvider) {
    store.caProvider = {
      type: str(caProvider.type) ?? '',
      name: str(caProvider.name) ?? '',
      key: str(caProvider.key) ?? '',
      namespace: str(caProvider.namespace),
    };
  }
  const kubernetes = obj(auth?.kubernetes);
  if (authMethod === 'kubernetes' && kubernetes) {
    const saRef = obj(kubernetes.serviceAccountRef);
    const secretRef = obj(kubernetes.secretRef);
    store.kubernetes = {
      mountPath: str(kubernetes.mountPath) ?? 'kubernetes',
      role: str(kubernetes.role) ?? '',
      serviceAccountRef: saRef
        ? {
            name: str(saRef.name) ?? '',
            namespace: str(saRef.namespace),
            audiences: Array.isArray(saRef.audiences) ? saRef.audiences.map(String) : [],
          }
        : undefined,
      secretRef: secretRef
        ? { name: str(secretRef.name) ?? '', key: str(secretRef.key) ?? 'token', namespace: str(secretRef.namespace) }
        : undefined,
    };
  }
  return store;
}

function parseStoreRef(value: unknown): { kind: StoreKind; name: string } | undefined {
  const ref = obj(value);
  const name = str(ref?.name);
  if (!ref || !name) return undefined;
  return { kind: str(ref.kind) === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore', name };
}

/** Read the remote references of an ExternalSecret. */
export function parseExternalSecret(object: Obj, locate?: Locator): ExternalSecretView {
  const location = locate?.([]);
  const metadata = obj(object.metadata) ?? {};
  const spec = obj(object.spec) ?? {};
  const view: ExternalSecretView = {
    name: str(metadata.name) ?? '',
    namespace: str(metadata.namespace) ?? 'default',
    apiVersion: str(object.apiVersion) ?? '',
    storeRef: parseStoreRef(spec.secretStoreRef),
    entries: [],
    location,
  };
  const data = Array.isArray(spec.data) ? spec.data : [];
  data.forEach((item, index) => {
    const entry = obj(item) ?? {};
    const remote = obj(entry.remoteRef) ?? {};
    const sourceRef = obj(entry.sourceRef);
    view.entries.push({
      id: `data[${index}]`,
      kind: 'data',
      secretKey: str(entry.secretKey),
      key: str(remote.key) ?? '',
      property: str(remote.property) || undefined,
      version: str(remote.version) || undefined,
      metadataPolicy: str(remote.metadataPolicy),
      storeRef: parseStoreRef(sourceRef?.storeRef),
      generator: sourceRef?.generatorRef ? str(obj(sourceRef.generatorRef)?.name) ?? 'generator' : undefined,
      location: locate?.(['spec', 'data', index]),
    });
  });
  const dataFrom = Array.isArray(spec.dataFrom) ? spec.dataFrom : [];
  dataFrom.forEach((item, index) => {
    const entry = obj(item) ?? {};
    const sourceRef = obj(entry.sourceRef);
    const storeRef = parseStoreRef(sourceRef?.storeRef);
    const generator = sourceRef?.generatorRef ? str(obj(sourceRef.generatorRef)?.name) ?? 'generator' : undefined;
    const extract = obj(entry.extract);
    const find = obj(entry.find);
    if (extract) {
      view.entries.push({
        id: `dataFrom[${index}].extract`,
        kind: 'extract',
        key: str(extract.key) ?? '',
        property: str(extract.property) || undefined,
        version: str(extract.version) || undefined,
        metadataPolicy: str(extract.metadataPolicy),
        storeRef,
        generator,
        location: locate?.(['spec', 'dataFrom', index]),
      });
    } else if (find) {
      view.entries.push({ id: `dataFrom[${index}].find`, kind: 'find', key: '', findPath: str(find.path), storeRef, generator, location: locate?.(['spec', 'dataFrom', index]) });
    } else if (generator) {
      view.entries.push({ id: `dataFrom[${index}]`, kind: 'extract', key: '', storeRef, generator });
    }
  });
  return view;
}

/** Find the store an entry reads from: its own sourceRef, else the ExternalSecret's secretStoreRef. */
export function storeOfEntry(es: ExternalSecretView, entry: RemoteEntry): string | undefined {
  const ref = entry.storeRef ?? es.storeRef;
  if (!ref) return undefined;
  return storeRefString(ref.kind, ref.name, es.namespace);
}
