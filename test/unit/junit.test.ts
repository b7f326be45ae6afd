import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

import { lint } from '../../src/lint.js';
import { NO_STORE_SUITE, renderJunit } from '../../src/report/junit.js';
import { summarize, type Report, type Result } from '../../src/report/types.js';

const examples = new URL('../../examples/', import.meta.url).pathname;
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/reports/broken.json', import.meta.url), 'utf8')) as Report;

interface Case {
  classname: string;
  name: string;
  file?: string;
  line?: string;
  failure?: { message: string; type: string; '#text': string };
  error?: { message: string; type: string; '#text': string };
  skipped?: { message: string };
  'system-out'?: string;
}

interface Suite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  timestamp: string;
  testcase?: Case[];
}

interface Parsed {
  testsuites: { name: string; tests: string; failures: string; errors: string; skipped: string; testsuite: Suite[] };
}

// XML 1.0 Char production: anything else makes the document ill-formed even as a reference.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function parse(xml: string): Parsed {
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(NOT_XML_CHAR.test(xml)).toBe(false);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    // Decodes numeric character references such as &#10; as well as the five XML entities.
    htmlEntities: true,
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  });
  return parser.parse(xml) as Parsed;
}

function cases(parsed: Parsed): Case[] {
  return parsed.testsuites.testsuite.flatMap((suite) => suite.testcase ?? []);
}

function resultReport(results: Result[], extra: Partial<Report> = {}): Report {
  return { ...fixture, results, summary: summarize(results), ...extra };
}

describe('renderJunit on the lint report', () => {
  it('counts one case per result', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    const parsed = parse(renderJunit(report));
    const root = parsed.testsuites;
    expect(Number(root.tests)).toBe(report.results.length);
    expect(Number(root.failures)).toBe(report.summary.fail + report.summary.error);
    expect(Number(root.skipped)).toBe(report.summary.skip);
    expect(Number(root.errors)).toBe(0);
    expect(cases(parsed)).toHaveLength(report.results.length);
    for (const suite of root.testsuite) {
      const suiteCases = suite.testcase ?? [];
      expect(Number(suite.tests)).toBe(suiteCases.length);
      expect(Number(suite.failures)).toBe(suiteCases.filter((testcase) => testcase.failure).length);
      expect(suite.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    }
  });

  it('groups suites by store', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    const names = parse(renderJunit(report)).testsuites.testsuite.map((suite) => suite.name);
    expect(names).toEqual([NO_STORE_SUITE, 'ClusterSecretStore/vault-argo', 'ClusterSecretStore/vault-argo-workflows']);
  });

  it('names a case by check and target', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    const testcase = cases(parse(renderJunit(report))).find((candidate) => candidate.classname === 'policy.read' && candidate.name === 'ExternalSecret argo-workflows/artifact-s3 data[0]');
    expect(testcase).toBeDefined();
    expect(testcase!.file).toMatch(/argo-stack-broken\/external-secrets\.yaml$/);
    expect(Number(testcase!.line)).toBeGreaterThan(0);
    expect(testcase!.failure!.type).toBe('fail');
    expect(testcase!.failure!['#text']).toContain('path "kv/data/argo/*" {');
    expect(testcase!.failure!['#text']).toContain('$ vault policy write argo-stack argo-stack.hcl');
  });

  it('keeps case names unique within a suite', async () => {
    const report = await lint({ paths: [join(examples, 'argo-stack-broken')] });
    for (const suite of parse(renderJunit(report)).testsuites.testsuite) {
      const keys = (suite.testcase ?? []).map((testcase) => `${testcase.classname} ${testcase.name}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });
});

describe('renderJunit statuses', () => {
  const [pass, fail, skip] = fixture.results as [Result, Result, Result];
  const warn: Result = { ...pass, status: 'warn', messageId: 'standby', message: 'Vault is a standby.', fix: { summary: 'Point at the active node.', commands: [] } };
  const error: Result = { ...pass, check: 'auth.login', status: 'error', messageId: 'token-request-failed', message: 'The TokenRequest failed.' };

  it('writes the failure body', () => {
    const testcase = cases(parse(renderJunit(resultReport([fail])))).at(0)!;
    expect(testcase.failure!.message).toBe(fail.message);
    expect(testcase.failure!['#text']).toBe(
      [
        fail.message,
        'Check: policy.read (denied-kv2-data), status fail',
        `Cause: ${fail.cause}`,
        `Fix: ${fail.fix!.summary}`,
        '  $ vault policy read argo-stack > argo-stack.hcl',
        '  # edit argo-stack.hcl as shown, then:',
        '  $ vault policy write argo-stack argo-stack.hcl',
        'HCL:',
        'path "kv/data/argo/*" {\n  capabilities = ["read"]\n}',
        '',
      ].join('\n'),
    );
  });

  it('marks an error result as a failure', () => {
    const parsed = parse(renderJunit(resultReport([error])));
    expect(cases(parsed)[0]!.failure!.type).toBe('error');
    expect(Number(parsed.testsuites.failures)).toBe(1);
  });

  it('marks a skip as skipped', () => {
    const parsed = parse(renderJunit(resultReport([skip])));
    expect(cases(parsed)[0]!.skipped!.message).toBe(skip.message);
    expect(Number(parsed.testsuites.skipped)).toBe(1);
    expect(Number(parsed.testsuites.failures)).toBe(0);
  });

  it('passes a warning with system-out', () => {
    const parsed = parse(renderJunit(resultReport([warn])));
    const testcase = cases(parsed)[0]!;
    expect(testcase.failure).toBeUndefined();
    expect(testcase['system-out']).toContain('WARNING: Vault is a standby.');
    expect(testcase['system-out']).toContain('Fix: Point at the active node.');
    expect(Number(parsed.testsuites.failures)).toBe(0);
  });

  it('fails a warning when strict', () => {
    const parsed = parse(renderJunit(resultReport([warn]), { strict: true }));
    expect(cases(parsed)[0]!.failure!.type).toBe('warn');
    expect(Number(parsed.testsuites.failures)).toBe(1);
  });

  it('leaves a pass without children', () => {
    const testcase = cases(parse(renderJunit(resultReport([pass]))))[0]!;
    expect(testcase.classname).toBe('vault.health');
    expect(testcase.name).toBe('Vault http://127.0.0.1:8200');
    expect(Object.keys(testcase).sort()).toEqual(['classname', 'name', 'time']);
  });

  it('renders run errors as errors', () => {
    const report = resultReport([], { errors: [{ message: 'No kubeconfig.', fix: { summary: 'Set KUBECONFIG.', commands: ['kubectl config get-contexts'] } }] });
    const parsed = parse(renderJunit(report));
    expect(Number(parsed.testsuites.errors)).toBe(1);
    const suite = parsed.testsuites.testsuite.at(-1)!;
    expect(suite.name).toBe('run errors');
    expect(suite.testcase![0]!.error!.message).toBe('No kubeconfig.');
    expect(suite.testcase![0]!.error!['#text']).toContain('$ kubectl config get-contexts');
  });

  it('renders an empty report', () => {
    const parsed = parse(renderJunit(resultReport([])));
    expect(Number(parsed.testsuites.tests)).toBe(0);
  });
});

describe('renderJunit escaping', () => {
  const base = fixture.results[1]!;

  it('round-trips markup characters', () => {
    const message = `a <b> & "c" 'd' ]]> e`;
    const report = resultReport([{ ...base, message, target: { ...base.target, name: '<es&"x">' } }]);
    const xml = renderJunit(report);
    expect(xml).not.toContain('<b>');
    const testcase = cases(parse(xml))[0]!;
    expect(testcase.failure!.message).toBe(message);
    expect(testcase.failure!['#text'].split('\n')[0]).toBe(message);
    expect(testcase.name).toBe('ExternalSecret argo-workflows/<es&"x"> data[0]');
  });

  it('keeps line breaks and tabs in attributes', () => {
    const message = 'line one\nline two\r\n\tindented';
    const testcase = cases(parse(renderJunit(resultReport([{ ...base, message }]))))[0]!;
    expect(testcase.failure!.message).toBe(message);
  });

  it('replaces characters XML 1.0 forbids', () => {
    const message = 'bell\u0007 escape\u001b[31m nul\u0000 lone\uD800 noncharacter\uFFFE emoji\u{1F600}';
    const xml = renderJunit(resultReport([{ ...base, message }]));
    const testcase = cases(parse(xml))[0]!;
    expect(testcase.failure!.message).toBe('bell\\u0007 escape\\u001B[31m nul\\u0000 lone\\uD800 noncharacter\\uFFFE emoji\u{1F600}');
  });
});
