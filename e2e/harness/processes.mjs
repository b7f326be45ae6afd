// Child-process plumbing for the test servers: free loopback ports, detached children with log
// files, readiness polling and PID-based stopping that works from another process.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Binds a listener on 127.0.0.1 and keeps it open, so that ports picked one after another differ.
 * @param {number} port 0 for any free port
 * @returns {Promise<import('node:net').Server | null>} null when the port is taken
 */
function holdPort(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

/** @param {import('node:net').Server} server */
function portOf(server) {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('listener has no TCP address');
  return address.port;
}

/**
 * Picks free loopback ports. Each request is a count of consecutive ports, because Vault's dev
 * server also listens for cluster traffic on its API port + 1.
 * The ports are released before returning, so another process may take one in between. A server
 * then fails to start with "address already in use" in its log.
 * @param {number[]} runs for example [1, 1, 1, 2]
 * @returns {Promise<number[]>} the first port of each run
 */
export async function pickFreePorts(runs) {
  /** @type {import('node:net').Server[]} */
  const held = [];
  /** @type {number[]} */
  const firsts = [];
  try {
    for (const length of runs) {
      for (let attempt = 0; ; attempt++) {
        if (attempt === 50) throw new Error(`found no ${length} consecutive free ports on 127.0.0.1 after 50 attempts`);
        const first = await holdPort(0);
        if (first === null) continue;
        const extra = [];
        let ok = true;
        for (let i = 1; i < length; i++) {
          const next = await holdPort(portOf(first) + i);
          if (next === null) { ok = false; break; }
          extra.push(next);
        }
        if (!ok) {
          for (const server of [first, ...extra]) server.close();
          continue;
        }
        firsts.push(portOf(first));
        held.push(first, ...extra);
        break;
      }
    }
    return firsts;
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/**
 * @typedef {object} ChildInfo
 * @property {string} name
 * @property {number} pid
 * @property {string} bin absolute path of the executable, used to recognize the process later
 * @property {string} logPath
 */

/**
 * Starts a server in its own process group with stdout and stderr appended to `logPath`.
 * The child is unref'd so that a script may exit and leave it running. The caller must stop it
 * with `stopProcesses`.
 * @param {{ name: string, bin: string, args: string[], logPath: string, cwd: string, env?: NodeJS.ProcessEnv }} options
 * @returns {ChildInfo}
 */
export function startProcess({ name, bin, args, logPath, cwd, env }) {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(bin, args, { cwd, env: env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
    // A spawn error such as ENOENT is also emitted as an 'error' event, which crashes the process
    // when no listener exists. The pid check below reports it instead.
    child.on('error', () => {});
    if (child.pid === undefined) throw new Error(`could not start ${name} from ${bin}; check that the file exists and is executable`);
    child.unref();
    return { name, pid: child.pid, bin, logPath };
  } finally {
    closeSync(fd);
  }
}

/**
 * Tells whether `pid` is a live (not zombie) process running `bin`, so that a recycled PID is
 * never signalled.
 * @param {number} pid
 * @param {string} [bin]
 */
export function isRunning(pid, bin) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state letter follows the parenthesized command name, which may itself contain spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  if (bin === undefined) return true;
  try {
    // An interpreted script shows up as `interpreter script ...`, so the path may be argv[1].
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv[0] === bin || argv[1] === bin;
  } catch {
    return false;
  }
}

/**
 * Stops the children one after another in the given order: SIGTERM to the process group, up to
 * `graceMs` to exit, then SIGKILL. The order matters. With etcd running, kube-apiserver exits
 * about 1 s after SIGTERM, but with etcd gone it did not exit within 20 s. etcd in turn waited
 * about 7 s for the streams of a running kube-apiserver. (Measured with etcd 3.6 and
 * kube-apiserver 1.36 on a 2-core machine.)
 * @param {ChildInfo[]} children
 * @param {{ graceMs?: number }} [options]
 * @returns {Promise<string[]>} names of the processes that were still running after SIGKILL
 */
export async function stopProcesses(children, { graceMs = 10_000 } = {}) {
  /** @type {string[]} */
  const left = [];
  for (const child of children) {
    if (!isRunning(child.pid, child.bin)) continue;
    signalGroup(child.pid, 'SIGTERM');
    await waitForExit([child], graceMs);
    if (!isRunning(child.pid)) continue;
    signalGroup(child.pid, 'SIGKILL');
    await waitForExit([child], 5_000);
    if (isRunning(child.pid)) left.push(child.name);
  }
  return left;
}

/**
 * Kills the children at once, synchronously, for `process.on('exit')` handlers.
 * @param {ChildInfo[]} children
 */
export function killProcessesNow(children) {
  for (const child of children) {
    if (isRunning(child.pid, child.bin)) signalGroup(child.pid, 'SIGKILL');
  }
}

/** @param {number} pid @param {NodeJS.Signals} signal */
function signalGroup(pid, signal) {
  try {
    // A negative PID addresses the process group, which `detached: true` made the child lead.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** @param {ChildInfo[]} children @param {number} timeoutMs */
async function waitForExit(children, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (children.some((child) => isRunning(child.pid)) && Date.now() < deadline) await sleep(100);
}

/**
 * Returns the last lines of a log file, with lines that carry Vault's dev-mode unseal key or
 * root token replaced, so the result can go into an error message.
 * @param {string} logPath
 * @param {number} [count]
 */
export async function tailLog(logPath, count = 20) {
  let text;
  try {
    text = await readFile(logPath, 'utf8');
  } catch {
    return '(no log written)';
  }
  if (text.trim() === '') return '(the log is empty)';
  const lines = text.trimEnd().split('\n').slice(-count);
  return lines.map((line) => (/unseal key|root token/i.test(line) ? '[line with a credential removed]' : line)).join('\n');
}

/**
 * Polls `probe` until it returns true, the child exits, or `timeoutMs` passes, and throws an
 * error naming the server, the tail of its log and the log path in the last two cases.
 * @param {ChildInfo} child
 * @param {() => Promise<boolean>} probe must not throw for a server that is still starting
 * @param {number} timeoutMs
 */
export async function waitUntilReady(child, probe, timeoutMs) {
  const started = Date.now();
  for (;;) {
    if (!isRunning(child.pid)) {
      throw new Error(
        `${child.name} exited during start-up. The last lines of ${child.logPath}:\n${await tailLog(child.logPath)}\n` +
          `Read the full log at ${child.logPath}.`,
      );
    }
    let ready = false;
    try {
      ready = await probe();
    } catch {
      ready = false;
    }
    if (ready) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `${child.name} was not ready after ${Math.round(timeoutMs / 1000)} s. The last lines of ${child.logPath}:\n` +
          `${await tailLog(child.logPath)}\nRead the full log at ${child.logPath}; on a busy machine, retry with a longer timeout.`,
      );
    }
    await sleep(250);
  }
}

/**
 * Reads the resident memory of a process in KiB, or null when it has exited.
 * @param {number} pid
 */
export function residentKiB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
