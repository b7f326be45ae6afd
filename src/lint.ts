// The offline run: reads manifests, policies and role definitions from files and runs every check
// that needs no server, with the same path and policy logic as the live run.

import { selectChecks } from './checks/index.js';
import { CheckContext } from './context/context.js';
import { parseMounts, type OfflineSources } from './context/offline.js';
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_MS } from './context/options.js';
import { isVaultStore, ManifestError, parseExternalSecret, parseVaultStore, type ExternalSecretView, type VaultStore } from './eso/model.js';
import { readInputs, type Inputs } from './manifests/read.js';
import { SCHEMA_VERSION, summarize, type Report, type Result } from './report/types.js';
import { runIsolated, sortResults, storeSummaries } from './run.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';

export interface LintOptions {
  /** Files and directories to read; "-" reads stdin. */
  paths: string[];
  /** Reads stdin when a path is "-". */
  stdin?: () => Promise<string>;
  /** KV mount table as `kv=2,secret=1`. */
  mounts?: string;
  /** Namespace of namespaced objects that name none, as `kubectl apply` would use. */
  defaultNamespace?: string;
  only?: string[];
  skip?: string[];
}

const ESO_GROUP = 'external-secrets.io/';
const ESO_KINDS = new Set(['ExternalSecret', 'ClusterExternalSecret', 'SecretStore', 'ClusterSecretStore', 'PushSecret', 'ClusterPushSecret']);

export interface OfflineLoad {
  context: CheckContext;
  stores: VaultStore[];
  externalSecrets: ExternalSecretView[];
  errors: Report['errors'];
}

/** Read the inputs of an offline run into a check context; input problems become errors. */
export async function loadOffline(options: LintOptions): Promise<OfflineLoad> {
  const errors: Report['errors'] = [];
  let mounts;
  try {
    mounts = options.mounts ? parseMounts(options.mounts) : undefined;
  } catch (error) {
    errors.push({ message: (error as Error).message, fix: { summary: 'Give --mounts as MOUNT=VERSION pairs, for example --mounts kv=2,secret=1.', commands: [] } });
  }

  const inputs = await readInputs(options.paths, options.stdin);
  for (const error of inputs.errors) {
    errors.push({ message: `${error.location ?? error.file}: ${error.message}`, fix: { summary: 'Fix or remove the file, then run again.', commands: [] } });
  }
  if (inputs.files === 0 && inputs.errors.length === 0) {
    errors.push({ message: `No YAML, HCL or JSON file was found in ${options.paths.join(', ')}.`, fix: { summary: 'Pass manifest files or directories, or "-" to read stdin.', commands: [] } });
  }

  if (inputs.files > 0 && inputs.objects.length === 0 && inputs.policies.length === 0 && inputs.roles.length === 0 && inputs.mountFiles.length === 0 && inputs.errors.length === 0) {
    errors.push({
      message: `Nothing to check was read from ${options.paths.map((path) => (path === '-' ? 'stdin' : path)).join(', ')}: no Kubernetes objects, policies, roles or mount tables.`,
      fix: { summary: 'Check the input; an empty stdin usually means the command before the pipe (helm template, kustomize build) failed.', commands: [] },
    });
  }
  const defaultNamespace = options.defaultNamespace ?? 'default';
  const stores: VaultStore[] = [];
  const externalSecrets: ExternalSecretView[] = [];
  let serviceAccounts: Set<string> | undefined;
  let esoObjects = 0;
  for (const source of inputs.objects) {
    const object = source.object;
    const kind = object.kind;
    const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
    const metadata = (object.metadata ?? {}) as Record<string, unknown>;
    if (kind === 'ServiceAccount' && apiVersion === 'v1') {
      serviceAccounts ??= new Set();
      serviceAccounts.add(`${typeof metadata.namespace === 'string' ? metadata.namespace : defaultNamespace}/${String(metadata.name ?? '')}`);
      continue;
    }
    if (!apiVersion.startsWith(ESO_GROUP)) continue;
    if (typeof kind !== 'string' || !ESO_KINDS.has(kind)) {
      errors.push({
        message: `${source.locate([])}: unknown kind "${String(kind)}" in ${apiVersion}; ESO defines ${[...ESO_KINDS].join(', ')}.`,
        fix: { summary: 'Correct the kind; the API server rejects a kind its CRDs do not define.', commands: [] },
      });
      continue;
    }
    esoObjects += 1;
    const withNamespace = kind === 'ClusterSecretStore' || typeof metadata.namespace === 'string' ? object : { ...object, metadata: { ...metadata, namespace: defaultNamespace } };
    try {
      if ((kind === 'SecretStore' || kind === 'ClusterSecretStore') && isVaultStore(withNamespace)) stores.push(parseVaultStore(withNamespace, source.locate));
      else if (kind === 'ExternalSecret') externalSecrets.push(parseExternalSecret(withNamespace, source.locate));
    } catch (error) {
      if (error instanceof ManifestError) errors.push({ message: `${source.locate([])}: ${error.message}` });
      else throw error;
    }
  }

  if (esoObjects > 0 && stores.length === 0) {
    errors.push({
      message: 'No SecretStore or ClusterSecretStore with a vault provider was found in the input, so no ExternalSecret can be checked.',
      fix: { summary: 'Include the Vault store manifests in the input (this tool checks only the vault provider).', commands: [] },
    });
  }
  const policies: OfflineSources['policies'] = new Map();
  for (const file of inputs.policies) policies.set(file.name.toLowerCase(), { text: file.text, file: file.file });
  const fileMounts = inputs.mountFiles.flatMap((file) => file.mounts);
  const offline: OfflineSources = {
    mounts: mounts ?? (fileMounts.length ? fileMounts : undefined),
    roles: inputs.roles.map((role) => ({ mount: role.mount, role: role.role, data: role.data, file: role.file })),
    policies,
    serviceAccounts,
  };
  const apiVersions = [...new Set([...stores.map((store) => store.apiVersion), ...externalSecrets.map((es) => es.apiVersion)])];
  const context = new CheckContext(
    { namespaces: [], stores: [], tlsSkipVerify: false, timeoutMs: DEFAULT_TIMEOUT_MS, concurrency: DEFAULT_CONCURRENCY, verbose: false },
    { stores, externalSecrets, offline, esoVersions: apiVersions.map((version) => version.slice(ESO_GROUP.length)) },
  );
  return { context, stores, externalSecrets, errors };
}

/** Lint files offline; never prints and never exits. */
export async function lint(options: LintOptions): Promise<Report> {
  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    mode: 'lint',
    generatedAt: new Date().toISOString(),
    summary: summarize([]),
    stores: [],
    results: [],
    errors: [],
  };
  const selection = selectChecks(options.only ?? [], options.skip ?? [], 'lint');
  if (selection.unknown.length > 0) {
    report.errors.push({ message: `Unknown check or group: ${selection.unknown.join(', ')}.`, fix: { summary: 'List the check ids with --list-checks.', commands: ['vault-selfcheck --list-checks'] } });
    return report;
  }
  const loaded = await loadOffline(options);
  report.errors.push(...loaded.errors);
  if (options.mounts && loaded.errors.some((error) => error.message.startsWith('invalid --mounts'))) return report;
  const results: Result[] = [];
  for (const check of selection.checks) results.push(...(await runIsolated(check, loaded.context)));
  report.results = sortResults(results, loaded.stores);
  report.summary = summarize(report.results);
  report.stores = storeSummaries(loaded.stores);
  return report;
}
