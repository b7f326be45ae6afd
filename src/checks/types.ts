import type { CheckContext } from '../context/context.js';
import type { ExternalSecretView, RemoteEntry, VaultStore } from '../eso/model.js';
import type { Fix, Result, Status, Target } from '../report/types.js';

export type Need = 'kube' | 'vault' | 'operator-token' | 'login';

export interface CheckMeta {
  /** Stable id: CI gates key on it. */
  id: string;
  title: string;
  /** One line for --list-checks. */
  description: string;
  /** Group for --only and --skip, the part of the id before the dot. */
  group: string;
  needs: Need[];
  /** Runs it takes part in: live checks of a cluster and Vault, offline lint of files, or both. */
  modes: ('live' | 'lint')[];
  /** Message ids this check emits, with a template sentence each; docs/checks/<id>.md documents them. */
  messages: Record<string, string>;
}

export interface Check {
  meta: CheckMeta;
  run(context: CheckContext): Promise<Result[]>;
}

/** Build results for one check, so every result carries the check id and a documented message id. */
export class ResultBuilder {
  readonly results: Result[] = [];

  constructor(private readonly meta: CheckMeta) {}

  add(status: Status, messageId: string, target: Target, message: string, extra: { cause?: string; fix?: Fix; details?: Record<string, unknown> } = {}): Result {
    if (!(messageId in this.meta.messages)) {
      throw new Error(`check ${this.meta.id} emitted undocumented message id "${messageId}"`);
    }
    const result: Result = { check: this.meta.id, status, messageId, target, message };
    if (extra.cause) result.cause = extra.cause;
    if (extra.fix) result.fix = extra.fix;
    if (extra.details) result.details = extra.details;
    this.results.push(result);
    return result;
  }
}

/**
 * Run `each` for every item at once, each with its own builder, and return the results in item
 * order, so that the report does not depend on which request returns first.
 */
export async function resultsInOrder<T>(meta: CheckMeta, items: T[], each: (item: T, out: ResultBuilder) => Promise<void>): Promise<Result[]> {
  const builders = await Promise.all(
    items.map(async (item) => {
      const out = new ResultBuilder(meta);
      await each(item, out);
      return out;
    }),
  );
  return builders.flatMap((out) => out.results);
}

/** Build the target of a store result; `field` points the offline location at one field of the store. */
export function storeTarget(store: VaultStore, field?: (string | number)[]): Target {
  const target: Target = { kind: store.kind, name: store.name, store: store.ref };
  if (store.namespace) target.namespace = store.namespace;
  const location = field && store.locate ? store.locate(field) : store.location;
  if (location) target.location = location;
  return target;
}

export function entryTarget(store: VaultStore, es: ExternalSecretView, entry: RemoteEntry, path?: string): Target {
  const target: Target = { kind: 'ExternalSecret', name: es.name, namespace: es.namespace, store: store.ref, entry: entry.id };
  if (path !== undefined) target.path = path;
  const location = entry.location ?? es.location;
  if (location) target.location = location;
  return target;
}

/** Format a store for messages, for example `ClusterSecretStore vault-argo`. */
export function storeLabel(store: VaultStore): string {
  return store.kind === 'SecretStore' ? `SecretStore ${store.namespace}/${store.name}` : `ClusterSecretStore ${store.name}`;
}

export function quoteList(values: string[]): string {
  return values.length === 0 ? '(none)' : values.map((value) => `"${value}"`).join(', ');
}

/** kubectl's form of a store, for fix commands. */
export function kubectlStore(store: VaultStore): string {
  return store.kind === 'SecretStore' ? `secretstore ${store.name} -n ${store.namespace}` : `clustersecretstore ${store.name}`;
}

/** Explain why a store has no login identity this tool can check. */
export function noIdentityReason(store: VaultStore): string {
  if (store.authMethod !== 'kubernetes' || !store.kubernetes) return `the store uses auth method ${store.authMethod}, not auth.kubernetes`;
  if (store.kubernetes.secretRef && !store.kubernetes.serviceAccountRef) return 'auth.kubernetes.secretRef is not checked yet';
  if (!store.kubernetes.serviceAccountRef) return "the store has no serviceAccountRef, so ESO logs in with its controller's own token; pass --eso-service-account NAMESPACE/NAME to check that identity";
  return 'serviceAccountRef has no namespace and no ExternalSecret uses the store';
}

/** Render the YAML of a remote reference with a corrected key (and property), for fixes. */
export function remoteRefYaml(entry: RemoteEntry, key: string, property: string | undefined): string {
  const propertyLine = property ? `        property: ${property}\n` : '';
  if (entry.kind === 'data') {
    return `spec:\n  data:\n    - secretKey: ${entry.secretKey ?? '<secretKey>'}\n      remoteRef:\n        key: ${key}\n${propertyLine}`;
  }
  return `spec:\n  dataFrom:\n    - extract:\n        key: ${key}\n${propertyLine}`;
}
