// Real servers plus a fault proxy in front of Vault, started once per test file.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import { startServers, type Servers } from '../../../e2e/harness/servers.mjs';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** Register beforeAll/afterAll hooks and return an accessor that throws if start-up failed. */
export function useServersWithProxy(prefix: string): () => { servers: Servers; proxy: FaultProxy } {
  let servers: Servers | undefined;
  let proxy: FaultProxy | undefined;
  let runDir: string | undefined;

  beforeAll(async () => {
    runDir = mkdtempSync(join(tmpdir(), prefix));
    servers = await startServers({ runDir: join(runDir, 'servers') });
    proxy = await startFaultProxy({ upstream: servers.vaultAddr });
  }, 300_000);

  afterAll(async () => {
    const outcomes = await Promise.allSettled([proxy?.stop(), servers?.stop()]);
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }, 60_000);

  return () => {
    if (!servers || !proxy) throw new Error('servers did not start; see the beforeAll error');
    return { servers, proxy };
  };
}
