// The machine-readable outputs on a live report: the argo-stack-broken scenario on a real
// kube-apiserver and Vault, checked once with --output json, validated against the published JSON
// Schema and rendered as JUnit XML and GitHub workflow commands.

import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';
import { renderGithub } from '../../src/report/github.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderSarif } from '../../src/report/sarif.js';
import { closedReportJsonSchema } from '../../src/report/schema.js';
import type { Report } from '../../src/report/types.js';
import { runJson, type CliRun } from './run-cli.js';

const require = createRequire(import.meta.url);
// Both packages are CommonJS with a default export, and require keeps their types simple under NodeNext.
const Ajv2020 = (require('ajv/dist/2020.js') as { default: typeof import('ajv/dist/2020.js').default }).default;
const addFormats = (require('ajv-formats') as { default: typeof import('ajv-formats').default }).default;

type Servers = Awaited<ReturnType<typeof startServers>>;

let servers: Servers;
let run: CliRun;
let report: Report;
let canaries: string[] = [];

function compile(schema: object) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

beforeAll(async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-e2e-'));
  servers = await startServers({ runDir, log: () => {} });
  const loaded = await loadScenario(servers, 'argo-stack-broken');
  canaries = loaded.canaries;
  ({ run, report } = await runJson([], { KUBECONFIG: loaded.env.KUBECONFIG, VAULT_ADDR: loaded.env.VAULT_ADDR, VAULT_TOKEN: loaded.env.VAULT_TOKEN }));
});

afterAll(async () => {
  await servers?.stop();
});

describe('live report outputs', () => {
  it('is a failing live report', () => {
    expect(run.code).toBe(1);
    expect(report.mode).toBe('live');
    expect(report.summary.fail).toBeGreaterThan(0);
  });

  it('validates against the published schema', () => {
    const validate = compile(JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8')) as object);
    const valid = validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('declares every field it emits', () => {
    const validate = compile(closedReportJsonSchema());
    const valid = validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('renders JUnit XML that parses back', () => {
    const xml = renderJunit(report);
    expect(XMLValidator.validate(xml)).toBe(true);
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true, isArray: (name) => name === 'testsuite' || name === 'testcase' });
    const parsed = parser.parse(xml) as { testsuites: { tests: string; failures: string; skipped: string; testsuite: { name: string; testcase?: { classname: string; failure?: unknown }[] }[] } };
    const root = parsed.testsuites;
    expect(Number(root.tests)).toBe(report.results.length);
    expect(Number(root.failures)).toBe(report.summary.fail + report.summary.error);
    expect(Number(root.skipped)).toBe(report.summary.skip);
    expect(root.testsuite.map((suite) => suite.name)).toContain('ClusterSecretStore/vault-argo');
    const failed = root.testsuite.flatMap((suite) => suite.testcase ?? []).filter((testcase) => testcase.failure);
    expect(new Set(failed.map((testcase) => testcase.classname))).toEqual(new Set(report.results.filter((result) => result.status === 'fail' || result.status === 'error').map((result) => result.check)));
  });

  it('renders GitHub commands without locations', () => {
    const lines = renderGithub(report).replace(/\n$/, '').split('\n');
    const commands = lines.slice(0, -1);
    expect(commands).toHaveLength(report.summary.fail + report.summary.error + report.summary.warn + report.errors.length);
    // A live result has no file, so no annotation may claim one.
    for (const line of commands) expect(line).toMatch(/^::(error|warning) title=[^:]+::\S/);
    expect(lines.at(-1)).toMatch(/^vault-selfcheck: \d+ passed, \d+ failed, /);
  });

  it('renders SARIF that validates against the SARIF 2.1.0 schema', () => {
    const sarifSchema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object;
    const Draft04 = (require('ajv-draft-04') as { default: typeof import('ajv-draft-04').default }).default;
    const addSarifFormats = (require('ajv-formats') as { default: typeof import('ajv-formats').default }).default;
    const ajv = new Draft04({ strict: false, allErrors: true, unicodeRegExp: false });
    addSarifFormats(ajv);
    const validate = ajv.compile(sarifSchema);
    const log = JSON.parse(renderSarif(report));
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.runs[0].results.length).toBe(report.summary.fail + report.summary.warn + report.summary.error);
  });

  it('leaks no secret value in either rendering', () => {
    const all = `${renderJunit(report)}\n${renderGithub(report)}`;
    expect(canaries.length).toBeGreaterThan(0);
    for (const canary of canaries) expect(all.includes(canary), 'a secret value was rendered').toBe(false);
  });
});
