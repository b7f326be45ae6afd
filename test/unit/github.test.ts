import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lint } from '../../src/lint.js';
import { escapeData, escapeProperty, githubDefault, renderGithub } from '../../src/report/github.js';
import { summarize, type Report, type Result } from '../../src/report/types.js';

const examples = new URL('../../examples/', import.meta.url).pathname;
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/reports/broken.json', import.meta.url), 'utf8')) as Report;

function reportOf(results: Result[], extra: Partial<Report> = {}): Report {
  return { ...fixture, results, summary: summarize(results), ...extra };
}

function lines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

describe('renderGithub', () => {
  it('prints the fixture exactly', () => {
    expect(lines(renderGithub(fixture))).toEqual([
      '::error title=policy.read%3A ExternalSecret argo-workflows/artifact-s3 data[0]::read is not granted on kv/data/argo/workflows/artifacts.%0A' +
        'Cause: Vault matches rules against the API path.%0A' +
        'Fix: In policy "argo-stack", replace path "kv/argo/*" with path "kv/data/argo/*".%0A' +
        '  $ vault policy read argo-stack > argo-stack.hcl%0A' +
        '  # edit argo-stack.hcl as shown, then:%0A' +
        '  $ vault policy write argo-stack argo-stack.hcl%0A' +
        'path "kv/data/argo/*" {%0A  capabilities = ["read"]%0A}',
      'vault-selfcheck: 1 passed, 1 failed, 0 warnings, 1 skipped, 0 check errors',
    ]);
  });

  it('gives file, line and column from a location', () => {
    const result: Result = { check: 'store.config', status: 'warn', messageId: 'sa-referent', target: { kind: 'ClusterSecretStore', name: 'vault-argo', location: 'deploy/eso.yaml:28:13' }, message: 'No namespace.' };
    expect(lines(renderGithub(reportOf([result])))[0]).toBe('::warning file=deploy/eso.yaml,line=28,col=13,title=store.config%3A ClusterSecretStore vault-argo::No namespace.');
  });

  it('gives only the file for a bare location', () => {
    const result: Result = { check: 'policy.syntax', status: 'fail', messageId: 'parse-error', target: { kind: 'VaultPolicy', name: 'argo', location: 'vault/argo.hcl' }, message: 'Bad HCL.' };
    expect(lines(renderGithub(reportOf([result])))[0]).toBe('::error file=vault/argo.hcl,title=policy.syntax%3A Vault policy argo::Bad HCL.');
  });

  it('gives no file for standard input', () => {
    const result: Result = { check: 'remoteref.key', status: 'fail', messageId: 'leading-slash', target: { kind: 'ExternalSecret', name: 'es', namespace: 'ns', entry: 'data[0]', location: '<stdin>:4:9' }, message: 'Leading slash.' };
    expect(lines(renderGithub(reportOf([result])))[0]).toBe('::error title=remoteref.key%3A ExternalSecret ns/es data[0]::Leading slash.');
  });

  it('reports an error result as an error', () => {
    const result: Result = { check: 'auth.login', status: 'error', messageId: 'token-request-failed', target: { kind: 'Vault', server: 'http://127.0.0.1:8200' }, message: 'The TokenRequest failed.' };
    expect(lines(renderGithub(reportOf([result])))[0]).toBe('::error title=auth.login%3A Vault http%3A//127.0.0.1%3A8200::The TokenRequest failed.');
  });

  it('prints only the summary for passes', () => {
    const quiet = fixture.results.filter((result) => result.status === 'pass' || result.status === 'skip');
    expect(lines(renderGithub(reportOf(quiet)))).toEqual(['vault-selfcheck: 1 passed, 0 failed, 0 warnings, 1 skipped, 0 check errors']);
  });

  it('escapes data and properties', () => {
    const result: Result = {
      check: 'store.config',
      status: 'fail',
      messageId: 'path-folder',
      target: { kind: 'File', location: 'a,b:c%d.yaml:3:7' },
      message: '100% broken\r\nnext: line, with comma ::error::injected',
    };
    expect(lines(renderGithub(reportOf([result])))[0]).toBe(
      '::error file=a%2Cb%3Ac%25d.yaml,line=3,col=7,title=store.config%3A a%2Cb%3Ac%25d.yaml%3A3%3A7::100%25 broken%0D%0Anext: line, with comma ::error::injected',
    );
  });

  it('ends with run errors in the summary', () => {
    const report = reportOf([], { errors: [{ message: 'No kubeconfig: KUBECONFIG is empty.', fix: { summary: 'Set KUBECONFIG.', commands: ['kubectl config get-contexts'] } }] });
    expect(lines(renderGithub(report))).toEqual([
      '::error title=vault-selfcheck%3A run error::No kubeconfig: KUBECONFIG is empty.%0AFix: Set KUBECONFIG.%0A  $ kubectl config get-contexts',
      'vault-selfcheck: 0 passed, 0 failed, 0 warnings, 0 skipped, 0 check errors, 1 run error',
    ]);
  });

  it('annotates every lint finding', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    const output = lines(renderGithub(report));
    expect(output.filter((line) => line.startsWith('::error '))).toHaveLength(report.summary.fail + report.summary.error);
    expect(output.filter((line) => line.startsWith('::warning '))).toHaveLength(report.summary.warn);
    for (const line of output.slice(0, -1)) expect(line).toMatch(/^::(error|warning) file=[^,]+external-secrets\.yaml,line=\d+,col=\d+,title=[^:]+::/);
    expect(output.at(-1)).toBe(`vault-selfcheck: ${report.summary.pass} passed, ${report.summary.fail} failed, 1 warning, 0 skipped, 0 check errors`);
  });
});

describe('escapeData and escapeProperty', () => {
  it('escapes the percent sign first', () => {
    expect(escapeData('%0A\n')).toBe('%250A%0A');
  });

  it('leaves colons and commas in data', () => {
    expect(escapeData('a: b, c')).toBe('a: b, c');
  });

  it('escapes colons and commas in properties', () => {
    expect(escapeProperty('a: b, c\r')).toBe('a%3A b%2C c%0D');
  });
});

describe('githubDefault', () => {
  it.each([
    [{ GITHUB_ACTIONS: 'true' }, true],
    [{ GITHUB_ACTIONS: 'false' }, false],
    [{ GITHUB_ACTIONS: '1' }, false],
    [{ CI: 'true' }, false],
    [{}, false],
  ])('is %o -> %s', (env, expected) => {
    expect(githubDefault(env)).toBe(expected);
  });
});
