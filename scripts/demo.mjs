#!/usr/bin/env node
// Runs vault-selfcheck against real local servers (etcd, kube-apiserver, Vault dev) loaded with
// one e2e scenario. Status goes to stderr, so stdout and the exit code are the tool's own.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureServerBinaries } from '../e2e/harness/build.mjs';
import { attachServers, REPO_ROOT, startServers, stopServers } from '../e2e/harness/servers.mjs';
import { loadScenario, scenarios } from '../e2e/scenarios/index.mjs';

const RUN_DIR = join(REPO_ROOT, '.e2e-run', 'demo');
const CLI = join(REPO_ROOT, 'bin', 'vault-selfcheck.js');
const DEFAULT_SCENARIO = 'argo-stack-broken';
const MIN_NODE = [20, 19];
const MIN_GO = [1, 26];

const USAGE = `Usage: npm run demo -- [--scenario NAME] [--keep] [--down] [-- TOOL_ARGS...]

Starts etcd, kube-apiserver and a Vault dev server on 127.0.0.1, loads an e2e scenario and runs
vault-selfcheck against it. The tool's stdout and exit code become the demo's.

  --scenario NAME  scenario to load (default ${DEFAULT_SCENARIO}); one of:
                   ${Object.keys(scenarios).join(', ')}
  --keep           leave the servers running and print their environment variables; a later
                   demo run reuses them (and leaves them running) until --down
  --down           stop the servers of an earlier --keep run, then exit
  -- TOOL_ARGS     passed to vault-selfcheck, for example: -- --output json

Exit code 2: Node.js older than ${MIN_NODE.join('.')}, Go missing or older than ${MIN_GO.join('.')}, a failed build or
start, or no CLI yet.`;

/** @param {string} message */
function status(message) {
  process.stderr.write(`demo: ${message}\n`);
}

/** @param {string} message @returns {never} */
function fail(message) {
  status(message);
  process.exit(2);
}

/**
 * Splits argv at the first `--` into demo options and arguments for the tool.
 * @param {string[]} argv
 */
export function parseDemoArgs(argv) {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const toolArgs = separator === -1 ? [] : argv.slice(separator + 1);
  const options = { scenario: DEFAULT_SCENARIO, keep: false, down: false, help: false, toolArgs };
  for (let i = 0; i < own.length; i++) {
    const arg = /** @type {string} */ (own[i]);
    if (arg === '--keep') options.keep = true;
    else if (arg === '--down') options.down = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--scenario' && i + 1 < own.length) options.scenario = /** @type {string} */ (own[++i]);
    else if (arg.startsWith('--scenario=')) options.scenario = arg.slice('--scenario='.length);
    else throw new Error(`unknown or incomplete demo option '${arg}'; put options for vault-selfcheck after '--'`);
  }
  if (!(options.scenario in scenarios)) {
    throw new Error(`unknown scenario '${options.scenario}'; choose one of: ${Object.keys(scenarios).join(', ')}`);
  }
  return options;
}

/** @param {string} version @param {number[]} minimum */
function atLeast(version, minimum) {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < minimum.length; i++) {
    const part = parts[i] ?? 0;
    const min = /** @type {number} */ (minimum[i]);
    if (part !== min) return part > min;
  }
  return true;
}

function checkGo() {
  const result = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    fail(`the Go toolchain ('go') is missing. Go ${MIN_GO.join('.')} is needed to build the test servers; install it and put it on PATH.`);
  }
  const version = result.stdout.trim().replace(/^go/, '');
  if (!atLeast(version, MIN_GO)) {
    fail(`found Go ${version}, but Go ${MIN_GO.join('.')} or later is needed to build the test servers; install it and put it on PATH.`);
  }
}

/**
 * Runs the CLI with the scenario's environment and returns its exit code.
 * @param {Record<string, string>} env
 * @param {string[]} args
 * @returns {Promise<number>}
 */
function runTool(env, args) {
  // Variables of the caller's own Vault or cluster must not leak into the demo run.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^VAULT_/.test(key)));
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...inherited, ...env } });
    child.on('error', (error) => {
      status(`could not run ${CLI}: ${error.message}`);
      resolvePromise(2);
    });
    child.on('close', (code, signal) => resolvePromise(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

async function main() {
  let options;
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    fail(`${/** @type {Error} */ (error).message}\n\n${USAGE}`);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!atLeast(process.versions.node, MIN_NODE)) {
    fail(`Node.js ${process.versions.node} is too old; vault-selfcheck and its demo need Node.js ${MIN_NODE.join('.')} or later.`);
  }

  if (options.down) {
    const stopped = await stopServers(RUN_DIR);
    status(stopped.length > 0 ? `stopped ${stopped.join(', ')}` : `no demo servers were running in ${relative(process.cwd(), RUN_DIR) || RUN_DIR}`);
    return 0;
  }

  checkGo();
  if (!existsSync(CLI)) fail(`${relative(REPO_ROOT, CLI)} does not exist yet, so there is no CLI to run; build or add it first.`);
  await ensureServerBinaries(status).catch((error) => fail(/** @type {Error} */ (error).message));

  // Stopping by the PIDs in the state file also covers servers that are still starting. An
  // interrupt during the start stops them even with --keep, because a half-started set is useless.
  const stopOnSignal = (/** @type {NodeJS.Signals} */ signal) => {
    status(`received ${signal}; stopping the servers`);
    stopServers(RUN_DIR)
      .catch((error) => status(`stopping the servers failed: ${error.message}`))
      .finally(() => process.exit(130));
  };
  const watchSignals = (/** @type {boolean} */ on) => {
    for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM'])) {
      if (on) process.once(signal, stopOnSignal);
      else process.off(signal, stopOnSignal);
    }
  };

  let servers = await attachServers(RUN_DIR);
  const reused = servers !== null;
  if (servers) {
    status(`reusing the servers of an earlier --keep run in ${RUN_DIR} (stop them with: npm run demo -- --down)`);
  } else {
    status(`starting etcd, kube-apiserver and Vault in ${RUN_DIR}`);
    watchSignals(true);
    servers = await startServers({ runDir: RUN_DIR, log: (message) => status(message), keepAfterExit: options.keep });
  }
  const running = servers;
  const ownsServers = !reused && !options.keep;
  if (!ownsServers) watchSignals(false);

  let code;
  try {
    const loaded = await loadScenario(running, options.scenario);
    status(`loaded scenario ${loaded.name}: ${scenarios[loaded.name]?.description ?? ''}`);
    status(`running: vault-selfcheck ${options.toolArgs.join(' ')}`.trimEnd());
    code = await runTool(loaded.env, options.toolArgs);
    if (options.keep || reused) {
      status('servers left running; to use them from a shell:');
      process.stderr.write(`export KUBECONFIG=${loaded.env.KUBECONFIG} VAULT_ADDR=${loaded.env.VAULT_ADDR} VAULT_TOKEN=${loaded.env.VAULT_TOKEN}\n`);
      status('run the tool from this clone with: node bin/vault-selfcheck.js (or run npm link once to put vault-selfcheck on PATH)');
      status('stop them with: npm run demo -- --down');
    }
  } finally {
    if (ownsServers) {
      await running.stop();
    } else {
      await running.kube.close();
    }
  }
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error) => fail(error instanceof Error ? error.message : String(error)),
  );
}
