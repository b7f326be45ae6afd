// One classification of transport failures for both the Vault and the Kubernetes client, so every
// check words the same failure the same way.

export type NetworkErrorKind = 'dns' | 'refused' | 'tls-untrusted' | 'tls-hostname' | 'tls-expired' | 'tls' | 'timeout' | 'reset' | 'network';

export interface NetworkFailure {
  kind: NetworkErrorKind;
  code?: string;
  /** A sentence naming the failure, without the request's credentials. */
  message: string;
}

const TLS_UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Walk an error and its `cause` chain for the first Node error code. */
function findCode(error: unknown): { code?: string; message: string } {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const candidate = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof candidate.code === 'string' && candidate.code !== 'UND_ERR_SOCKET') {
      return { code: candidate.code, message: String(candidate.message ?? candidate.code) };
    }
    if (Array.isArray(candidate.errors) && candidate.errors.length > 0) {
      current = candidate.errors[0];
      continue;
    }
    current = candidate.cause;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message };
}

/** Classify a thrown transport error; `undefined` when it is not a transport error. */
export function classifyNetworkError(error: unknown, host: string): NetworkFailure | undefined {
  const { code, message } = findCode(error);
  const name = (error as { name?: string } | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT' || code === 'ABORT_ERR') {
    return { kind: 'timeout', code, message: `the request to ${host} timed out` };
  }
  if (!code) return undefined;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return { kind: 'dns', code, message: `the host name of ${host} does not resolve (${code})` };
  }
  if (code === 'ECONNREFUSED') return { kind: 'refused', code, message: `the connection to ${host} was refused` };
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') {
    return { kind: 'reset', code, message: `the connection to ${host} was closed by the server (${code})` };
  }
  if (TLS_UNTRUSTED.has(code)) {
    return { kind: 'tls-untrusted', code, message: `TLS verification of ${host} failed: certificate signed by unknown authority (${code})` };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { kind: 'tls-hostname', code, message: `TLS verification of ${host} failed: the certificate is not valid for this host name (${message})` };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { kind: 'tls-expired', code, message: `TLS verification of ${host} failed: the certificate is expired or not yet valid (${code})` };
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT')) {
    return { kind: 'tls', code, message: `the TLS handshake with ${host} failed (${code})` };
  }
  if (code.startsWith('E') || code.startsWith('UND_ERR')) {
    return { kind: 'network', code, message: `the request to ${host} failed (${code})` };
  }
  return undefined;
}
