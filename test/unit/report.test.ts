import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { describeTarget, renderHuman } from '../../src/report/human.js';
import { exitCodeOf, summarize, type Report } from '../../src/report/types.js';

const report = JSON.parse(readFileSync(new URL('../../fixtures/reports/broken.json', import.meta.url), 'utf8')) as Report;

describe('renderHuman', () => {
  const text = renderHuman(report, { color: false });

  it('groups results under the store', () => {
    expect(text.startsWith('ClusterSecretStore vault-argo  (http://127.0.0.1:8200)\n')).toBe(true);
  });

  it('prints one line per result with its target', () => {
    expect(text).toContain('FAIL  policy.read');
    expect(text).toContain('ExternalSecret argo-workflows/artifact-s3 data[0]');
    expect(text).toContain('PASS  vault.health');
    expect(text).toContain('SKIP  auth.role');
  });

  it('prints the fix under a failure', () => {
    expect(text).toContain('Fix: In policy "argo-stack"');
    expect(text).toContain('$ vault policy write argo-stack argo-stack.hcl');
    expect(text).toContain('path "kv/data/argo/*" {');
  });

  it('ends with the summary line', () => {
    expect(text.trimEnd().split('\n').at(-1)).toBe('Summary: 1 passed, 1 failed, 0 warnings, 1 skipped, 0 check errors');
  });

  it('has no colour codes without colour', () => {
    expect(text).not.toMatch(/\u001b\[/);
  });

  it('uses colour codes when asked', () => {
    expect(renderHuman(report, { color: true })).toMatch(/\u001b\[/);
  });

  it('prints every result of the report', () => {
    for (const result of report.results) expect(text).toContain(result.message);
  });
});

describe('describeTarget', () => {
  it('names a service account', () => {
    expect(describeTarget({ kind: 'ServiceAccount', name: 'sa', namespace: 'ns', serviceAccount: 'ns/sa' })).toBe('ServiceAccount ns/sa');
  });
});

describe('exitCodeOf', () => {
  it('is 1 with a failure', () => {
    expect(exitCodeOf(report)).toBe(1);
  });

  it('is 0 when healthy', () => {
    const healthy: Report = { ...report, results: [], summary: summarize([]) };
    expect(exitCodeOf(healthy)).toBe(0);
  });

  it('is 2 with a run error', () => {
    expect(exitCodeOf({ ...report, errors: [{ message: 'no kubeconfig' }] })).toBe(2);
  });

  it('fails warnings only when strict', () => {
    const warned: Report = { ...report, summary: { pass: 1, fail: 0, warn: 1, skip: 0, error: 0 } };
    expect(exitCodeOf(warned)).toBe(0);
    expect(exitCodeOf(warned, { strict: true })).toBe(1);
  });
});
