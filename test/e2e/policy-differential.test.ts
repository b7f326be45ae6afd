// Differential test of the policy parser and evaluator against a real Vault dev server. Random
// policies are written to Vault, and the capabilities that sys/capabilities returns for a token
// with those policies must equal evaluate() on our parse of the same text, path by path.
//
//   POLICY_DIFF_CASES   number of cases (default 300; `npm run test:differential` runs 5,000)
//   POLICY_DIFF_SEED    seed to replay a run (default: a new one, printed at the start)
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killProcessesNow, pickFreePorts, startProcess, stopProcesses, waitUntilReady, type ChildInfo } from '../../e2e/harness/processes.mjs';
import { findServerBinaries, REPO_ROOT } from '../../e2e/harness/servers.mjs';
import { evaluate, parsePolicy, type ParsedPolicy } from '../../src/policy/index.js';
import { generateCase, type GeneratedCase } from './policy-generator.js';

const CASES = nonNegativeInteger('POLICY_DIFF_CASES', 300);
const SEED = process.env.POLICY_DIFF_SEED ? nonNegativeInteger('POLICY_DIFF_SEED', 0) : randomBytes(4).readUInt32BE(0);
// Vault and the test share the CPU, so more cases in flight do not make the run faster: 2,000
// cases took 15 to 17 s with 2, 4 or 8 on a 2-core machine.
const WORKERS = 4;
// Only the first disagreements are printed in full. The count covers all of them.
const PRINTED_DISAGREEMENTS = 20;

function nonNegativeInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, found ${JSON.stringify(raw)}`);
  return value;
}

interface DevVault {
  addr: string;
  rootToken: string;
  version: string;
  stop: () => Promise<void>;
}

/** Starts a Vault dev server on a free loopback port, with its home and log in `dir`. */
async function startDevVault(dir: string): Promise<DevVault> {
  const { vault: bin } = await findServerBinaries();
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true, mode: 0o700 });
  // The dev server also listens for cluster traffic on the API port + 1.
  const [port] = await pickFreePorts([2]);
  const addr = `http://127.0.0.1:${port}`;
  const rootToken = `differential-${randomBytes(12).toString('hex')}`;
  // VAULT_* variables of the caller, such as VAULT_ADDR, must not reach the dev server.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VAULT_')));
  const child: ChildInfo = startProcess({
    name: 'vault-differential',
    bin,
    cwd: dir,
    logPath: join(dir, 'vault.log'),
    env: { ...env, HOME: home },
    args: ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'],
  });
  // A crash of the test process must not leave the server running.
  const exitHook = (): void => killProcessesNow([child]);
  process.on('exit', exitHook);
  const stop = async (): Promise<void> => {
    process.off('exit', exitHook);
    const left = await stopProcesses([child]);
    if (left.length > 0) throw new Error(`could not stop the Vault dev server (PID ${child.pid}); kill it by that PID`);
  };
  try {
    await waitUntilReady(
      child,
      async () => {
        const response = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        return response.status === 200;
      },
      30_000,
    );
    const health = (await (await fetch(`${addr}/v1/sys/health`)).json()) as { version?: string };
    return { addr, rootToken, version: health.version ?? 'unknown', stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

interface VaultReply {
  status: number;
  body: any;
}

async function vaultRequest(vault: DevVault, method: string, path: string, body: unknown, okStatuses: number[] = []): Promise<VaultReply> {
  const response = await fetch(`${vault.addr}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': vault.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text === '' ? null : JSON.parse(text);
  if (response.ok || okStatuses.includes(response.status)) return { status: response.status, body: parsed };
  // The request body is not included, because token requests carry a token.
  throw new Error(`Vault ${method} /v1/${path} failed with HTTP ${response.status}: ${JSON.stringify(parsed?.errors ?? text)}`);
}

interface Disagreement {
  caseId: number;
  policies: { name: string; format: string; text: string }[];
  path?: string;
  vault: string;
  ours: string;
  reason?: string;
}

// The endings of evaluate()'s reason when two glob rules compete, one per ranking criterion.
const RANKING_CRITERIA = [
  'its first wildcard comes later',
  'it does not end in "*"',
  'it has fewer "+" segments',
  'it is longer',
  'it sorts later byte by byte',
] as const;

interface Tally {
  cases: number;
  paths: number;
  disagreements: Disagreement[];
  /** Paths whose capabilities depend on the Vault version, because of the list lookup without the "/". */
  versionDependent: number;
  /** What decided each compared path on our side, to show that the generator reaches every rule kind. */
  decidedBy: Record<'exact' | 'prefix' | 'segment' | 'none' | 'merged' | 'deny', number>;
  /** How often each of Vault's ranking criteria separated the two best glob rules. */
  criteria: Record<string, number>;
}

function newTally(): Tally {
  return {
    cases: 0,
    paths: 0,
    disagreements: [],
    versionDependent: 0,
    decidedBy: { exact: 0, prefix: 0, segment: 0, none: 0, merged: 0, deny: 0 },
    criteria: Object.fromEntries(RANKING_CRITERIA.map((criterion) => [criterion, 0])),
  };
}

/** Runs one case against Vault and our evaluator. `worker` keeps concurrent cases on separate policy names. */
async function runCase(vault: DevVault, worker: number, generated: GeneratedCase, tally: Tally): Promise<void> {
  const named = generated.policies.map((policy) => ({ ...policy, name: `differential-${worker}-${policy.index}` }));
  const printable = named.map(({ name, format, text }) => ({ name, format, text }));

  const parsed: ParsedPolicy[] = [];
  let parseProblem: { name: string; message: string } | undefined;
  for (const policy of named) {
    try {
      parsed.push(parsePolicy(policy.text, { name: policy.name }));
    } catch (error) {
      parseProblem ??= { name: policy.name, message: error instanceof Error ? error.message : String(error) };
    }
  }

  // Names are reused from case to case, so each write overwrites the previous case's policy.
  const writes = await Promise.all(
    named.map((policy) => vaultRequest(vault, 'PUT', `sys/policies/acl/${policy.name}`, { policy: policy.text }, [400])),
  );
  const rejected = writes.findIndex((write) => write.status === 400);
  tally.cases++;
  if (rejected >= 0 || parseProblem !== undefined) {
    const name = rejected >= 0 ? (named[rejected]?.name ?? '') : (parseProblem?.name ?? '');
    tally.disagreements.push({
      caseId: generated.id,
      policies: printable,
      vault: rejected >= 0 ? `rejected policy ${name}: ${JSON.stringify(writes[rejected]?.body?.errors)}` : `accepted every policy`,
      ours: parseProblem === undefined ? 'accepted every policy' : `rejected policy ${parseProblem.name}: ${parseProblem.message}`,
    });
    return;
  }

  const created = await vaultRequest(vault, 'POST', 'auth/token/create', {
    policies: named.map((policy) => policy.name),
    no_default_policy: true,
    ttl: '10m',
  });
  const token: string = created.body.auth.client_token;
  let answers: Record<string, string[]>;
  try {
    answers = (await vaultRequest(vault, 'POST', 'sys/capabilities', { token, paths: generated.paths })).body.data;
  } finally {
    await vaultRequest(vault, 'POST', 'auth/token/revoke', { token });
  }

  for (const path of generated.paths) {
    const theirs = answers[path];
    const decision = evaluate(parsed, path, { vaultVersion: vault.version });
    tally.paths++;
    if (evaluate(parsed, path).capabilities.join() !== decision.capabilities.join()) tally.versionDependent++;
    const rule = decision.rule;
    tally.decidedBy[rule?.kind ?? 'none']++;
    if (rule !== undefined && rule.rules.length > 1) tally.decidedBy.merged++;
    if (rule?.capabilities[0] === 'deny') tally.decidedBy.deny++;
    const criterion = RANKING_CRITERIA.find((ending) => decision.reason.includes(`because ${ending}`));
    if (criterion !== undefined) tally.criteria[criterion] = (tally.criteria[criterion] ?? 0) + 1;

    const vaultAnswer = Array.isArray(theirs) ? [...theirs].sort() : undefined;
    if (vaultAnswer === undefined || vaultAnswer.join() !== decision.capabilities.join()) {
      tally.disagreements.push({
        caseId: generated.id,
        policies: printable,
        path,
        vault: JSON.stringify(vaultAnswer ?? theirs ?? null),
        ours: JSON.stringify(decision.capabilities),
        reason: decision.reason,
      });
    }
  }
}

function describeDisagreement(disagreement: Disagreement): string {
  const lines = [`case ${disagreement.caseId}${disagreement.path === undefined ? '' : `, path ${JSON.stringify(disagreement.path)}`}:`];
  lines.push(`  Vault: ${disagreement.vault}`, `  ours:  ${disagreement.ours}`);
  if (disagreement.reason !== undefined) lines.push(`  our reason: ${disagreement.reason}`);
  for (const policy of disagreement.policies) {
    lines.push(`  policy ${policy.name} (${policy.format}):`, ...policy.text.trimEnd().split('\n').map((line) => `    ${line}`));
  }
  return lines.join('\n');
}

let vault: DevVault | undefined;
let runDir: string | undefined;

beforeAll(async () => {
  await mkdir(join(REPO_ROOT, '.e2e-run'), { recursive: true });
  runDir = await mkdtemp(join(REPO_ROOT, '.e2e-run', 'differential-'));
  vault = await startDevVault(runDir);
}, 60_000);

afterAll(async () => {
  await vault?.stop();
  // After a failed start the directory stays, because the error names the log in it.
  if (vault !== undefined && runDir !== undefined) await rm(runDir, { recursive: true, force: true });
}, 30_000);

describe('policy differential against a real Vault', () => {
  it(
    `agrees with sys/capabilities on ${CASES} random cases`,
    async () => {
      const server = vault;
      if (server === undefined) throw new Error('the Vault dev server did not start; see the beforeAll error');
      console.log(`differential: seed ${SEED} (replay with POLICY_DIFF_SEED=${SEED} POLICY_DIFF_CASES=${CASES}), Vault ${server.version}`);

      const tally = newTally();
      const started = Date.now();
      let next = 0;
      let completed = 0;
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, worker) => {
          for (let id = next++; id < CASES; id = next++) {
            await runCase(server, worker, generateCase(SEED, id), tally);
            completed++;
            if (CASES >= 2_000 && completed % 1_000 === 0) {
              console.log(`differential: ${completed} of ${CASES} cases after ${((Date.now() - started) / 1000).toFixed(1)} s`);
            }
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;

      for (const disagreement of tally.disagreements.slice(0, PRINTED_DISAGREEMENTS)) console.log(describeDisagreement(disagreement));
      if (tally.disagreements.length > PRINTED_DISAGREEMENTS) {
        console.log(`... ${tally.disagreements.length - PRINTED_DISAGREEMENTS} more disagreements not shown`);
      }
      const decided = Object.entries(tally.decidedBy).map(([kind, count]) => `${kind} ${count}`).join(', ');
      const ranked = Object.entries(tally.criteria).map(([criterion, count]) => `${count} because ${criterion}`).join(', ');
      console.log(`differential: when glob rules competed, the winner won ${ranked}`);
      console.log(
        `differential: deciding rule on our side: ${decided}; ${tally.versionDependent} paths where the list lookup of Vault ${server.version} gives other capabilities than later versions; ${seconds.toFixed(1)} s`,
      );
      console.log(`differential: ${tally.cases} cases, ${tally.paths} paths, ${tally.disagreements.length} disagreements`);

      expect(tally.disagreements.length, `seed ${SEED}: see the disagreements printed above`).toBe(0);
      expect(tally.cases).toBe(CASES);
      // A generator change that stops producing some kind of deciding rule would hollow the test out.
      if (CASES >= 300) {
        for (const [kind, count] of Object.entries(tally.decidedBy)) expect(count, `paths decided by ${kind}`).toBeGreaterThan(0);
      }
    },
    // Measured at about 10 ms a case on 2 cores. The margin covers a busy CI machine.
    60_000 + CASES * 60,
  );
});
