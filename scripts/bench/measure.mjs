// Timing, peak memory and request counting helpers for the benchmark.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';

const GNU_TIME = '/usr/bin/time';
/** Upper bound for one measured command, so a hung child cannot keep the benchmark running. */
const CHILD_TIMEOUT_MS = 15 * 60_000;

/** @type {Set<import('node:child_process').ChildProcess>} */
export const runningChildren = new Set();

/**
 * Runs a command, returning its wall time, exit code, stdout, peak resident memory (VmHWM, from
 * GNU time's %M, which reads the child's rusage maximum RSS at exit) and CPU seconds.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, peakFile?: string, keepStdout?: boolean, onStderrLine?: (line: string, atMs: number) => void }} [options]
 */
export async function runMeasured(command, args, { env = process.env, cwd, peakFile, keepStdout = false, onStderrLine } = {}) {
  const wrap = peakFile !== undefined && existsSync(GNU_TIME);
  const [bin, argv] = wrap ? [GNU_TIME, ['-f', '%M %U %S', '-o', /** @type {string} */ (peakFile), command, ...args]] : [command, args];
  const start = process.hrtime.bigint();
  const child = spawn(bin, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  runningChildren.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  /** @type {Buffer[]} */
  const out = [];
  let stderrTail = '';
  let partial = '';
  child.stdout.on('data', (chunk) => {
    if (keepStdout) out.push(chunk);
  });
  child.stderr.on('data', (chunk) => {
    const text = chunk.toString('utf8');
    stderrTail = (stderrTail + text).slice(-2000);
    if (!onStderrLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    const atMs = Number(process.hrtime.bigint() - start) / 1e6;
    for (const line of lines) onStderrLine(line, atMs);
  });
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  clearTimeout(timer);
  runningChildren.delete(child);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  let peakKiB = null;
  let cpuS = null;
  if (wrap) {
    // GNU time prefixes "Command exited with non-zero status N" on its own line, so the figures are the last line.
    const text = await readFile(/** @type {string} */ (peakFile), 'utf8').catch(() => '');
    const match = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(text.trim().split('\n').pop() ?? '');
    if (match) {
      peakKiB = Number(match[1]);
      cpuS = Number(match[2]) + Number(match[3]);
    }
    await rm(/** @type {string} */ (peakFile), { force: true });
  }
  return { wallMs, code, peakKiB, cpuS, stdout: Buffer.concat(out).toString('utf8'), stderrTail };
}

/** @param {number[]} values */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  // Nearest-rank quartiles, for a spread that one outlier among many runs does not set alone.
  const rank = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { median, min: sorted[0], max: sorted[sorted.length - 1], q1: rank(0.25), q3: rank(0.75), n: sorted.length };
}

/**
 * Reads the kube-apiserver's apiserver_request_total counters, keyed by verb and resource. The
 * server counts every client, so callers diff two readings taken around one measured run.
 * @param {import('../../e2e/harness/kube.mjs').KubeClient} kube
 */
export async function kubeRequestCounters(kube) {
  const { body } = await kube.request('GET', '/metrics');
  /** @type {Map<string, number>} */
  const counters = new Map();
  for (const line of String(body).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(24, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : labels.resource || '(non-resource)';
    const key = `${labels.verb} ${resource}`;
    counters.set(key, (counters.get(key) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  return counters;
}

/**
 * Keeps the request kinds the tool or the floor send; the rest (leases, the API server's own
 * loopback clients) is background traffic of the server.
 * @param {Map<string, number>} before
 * @param {Map<string, number>} after
 */
export function kubeDelta(before, after) {
  const kinds = {
    'POST serviceaccounts/token': 'tokenRequest',
    'GET serviceaccounts': 'getServiceAccount',
    'LIST serviceaccounts': 'list',
    'LIST externalsecrets': 'list',
    'LIST secretstores': 'list',
    'LIST clustersecretstores': 'list',
    'POST tokenreviews': 'tokenReviewByVault',
  };
  /** @type {Record<string, number>} */
  const delta = { tokenRequest: 0, getServiceAccount: 0, list: 0, tokenReviewByVault: 0 };
  for (const [key, value] of after) {
    const kind = kinds[/** @type {keyof typeof kinds} */ (key)];
    if (kind) delta[kind] += value - (before.get(key) ?? 0);
  }
  return delta;
}
