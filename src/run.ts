// The live run: discover ESO objects, load shared facts, run every check with failures isolated,
// revoke what was obtained, and return the canonical report. Never prints and never exits.

import { CHECKS, selectChecks } from './checks/index.js';
import type { Check } from './checks/types.js';
import { CheckContext } from './context/context.js';
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_MS, type RunOptions } from './context/options.js';
import { isVaultStore, ManifestError, parseExternalSecret, parseVaultStore, type ExternalSecretView, type VaultStore } from './eso/model.js';
import { KubeClient, KubeError } from './kube/client.js';
import { VaultError } from './vault/client.js';
import { SCHEMA_VERSION, summarize, type Fix, type Report, type Result, type StoreSummary } from './report/types.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';

export interface SelfCheckOptions extends Partial<RunOptions> {
  only?: string[];
  skip?: string[];
  /** Aborting stops the run after revoking every Vault token it obtained. */
  signal?: AbortSignal;
}

type ReportError = Report['errors'][number];

function emptyReport(mode: Report['mode']): Report {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    mode,
    generatedAt: new Date().toISOString(),
    summary: summarize([]),
    stores: [],
    results: [],
    errors: [],
  };
}

export function kubeFailure(error: unknown, what: string): ReportError {
  if (error instanceof KubeError) {
    const fix: Fix = { summary: '', commands: [] };
    switch (error.kind) {
      case 'config':
        fix.summary = 'Pass a kubeconfig that exists with --kubeconfig or KUBECONFIG, or choose a context with --context.';
        fix.commands = ['kubectl config get-contexts'];
        break;
      case 'forbidden':
        fix.summary = `Grant the user running this tool get and list on ${what}.`;
        fix.commands = [`kubectl auth can-i list ${what}`];
        break;
      case 'unauthorized':
        fix.summary = 'Refresh the credentials in the kubeconfig (log in to the cluster again).';
        fix.commands = ['kubectl get --raw /readyz'];
        break;
      default:
        fix.summary = 'Check that the API server in the kubeconfig is reachable from here.';
        fix.commands = ['kubectl cluster-info'];
    }
    return { message: error.message, fix };
  }
  return { message: `${what}: ${(error as Error).message ?? String(error)}` };
}

export interface Discovery {
  stores: VaultStore[];
  externalSecrets: ExternalSecretView[];
  errors: ReportError[];
  apiVersion?: string;
  versions?: string[];
}

/** Read the ESO objects the run checks, served as external-secrets.io/v1 or v1beta1. */
export async function discover(kube: KubeClient, options: RunOptions): Promise<Discovery> {
  const errors: ReportError[] = [];
  let versions: string[];
  try {
    versions = await kube.esoVersions();
  } catch (error) {
    return { stores: [], externalSecrets: [], errors: [kubeFailure(error, 'API groups')] };
  }
  const version = ['v1', 'v1beta1'].find((candidate) => versions.includes(candidate));
  if (!version) {
    const message = versions.length
      ? `The cluster serves external-secrets.io only as ${versions.join(', ')}; this tool reads v1 and v1beta1.`
      : `The cluster at ${kube.server} does not serve the external-secrets.io API group: the External Secrets Operator CRDs are not installed.`;
    return {
      stores: [],
      externalSecrets: [],
      errors: [{ message, fix: { summary: 'Install or upgrade the External Secrets Operator CRDs, or choose another context with --context.', commands: ['kubectl get crd | grep external-secrets.io'] } }],
    };
  }

  const stores: VaultStore[] = [];
  const addStores = (items: Record<string, unknown>[], kind: 'ClusterSecretStore' | 'SecretStore') => {
    for (const item of items) {
      const object = { ...item, kind, apiVersion: item.apiVersion ?? `external-secrets.io/${version}` };
      if (!isVaultStore(object)) continue;
      try {
        stores.push(parseVaultStore(object));
      } catch (error) {
        if (error instanceof ManifestError) errors.push({ message: error.message });
        else throw error;
      }
    }
  };
  // The three lists go out together; they are handled in a fixed order so the report is stable.
  const [clusterStores, namespacedStores, externalSecretList] = await Promise.allSettled([
    kube.listClusterObjects(version, 'clustersecretstores'),
    kube.listNamespacedObjects(version, 'secretstores', options.namespaces),
    kube.listNamespacedObjects(version, 'externalsecrets', options.namespaces),
  ]);
  if (clusterStores.status === 'fulfilled') addStores(clusterStores.value.items, 'ClusterSecretStore');
  else errors.push(kubeFailure(clusterStores.reason, 'clustersecretstores.external-secrets.io'));
  if (namespacedStores.status === 'fulfilled') addStores(namespacedStores.value.items, 'SecretStore');
  else errors.push(kubeFailure(namespacedStores.reason, 'secretstores.external-secrets.io'));
  let externalSecrets: ExternalSecretView[] = [];
  try {
    if (externalSecretList.status === 'rejected') throw externalSecretList.reason;
    externalSecrets = externalSecretList.value.items.map((item) => parseExternalSecret(item));
  } catch (error) {
    errors.push(kubeFailure(error, 'externalsecrets.external-secrets.io'));
  }

  for (const namespace of options.namespaces) {
    if (!externalSecrets.some((es) => es.namespace === namespace)) {
      errors.push({
        message: `-n ${namespace}: no ExternalSecret was found in namespace "${namespace}".`,
        fix: { summary: 'Check the namespace name; the namespaces that hold ExternalSecrets are listed by the command below.', commands: ['kubectl get externalsecrets -A'] },
      });
    }
  }
  let selected = stores;
  if (options.stores.length > 0) {
    selected = stores.filter((store) => options.stores.includes(store.name) || options.stores.includes(store.ref));
    const missing = options.stores.filter((name) => !stores.some((store) => store.name === name || store.ref === name));
    for (const name of missing) {
      errors.push({ message: `--store ${name}: no Vault SecretStore or ClusterSecretStore of that name was found.`, fix: { summary: 'List the stores and check the name.', commands: ['kubectl get clustersecretstores,secretstores -A'] } });
    }
  }
  return { stores: selected, externalSecrets, errors, apiVersion: `external-secrets.io/${version}`, versions };
}

export function resolveOptions(options: SelfCheckOptions): RunOptions {
  return {
    namespaces: options.namespaces ?? [],
    stores: options.stores ?? [],
    tlsSkipVerify: options.tlsSkipVerify ?? false,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    verbose: options.verbose ?? false,
    ...options,
  } as RunOptions;
}

/** Run one check with its crash turned into an `error` result instead of ending the run. */
export async function runIsolated(check: Check, context: CheckContext): Promise<Result[]> {
  try {
    return await check.run(context);
  } catch (error) {
    return [
      {
        check: check.meta.id,
        status: 'error',
        messageId: 'internal-error',
        target: { kind: 'Vault' },
        message: `The check stopped with an internal error: ${(error as Error).message ?? String(error)}.`,
        fix: { summary: 'Run again with --verbose and report the problem with the output.', commands: [] },
      },
    ];
  }
}

export function sortResults(results: Result[], stores: VaultStore[]): Result[] {
  const storeIndex = new Map(stores.map((store, index) => [store.ref, index]));
  const checkIndex = new Map(CHECKS.map((check, index) => [check.meta.id, index]));
  // One collator and precomputed keys: the same order as localeCompare, at a fraction of its cost
  // on the tens of thousands of comparisons a large cluster's report needs.
  const compare = new Intl.Collator().compare;
  return results
    .map((result, index) => ({
      result,
      index,
      store: storeIndex.get(result.target.store ?? '') ?? -1,
      check: checkIndex.get(result.check) ?? 99,
      key: [result.target.namespace ?? '', result.target.name ?? '', result.target.entry ?? '', result.target.path ?? ''].join('\u0000'),
    }))
    .sort((a, b) => a.store - b.store || a.check - b.check || compare(a.key, b.key) || a.index - b.index)
    .map((entry) => entry.result);
}

export function storeSummaries(stores: VaultStore[], context?: CheckContext): StoreSummary[] {
  return stores.map((store) => {
    const summary: StoreSummary = { ref: store.ref, kind: store.kind, name: store.name, server: context ? context.serverOf(store).address : store.server };
    if (store.namespace) summary.namespace = store.namespace;
    return summary;
  });
}

/**
 * Stores with Kubernetes auth but no serviceAccountRef log in as the ESO controller. Without
 * --eso-service-account, take the only ServiceAccount named external-secrets (the Helm chart's
 * default name) when there is exactly one.
 */
export async function findControllerServiceAccount(kube: KubeClient, stores: VaultStore[], options: RunOptions): Promise<void> {
  if (options.controllerServiceAccount) return;
  if (!stores.some((store) => store.kubernetes && !store.kubernetes.serviceAccountRef && !store.kubernetes.secretRef)) return;
  try {
    const namespaces = await kube.namespacesWithServiceAccount('external-secrets');
    if (namespaces.length === 1) {
      options.controllerServiceAccount = { namespace: namespaces[0]!, name: 'external-secrets', source: 'the only ServiceAccount named external-secrets in the cluster' };
    }
  } catch {
    // Without list permission on service accounts the identity stays unknown, and the checks report that.
  }
}

/** Check a live cluster and Vault. Environment problems become report errors instead of exceptions. */
export async function runSelfCheck(input: SelfCheckOptions = {}): Promise<Report> {
  const options = resolveOptions(input);
  const report = emptyReport('live');
  const selection = selectChecks(input.only ?? [], input.skip ?? []);
  if (selection.unknown.length > 0) {
    report.errors.push({ message: `Unknown check or group: ${selection.unknown.join(', ')}.`, fix: { summary: 'List the check ids with --list-checks.', commands: ['vault-selfcheck --list-checks'] } });
    return report;
  }

  let kube: KubeClient;
  try {
    options.progress?.('Reading the kubeconfig');
    kube = await KubeClient.connect({ kubeconfig: options.kubeconfig, context: options.context, timeoutMs: options.timeoutMs });
  } catch (error) {
    report.errors.push(kubeFailure(error, 'kubeconfig'));
    return report;
  }
  options.progress?.(`Discovering External Secrets objects in context ${kube.contextName}`);
  const discovery = await discover(kube, options);
  report.errors.push(...discovery.errors);
  if (discovery.stores.length === 0 && discovery.errors.length === 0) {
    report.errors.push({
      message: `No SecretStore or ClusterSecretStore with a vault provider was found${options.namespaces.length ? ` in namespaces ${options.namespaces.join(', ')}` : ''} (context ${kube.contextName}).`,
      fix: { summary: 'Check the context and namespaces, or run lint on the manifests.', commands: ['kubectl get clustersecretstores,secretstores -A'] },
    });
  }

  await findControllerServiceAccount(kube, discovery.stores, options);
  const context = new CheckContext(options, { stores: discovery.stores, externalSecrets: discovery.externalSecrets, kube, esoVersions: discovery.versions });
  if (options.operatorToken) {
    const seen = new Set<string>();
    for (const store of discovery.stores) {
      const lookup = await context.operatorLookup(store);
      const server = context.serverOf(store).address;
      if (lookup.ok || seen.has(server)) continue;
      seen.add(server);
      // Vault returns a bare "permission denied" for an unknown, expired or revoked token. A valid
      // token that lacks read on lookup-self gets the ACL's multierror text instead.
      const bare = lookup.error instanceof VaultError && lookup.error.vaultErrors.some((text) => text.trim() === 'permission denied');
      if (lookup.error instanceof VaultError && lookup.error.status === 403 && bare) {
        report.errors.push({
          message: `The operator token from ${options.operatorTokenSource ?? 'VAULT_TOKEN'} is invalid, expired or revoked: auth/token/lookup-self on ${server} returned 403. Checks that need it report skip.`,
          fix: { summary: 'Log in again (vault login) or pass a valid token with VAULT_TOKEN or --vault-token-file; or unset it to run without an operator token.', commands: ['vault token lookup'] },
        });
      }
    }
  }
  const results: Result[] = [];
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (input.signal?.aborted) resolve('aborted');
    else input.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    if (discovery.stores.length > 0) {
      // Checks share memoized facts and one request limiter, so running them together overlaps
      // their network waits without sending any request twice.
      let pending = selection.checks.length;
      options.progress?.(`Running ${pending} checks`);
      const all = Promise.all(
        selection.checks.map(async (check) => {
          const checkResults = await runIsolated(check, context);
          pending -= 1;
          options.progress?.(`Finished ${check.meta.id}; ${pending} ${pending === 1 ? 'check' : 'checks'} left`);
          return checkResults;
        }),
      );
      const outcome = await Promise.race([all, aborted]);
      if (outcome === 'aborted') {
        report.errors.push({ message: 'Interrupted; the results so far are incomplete.' });
      } else {
        for (const checkResults of outcome) results.push(...checkResults);
      }
    }
  } finally {
    if (onAbort) input.signal?.removeEventListener('abort', onAbort);
    const revoked = await context.close({ force: input.signal?.aborted });
    if (revoked.failed > 0) {
      report.errors.push({ message: `${revoked.failed} Vault token(s) obtained by login could not be revoked; they expire with the role's token_ttl.` });
    }
  }
  report.results = sortResults(results, discovery.stores);
  report.summary = summarize(report.results);
  report.stores = storeSummaries(discovery.stores, context);
  return report;
}
