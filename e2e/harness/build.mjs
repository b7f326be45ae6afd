// Runs e2e/gobins/build.sh for the scripts that start servers (demo, bench), with a progress line
// every 30 s, because a cold build of kube-apiserver and Vault takes many minutes.
import { spawn } from 'node:child_process';
import { BUILD_SCRIPT, findServerBinaries, REPO_ROOT } from './servers.mjs';

const PROGRESS_INTERVAL_MS = 30_000;

/** @param {number} ms */
function formatElapsed(ms) {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/**
 * Run the server build script, forwarding its stderr and reporting the elapsed time of the
 * server being built every 30 s through `status`.
 * @param {string} script
 * @param {(message: string) => void} status
 * @returns {Promise<number>} the script's exit code
 */
export function buildServers(script, status) {
  return new Promise((resolvePromise) => {
    const child = spawn('bash', [script], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let current = { name: 'test servers', log: '', since: Date.now() };
    const timer = setInterval(() => {
      const where = current.log ? ` (log: ${current.log})` : '';
      status(`still building ${current.name}: ${formatElapsed(Date.now() - current.since)} elapsed${where}`);
    }, PROGRESS_INTERVAL_MS);

    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (/** @type {string} */ chunk) => {
      process.stderr.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^building (\S+) \(log: (.+)\)/.exec(line);
        if (match) current = { name: /** @type {string} */ (match[1]), log: /** @type {string} */ (match[2]), since: Date.now() };
      }
    });
    child.on('error', (error) => {
      clearInterval(timer);
      status(`could not run bash ${script}: ${error.message}`);
      resolvePromise(2);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      resolvePromise(code ?? 2);
    });
  });
}

/**
 * Return the test server binaries, building the missing ones first. On failure, throw an Error
 * whose message names what failed, for the caller to print.
 * @param {(message: string) => void} status
 */
export async function ensureServerBinaries(status) {
  try {
    return await findServerBinaries();
  } catch (error) {
    if (!/not built yet/.test(/** @type {Error} */ (error).message)) throw error;
  }
  status('building the missing test servers; kube-apiserver and Vault take 10-15 minutes each on 2 cores');
  const code = await buildServers(BUILD_SCRIPT, status);
  if (code !== 0) throw new Error(`building the test servers failed with exit code ${code}; read the messages above and the build log they name`);
  return findServerBinaries();
}
