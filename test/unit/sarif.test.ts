import { createRequire } from 'node:module';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lint } from '../../src/lint.js';
import { parseLocation, renderSarif } from '../../src/report/sarif.js';

const require = createRequire(import.meta.url);
// Both packages are CommonJS with a default export; require keeps their types simple under NodeNext.
const Ajv = (require('ajv-draft-04') as { default: typeof import('ajv-draft-04').default }).default;
const addFormats = (require('ajv-formats') as { default: typeof import('ajv-formats').default }).default;
const schema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object;
const examples = new URL('../../examples/', import.meta.url).pathname;

function validator() {
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('renderSarif', () => {
  it('validates against the SARIF 2.1.0 schema', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    const log = JSON.parse(renderSarif(report));
    const validate = validator();
    const valid = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('carries one result per finding with its region', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    const log = JSON.parse(renderSarif(report));
    const findings = report.results.filter((result) => result.status === 'fail' || result.status === 'warn');
    expect(log.runs[0].results).toHaveLength(findings.length);
    const first = log.runs[0].results[0];
    expect(first.locations[0].physicalLocation.region.startLine).toBeGreaterThan(0);
    expect(first.locations[0].physicalLocation.artifactLocation.uri).toContain('external-secrets.yaml');
  });

  it('rejects a log without runs', () => {
    expect(validator()({ version: '2.1.0' })).toBe(false);
  });

  it('validates an empty report too', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack')] });
    const validate = validator();
    expect(validate(JSON.parse(renderSarif(report)))).toBe(true);
  });
});

describe('parseLocation', () => {
  it('splits file, line and column', () => {
    expect(parseLocation('a:b/c.yaml:3:7')).toEqual({ physicalLocation: { artifactLocation: { uri: 'a%3Ab/c.yaml' }, region: { startLine: 3, startColumn: 7 } } });
  });

  it('keeps a bare file', () => {
    expect(parseLocation('policy.hcl')).toEqual({ physicalLocation: { artifactLocation: { uri: 'policy.hcl' } } });
  });
});
