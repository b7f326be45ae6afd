export interface RunOptions {
  kubeconfig?: string;
  context?: string;
  /** Namespaces whose ExternalSecrets are checked; empty means all. */
  namespaces: string[];
  /** Store names to limit the run to; empty means all. */
  stores: string[];
  /** Replaces every store's `server`, from --vault-addr or VAULT_ADDR. */
  vaultAddr?: string;
  vaultAddrSource?: string;
  /** PEM text from --ca-cert or VAULT_CACERT. */
  caCertPem?: string;
  caCertSource?: string;
  tlsSkipVerify: boolean;
  /** Operator token for reading roles, policies and mounts; never printed. */
  operatorToken?: string;
  operatorTokenSource?: string;
  /** VAULT_NAMESPACE, used for operator reads of stores that set no namespace. */
  vaultNamespace?: string;
  /** The ESO controller's service account, the login identity of stores without serviceAccountRef. */
  controllerServiceAccount?: { namespace: string; name: string; source: string };
  timeoutMs: number;
  concurrency: number;
  verbose: boolean;
  /** Receives progress lines; the CLI sends them to stderr. */
  progress?: (message: string) => void;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONCURRENCY = 8;
/** ESO hard-codes this TokenRequest lifetime for Kubernetes auth (providers/v1/vault auth.go). */
export const ESO_TOKEN_SECONDS = 600;
