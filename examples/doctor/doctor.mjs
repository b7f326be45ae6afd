#!/usr/bin/env node
// An example "argo-stack doctor": runs vault-selfcheck as a library next to other checks and
// prints its own one-line-per-area summary. The library never prints and never exits, so the
// wrapper decides both.
import { spawnSync } from 'node:child_process';

import { runSelfCheck } from 'vault-selfcheck';

function kubectlReachable() {
  const result = spawnSync('kubectl', ['get', '--raw', '/readyz'], { encoding: 'utf8' });
  return { name: 'kubernetes', ok: result.status === 0, detail: result.status === 0 ? 'API server ready' : (result.stderr || 'kubectl failed').trim() };
}

async function vaultChain() {
  const report = await runSelfCheck({
    namespaces: ['argo-workflows'],
    vaultAddr: process.env.VAULT_ADDR,
    operatorToken: process.env.VAULT_TOKEN,
    timeoutMs: 10_000,
  });
  const failed = report.results.filter((result) => result.status === 'fail');
  const detail = failed.length
    ? failed.map((result) => `${result.check}: ${result.fix?.summary ?? result.message}`).join('\n    ')
    : `${report.summary.pass} checks passed`;
  return { name: 'vault secrets', ok: failed.length === 0 && report.errors.length === 0, detail: report.errors.length ? report.errors.map((error) => error.message).join('; ') : detail };
}

const areas = [kubectlReachable(), await vaultChain()];
for (const area of areas) console.log(`${area.ok ? 'ok  ' : 'FAIL'} ${area.name}\n    ${area.detail}`);
process.exitCode = areas.every((area) => area.ok) ? 0 : 1;
