// A loopback HTTP(S) proxy for the e2e suites: it forwards to one upstream server and records every
// request, and its rules can delay, hold or replace chosen responses. Bodies and tokens are never
// recorded; a token is kept only as a short hash, so tests can tell two tokens apart without
// holding either.

import { createHash } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent, for example `/v1/sys/health`. */
  url: string;
  /** First 12 hex digits of the SHA-256 of the X-Vault-Token or bearer token, when one was sent. */
  tokenHash?: string;
  receivedAt: number;
  status?: number;
  /** The proxy replied itself instead of forwarding. */
  injected: boolean;
  /** The client closed the connection before the response. */
  clientClosed: boolean;
}

export interface ProxyRule {
  method?: string;
  /** Matched against the path without the query string. */
  path: RegExp;
  /** Wait this long before replying or forwarding. */
  delayMs?: number;
  /** Answer with this instead of forwarding. */
  respond?: { status: number; headers?: Record<string, string>; body?: string };
  /** How many requests the rule applies to; unlimited when omitted. */
  times?: number;
}

export interface UpstreamTls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface FaultProxyOptions {
  /** http://127.0.0.1:PORT or https://127.0.0.1:PORT; only loopback upstreams are accepted. */
  upstream: string;
  /** Serve TLS with this certificate; the upstream is reached with `upstreamTls`. */
  serveTls?: { cert: string; key: string };
  upstreamTls?: UpstreamTls;
}

export interface FaultProxy {
  url: string;
  requests: RecordedRequest[];
  setRules(rules: ProxyRule[]): void;
  clear(): void;
  /** Resolves when a matching request has arrived, or rejects after `timeoutMs`. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest>;
  stop(): Promise<void>;
}

/** No rule may hold a request longer than this, so a forgotten rule cannot hang a suite. */
const MAX_DELAY_MS = 60_000;

function tokenHashOf(request: IncomingMessage): string | undefined {
  const vaultToken = request.headers['x-vault-token'];
  const bearer = /^Bearer\s+(.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1];
  const token = (Array.isArray(vaultToken) ? vaultToken[0] : vaultToken) ?? bearer;
  return token ? createHash('sha256').update(token).digest('hex').slice(0, 12) : undefined;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.hostname !== '127.0.0.1' && upstream.hostname !== 'localhost') {
    throw new Error(`the fault proxy forwards only to loopback, not to ${upstream.hostname}`);
  }
  const requests: RecordedRequest[] = [];
  let rules: { rule: ProxyRule; used: number }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();

  const wait = (ms: number, response: ServerResponse) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve(true);
      }, Math.min(ms, MAX_DELAY_MS));
      timers.add(timer);
      response.once('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      });
    });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '/';
    const path = url.split('?')[0]!;
    const record: RecordedRequest = { method: request.method ?? 'GET', url, tokenHash: tokenHashOf(request), receivedAt: Date.now(), injected: false, clientClosed: false };
    requests.push(record);
    for (const notify of waiters) notify();
    response.once('close', () => {
      if (!response.writableFinished) record.clientClosed = true;
    });

    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);

    const entry = rules.find(({ rule, used }) => (rule.method === undefined || rule.method === record.method) && rule.path.test(path) && (rule.times === undefined || used < rule.times));
    if (entry) entry.used += 1;
    const rule = entry?.rule;
    if (rule?.delayMs && !(await wait(rule.delayMs, response))) return;
    if (rule?.respond) {
      record.injected = true;
      record.status = rule.respond.status;
      response.writeHead(rule.respond.status, { 'content-type': 'application/json', ...rule.respond.headers });
      response.end(rule.respond.body ?? '');
      return;
    }

    const headers = { ...request.headers, host: upstream.host };
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const forwarded = send(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: record.method,
        path: url,
        headers,
        ...(options.upstreamTls ?? {}),
      },
      (answer) => {
        record.status = answer.statusCode;
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', (error) => {
      record.status = 502;
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: [`fault proxy: upstream failed: ${error.message}`] }));
    });
    response.once('close', () => {
      if (!forwarded.writableEnded || !response.writableFinished) forwarded.destroy();
    });
    forwarded.end(body);
  };

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(`fault proxy error: ${error.message}`);
    });
  };
  const server: Server = options.serveTls ? createHttpsServer({ cert: options.serveTls.cert, key: options.serveTls.key }, listener) : createHttpServer(listener);
  server.on(options.serveTls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fault proxy has no TCP address');
  const url = `${options.serveTls ? 'https' : 'http'}://127.0.0.1:${address.port}`;

  return {
    url,
    requests,
    setRules(next) {
      rules = next.map((rule) => ({ rule, used: 0 }));
    },
    clear() {
      rules = [];
      requests.length = 0;
    },
    waitForRequest(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = requests.find(predicate);
          if (!found) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching request reached the fault proxy within ${timeoutMs} ms`));
        }, timeoutMs);
        const notify = () => void check();
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(notify);
        };
        waiters.add(notify);
        check();
      });
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A loopback TCP port that was free a moment ago and has nothing listening on it now. */
export async function closedLoopbackPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
