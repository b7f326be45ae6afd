import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lint } from '../../src/lint.js';
import { closedReportJsonSchema, ReportSchema, reportJsonSchemaText, StatusSchema, TargetKindSchema } from '../../src/report/schema.js';
import { STATUSES, summarize, type Report } from '../../src/report/types.js';

const require = createRequire(import.meta.url);
// Both packages are CommonJS with a default export, and require keeps their types simple under NodeNext.
const Ajv2020 = (require('ajv/dist/2020.js') as { default: typeof import('ajv/dist/2020.js').default }).default;
const addFormats = (require('ajv-formats') as { default: typeof import('ajv-formats').default }).default;

const schemaFile = new URL('../../schema/report.schema.json', import.meta.url);
const examples = new URL('../../examples/', import.meta.url).pathname;
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/reports/broken.json', import.meta.url), 'utf8')) as Report;

function compile(schema: object) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

const published = compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
const closed = compile(closedReportJsonSchema());

function errorsOf(validate: typeof published, report: unknown): unknown[] {
  return validate(report) ? [] : (validate.errors ?? ['invalid']);
}

async function lintReport(example: string): Promise<Report> {
  // A round trip through JSON validates what --output json prints, not the in-memory object.
  return JSON.parse(JSON.stringify(await lint({ paths: [join(examples, example)] }))) as Report;
}

describe('report schema', () => {
  it('is up to date with src/report/schema.ts', () => {
    const committed = readFileSync(schemaFile, 'utf8');
    expect(committed, 'schema/report.schema.json is stale: run npm run schema').toBe(reportJsonSchemaText());
  });

  it('uses JSON Schema 2020-12', () => {
    expect(JSON.parse(readFileSync(schemaFile, 'utf8')).$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it.each(['argo-stack', 'argo-stack-broken'])('accepts the lint report of %s', async (example) => {
    const report = await lintReport(example);
    expect(report.results.length).toBeGreaterThan(0);
    expect(errorsOf(published, report)).toEqual([]);
    expect(errorsOf(closed, report), 'the code emits a field the schema does not declare').toEqual([]);
  });

  it('accepts the live-shaped fixture', () => {
    expect(errorsOf(published, fixture)).toEqual([]);
    expect(errorsOf(closed, fixture)).toEqual([]);
  });

  it('agrees with zod on the fixture', () => {
    expect(ReportSchema.safeParse(fixture).success).toBe(true);
  });

  it('matches summary to result counts', async () => {
    const report = await lintReport('argo-stack-broken');
    expect(report.summary).toEqual(summarize(report.results));
    expect(fixture.summary).toEqual(summarize(fixture.results));
  });
});

describe('report schema rejections', () => {
  const invalid: [string, (report: Record<string, any>) => void][] = [
    ['an unknown status', (report) => (report.results[0].status = 'failed')],
    ['an unknown target kind', (report) => (report.results[0].target.kind = 'Pod')],
    ['a missing summary', (report) => delete report.summary],
    ['a missing message id', (report) => delete report.results[1].messageId],
    ['an empty check id', (report) => (report.results[0].check = '')],
    ['another schemaVersion', (report) => (report.schemaVersion = 2)],
    ['an unknown mode', (report) => (report.mode = 'trace')],
    ['a negative count', (report) => (report.summary.fail = -1)],
    ['a fractional count', (report) => (report.summary.pass = 1.5)],
    ['a date without time zone', (report) => (report.generatedAt = '2026-12-04T20:00:00')],
    ['details that are not an object', (report) => (report.results[0].details = ['a'])],
    ['a fix without commands', (report) => delete report.results[1].fix.commands],
    ['an error without message', (report) => report.errors.push({ cause: 'x' })],
  ];

  it.each(invalid)('rejects %s', (_name, corrupt) => {
    const report = structuredClone(fixture) as unknown as Record<string, any>;
    corrupt(report);
    expect(published(report)).toBe(false);
    expect(ReportSchema.safeParse(report).success).toBe(false);
  });

  it('accepts an undeclared field in the published schema', () => {
    // A field added later under schemaVersion 1 must not break consumers holding this schema.
    const report = structuredClone(fixture) as unknown as Record<string, any>;
    report.results[0].durationMs = 12;
    report.results[0].target.cluster = 'prod';
    expect(errorsOf(published, report)).toEqual([]);
    expect(closed(report)).toBe(false);
  });
});

describe('schema and types', () => {
  it('lists the same statuses', () => {
    expect([...STATUSES]).toEqual(StatusSchema.options);
  });

  it('lists the target kinds', () => {
    expect(TargetKindSchema.options).toEqual(['ClusterSecretStore', 'SecretStore', 'ExternalSecret', 'ServiceAccount', 'Vault', 'VaultAuthRole', 'VaultPolicy', 'File']);
  });
});
