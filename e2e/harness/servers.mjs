// Starts etcd, kube-apiserver and a HashiCorp Vault dev server on loopback ports, records their
// PIDs in RUN_DIR/state.json so that another process can stop them, and wires Vault's Kubernetes
// auth method to the kube-apiserver.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPki } from './pki.mjs';
import {
  isRunning,
  killProcessesNow,
  pickFreePorts,
  residentKiB,
  startProcess,
  stopProcesses,
  waitUntilReady,
} from './processes.mjs';
import { createKubeClient, kubeconfigYaml } from './kube.mjs';
import { applyExternalSecretsCrds } from './crds.mjs';
import { createVaultClient, loginWithKubernetesJwt } from './vault.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILD_SCRIPT = join(REPO_ROOT, 'e2e', 'gobins', 'build.sh');

/** Vault dev servers accept this root token because `-dev-root-token-id` sets it. */
const ROOT_TOKEN = 'root';
const STATE_FILE = 'state.json';
/** Marks a directory as a harness run directory, which `prepareRunDir` may empty. */
const MARKER_FILE = '.vault-selfcheck-e2e-run';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

// Start-up limits. kube-apiserver is the slow one: about 10-20 s on a 2-core machine, more when
// the machine is busy with a build.
const ETCD_READY_MS = 30_000;
const KUBE_APISERVER_READY_MS = 90_000;
const VAULT_READY_MS = 30_000;

/**
 * @typedef {{ etcd: string, 'kube-apiserver': string, vault: string }} ServerBinaries
 * @typedef {{ etcd: number, kubeApiserver: number, vault: number }} ServerPids
 *
 * @typedef {object} Servers
 * @property {string} runDir
 * @property {string} kubeconfig path of a kubeconfig with context `e2e` and the admin user
 * @property {string} kubeServer https://127.0.0.1:PORT
 * @property {string} caPem the CA that signed the kube-apiserver serving certificate
 * @property {string} vaultAddr http://127.0.0.1:PORT
 * @property {string} rootToken
 * @property {ServerPids} pids
 * @property {Record<string, string>} logs log file of each server
 * @property {Record<string, number>} startupMs time from spawn to ready, per server, plus `bootstrap`
 * @property {import('./kube.mjs').KubeClient} kube admin client
 * @property {import('./vault.mjs').VaultClient} vault root-token client
 * @property {() => Record<string, number | null>} memoryKiB resident memory of each server
 * @property {() => Promise<void>} stop stops all three servers and waits for them to exit
 */

/**
 * Finds the server binaries that `e2e/gobins/build.sh` built.
 * @returns {Promise<ServerBinaries>}
 */
export async function findServerBinaries() {
  /** @type {{ code: number, stdout: string, stderr: string }} */
  const { code, stdout, stderr } = await new Promise((resolvePromise) => {
    execFile('bash', [BUILD_SCRIPT, '--paths'], { cwd: REPO_ROOT }, (error, out, err) => {
      let exitCode = 0;
      if (error) exitCode = typeof error.code === 'number' ? error.code : 1;
      resolvePromise({ code: exitCode, stdout: out, stderr: err });
    });
  });
  /** @type {Record<string, string>} */
  const paths = {};
  for (const line of stdout.split('\n')) {
    const match = /^([\w-]+)=(.+)$/.exec(line.trim());
    if (match) paths[/** @type {string} */ (match[1])] = /** @type {string} */ (match[2]);
  }
  if (code === 3) {
    const missing = Object.entries(paths).filter(([, path]) => !existsSync(path)).map(([name]) => name);
    throw new Error(
      `test server binaries not built yet: ${missing.join(', ')}. Build them with 'npm run servers' ` +
        '(bash e2e/gobins/build.sh; kube-apiserver takes 10-15 minutes on 2 cores).',
    );
  }
  if (code !== 0) throw new Error(`bash ${BUILD_SCRIPT} --paths failed with exit code ${code}: ${stderr.trim()}`);
  for (const name of ['etcd', 'kube-apiserver', 'vault']) {
    if (!paths[name]) throw new Error(`bash ${BUILD_SCRIPT} --paths printed no path for ${name}; its output was: ${stdout.trim()}`);
  }
  return /** @type {ServerBinaries} */ (/** @type {unknown} */ (paths));
}

/**
 * Empties `runDir` for a new start. It refuses a directory that has files but no marker of an
 * earlier run, so a wrong path cannot wipe unrelated files, and a directory whose servers still run.
 * @param {string} runDir
 */
async function prepareRunDir(runDir) {
  if (existsSync(runDir)) {
    const entries = await readdir(runDir);
    if (entries.length > 0 && !entries.includes(MARKER_FILE)) {
      throw new Error(
        `run directory ${runDir} is not empty and was not made by the e2e harness (no ${MARKER_FILE}); ` +
          'pass an empty or new directory',
      );
    }
    const state = await readState(runDir);
    const running = state ? liveChildren(state).map((child) => child.name) : [];
    if (running.length > 0) {
      throw new Error(
        `servers of an earlier run still run in ${runDir} (${running.join(', ')}); ` +
          `stop them with stopServers('${runDir}') or 'npm run demo -- --down'`,
      );
    }
    await rm(runDir, { recursive: true, force: true });
  }
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  await writeFile(join(runDir, MARKER_FILE), '');
}

/**
 * @typedef {object} State
 * @property {import('./processes.mjs').ChildInfo[]} children
 * @property {string} [kubeServer]
 * @property {string} [vaultAddr]
 * @property {string} [startedAt]
 */

/** @param {string} runDir @returns {Promise<State | null>} */
async function readState(runDir) {
  try {
    return JSON.parse(await readFile(join(runDir, STATE_FILE), 'utf8'));
  } catch {
    return null;
  }
}

/** @param {string} runDir @param {State} state */
async function writeState(runDir, state) {
  await writeFile(join(runDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** @param {State} state */
function liveChildren(state) {
  return state.children.filter((child) => isRunning(child.pid, child.bin));
}

/**
 * Sorts servers into the order in which they stop quickly: etcd last, because kube-apiserver
 * needs it to shut down (see `stopProcesses`).
 * @param {import('./processes.mjs').ChildInfo[]} children
 */
function inStopOrder(children) {
  const order = ['kube-apiserver', 'vault', 'etcd'];
  return [...children].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** @param {NodeJS.ProcessEnv} env @param {RegExp} prefix */
function envWithout(env, prefix) {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !prefix.test(key)));
}

/**
 * Starts etcd, kube-apiserver and Vault in `runDir`, waits until each is ready, and bootstraps
 * the CRDs and Vault's Kubernetes auth method.
 *
 * The servers run in their own process groups. Unless `keepAfterExit` is set, they are killed
 * when the calling process exits without calling `stop()`.
 * @param {object} options
 * @param {string} options.runDir created if missing; an earlier run's files in it are removed
 * @param {(message: string) => void} [options.log] progress messages, none with secrets
 * @param {ServerBinaries} [options.binaries] defaults to the output of `build.sh --paths`
 * @param {boolean} [options.keepAfterExit] leave the servers running when this process exits
 * @returns {Promise<Servers>}
 */
export async function startServers({ runDir, log = () => {}, binaries, keepAfterExit = false }) {
  runDir = resolve(runDir);
  const bins = binaries ?? (await findServerBinaries());
  await prepareRunDir(runDir);

  const pkiDir = join(runDir, 'pki');
  await mkdir(pkiDir, { mode: 0o700 });
  const pki = await createPki(pkiDir);
  const certPem = await readFile(pki.adminCert, 'utf8');
  const keyPem = await readFile(pki.adminKey, 'utf8');

  const [etcdPort, etcdPeerPort, kubePort, vaultPort] = /** @type {[number, number, number, number]} */ (
    await pickFreePorts([1, 1, 1, 2])
  );
  const kubeServer = `https://127.0.0.1:${kubePort}`;
  const vaultAddr = `http://127.0.0.1:${vaultPort}`;

  /** @type {State} */
  const state = { children: [], kubeServer, vaultAddr, startedAt: new Date().toISOString() };
  const exitHook = () => killProcessesNow(state.children);
  if (!keepAfterExit) process.on('exit', exitHook);

  /** @type {import('./kube.mjs').KubeClient | null} */
  let kube = null;
  const stopAll = async () => {
    process.off('exit', exitHook);
    await kube?.close();
    const left = await stopProcesses(inStopOrder(state.children));
    if (left.length > 0) throw new Error(`could not stop ${left.join(', ')}; kill the PIDs listed in ${join(runDir, STATE_FILE)}`);
    await rm(join(runDir, STATE_FILE), { force: true });
  };

  try {
    /** @type {Record<string, number>} */
    const startupMs = {};

    const etcd = startProcess({
      name: 'etcd',
      bin: bins.etcd,
      cwd: runDir,
      logPath: join(runDir, 'etcd.log'),
      env: envWithout(process.env, /^ETCD_/),
      args: [
        '--name=default',
        `--data-dir=${join(runDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
    });
    state.children.push(etcd);
    await writeState(runDir, state);

    // Vault does not depend on the other two, so it starts while etcd and kube-apiserver do.
    const vaultHome = join(runDir, 'vault-home');
    await mkdir(vaultHome, { mode: 0o700 });
    const vaultChild = startProcess({
      name: 'vault',
      bin: bins.vault,
      cwd: runDir,
      logPath: join(runDir, 'vault.log'),
      // HOME points into the run directory as a second guard against a ~/.vault-token write,
      // and VAULT_* variables of the caller must not change the dev server's settings.
      env: { ...envWithout(process.env, /^VAULT_/), HOME: vaultHome },
      args: [
        'server',
        '-dev',
        `-dev-root-token-id=${ROOT_TOKEN}`,
        `-dev-listen-address=127.0.0.1:${vaultPort}`,
        '-dev-no-store-token',
      ],
    });
    state.children.push(vaultChild);
    await writeState(runDir, state);
    const vaultReady = waitUntilReady(vaultChild, () => probeVault(vaultAddr), VAULT_READY_MS).then((ms) => {
      startupMs.vault = ms;
      log(`vault ready at ${vaultAddr} in ${(ms / 1000).toFixed(1)} s`);
    });
    // A handler attached now keeps a Vault failure during the etcd wait from becoming an unhandled
    // rejection. The Promise.all below still rejects with it.
    vaultReady.catch(() => {});

    startupMs.etcd = await waitUntilReady(etcd, () => probeEtcd(etcdPort), ETCD_READY_MS);
    log(`etcd ready on 127.0.0.1:${etcdPort} in ${(startupMs.etcd / 1000).toFixed(1)} s`);

    const kubeChild = startProcess({
      name: 'kube-apiserver',
      bin: bins['kube-apiserver'],
      cwd: runDir,
      logPath: join(runDir, 'kube-apiserver.log'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kubePort}`,
        `--cert-dir=${join(runDir, 'kas')}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // Without a controller-manager no token controller exists, so this admission plugin
        // would reject pods; the harness creates service accounts and tokens itself.
        '--disable-admission-plugins=ServiceAccount',
        '--profiling=false',
      ],
    });
    state.children.push(kubeChild);
    await writeState(runDir, state);

    kube = createKubeClient({ server: kubeServer, caPem: pki.caPem, certPem, keyPem });
    const kubeClient = kube;
    const kubeReady = waitUntilReady(kubeChild, () => probeKube(kubeClient), KUBE_APISERVER_READY_MS).then((ms) => {
      startupMs.kubeApiserver = ms;
      log(`kube-apiserver ready at ${kubeServer} in ${(ms / 1000).toFixed(1)} s`);
    });
    // Promise.all rejects on the first failure, so a Vault that exits at once is reported
    // without waiting for kube-apiserver.
    await Promise.all([kubeReady, vaultReady]);

    const kubeconfig = join(runDir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml({ server: kubeServer, caPem: pki.caPem, certPem, keyPem }), { mode: 0o600 });
    await chmod(kubeconfig, 0o600);

    const vault = createVaultClient({ addr: vaultAddr, token: ROOT_TOKEN });
    const bootstrapStart = Date.now();
    await bootstrap({ kube, vault, kubeServer, caPem: pki.caPem });
    startupMs.bootstrap = Date.now() - bootstrapStart;
    log(`CRDs and Vault Kubernetes auth configured in ${(startupMs.bootstrap / 1000).toFixed(1)} s`);

    return {
      runDir,
      kubeconfig,
      kubeServer,
      caPem: pki.caPem,
      vaultAddr,
      rootToken: ROOT_TOKEN,
      pids: { etcd: etcd.pid, kubeApiserver: kubeChild.pid, vault: vaultChild.pid },
      logs: { etcd: etcd.logPath, 'kube-apiserver': kubeChild.logPath, vault: vaultChild.logPath },
      startupMs,
      kube,
      vault,
      memoryKiB: () => Object.fromEntries(state.children.map((child) => [child.name, residentKiB(child.pid)])),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

/**
 * Reconnects to servers that an earlier `startServers({ keepAfterExit: true })` left running
 * in `runDir`, or returns null when they are not all running.
 * @param {string} runDir
 * @returns {Promise<Servers | null>}
 */
export async function attachServers(runDir) {
  runDir = resolve(runDir);
  const state = await readState(runDir);
  if (!state || !state.kubeServer || !state.vaultAddr) return null;
  if (liveChildren(state).length !== 3) return null;

  const caPem = await readFile(join(runDir, 'pki', 'ca.crt'), 'utf8');
  const certPem = await readFile(join(runDir, 'pki', 'admin.crt'), 'utf8');
  const keyPem = await readFile(join(runDir, 'pki', 'admin.key'), 'utf8');
  const kube = createKubeClient({ server: state.kubeServer, caPem, certPem, keyPem });
  const vault = createVaultClient({ addr: state.vaultAddr, token: ROOT_TOKEN });
  if (!(await probeKube(kube).catch(() => false)) || !(await probeVault(state.vaultAddr).catch(() => false))) {
    await kube.close();
    return null;
  }
  /** @param {string} name */
  const pidOf = (name) => state.children.find((child) => child.name === name)?.pid ?? 0;
  return {
    runDir,
    kubeconfig: join(runDir, 'kubeconfig'),
    kubeServer: state.kubeServer,
    caPem,
    vaultAddr: state.vaultAddr,
    rootToken: ROOT_TOKEN,
    pids: { etcd: pidOf('etcd'), kubeApiserver: pidOf('kube-apiserver'), vault: pidOf('vault') },
    logs: Object.fromEntries(state.children.map((child) => [child.name, child.logPath])),
    startupMs: {},
    kube,
    vault,
    memoryKiB: () => Object.fromEntries(state.children.map((child) => [child.name, residentKiB(child.pid)])),
    stop: async () => {
      await kube.close();
      await stopServers(runDir);
    },
  };
}

/**
 * Stops the servers whose PIDs `runDir/state.json` lists, from any process. A PID is signalled
 * only while it still runs the recorded binary.
 * @param {string} runDir
 * @returns {Promise<string[]>} names of the servers that were running and are now stopped
 */
export async function stopServers(runDir) {
  runDir = resolve(runDir);
  const state = await readState(runDir);
  if (!state) return [];
  const live = inStopOrder(liveChildren(state));
  const left = await stopProcesses(live);
  if (left.length > 0) throw new Error(`could not stop ${left.join(', ')}; kill the PIDs listed in ${join(runDir, STATE_FILE)}`);
  await rm(join(runDir, STATE_FILE), { force: true });
  return live.map((child) => child.name);
}

/** @param {number} port */
async function probeEtcd(port) {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
  const body = await response.json().catch(() => null);
  return response.ok && body?.health === 'true';
}

/** @param {import('./kube.mjs').KubeClient} kube */
async function probeKube(kube) {
  const { status } = await kube.request('GET', '/readyz', { okStatuses: [401, 403, 500, 503] });
  return status === 200;
}

/** @param {string} addr */
async function probeVault(addr) {
  const response = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  return response.status === 200;
}

/**
 * Installs the CRDs and a token reviewer, then enables and configures Vault's Kubernetes auth
 * method at `kubernetes/`.
 * @param {{ kube: import('./kube.mjs').KubeClient, vault: import('./vault.mjs').VaultClient, kubeServer: string, caPem: string }} options
 */
async function bootstrap({ kube, vault, kubeServer, caPem }) {
  await applyExternalSecretsCrds(kube);

  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault-auth' } });
  await kube.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'token-reviewer', namespace: 'vault-auth' } });
  // system:auth-delegator allows creating TokenReviews, which Vault sends to verify login JWTs.
  await kube.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'vault-token-reviewer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: 'token-reviewer', namespace: 'vault-auth' }],
  });
  const reviewerJwt = await kube.requestToken('vault-auth', 'token-reviewer', { expirationSeconds: 86_400 });

  const { body: mounts } = await vault.request('GET', 'sys/auth');
  if (!mounts?.data?.['kubernetes/']) await vault.write('sys/auth/kubernetes', { type: 'kubernetes' });
  await vault.write('auth/kubernetes/config', {
    kubernetes_host: kubeServer,
    kubernetes_ca_cert: caPem,
    token_reviewer_jwt: reviewerJwt,
    // Vault runs outside the cluster, so it has no pod service-account files to fall back to.
    disable_local_ca_jwt: true,
  });
}

/**
 * Logs in to Vault's Kubernetes auth method as a service account, with a JWT from a TokenRequest
 * that has the kube-apiserver's default audience. A rejected login is returned, not thrown.
 * @param {Servers} servers
 * @param {{ namespace: string, serviceAccount: string, role: string, mount?: string }} options
 */
export async function loginAsServiceAccount(servers, { namespace, serviceAccount, role, mount = 'kubernetes' }) {
  const jwt = await servers.kube.requestToken(namespace, serviceAccount, { expirationSeconds: 600 });
  return loginWithKubernetesJwt(servers.vault, { mount, role, jwt });
}
