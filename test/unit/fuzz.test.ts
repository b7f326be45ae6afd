// Property-based tests: no input makes the reader, the policy parser, the evaluator, the path
// builder or the renderers throw anything but their own documented errors, and a few invariants
// hold. FUZZ_RUNS sets the number of cases per property (npm run fuzz uses 10,000).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { buildDataPath, buildMetadataPath } from '../../src/eso/paths.js';
import { readYaml } from '../../src/manifests/read.js';
import { evaluate, parsePolicy, PolicyParseError } from '../../src/policy/index.js';
import { renderHuman } from '../../src/report/human.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderSarif } from '../../src/report/sarif.js';
import { summarize, type Report, type Result } from '../../src/report/types.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const counts: Record<string, number> = {};

function property<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void): void {
  counts[name] = 0;
  fc.assert(
    fc.property(arbitrary, (value) => {
      counts[name]! += 1;
      predicate(value);
    }),
    { numRuns: RUNS },
  );
}

const segment = fc.constantFrom('kv', 'secret', 'data', 'metadata', 'argo', 'app', 'a', 'x', '', '+', '*', 'a*', 'team');
const path = fc.array(segment, { minLength: 0, maxLength: 6 }).map((parts) => parts.join('/'));
const capability = fc.constantFrom('create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny');
const rule = fc.record({ pattern: path.filter((value) => !value.includes('+*')), capabilities: fc.uniqueArray(capability, { minLength: 1, maxLength: 4 }) });
const policyText = fc.array(rule, { minLength: 0, maxLength: 6 }).map((rules) =>
  rules.map((item) => `path "${item.pattern}" {\n  capabilities = [${item.capabilities.map((cap) => `"${cap}"`).join(', ')}]\n}\n`).join(''),
);

const status = fc.constantFrom<Result['status']>('pass', 'fail', 'warn', 'skip', 'error');
const text = fc.string({ maxLength: 80 });
const result: fc.Arbitrary<Result> = fc.record({
  check: fc.constantFrom('store.config', 'policy.read', 'secret.read'),
  status,
  messageId: fc.constantFrom('ok', 'denied', 'not-found'),
  target: fc.record({ kind: fc.constantFrom('ExternalSecret' as const, 'ClusterSecretStore' as const, 'Vault' as const), name: text, store: fc.constantFrom('ClusterSecretStore/a', 'SecretStore/ns/b') }),
  message: text,
});

function reportOf(results: Result[]): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'vault-selfcheck', version: '0.0.0' },
    mode: 'live',
    generatedAt: '2026-01-01T00:00:00.000Z',
    summary: summarize(results),
    stores: [
      { ref: 'ClusterSecretStore/a', kind: 'ClusterSecretStore', name: 'a' },
      { ref: 'SecretStore/ns/b', kind: 'SecretStore', name: 'b', namespace: 'ns' },
    ],
    results,
    errors: [],
  };
}

describe('fuzz', () => {
  it('manifest reader never throws', () => {
    property('manifest reader', fc.string({ maxLength: 400 }), (input) => {
      const inputs = { objects: [], errors: [] };
      readYaml(input, 'fuzz.yaml', inputs);
      for (const error of inputs.errors) expect(typeof (error as { message: string }).message).toBe('string');
    });
  });

  it('policy parser throws only PolicyParseError', () => {
    property('policy parser', fc.oneof(fc.string({ maxLength: 200 }), policyText), (input) => {
      try {
        parsePolicy(input, { name: 'fuzz' });
      } catch (error) {
        expect(error).toBeInstanceOf(PolicyParseError);
      }
    });
  });

  it('evaluator never grants what a matching deny removes', () => {
    // Requested paths as clients send them: no empty segments, so the deny rule's pattern is the path itself.
    const requestPath = fc.array(segment.filter((part) => part !== ''), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
    property('evaluator deny', fc.tuple(policyText, requestPath), ([input, requested]) => {
      let policy;
      try {
        policy = parsePolicy(input, { name: 'fuzz' });
      } catch {
        return;
      }
      const withDeny = parsePolicy(`path "${requested.replace(/\+\*/g, '+')}" { capabilities = ["deny"] }`, { name: 'deny' });
      const decision = evaluate([policy, withDeny], requested);
      // An exact deny on the requested path merges into the exact rule, which decides outright.
      if (!requested.includes('+') && !requested.endsWith('*')) expect(decision.capabilities).toEqual(['deny']);
      expect(decision.capabilities.includes('deny') && decision.capabilities.length > 1).toBe(false);
    });
  });

  it('path builder keeps paths clean', () => {
    property('path builder', fc.tuple(fc.option(path, { nil: undefined }), fc.constantFrom('v1' as const, 'v2' as const), path), ([storePath, version, key]) => {
      const built = buildDataPath(storePath, version, key);
      expect(built.includes('//')).toBe(false);
      expect(built.startsWith('/')).toBe(false);
      expect(built.endsWith('/')).toBe(false);
      const metadata = buildMetadataPath(storePath, version, key);
      expect('path' in metadata || 'error' in metadata).toBe(true);
    });
  });

  it('renderers print every result', () => {
    property('renderers', fc.array(result, { maxLength: 8 }), (results) => {
      const report = reportOf(results);
      const human = renderHuman(report, { color: false });
      for (const item of results) expect(human).toContain(item.message.split('\n')[0]!);
      expect(() => JSON.parse(renderSarif(report))).not.toThrow();
      expect(renderJunit(report)).toContain('<testsuites');
    });
  });

  it('prints the case counts', () => {
    const line = Object.entries(counts).map(([name, count]) => `${name} ${count}`).join(', ');
    console.log(`fuzz: ${line}, 0 failures`);
    for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(RUNS);
  });
});
