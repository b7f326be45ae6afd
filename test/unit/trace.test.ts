import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { renderTrace, trace } from '../../src/trace.js';

const examples = new URL('../../examples/', import.meta.url).pathname;

describe('trace from files', () => {
  it('shows the request and the deciding rule', async () => {
    const report = await trace({ externalSecret: 'argo-workflows/artifact-s3', paths: [join(examples, 'argo-stack')] });
    expect(report.errors).toEqual([]);
    const step = report.stores[0]!.steps[0]!;
    expect(step.request).toBe('/v1/kv/data/argo/workflows/artifacts');
    expect(step.mount).toBe('kv');
    expect(step.decision?.allowed).toBe(true);
    expect(step.decision?.rule?.pattern).toBe('kv/data/argo/*');
    expect(step.decision?.rule?.locations[0]).toMatch(/argo-stack\.hcl:2:1$/);
    expect(report.stores[0]!.login?.serviceAccount).toBe('external-secrets-system/eso-vault-auth');
  });

  it('renders the request line', async () => {
    const report = await trace({ externalSecret: 'artifact-s3', paths: [join(examples, 'argo-stack')] });
    const text = renderTrace(report);
    expect(text).toContain('GET /v1/kv/data/argo/workflows/artifacts');
    expect(text).toContain('allowed: read by rule "kv/data/argo/*"');
  });

  it('shows the denial in the broken example', async () => {
    const report = await trace({ externalSecret: 'argo-workflows/artifact-s3', paths: [join(examples, 'argo-stack-broken')] });
    expect(report.stores[0]!.steps[0]!.decision?.allowed).toBe(false);
    expect(report.stores[0]!.login?.serviceAccount).toBe('argo-workflows/eso-vault-auth');
  });

  it('names an unknown ExternalSecret', async () => {
    const report = await trace({ externalSecret: 'nope/missing', paths: [join(examples, 'argo-stack')] });
    expect(report.errors[0]?.message).toBe('ExternalSecret nope/missing was not found');
  });
});
