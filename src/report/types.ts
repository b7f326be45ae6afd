// The canonical report. Renderers and CI gates read only this shape; see docs/report.md for the
// compatibility rules of schemaVersion.

export const SCHEMA_VERSION = 1 as const;

export type Status = 'pass' | 'fail' | 'warn' | 'skip' | 'error';

export const STATUSES: readonly Status[] = ['pass', 'fail', 'warn', 'skip', 'error'];

/** The object a result is about. Every field but `kind` is optional. */
export interface Target {
  kind:
    | 'ClusterSecretStore'
    | 'SecretStore'
    | 'ExternalSecret'
    | 'ServiceAccount'
    | 'Vault'
    | 'VaultAuthRole'
    | 'VaultPolicy'
    | 'File';
  name?: string;
  namespace?: string;
  /** The store the result belongs to, as `Kind/name` or `Kind/namespace/name`. */
  store?: string;
  /** The ExternalSecret entry, for example `data[0]` or `dataFrom[1].extract`. */
  entry?: string;
  /** The Vault server address the result is about. */
  server?: string;
  /** The Vault API path (without `/v1/`) the result is about. */
  path?: string;
  /** Service account identity as `namespace/name`. */
  serviceAccount?: string;
  /** Source location of the object for offline runs, `file:line:column`. */
  location?: string;
}

export interface Fix {
  summary: string;
  commands: string[];
  yaml?: string;
  hcl?: string;
}

export interface Result {
  check: string;
  status: Status;
  /** Stable identifier of the message template, documented per check. */
  messageId: string;
  target: Target;
  message: string;
  /** Why the check reached this verdict, in one or more sentences. */
  cause?: string;
  fix?: Fix;
  /** Facts behind the verdict: never a secret value or token. */
  details?: Record<string, unknown>;
}

export interface Summary {
  pass: number;
  fail: number;
  warn: number;
  skip: number;
  error: number;
}

export interface StoreSummary {
  ref: string;
  kind: 'ClusterSecretStore' | 'SecretStore';
  name: string;
  namespace?: string;
  server?: string;
}

export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: string; version: string };
  mode: 'live' | 'lint';
  generatedAt: string;
  summary: Summary;
  stores: StoreSummary[];
  results: Result[];
  /** Problems that stopped part of the run, such as a missing permission to list stores. */
  errors: { message: string; cause?: string; fix?: Fix }[];
}

export function summarize(results: Result[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };
  for (const result of results) summary[result.status] += 1;
  return summary;
}

/** Exit code contract: 0 healthy, 1 a check failed, 2 usage, configuration or internal error. */
export function exitCodeOf(report: Report, options: { strict?: boolean } = {}): 0 | 1 | 2 {
  if (report.summary.error > 0 || report.errors.length > 0) return 2;
  if (report.summary.fail > 0) return 1;
  if (options.strict && report.summary.warn > 0) return 1;
  return 0;
}
