#!/usr/bin/env node
// Benchmarks vault-selfcheck on a large setup against real loopback servers (etcd, kube-apiserver,
// Vault dev): the full check against a plain replay of the minimal request set, the by-hand way
// with one CLI process per check, and cold start. Writes docs/benchmarks.md and prints one line of
// ratios last. Progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureServerBinaries } from '../e2e/harness/build.mjs';
import { REPO_ROOT, startServers, stopServers } from '../e2e/harness/servers.mjs';
import { comparisonLines, compareFigures, figuresOf, HISTORY_KEPT, largestMovement, NOISE_FLOOR, recordsOf } from './bench/compare.mjs';
import { kubeDelta, kubeRequestCounters, runMeasured, runningChildren, stats } from './bench/measure.mjs';
import { startRecordingProxy, summarizeCounts } from './bench/proxy.mjs';
import { AUTH_MOUNT, buildLayout, createLayout, KV_MOUNT, perStoreCounts, planLogins, POLICY, STORES } from './bench/setup.mjs';

const RUN_DIR = join(REPO_ROOT, '.e2e-run', 'bench');
const CLI = join(REPO_ROOT, 'bin', 'vault-selfcheck.js');
const FLOOR = join(REPO_ROOT, 'scripts', 'bench', 'floor.mjs');
const DOC = join(REPO_ROOT, 'docs', 'benchmarks.md');
const FIGURES = join(REPO_ROOT, 'docs', 'benchmarks.json');
const CONCURRENCY = 8;
/** The system kubectl, found on PATH as a Makefile would find it. */
const KUBECTL = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '')
  .map((dir) => join(dir, 'kubectl'))
  .find((file) => existsSync(file));
const TARGETS = { fullOverFloor: 1.5, byHandOverTool: 20, versionOverNode: 1.5, peakMB: 200 };

const USAGE = `Usage: npm run bench -- [--reps N] [--by-hand-reps N] [--cold-runs N] [--no-doc]

Starts etcd, kube-apiserver and Vault on 127.0.0.1, creates 1,000 ExternalSecrets with 4,000
remoteRefs, and measures the full check, the floor replay, the by-hand way and cold start.
  --reps N           repetitions of the full check and the floor (default 5, at least 3)
  --by-hand-reps N   repetitions of the by-hand loop and the tool on the 100-ref sample (default 3)
  --cold-runs N      runs of each cold-start command (default 10, at least 10)
  --no-doc           do not rewrite docs/benchmarks.md and docs/benchmarks.json; only compare with them`;

/** @param {string} message */
function status(message) {
  process.stderr.write(`bench: ${message}\n`);
}

function parseArgs(argv) {
  const options = { reps: 5, byHandReps: 3, coldRuns: 10, doc: true, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const number = () => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1 || value > 100) throw new Error(`${arg} needs an integer from 1 to 100`);
      return value;
    };
    if (arg === '--reps') options.reps = Math.max(3, number());
    else if (arg === '--by-hand-reps') options.byHandReps = number();
    else if (arg === '--cold-runs') options.coldRuns = Math.max(10, number());
    else if (arg === '--no-doc') options.doc = false;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else throw new Error(`unknown option '${arg}'\n\n${USAGE}`);
  }
  return options;
}

/** The environment of a measured child: the caller's VAULT_* and KUBECONFIG must not leak in. */
function childEnv(extra) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(VAULT_|KUBECONFIG$)/.test(key)));
  return { ...base, NO_COLOR: '1', ...extra };
}

// GNU time reports KiB; the memory target is in MB (10^6 bytes), so every figure is shown in MB.
const mb = (kib) => (kib === null ? null : (kib * 1024) / 1e6);
const fmtS = (ms) => `${(ms / 1000).toFixed(2)} s`;
const fmtMinutes = (ms) => `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
const fmtRange = (s, format) => `${format(s.median)} (${format(s.min)}-${format(s.max)})`;
const ratio = (a, b) => (b > 0 ? a / b : NaN);

function machine() {
  const goVersion = (() => {
    try {
      return execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
    } catch {
      return 'not found';
    }
  })();
  const nproc = (() => {
    try {
      return execFileSync('nproc', { encoding: 'utf8' }).trim();
    } catch {
      return String(cpus().length);
    }
  })();
  return { nproc, load: loadavg().map((v) => v.toFixed(2)).join(', '), cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: (totalmem() / 2 ** 30).toFixed(1), node: process.version, go: goVersion, kubectl: kubectlVersion() };
}

function kubectlVersion() {
  try {
    return execFileSync(KUBECTL, ['version', '--client', '-o', 'json'], { encoding: 'utf8' }).match(/"gitVersion":\s*"([^"]+)"/)?.[1] ?? 'unknown';
  } catch {
    return 'not found';
  }
}

/**
 * Writes the by-hand loop: per ref, one kubectl TokenRequest, one vault login, one `vault token
 * capabilities` and one `vault kv get`, each its own process, as a Makefile target would run them.
 * Tokens stay in shell variables and outputs go to /dev/null; only a count is printed.
 */
function byHandScript(sample, vaultBin) {
  const byStore = new Map(STORES.map((store) => [store.name, store]));
  const lines = [
    '#!/usr/bin/env bash',
    'set -u',
    'ok=0; failed=0',
    'check() {',
    '  local ns="$1" sa="$2" role="$3" key="$4" property="$5" jwt token caps',
    '  jwt=$("$KUBECTL" --kubeconfig "$KUBECONFIG" -n "$ns" create token "$sa" --duration=600s) || return 1',
    `  token=$(printf %s "$jwt" | "$VAULT" write -field=token auth/${AUTH_MOUNT}/login role="$role" jwt=-) || return 1`,
    `  caps=$(VAULT_TOKEN="$token" "$VAULT" token capabilities "${KV_MOUNT}/data/$key") || return 1`,
    '  case "$caps" in *read*|*root*) ;; *) return 1 ;; esac',
    `  VAULT_TOKEN="$token" "$VAULT" kv get -mount=${KV_MOUNT} -field="$property" "$key" >/dev/null || return 1`,
    '}',
  ];
  for (const es of sample.externalSecrets) {
    const store = /** @type {any} */ (byStore.get(es.store));
    const ns = store.serviceAccountRef ? store.serviceAccountRef.namespace ?? es.namespace : 'external-secrets';
    const sa = store.serviceAccountRef ? store.serviceAccountRef.name : 'external-secrets';
    for (const ref of es.refs) {
      lines.push(`if check ${ns} ${sa} ${store.role} ${ref.key} ${ref.property}; then ok=$((ok+1)); else failed=$((failed+1)); fi`);
    }
  }
  lines.push('echo "ok=$ok failed=$failed"', '[ "$failed" -eq 0 ]', '');
  return { text: lines.join('\n'), env: { VAULT: vaultBin, KUBECTL } };
}

async function main() {
  const benchStart = Date.now();
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!KUBECTL) {
    status('kubectl is not on PATH; the by-hand loop runs the system kubectl, so install it (for example the Debian package kubectl) and run again');
    return 2;
  }
  let binaries;
  try {
    binaries = await ensureServerBinaries(status);
  } catch (error) {
    status(error.message);
    return 2;
  }

  /** @type {Awaited<ReturnType<typeof startServers>> | null} */
  let servers = null;
  /** @type {Awaited<ReturnType<typeof startRecordingProxy>> | null} */
  let proxy = null;
  let stopping = false;
  const cleanup = async () => {
    for (const child of runningChildren) child.kill('SIGTERM');
    await proxy?.close().catch(() => {});
    if (servers) await servers.stop().catch((error) => status(`stopping the servers failed: ${error.message}`));
    else await stopServers(RUN_DIR).catch(() => {});
  };
  const onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    status(`received ${signal}; stopping the servers and the proxy`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    status(`starting etcd, kube-apiserver and Vault in ${RUN_DIR}`);
    servers = await startServers({ runDir: RUN_DIR, binaries, log: status });
    const env = childEnv({ KUBECONFIG: servers.kubeconfig, VAULT_TOKEN: servers.rootToken });

    const layout = buildLayout();
    const logins = planLogins(layout);
    const refs = layout.externalSecrets.reduce((sum, es) => sum + es.refs.length, 0);
    status(`creating ${layout.externalSecrets.length} ExternalSecrets (${refs} refs) in ${layout.namespaces.length} namespaces, ${layout.secrets.length} secrets, ${STORES.length} stores`);
    const setupStart = Date.now();
    const created = await createLayout(servers, layout, { concurrency: 16 });
    const setupMs = Date.now() - setupStart;
    status(`setup took ${fmtS(setupMs)} (${created.kube} Kubernetes objects, ${created.vault} Vault writes, pool of 16)`);

    proxy = await startRecordingProxy({ target: servers.vaultAddr, kvMount: KV_MOUNT });
    const planFile = join(RUN_DIR, 'floor-plan.json');
    await writeFile(planFile, JSON.stringify({
      kubeServer: servers.kubeServer,
      pkiDir: join(RUN_DIR, 'pki'),
      vaultAddr: proxy.addr,
      authMount: AUTH_MOUNT,
      concurrency: CONCURRENCY,
      stores: STORES.length,
      refs,
      roles: [...new Set(STORES.map((store) => store.role))],
      // Every login token also carries Vault's default policy, and naming the rule that decides a
      // path needs the text of each policy on the token.
      policies: [POLICY, 'default'],
      logins,
    }));

    const toolArgs = [CLI, '--output', 'json', '--vault-addr', proxy.addr, '--concurrency', String(CONCURRENCY)];
    const measure = async (label, command, args) => {
      const before = await kubeRequestCounters(servers.kube);
      proxy.takeCounts();
      const run = await runMeasured(command, args, { env, peakFile: join(RUN_DIR, 'peak.txt'), keepStdout: true });
      const vault = proxy.takeCounts();
      const kube = kubeDelta(before, await kubeRequestCounters(servers.kube));
      status(`${label}: ${fmtS(run.wallMs)}, peak ${mb(run.peakKiB)?.toFixed(0)} MB, exit ${run.code}`);
      return { ...run, vault, kube };
    };

    status('warm-up run of the tool and the floor (not counted)');
    const warm = await measure('tool warm-up', process.execPath, toolArgs);
    let summary;
    let runErrors = [];
    try {
      const parsed = JSON.parse(warm.stdout);
      summary = parsed.summary;
      runErrors = parsed.errors.map((error) => error.message);
    } catch {
      throw new Error(`the tool printed no JSON report (exit ${warm.code}): ${warm.stderrTail}`);
    }
    if (warm.code !== 0) throw new Error(`the tool's verdicts do not all pass on the setup (exit ${warm.code}, summary ${JSON.stringify(summary)}, errors ${JSON.stringify(runErrors)})`);
    const floorWarm = await measure('floor warm-up', process.execPath, [FLOOR, planFile]);
    if (floorWarm.code !== 0) throw new Error(`the floor replay failed: ${floorWarm.stderrTail}`);

    const toolRuns = [];
    const floorRuns = [];
    for (let rep = 1; rep <= options.reps; rep++) {
      toolRuns.push(await measure(`full check ${rep}/${options.reps}`, process.execPath, toolArgs));
      floorRuns.push(await measure(`floor ${rep}/${options.reps}`, process.execPath, [FLOOR, planFile]));
    }
    for (const run of [...toolRuns, ...floorRuns]) {
      if (run.code !== 0) throw new Error(`a measured run exited ${run.code}: ${run.stderrTail}`);
    }

    // The by-hand sample lives in its own namespace, created after the full-check runs so that
    // they see exactly the 1,000 ExternalSecrets.
    const sample = buildLayout({ namespaces: 1, perNamespace: 25, prefix: 'sample' });
    await createLayout(servers, sample, { withStores: false });
    const sampleRefs = sample.externalSecrets.reduce((sum, es) => sum + es.refs.length, 0);
    const script = byHandScript(sample, binaries.vault);
    const scriptFile = join(RUN_DIR, 'by-hand.sh');
    await writeFile(scriptFile, script.text, { mode: 0o700 });
    const handHome = join(RUN_DIR, 'by-hand-home');
    await mkdir(handHome, { recursive: true, mode: 0o700 });
    // HOME is private, so neither CLI reads or writes the caller's ~/.vault-token or ~/.kube.
    const handEnv = childEnv({ ...script.env, HOME: handHome, KUBECONFIG: servers.kubeconfig, VAULT_ADDR: proxy.addr, VAULT_TOKEN: servers.rootToken });
    const sampleArgs = [...toolArgs, '-n', sample.namespaces[0]];
    const handRuns = [];
    const sampleRuns = [];
    for (let rep = 1; rep <= options.byHandReps; rep++) {
      proxy.takeCounts();
      const before = await kubeRequestCounters(servers.kube);
      const hand = await runMeasured('bash', [scriptFile], { env: handEnv, keepStdout: true });
      const handVault = proxy.takeCounts();
      const handKube = kubeDelta(before, await kubeRequestCounters(servers.kube));
      status(`by-hand ${rep}/${options.byHandReps}: ${fmtS(hand.wallMs)}, ${hand.stdout.trim()}`);
      if (hand.code !== 0) throw new Error(`the by-hand loop failed (${hand.stdout.trim()}): ${hand.stderrTail}`);
      handRuns.push({ ...hand, vault: handVault, kube: handKube });
      const tool = await measure(`tool on the sample ${rep}/${options.byHandReps}`, process.execPath, sampleArgs);
      if (tool.code !== 0) throw new Error(`the tool on the sample exited ${tool.code}: ${tool.stderrTail}`);
      sampleRuns.push(tool);
    }

    // One more run with --verbose, not measured, only to see which check the time goes to: the
    // CLI then writes a progress line to stderr as each phase starts.
    /** @type {{ phase: string, atMs: number }[]} */
    const marks = [];
    const profiled = await runMeasured(process.execPath, [...toolArgs, '--verbose'], {
      env,
      onStderrLine: (line, atMs) => marks.push({ phase: line.trim(), atMs }),
    });
    // One row per interval between two consecutive progress lines, named by both lines, so a row
    // never reads as the cost of the line after it or before it alone.
    const bounds = [{ phase: 'process start', atMs: 0 }, ...marks, { phase: 'exit (report written)', atMs: profiled.wallMs }];
    const phases = bounds.slice(1).map((mark, i) => ({ phase: `${bounds[i].phase} → ${mark.phase}`, ms: mark.atMs - bounds[i].atMs }));
    status(`profile run (--verbose): ${fmtS(profiled.wallMs)}, ${marks.length} progress lines`);

    status(`cold start: ${options.coldRuns} runs each of node -e 0, --version and --help`);
    const cold = { node: [], version: [], help: [] };
    for (let i = 0; i < options.coldRuns; i++) {
      cold.node.push((await runMeasured(process.execPath, ['-e', '0'], { env })).wallMs);
      cold.version.push((await runMeasured(process.execPath, [CLI, '--version'], { env })).wallMs);
      cold.help.push((await runMeasured(process.execPath, [CLI, '--help'], { env })).wallMs);
    }

    // The Kubernetes client library alone, whole and as the tool loads it (only KubeConfig,
    // bundled by scripts/bundle.mjs), to separate its load cost from the tool's own work.
    const importCost = async (specifier) => {
      const runs = [];
      for (let i = 0; i < 5; i++) {
        runs.push(await runMeasured(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`], { env, cwd: REPO_ROOT, peakFile: join(RUN_DIR, 'peak.txt') }));
      }
      return { wall: stats(runs.map((run) => run.wallMs)), peakMB: stats(runs.map((run) => mb(run.peakKiB ?? 0))) };
    };
    const clientImport = await importCost('@kubernetes/client-node');
    const bundleImport = await importCost(pathToFileURL(join(REPO_ROOT, 'dist', 'kube', 'kubeconfig.js')).href);

    const result = analyze({ layout, logins, refs, setupMs, created, toolRuns, floorRuns, handRuns, sampleRuns, sampleRefs, cold, summary });
    result.phases = phases;
    result.clientImport = clientImport;
    result.bundleImport = bundleImport;
    result.profiledMs = profiled.wallMs;
    result.figures = figuresOf(result);
    result.benchMs = Date.now() - benchStart;
    const recorded = await readFile(FIGURES, 'utf8').then(JSON.parse, () => null);
    if (recorded) {
      result.comparison = { date: recorded.date, rows: compareFigures(recorded.figures, result.figures), movement: largestMovement(recordsOf(recorded)) };
      status(`compared with the run recorded on ${recorded.date} in ${FIGURES}:`);
      for (const line of comparisonLines(result.comparison.rows)) status(`  ${line}`);
      const differing = result.comparison.rows.filter((row) => !row.match).length;
      result.line += differing === 0 ? `; matches the run recorded ${recorded.date}` : `; ${differing} figure(s) differ from the run recorded ${recorded.date}`;
    }
    if (options.doc) {
      await writeFile(DOC, renderDoc(result, machine(), options));
      // Earlier records are kept so the page can show how much medians move from run to run.
      const history = recorded ? recordsOf(recorded).slice(-HISTORY_KEPT) : [];
      await writeFile(FIGURES, `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), figures: result.figures, history }, null, 2)}\n`);
      status(`wrote ${DOC} and ${FIGURES}`);
    }
    process.stdout.write(`${result.line}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopping) {
      status('stopping the servers and the proxy');
      await cleanup();
    }
  }
}

function analyze({ layout, logins, refs, setupMs, created, toolRuns, floorRuns, handRuns, sampleRuns, sampleRefs, cold, summary }) {
  const toolCounts = toolRuns.map((run) => summarizeCounts(run.vault, run.kube.tokenRequest));
  const floorCounts = floorRuns.map((run) => summarizeCounts(run.vault, run.kube.tokenRequest));
  const total = (c) => c.tokenRequest + c.login + c.capabilities + c.read + c.other;
  const tool = toolCounts[toolCounts.length - 1];
  const floor = floorCounts[floorCounts.length - 1];
  const minimum = {
    tokenRequest: logins.length,
    login: logins.length,
    capabilities: logins.length,
    read: logins.reduce((sum, login) => sum + login.paths.length, 0),
    other: floor.other,
  };
  const toolWall = stats(toolRuns.map((run) => run.wallMs));
  const floorWall = stats(floorRuns.map((run) => run.wallMs));
  const peaks = toolRuns.map((run) => run.peakKiB).filter((kib) => kib !== null);
  const peak = peaks.length ? stats(peaks.map(mb)) : null;
  const floorPeaks = floorRuns.map((run) => run.peakKiB).filter((kib) => kib !== null);
  const floorPeak = floorPeaks.length ? stats(floorPeaks.map(mb)) : null;
  const cpu = (runs) => (runs.every((run) => run.cpuS !== null) ? stats(runs.map((run) => run.cpuS)) : null);
  const toolCpu = cpu(toolRuns);
  const floorCpu = cpu(floorRuns);
  const hand = stats(handRuns.map((run) => run.wallMs));
  const sample = stats(sampleRuns.map((run) => run.wallMs));
  const coldStats = { node: stats(cold.node), version: stats(cold.version), help: stats(cold.help) };
  const ratios = {
    fullOverFloor: ratio(toolWall.median, floorWall.median),
    byHandOverTool: ratio(hand.median, sample.median),
    versionOverNode: ratio(coldStats.version.median, coldStats.node.median),
    helpOverNode: ratio(coldStats.help.median, coldStats.node.median),
  };
  const perStore = perStoreCounts(layout);
  const line =
    `bench: full/floor ${ratios.fullOverFloor.toFixed(2)}x, by-hand/tool ${ratios.byHandOverTool.toFixed(0)}x, ` +
    `--version/node ${ratios.versionOverNode.toFixed(2)}x, peak ${peak ? peak.max.toFixed(0) : '?'} MB (largest run), ` +
    `requests ${total(tool)} (minimum ${total(minimum)})`;
  return {
    layout, logins, refs, setupMs, created, toolCounts, floorCounts, tool, floor, minimum, total, toolWall, floorWall, peak, floorPeak, toolCpu, floorCpu,
    hand, sample, sampleRefs, coldStats, ratios, perStore, line, summary, handRuns, sampleRuns, toolRuns, floorRuns,
  };
}

/** Say how far medians moved among the recorded runs, the evidence for the noise floor. */
function movementSentence(movement) {
  if (!movement) return 'docs/benchmarks.json held fewer than two recorded runs, so it shows no run-to-run movement yet.';
  return `Among the ${movement.runs} runs recorded in docs/benchmarks.json before this one, the median of one figure moved by up to ${(movement.moved * 100).toFixed(0)} % (${movement.label}: ${movement.from} to ${movement.to}).`;
}

/** Explains a missed full/floor target from the request counts, the CPU times and the phases. */
function fullGap(r, m, requestsOk) {
  const parts = [requestsOk ? 'The full check sends exactly the minimum requests, so the gap is not in duplicate requests.' : 'Part of the gap is the extra requests listed above.'];
  if (r.toolCpu && r.floorCpu) {
    parts.push(
      `The full check used ${r.toolCpu.median.toFixed(2)} s of CPU (median) against ${r.floorCpu.median.toFixed(2)} s for the floor, on ${m.nproc} CPUs that the three servers and the proxy share, ` +
        'so its own computing (loading the Kubernetes client, parsing 1,000 ExternalSecrets, planning, evaluating policies, building a report of every result) takes CPU the servers would use to answer.',
    );
  }
  parts.push(`Loading the bundled KubeConfig takes ${r.bundleImport.wall.median.toFixed(0)} ms (median), which the floor, using undici only, does not pay.`);
  const slowest = [...(r.phases ?? [])].sort((a, b) => b.ms - a.ms).slice(0, 3);
  if (slowest.length) parts.push(`The longest intervals of the profile run: ${slowest.map((p) => `${p.phase} ${fmtS(p.ms)}`).join(', ')}.`);
  return parts.join(' ');
}

function renderDoc(r, m, options) {
  const kinds = ['tokenRequest', 'login', 'capabilities', 'read', 'other'];
  const labels = { tokenRequest: 'TokenRequest', login: 'login', capabilities: 'capabilities-self', read: 'KV reads', other: 'other' };
  const met = (ok) => (ok ? 'met' : 'missed');
  const peakMax = r.peak ? r.peak.max : NaN;
  const requestsOk = r.total(r.tool) === r.total(r.minimum);
  const detail = (counts) => Object.entries(counts).filter(([kind]) => kind.startsWith('other:')).map(([kind, n]) => `${kind.slice(6)} ${n}`).join(', ');
  const last = r.toolRuns[r.toolRuns.length - 1];
  const lastFloor = r.floorRuns[r.floorRuns.length - 1];
  const sameEveryRun = r.toolCounts.every((c) => JSON.stringify(c) === JSON.stringify(r.tool));
  const identities = new Set(r.logins.map((login) => login.identity)).size;

  const misses = [];
  if (!requestsOk) {
    const parts = [];
    for (const kind of kinds) {
      const extra = r.tool[kind] - r.minimum[kind];
      if (extra !== 0) parts.push(`${labels[kind]} ${r.tool[kind]} against ${r.minimum[kind]} (${extra > 0 ? '+' : ''}${extra})`);
    }
    misses.push(`Requests: ${r.total(r.tool)} issued against a minimum of ${r.total(r.minimum)}, ${((r.total(r.tool) / r.total(r.minimum) - 1) * 100).toFixed(1)} % more: ${parts.join('; ')}.`);
    if (r.tool.capabilities === r.perStore.capabilities && r.tool.capabilities !== r.minimum.capabilities) {
      misses.push(
        `The capabilities-self count equals one request per (store, identity), ${r.perStore.capabilities}, where one per login token, ${r.minimum.capabilities}, gives the same verdicts: ` +
          'the memo key of `CheckContext.capabilities` (src/context/context.ts) separates stores, so stores that share an identity and a role ' +
          '(here bench-shared-a and bench-shared-b, bench-team-a and bench-team-b) each send their own request with the same token.',
      );
    }
    if (r.tool.read === r.perStore.reads && r.tool.read !== r.minimum.read) {
      misses.push(
        `The read count equals one read per (store, identity, path), ${r.perStore.reads}, where one per (login token, path), ${r.minimum.read}, gives the same verdicts: ` +
          'the memo key of `CheckContext.readAs` separates stores, so the same path is read twice with the same token when two stores share the login.',
      );
    }
  }

  if (r.ratios.fullOverFloor > TARGETS.fullOverFloor) {
    misses.push(`Full check / floor is ${r.ratios.fullOverFloor.toFixed(2)}x, ${((r.ratios.fullOverFloor / TARGETS.fullOverFloor - 1) * 100).toFixed(0)} % over the ${TARGETS.fullOverFloor}x target. ${fullGap(r, m, requestsOk)}`);
  }
  if (r.ratios.byHandOverTool < TARGETS.byHandOverTool) misses.push(`By-hand / tool is ${r.ratios.byHandOverTool.toFixed(1)}x, under the ${TARGETS.byHandOverTool}x target.`);
  if (r.ratios.versionOverNode > TARGETS.versionOverNode) misses.push(`--version / node is ${r.ratios.versionOverNode.toFixed(2)}x, over the ${TARGETS.versionOverNode}x target.`);
  if (peakMax > TARGETS.peakMB) {
    misses.push(
      `Peak memory: the largest of the runs, ${peakMax.toFixed(0)} MB, is ${((peakMax / TARGETS.peakMB - 1) * 100).toFixed(0)} % over ${TARGETS.peakMB} MB (median ${r.peak.median.toFixed(0)} MB). ` +
        `Loading the bundled KubeConfig alone peaks at ${r.bundleImport.peakMB.median.toFixed(0)} MB.`,
    );
  }

  const countRows = kinds.map((kind) => `| ${labels[kind]} | ${r.tool[kind]} | ${r.floor[kind]} | ${r.minimum[kind]} |`).join('\n');
  return `# Benchmarks

Measured by \`npm run bench\` (\`scripts/bench.mjs\`) on ${new Date().toISOString().slice(0, 10)}. Every figure below comes
from that run; rerun it to refresh this page. Wall times are medians with min-max over the
repetitions; they depend on the machine and on what else runs on it. This benchmark run took
${fmtMinutes(r.benchMs)} from its start to writing this page, with the test servers already built.

## Machine

| | |
|---|---|
| CPUs (\`nproc\`) | ${m.nproc} (${m.cpu}) |
| Memory | ${m.memoryGiB} GiB |
| Load average at the end (1, 5, 15 min) | ${m.load} (other work on the machine adds noise to wall times) |
| Node.js | ${m.node} |
| Go | ${m.go} |
| kubectl | ${m.kubectl} |
| Servers | etcd, kube-apiserver and HashiCorp Vault 1.14.2 dev server built by \`e2e/gobins/build.sh\`, on 127.0.0.1 |

## Setup

${r.layout.externalSecrets.length} ExternalSecrets in ${r.layout.namespaces.length} namespaces, ${r.refs} remoteRefs over
${r.layout.secrets.length} KV v2 secrets on mount \`${KV_MOUNT}\` (keys drawn by a fixed-seed generator, so refs
repeat within a namespace), ${STORES.length} ClusterSecretStores:

| Store | serviceAccountRef | Role | Login identities |
|---|---|---|---|
${STORES.map((store) => {
  const ref = store.serviceAccountRef ? `${store.serviceAccountRef.namespace ?? '(none)'}/${store.serviceAccountRef.name}`.replace('(none)/', '') + (store.serviceAccountRef.namespace ? '' : ' (no namespace)') : '(none: the controller)';
  const ids = new Set(r.layout.externalSecrets.filter((es) => es.store === store.name).map((es) => (store.serviceAccountRef ? `${store.serviceAccountRef.namespace ?? es.namespace}/${store.serviceAccountRef.name}` : 'external-secrets/external-secrets'))).size;
  return `| ${store.name} | ${ref} | ${store.role} | ${ids} |`;
}).join('\n')}

The two \`bench-shared-*\` stores and the two \`bench-team-*\` stores each share an identity and a
role, as duplicated stores do in real clusters, so a login token serves two stores. The
\`bench-team-*\` stores have no \`serviceAccountRef.namespace\`, so ESO (and the tool) log in once
per consuming namespace. That gives ${r.logins.length} distinct logins (${identities} service-account identities).
Roles and the policy \`${POLICY}\` (\`read\` on \`${KV_MOUNT}/data/apps/*\`) admit everything, so no
check fails (summary of the last run: ${JSON.stringify(r.summary)}). The warnings are store.config
advice the layout asks for on purpose: \`bench-controller\` logs in as the ESO controller, and the
two \`bench-team-*\` stores have a \`serviceAccountRef\` without a namespace.

Setup took ${fmtS(r.setupMs)}: ${r.created.kube} Kubernetes objects by server-side apply and ${r.created.vault} Vault
writes, 16 requests in flight (\`scripts/bench/setup.mjs\`).

## Results

The floor is a plain undici replay of the minimal request set the same verdicts need, in its own
process at the same concurrency (see Method).

| Measure | Figure | Target | |
|---|---|---|---|
| Full check, wall time (${r.toolWall.n} runs) | ${fmtRange(r.toolWall, fmtS)} | | |
| Floor replay, wall time (${r.floorWall.n} runs) | ${fmtRange(r.floorWall, fmtS)} | | |
| Full check / floor | ${r.ratios.fullOverFloor.toFixed(2)}x | <= ${TARGETS.fullOverFloor}x | ${met(r.ratios.fullOverFloor <= TARGETS.fullOverFloor)} |
| Full check, peak memory (VmHWM; the target is judged on the largest run) | ${r.peak ? fmtRange(r.peak, (v) => `${v.toFixed(0)} MB`) : 'not measured (no /usr/bin/time)'} | <= ${TARGETS.peakMB} MB | ${met(peakMax <= TARGETS.peakMB)} |
| Floor replay, peak memory | ${r.floorPeak ? fmtRange(r.floorPeak, (v) => `${v.toFixed(0)} MB`) : '-'} | | |
| Full check, CPU time (user + system) | ${r.toolCpu ? fmtRange(r.toolCpu, (v) => `${v.toFixed(2)} s`) : '-'} | | |
| Floor replay, CPU time (user + system) | ${r.floorCpu ? fmtRange(r.floorCpu, (v) => `${v.toFixed(2)} s`) : '-'} | | |
| Requests issued by the full check (every Vault request, and the TokenRequests; the other Kubernetes requests are listed below the next table) | ${r.total(r.tool)} | = minimum ${r.total(r.minimum)} | ${met(requestsOk)} |
| By-hand loop, ${r.sampleRefs} refs (${r.hand.n} runs) | ${fmtRange(r.hand, fmtS)} | | |
| Tool on the same ${r.sampleRefs} refs (${r.sample.n} runs) | ${fmtRange(r.sample, fmtS)} | | |
| By-hand / tool | ${r.ratios.byHandOverTool.toFixed(1)}x | >= ${TARGETS.byHandOverTool}x | ${met(r.ratios.byHandOverTool >= TARGETS.byHandOverTool)} |
| \`node -e 0\` (${r.coldStats.node.n} runs) | ${fmtRange(r.coldStats.node, (v) => `${v.toFixed(0)} ms`)} | | |
| \`vault-selfcheck --version\` | ${fmtRange(r.coldStats.version, (v) => `${v.toFixed(0)} ms`)} | | |
| \`vault-selfcheck --help\` | ${fmtRange(r.coldStats.help, (v) => `${v.toFixed(0)} ms`)} | | |
| --version / node | ${r.ratios.versionOverNode.toFixed(2)}x | <= ${TARGETS.versionOverNode}x | ${met(r.ratios.versionOverNode <= TARGETS.versionOverNode)} |
| --help / node | ${r.ratios.helpOverNode.toFixed(2)}x | | |
| \`import('@kubernetes/client-node')\`, the whole package (5 runs) | ${fmtRange(r.clientImport.wall, (v) => `${v.toFixed(0)} ms`)}, peak ${r.clientImport.peakMB.median.toFixed(0)} MB | | |
| \`import('dist/kube/kubeconfig.js')\`, only KubeConfig, as the tool loads it (5 runs) | ${fmtRange(r.bundleImport.wall, (v) => `${v.toFixed(0)} ms`)}, peak ${r.bundleImport.peakMB.median.toFixed(0)} MB | | |

Final line: \`${r.line}\`

### Requests by kind

| Kind | Full check | Floor replay | Minimum |
|---|---|---|---|
${countRows}

The full check's counts were ${sameEveryRun ? 'the same in every run' : 'not the same in every run; the table shows the last run'}.
"Other" in the last full check: ${detail(last.vault) || 'none'}. In the floor: ${detail(lastFloor.vault) || 'none'}.
Kubernetes requests of the last full check, from the API server's counters: ${last.kube.tokenRequest} TokenRequests,
${last.kube.getServiceAccount} service-account reads, ${last.kube.list} lists; Vault sent ${last.kube.tokenReviewByVault} TokenReviews for the logins.
The minimum for "other" is what the floor sends: sys/health, one lookup-self of the operator token, sys/auth, the auth config, sys/mounts,
each role once, each policy on the login tokens once (\`${POLICY}\` and Vault's \`default\`, which every token
carries unless the role sets \`token_no_default_policy\`, and which naming the deciding rule needs), and
one revoke-self per login token.

### Where the full check spends its time

One extra run with \`--verbose\` (${fmtS(r.profiledMs)}, not among the measured runs; \`--verbose\` also makes the
report larger) prints a progress line on stderr as each phase starts ("Reading", "Discovering",
"Running") and as each check finishes ("Finished"). Each row is the time between two consecutive
lines. The checks run at the same time and share memoized facts. The time up to a "Finished" line
is therefore the wait until that check had every fact it needed, including requests that other
checks started, not the work of that check alone.

| From one progress line to the next | Time |
|---|---|
${r.phases.map((p) => `| ${p.phase.replace(/\|/g, '\\|')} | ${fmtS(p.ms)} |`).join('\n')}

### Compared with the previous recorded run

${r.comparison ? `Each figure against \`docs/benchmarks.json\` as it stood before this run (recorded ${r.comparison.date}). A figure matches when its median moved by no more than the larger of ${(NOISE_FLOOR * 100).toFixed(0)} % and the spread of either run. ${movementSentence(r.comparison.movement)} The spread is max-min over the median, or the interquartile range over the median for figures of 8 runs or more (the cold starts) when the recorded run has quartiles. Peak memory is compared by its median; the target judges the largest run. A ratio may move by the larger allowance of the two figures it divides. Request counts must be equal.

${comparisonLines(r.comparison.rows).map((line) => `- ${line}`).join('\n')}` : 'No recorded run to compare with (\`docs/benchmarks.json\` did not exist).'}

### Targets missed

${misses.length ? misses.map((miss) => `- ${miss}`).join('\n') : 'None.'}

## Method

- **Full check**: \`node bin/vault-selfcheck.js --output json --vault-addr PROXY --concurrency ${CONCURRENCY}\` with
  \`VAULT_TOKEN\` set to the dev server's root token as the operator token and \`KUBECONFIG\` the harness
  admin kubeconfig. One warm-up run is not counted. Wall time runs from spawn to exit of the child.
  Peak memory is GNU time's \`%M\` (the child's maximum resident set size, which is VmHWM at exit),
  in MB of 10^6 bytes, the unit of the target.
- **Request counts**: Vault requests are counted by a recording proxy on 127.0.0.1 in front of the
  Vault dev server (\`scripts/bench/proxy.mjs\`), by method and path class. Kubernetes requests are
  counted on the API server's side: the benchmark diffs \`apiserver_request_total\` from
  \`/metrics\` before and after each run and keeps TokenRequests (\`POST serviceaccounts/token\`),
  service-account reads and ESO lists; the server's own background traffic is left out.
- **Floor**: \`scripts/bench/floor.mjs\`, a separate Node process using undici with one limiter of
  ${CONCURRENCY} requests in flight, as the tool's \`--concurrency\`. It lists the same ESO objects, then sends
  per login token one service-account read, one TokenRequest, one login, one capabilities-self for all
  of the token's paths and one read per unique path, plus the operator reads listed above and one
  revoke-self per token. The plan (which identity and role each ExternalSecret uses) comes from the
  generator, not from parsing the lists, so the floor does less computing than the tool.
- **By hand**: \`by-hand.sh\`, generated into the run directory, runs for each of ${r.sampleRefs} refs
  \`kubectl create token\`, \`vault write auth/kubernetes/login\` (JWT on stdin),
  \`vault token capabilities\` and \`vault kv get -field\`: four processes per ref, as a Makefile
  target does. \`vault kv get\` sends two requests (\`sys/internal/ui/mounts\` to find the KV version, then the
  read), so a ref costs four Vault requests. The vault CLI is the Vault 1.14.2 binary the harness builds. The sample is a
  separate namespace \`sample-00\` with 25 ExternalSecrets (100 refs) through the same 5 stores,
  created after the full-check runs; the tool runs on it with \`-n sample-00\`, which still checks
  all ${STORES.length} stores (health, roles, policies). Both go through the recording proxy.
  The by-hand loop sent ${r.handRuns[r.handRuns.length - 1].kube.tokenRequest} TokenRequests and ${Object.values(r.handRuns[r.handRuns.length - 1].vault).reduce((a, b) => a + b, 0)} Vault requests; the tool on the sample ${r.sampleRuns[r.sampleRuns.length - 1].kube.tokenRequest} and ${Object.values(r.sampleRuns[r.sampleRuns.length - 1].vault).reduce((a, b) => a + b, 0)}.
- **Cold start**: \`node -e 0\`, \`node bin/vault-selfcheck.js --version\` and \`--help\`, ${r.coldStats.node.n} runs each,
  interleaved, wall time from spawn to exit.
- Repetitions: ${options.reps} of the full check and the floor (interleaved), ${options.byHandReps} of the by-hand loop and the
  tool on the sample.

## Reproduce

\`\`\`bash
npm ci
npm run bench      # or: npm run bench -- --reps 7 --by-hand-reps 5 --cold-runs 20 --no-doc
\`\`\`

The first run builds etcd, kube-apiserver and Vault into \`~/.cache/vault-selfcheck\` when they are
missing (\`e2e/gobins/build.sh\`, 20 minutes cold on 2 cores); later runs reuse them.

\`\`\`bash
npm run bench -- --no-doc   # compare a rerun with docs/benchmarks.json without rewriting the page
\`\`\`

The benchmark starts its servers in \`.e2e-run/bench\` and stops them at the end, also on failure
or Ctrl-C. It needs \`/usr/bin/time\` (GNU time) for peak memory and \`kubectl\` on \`PATH\` for the
by-hand loop.
`;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    status(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
