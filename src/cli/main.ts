// Command line entry point. The only module that prints and exits.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import yargs, { type Argv } from 'yargs';

// Only light modules load up front: --help and --version must not pay for the Kubernetes client,
// undici or the checks, so everything else is imported where a command needs it.
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_MS } from '../context/options.js';
import { fileErrorReason } from '../file-error.js';
import { exitCodeOf, type Report } from '../report/types.js';
import type { TraceReport } from '../trace.js';
import type { SelfCheckOptions } from '../run.js';
import { TOOL_VERSION } from '../version.js';

export class UsageError extends Error {}

interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const STDIN_PLACEHOLDER = '\u0000stdin';

/** Find the Vault address override (--vault-addr, then VAULT_ADDR) and where it came from. */
function vaultAddress(argv: Record<string, unknown>, env: NodeJS.ProcessEnv): { vaultAddr?: string; vaultAddrSource?: string } {
  const flag = argv.vaultAddr as string | undefined;
  const vaultAddr = flag ?? env.VAULT_ADDR;
  if (!vaultAddr) return {};
  if (!/^https?:\/\//.test(vaultAddr)) throw new UsageError(`Vault address "${vaultAddr}" must start with http:// or https://`);
  return { vaultAddr, vaultAddrSource: flag ? '--vault-addr' : 'VAULT_ADDR' };
}

/** Options that take a value, with the flags that set them and what the value is, for the error. */
const VALUE_OPTIONS: [key: string, flags: string[], what: string][] = [
  ['namespace', ['-n', '--namespace'], 'a namespace name'],
  ['store', ['--store'], 'a store name'],
  ['only', ['--only'], 'check ids or groups (see --list-checks)'],
  ['skip', ['--skip'], 'check ids or groups (see --list-checks)'],
  ['kubeconfig', ['--kubeconfig'], 'a file path'],
  ['context', ['--context'], 'a context name'],
  ['vaultAddr', ['--vault-addr'], 'a Vault address such as https://127.0.0.1:8200'],
  ['caCert', ['--ca-cert'], 'a PEM file path'],
  ['vaultTokenFile', ['--vault-token-file'], 'a file path'],
  ['esoServiceAccount', ['--eso-service-account'], 'NAMESPACE/NAME'],
  ['mounts', ['--mounts'], 'MOUNT=VERSION pairs such as kv=2'],
];

/**
 * Reject an option given without a value or with an empty one. yargs reads `-n` alone as an empty
 * list, which would silently check every namespace.
 */
function requireOptionValues(args: string[], argv: Record<string, unknown>): void {
  const end = args.indexOf('--');
  const optionArgs = end >= 0 ? args.slice(0, end) : args;
  for (const [key, flags, what] of VALUE_OPTIONS) {
    if (!optionArgs.some((arg) => flags.includes(arg) || flags.some((flag) => arg.startsWith(`${flag}=`)))) continue;
    const value = argv[key];
    let values: string[] = [];
    if (Array.isArray(value)) values = value.map(String);
    else if (value !== undefined) values = [String(value)];
    if (values.length === 0 || values.some((item) => item.trim() === '' || item === STDIN_PLACEHOLDER)) {
      throw new UsageError(`${flags.join('/')} needs ${what}`);
    }
  }
}

/** Reword yargs' "Unknown argument: x" with the option as it was typed, as the tool's other messages are worded. */
function usageMessage(message: string, args: string[]): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (!unknown) return message;
  // yargs lists --bogus-flag twice, also as its camel-case alias bogusFlag.
  const names = [...new Set(unknown[1]!.split(', ').map((name) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)))];
  const typed = names.map((name) => {
    const spelled = [`--${name}`, `-${name}`].find((flag) => args.some((arg) => arg === flag || arg.startsWith(`${flag}=`)));
    return spelled ?? `"${name}"`;
  });
  return `unknown ${typed.length === 1 ? 'option or argument' : 'options or arguments'} ${typed.join(', ')}`;
}

/** Accept both repeated options and comma-separated values, as --only auth,policy. */
function splitList(value: unknown): string[] {
  return ((value as string[] | undefined) ?? []).flatMap((item) => String(item).split(',')).map((item) => item.trim()).filter((item) => item !== '');
}

/** Find the text given for an option, for error messages (yargs turns an invalid number into NaN). */
function rawOption(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index >= 0) return args[index + 1];
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** NO_COLOR counts only when set to a non-empty value (no-color.org). */
function noColor(env: NodeJS.ProcessEnv): boolean {
  return (env.NO_COLOR ?? '') !== '';
}

const TRUE_VALUES = new Set(['1', 'true', 'yes', 't']);

function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${fileErrorReason(error)}`);
  }
}

/** Find the operator token in the order the vault CLI uses: --vault-token-file, VAULT_TOKEN, ~/.vault-token. */
function operatorToken(file: string | undefined, env: NodeJS.ProcessEnv): { token?: string; source?: string } {
  if (file) {
    const token = readTextFile(file, '--vault-token-file').trim();
    if (!token) throw new UsageError(`--vault-token-file ${file} is empty`);
    return { token, source: `--vault-token-file ${file}` };
  }
  if (env.VAULT_TOKEN) return { token: env.VAULT_TOKEN.trim(), source: 'VAULT_TOKEN' };
  const helper = join(env.HOME ?? homedir(), '.vault-token');
  try {
    const token = readFileSync(helper, 'utf8').trim();
    if (token) return { token, source: '~/.vault-token' };
  } catch {
    // No token helper file: run without an operator token.
  }
  return {};
}

function parser(args: string[]): Argv {
  return yargs(args)
    .scriptName('vault-selfcheck')
    .usage('Usage: $0 [check] [options]\n\nChecks External Secrets Operator stores and ExternalSecrets against Kubernetes and Vault,\nand prints every broken link with its fix. Exit codes: 0 healthy, 1 a check failed, 2 usage,\nconfiguration or internal error.')
    .command(['check', '$0'], 'Check the live cluster and Vault (the default command)')
    .command('lint [paths..]', 'Check manifests, policies and role definitions offline (files, directories, or - for stdin)')
    .command('explain <checkId>', "Print a check's documentation: what it verifies, why it matters, each message and its fix")
    .command('trace <externalSecret> [paths..]', 'Show the exact requests ESO will send for one ExternalSecret (NAMESPACE/NAME) and the policy rule that decides each; live, or from files when paths are given')
    .option('mounts', { type: 'string', describe: 'lint: the KV mount table when no Vault is at hand, as MOUNT=VERSION pairs (kv=2,secret=1)' })
    .option('default-namespace', { type: 'string', default: 'default', describe: 'lint: namespace of namespaced manifests that set none' })
    .option('kubeconfig', { type: 'string', describe: 'Path to the kubeconfig (default: KUBECONFIG, then ~/.kube/config)' })
    .option('context', { type: 'string', describe: 'Kubeconfig context to use' })
    .option('namespace', { alias: 'n', type: 'string', array: true, describe: 'Check ExternalSecrets in this namespace (repeatable)' })
    .option('all-namespaces', { alias: 'A', type: 'boolean', describe: 'Check ExternalSecrets in all namespaces (the default)' })
    .option('store', { type: 'string', array: true, describe: 'Check only the store of this name (repeatable)' })
    .option('vault-addr', { type: 'string', describe: "Vault address to use instead of every store's server (default: VAULT_ADDR)" })
    .option('ca-cert', { type: 'string', describe: 'PEM file of the CA to trust for Vault (default: VAULT_CACERT, else the store caBundle or caProvider)' })
    .option('tls-skip-verify', { type: 'boolean', describe: 'Do not verify the Vault TLS certificate (default: VAULT_SKIP_VERIFY); ESO never does this' })
    .option('vault-token-file', { type: 'string', describe: 'File with an operator token for reading roles, policies and mounts (default: VAULT_TOKEN, then ~/.vault-token)' })
    .option('eso-service-account', { type: 'string', describe: "NAMESPACE/NAME of the ESO controller's service account, the login identity of stores without serviceAccountRef (default: the only ServiceAccount named external-secrets)" })
    .option('output', { alias: 'o', choices: ['human', 'json', 'sarif', 'junit', 'github'] as const, default: 'human', describe: 'Report format on stdout: sarif is SARIF 2.1.0 for code scanning, junit is JUnit XML, github is GitHub Actions annotations. When GITHUB_ACTIONS=true, github replaces human as the default' })
    .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_MS / 1000, describe: 'Timeout of each request, in seconds' })
    .option('concurrency', { type: 'number', default: DEFAULT_CONCURRENCY, describe: 'Maximum number of requests in flight' })
    .option('only', { type: 'string', array: true, describe: 'Run only these check ids or groups (crd, store, remoteref, vault, serviceaccount, auth, policy, secret); see --list-checks' })
    .option('skip', { type: 'string', array: true, describe: 'Do not run these check ids or groups' })
    .option('strict', { type: 'boolean', default: false, describe: 'Exit 1 on warnings too' })
    .option('list-checks', { type: 'boolean', describe: 'Print the check ids with one line each and exit' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Show passing results in full, the facts behind each verdict, and progress on stderr (never tokens or secret values)' })
    .version(TOOL_VERSION)
    .alias('help', 'h')
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError(message || error?.message || 'invalid arguments');
    });
}

async function listChecks(): Promise<string> {
  const { CHECKS } = await import('../checks/index.js');
  const width = Math.max(...CHECKS.map((check) => check.meta.id.length));
  return `${CHECKS.map((check) => `${check.meta.id.padEnd(width)}  ${check.meta.description}`).join('\n')}\n`;
}

async function writeReport(report: Report, argv: Record<string, unknown>, streams: Streams, verbose: boolean): Promise<void> {
  let output = argv.output;
  if (output === 'human') {
    const { githubDefault } = await import('../report/github.js');
    if (githubDefault(streams.env)) output = 'github';
  }
  if (output === 'github') {
    const { renderGithub } = await import('../report/github.js');
    streams.stdout.write(renderGithub(report));
  } else if (output === 'junit') {
    const { renderJunit } = await import('../report/junit.js');
    streams.stdout.write(renderJunit(report, { strict: argv.strict === true }));
  } else if (output === 'human') {
    const { renderHuman } = await import('../report/human.js');
    const color = Boolean(streams.stdout.isTTY) && !noColor(streams.env) && streams.env.TERM !== 'dumb';
    streams.stdout.write(renderHuman(report, { color, verbose }));
  } else if (output === 'sarif') {
    const { renderSarif } = await import('../report/sarif.js');
    streams.stdout.write(renderSarif(report));
  } else {
    streams.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  }
}

/** Read stdin up to the input size limit; more is rejected instead of exhausting memory. */
async function readStdin(): Promise<string> {
  const { MAX_FILE_BYTES } = await import('../manifests/read.js');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    process.stdin.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FILE_BYTES) {
        process.stdin.destroy();
        reject(new Error(`stdin is over the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit for one input; split it or pass the relevant documents`));
        return;
      }
      chunks.push(chunk);
    });
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function runLint(argv: Record<string, unknown>, streams: Streams): Promise<number> {
  const paths = ((argv.paths as string[] | undefined) ?? []).map(String).map((path) => (path === STDIN_PLACEHOLDER ? '-' : path));
  if (paths.length === 0) {
    streams.stderr.write('vault-selfcheck: lint needs at least one file, directory, or - for stdin\nRun vault-selfcheck --help for usage.\n');
    return 2;
  }
  let report: Report;
  try {
    const { lint } = await import('../lint.js');
    report = await lint({
      paths,
      stdin: readStdin,
      mounts: argv.mounts as string | undefined,
      defaultNamespace: argv.defaultNamespace as string | undefined,
      only: splitList(argv.only),
      skip: splitList(argv.skip),
    });
  } catch (error) {
    streams.stderr.write(`vault-selfcheck: internal error: ${(error as Error).message}\n`);
    return 2;
  }
  await writeReport(report, argv, streams, Boolean(argv.verbose));
  return exitCodeOf(report, { strict: argv.strict === true });
}

async function runTrace(argv: Record<string, unknown>, streams: Streams): Promise<number> {
  const paths = ((argv.paths as string[] | undefined) ?? []).map(String).map((path) => (path === STDIN_PLACEHOLDER ? '-' : path));
  let token: { token?: string; source?: string };
  let address: ReturnType<typeof vaultAddress>;
  try {
    token = paths.length === 0 ? operatorToken(argv.vaultTokenFile as string | undefined, streams.env) : {};
    address = paths.length === 0 ? vaultAddress(argv, streams.env) : {};
  } catch (error) {
    streams.stderr.write(`vault-selfcheck: ${(error as Error).message}\n`);
    return 2;
  }
  let report: TraceReport;
  try {
    const { trace } = await import('../trace.js');
    report = await trace({
      externalSecret: String(argv.externalSecret),
      paths,
      stdin: readStdin,
      mounts: argv.mounts as string | undefined,
      kubeconfig: argv.kubeconfig as string | undefined,
      context: argv.context as string | undefined,
      ...address,
      operatorToken: token.token,
      operatorTokenSource: token.source,
      vaultNamespace: streams.env.VAULT_NAMESPACE || undefined,
      timeoutMs: Number(argv.timeout) * 1000,
    });
  } catch (error) {
    streams.stderr.write(`vault-selfcheck: internal error: ${(error as Error).message}\n`);
    return 2;
  }
  const { renderTrace } = await import('../trace.js');
  streams.stdout.write(argv.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderTrace(report));
  if (report.errors.length > 0) return 2;
  const denied = report.stores.some((store) => store.steps.some((step) => step.buildError || step.correctedRequest || step.decision?.allowed === false));
  return denied ? 1 : 0;
}

/** Run the CLI and return its exit code. */
export async function main(args: string[], streams: Streams = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const { stdout, stderr, env } = streams;
  let argv: Record<string, unknown>;
  let helpShown = false;
  // yargs drops a bare "-", which means stdin to lint; carry it through as a placeholder.
  args = args.map((arg) => (arg === '-' ? STDIN_PLACEHOLDER : arg));
  try {
    const yargsParser = parser(args);
    argv = (await yargsParser.parseAsync(args, {}, (_error, _parsed, output) => {
      if (output) {
        helpShown = true;
        stdout.write(`${output}\n`);
      }
    })) as Record<string, unknown>;
  } catch (error) {
    stderr.write(`vault-selfcheck: ${usageMessage((error as Error).message, args)}\nRun vault-selfcheck --help for usage.\n`);
    return 2;
  }
  if (helpShown || argv.help || argv.version) return 0;
  if (argv.listChecks) {
    stdout.write(await listChecks());
    return 0;
  }
  const positional = (argv._ as (string | number)[]).map(String).filter((arg) => arg !== 'check');
  try {
    requireOptionValues(args, argv);
    if (argv.only !== undefined || argv.skip !== undefined) {
      const { selectChecks } = await import('../checks/index.js');
      const { unknown } = selectChecks(splitList(argv.only), splitList(argv.skip));
      if (unknown.length > 0) throw new UsageError(`unknown check or group: ${unknown.join(', ')}; list them with --list-checks`);
    }
  } catch (error) {
    stderr.write(`vault-selfcheck: ${(error as Error).message}\nRun vault-selfcheck --help for usage.\n`);
    return 2;
  }
  if (positional[0] === 'lint') return runLint(argv, streams);
  if (positional[0] === 'trace') return runTrace(argv, streams);
  if (positional[0] === 'explain') {
    const { explainCheck } = await import('./explain.js');
    const page = explainCheck(String(argv.checkId));
    if ('error' in page) {
      stderr.write(`vault-selfcheck: ${page.error}\n`);
      return 2;
    }
    stdout.write(page.text.endsWith('\n') ? page.text : `${page.text}\n`);
    return 0;
  }
  if (positional.length > 0) {
    stderr.write(`vault-selfcheck: unknown command "${positional[0]}"\nRun vault-selfcheck --help for usage.\n`);
    return 2;
  }

  let options: SelfCheckOptions;
  try {
    const timeout = Number(argv.timeout);
    const concurrency = Number(argv.concurrency);
    if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got "${rawOption(args, '--timeout') ?? String(argv.timeout)}"`);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency must be a positive integer, got ${String(argv.concurrency)}`);
    if (argv.allNamespaces && (argv.namespace as string[] | undefined)?.length) throw new UsageError('-A and -n cannot be used together');
    const caPath = (argv.caCert as string | undefined) ?? env.VAULT_CACERT;
    const token = operatorToken(argv.vaultTokenFile as string | undefined, env);
    const address = vaultAddress(argv, env);
    const controllerArg = argv.esoServiceAccount as string | undefined;
    const controllerMatch = controllerArg === undefined ? undefined : /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(controllerArg);
    if (controllerArg !== undefined && !controllerMatch) throw new UsageError(`--eso-service-account must be NAMESPACE/NAME, got "${controllerArg}"`);
    options = {
      kubeconfig: argv.kubeconfig as string | undefined,
      context: argv.context as string | undefined,
      namespaces: (argv.namespace as string[] | undefined) ?? [],
      stores: (argv.store as string[] | undefined) ?? [],
      ...address,
      caCertPem: caPath ? readTextFile(caPath, argv.caCert ? '--ca-cert' : 'VAULT_CACERT') : undefined,
      caCertSource: caPath ? `${argv.caCert ? '--ca-cert' : 'VAULT_CACERT'} ${caPath}` : undefined,
      tlsSkipVerify: Boolean(argv.tlsSkipVerify) || TRUE_VALUES.has((env.VAULT_SKIP_VERIFY ?? '').toLowerCase()),
      operatorToken: token.token,
      operatorTokenSource: token.source,
      vaultNamespace: env.VAULT_NAMESPACE || undefined,
      controllerServiceAccount: controllerMatch ? { namespace: controllerMatch[1]!, name: controllerMatch[2]!, source: '--eso-service-account' } : undefined,
      timeoutMs: timeout * 1000,
      concurrency,
      verbose: Boolean(argv.verbose),
      only: splitList(argv.only),
      skip: splitList(argv.skip),
    };
  } catch (error) {
    stderr.write(`vault-selfcheck: ${(error as Error).message}\n`);
    return 2;
  }

  const human = argv.output === 'human';
  // A terminal that reports no width (some CI pseudo-terminals) would make the spinner redraw
  // without end, so it needs a real size too.
  const columns = (stderr as { columns?: number }).columns ?? 0;
  const interactive = Boolean(stderr.isTTY) && columns > 0 && human;
  let spinner: { text: string; stop(): void } | undefined;
  if (interactive) {
    const { default: ora } = await import('ora');
    spinner = ora({ stream: stderr as NodeJS.WriteStream, text: 'Starting', color: noColor(env) ? false : 'cyan' }).start();
    options.progress = (message) => {
      spinner!.text = message;
    };
  } else if (options.verbose) {
    options.progress = (message) => stderr.write(`${message}\n`);
  }

  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  let report: Report;
  try {
    const { runSelfCheck } = await import('../run.js');
    report = await runSelfCheck({ ...options, signal: controller.signal });
  } catch (error) {
    spinner?.stop();
    stderr.write(`vault-selfcheck: internal error: ${(error as Error).message}\n`);
    if (options.verbose && (error as Error).stack) stderr.write(`${(error as Error).stack}\n`);
    return 2;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  spinner?.stop();
  if (options.tlsSkipVerify) stderr.write('WARNING: TLS verification of Vault is switched off; results about TLS do not hold for ESO.\n');

  await writeReport(report, argv, streams, Boolean(options.verbose));
  if (controller.signal.aborted) return 130;
  return exitCodeOf(report, { strict: argv.strict === true });
}
