// A second HashiCorp Vault dev server on loopback, for faults that the shared Vault of
// servers.mjs must not carry: a TLS listener with a CA that the client does not trust yet, or a
// sealed server.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Agent, fetch } from 'undici';
import { findServerBinaries } from './servers.mjs';
import { killProcessesNow, pickFreePorts, startProcess, stopProcesses, waitUntilReady } from './processes.mjs';

const VAULT_READY_MS = 30_000;

/**
 * @typedef {object} ExtraVault
 * @property {string} addr http://127.0.0.1:PORT, or https:// with `tls`
 * @property {string} rootToken
 * @property {string | undefined} caFile PEM file of the CA that signed the TLS certificate, with `tls`
 * @property {string | undefined} caPem the same CA as text
 * @property {number} pid
 * @property {string} logPath
 * @property {() => Promise<void>} seal seals the server with its root token
 * @property {() => Promise<void>} stop stops the server and waits for it to exit
 */

/**
 * Starts a Vault dev server in `dir`. With `tls`, Vault's `-dev-tls` mode generates a CA and a
 * certificate for localhost and 127.0.0.1 and writes them to `dir/tls`. Vault 1.14.2 deletes these
 * files when it stops, so `caFile` exists only while the server runs.
 *
 * The server is killed when the calling process exits without calling `stop()`.
 * @param {object} options
 * @param {string} options.dir created if missing; it receives the log and, with `tls`, the CA
 * @param {string} [options.name] process name used in error messages
 * @param {boolean} [options.tls]
 * @param {import('./servers.mjs').ServerBinaries} [options.binaries] defaults to the output of `build.sh --paths`
 * @returns {Promise<ExtraVault>}
 */
export async function startExtraVault({ dir, name = 'vault-extra', tls = false, binaries }) {
  dir = resolve(dir);
  const bins = binaries ?? (await findServerBinaries());
  const home = join(dir, 'home');
  const certDir = join(dir, 'tls');
  await mkdir(home, { recursive: true, mode: 0o700 });
  if (tls) await mkdir(certDir, { recursive: true, mode: 0o700 });

  // Vault's dev server also listens for cluster traffic on its API port + 1.
  const [port] = /** @type {[number]} */ (await pickFreePorts([2]));
  const rootToken = `extra-${randomBytes(12).toString('hex')}`;
  const addr = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VAULT_')));

  const child = startProcess({
    name,
    bin: bins.vault,
    cwd: dir,
    logPath: join(dir, `${name}.log`),
    // HOME in the directory keeps a ~/.vault-token write away from the caller's home.
    env: { ...env, HOME: home },
    args: [
      'server',
      '-dev',
      `-dev-root-token-id=${rootToken}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      '-dev-no-store-token',
      ...(tls ? ['-dev-tls', `-dev-tls-cert-dir=${certDir}`] : []),
    ],
  });
  /** @type {Agent | undefined} */
  let dispatcher;
  const exitHook = () => killProcessesNow([child]);
  process.on('exit', exitHook);
  const stop = async () => {
    process.off('exit', exitHook);
    await dispatcher?.close();
    const left = await stopProcesses([child]);
    if (left.length > 0) throw new Error(`could not stop ${name} (PID ${child.pid}); kill it by that PID`);
  };

  try {
    // The CA file appears a moment after the process starts, so it is read inside the probe.
    /** @type {string | undefined} */
    let caPem;
    const caFile = tls ? join(certDir, 'vault-ca.pem') : undefined;
    await waitUntilReady(
      child,
      async () => {
        if (caFile && caPem === undefined) {
          caPem = await readFile(caFile, 'utf8');
          dispatcher = new Agent({ connect: { ca: caPem } });
        }
        const response = await fetch(`${addr}/v1/sys/health`, { dispatcher, signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        return response.status === 200;
      },
      VAULT_READY_MS,
    );

    const seal = async () => {
      const response = await fetch(`${addr}/v1/sys/seal`, { method: 'PUT', dispatcher, headers: { 'x-vault-token': rootToken } });
      const text = await response.text();
      if (response.status !== 204) throw new Error(`sealing ${name} at ${addr} failed with HTTP ${response.status}: ${text.slice(0, 300)}`);
    };
    return { addr, rootToken, caFile, caPem, pid: child.pid, logPath: child.logPath, seal, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
