import { Agent, request, type Dispatcher } from 'undici';

import { classifyNetworkError, type NetworkFailure } from '../net/errors.js';

export interface VaultClientOptions {
  /** Base address such as `https://vault.example:8200`; a path part is kept, as the Go client does. */
  address: string;
  /** PEM bundle that replaces the system roots, as ESO's caBundle does. */
  caPem?: string;
  skipVerify?: boolean;
  timeoutMs: number;
  /** Retries for 429, 502, 503 (not sealed) and 504 on idempotent requests. */
  maxRetries?: number;
  dispatcher?: Dispatcher;
}

export interface VaultRequest {
  method: 'GET' | 'PUT' | 'POST' | 'LIST';
  /** API path without `/v1/`, for example `kv/data/argo/x`; may carry a query string. */
  path: string;
  token?: string;
  namespace?: string;
  body?: unknown;
}

export interface VaultResponse {
  status: number;
  body: VaultBody;
}

export interface VaultBody {
  data?: Record<string, unknown> | null;
  auth?: { client_token?: string; accessor?: string; policies?: string[]; token_policies?: string[]; metadata?: Record<string, string> } | null;
  errors?: string[];
  warnings?: string[] | null;
  [key: string]: unknown;
}

export type VaultErrorKind = NetworkFailure['kind'] | 'http';

/** A failed Vault request. The message never contains the token or request body. */
export class VaultError extends Error {
  constructor(
    readonly kind: VaultErrorKind,
    message: string,
    readonly status?: number,
    readonly vaultErrors: string[] = [],
    readonly code?: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }

  get sealed(): boolean {
    return this.status === 503 && this.vaultErrors.some((e) => e.includes('Vault is sealed'));
  }

  get permissionDenied(): boolean {
    return this.status === 403;
  }
}

export interface RequestCounts {
  [kind: string]: number;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

export class VaultClient {
  readonly address: string;
  readonly counts: RequestCounts = {};
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(private readonly options: VaultClientOptions) {
    this.address = options.address.replace(/\/+$/, '');
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Agent({
        connect: {
          ca: options.caPem,
          rejectUnauthorized: !options.skipVerify,
        },
        connections: 32,
      });
      this.ownsDispatcher = true;
    }
  }

  /** Build the full URL of an API path, as Vault's Go client does (path.Join of base path and /v1/). */
  url(path: string): string {
    return `${this.address}/v1/${path.replace(/^\/+/, '')}`;
  }

  /** Send one request; HTTP errors resolve, transport errors throw VaultError. */
  async raw(req: VaultRequest): Promise<VaultResponse> {
    const kind = `${req.method} ${req.path.split('?')[0]!.split('/').slice(0, 2).join('/')}`;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (req.token) headers['X-Vault-Token'] = req.token;
    if (req.namespace) headers['X-Vault-Namespace'] = req.namespace;
    let payload: string | undefined;
    if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(req.body);
    }
    const idempotent = req.method === 'GET' || req.method === 'LIST';
    const maxRetries = idempotent ? (this.options.maxRetries ?? 2) : 0;
    for (let attempt = 0; ; attempt += 1) {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(this.url(req.path), {
          method: req.method as Dispatcher.HttpMethod,
          headers,
          body: payload,
          dispatcher: this.dispatcher,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (error) {
        const failure = classifyNetworkError(error, this.address);
        if (failure) throw new VaultError(failure.kind, failure.message, undefined, [], failure.code);
        throw error;
      }
      const text = await response.body.text();
      let body: VaultBody = {};
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text) as VaultBody;
        } catch {
          body = { errors: [`non-JSON response (${text.length} bytes)`] };
        }
      }
      const status = response.statusCode;
      const sealed = status === 503 && (body.errors ?? []).some((e) => e.includes('sealed'));
      if (attempt < maxRetries && RETRYABLE.has(status) && !sealed && !req.path.startsWith('sys/health')) {
        await sleep(retryDelayMs(response.headers['retry-after'], attempt));
        continue;
      }
      return { status, body };
    }
  }

  /** Send a request and throw VaultError for any status >= 400. */
  async call(req: VaultRequest): Promise<VaultBody> {
    const response = await this.raw(req);
    if (response.status >= 400) throw httpError(req, response, this.url(req.path));
    return response.body;
  }

  /** Close the connection pool; `force` drops requests still in flight, as an interrupted run needs. */
  async close(force = false): Promise<void> {
    if (!this.ownsDispatcher) return;
    if (force) await this.dispatcher.destroy();
    else await this.dispatcher.close();
  }
}

export function httpError(req: VaultRequest, response: VaultResponse, url: string): VaultError {
  const errors = (response.body.errors ?? []).map((e) => String(e).trim());
  const text = errors.length > 0 ? errors.map(flattenMultierror).join('; ') : response.body.warnings?.join('; ') || 'no error message';
  return new VaultError('http', `${req.method} ${url.split('?')[0]}: HTTP ${response.status}: ${text}`, response.status, errors);
}

/** Turn Vault's go-multierror text ("1 error occurred:\n\t* permission denied") into one line. */
export function flattenMultierror(text: string): string {
  const items = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('* '))
    .map((line) => line.slice(2));
  return items.length > 0 ? items.join('; ') : text.trim();
}

function retryDelayMs(retryAfter: string | string[] | undefined, attempt: number): number {
  const value = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const seconds = value === undefined ? NaN : Number(value);
  // Retry-After is honoured up to 5 s so a misbehaving proxy cannot stall the whole run.
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 5000);
  return 250 * 2 ** attempt;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
