import { describe, expect, it } from 'vitest';

import { evaluate, parsePolicy, type Operation, type ParsedPolicy } from '../../src/policy/index.js';

/** Builds a policy from `pattern: capabilities` pairs. */
function policy(name: string, rules: Record<string, string[]>): ParsedPolicy {
  const text = Object.entries(rules)
    .map(([pattern, capabilities]) => `path ${JSON.stringify(pattern)} { capabilities = ${JSON.stringify(capabilities)} }`)
    .join('\n');
  return parsePolicy(text, { name });
}

interface SelectionCase {
  name: string;
  rules: Record<string, string[]>;
  path: string;
  capabilities: string[];
  reason: string;
}

describe('rule selection', () => {
  it.each<SelectionCase>([
    {
      name: 'exact beats glob',
      rules: { 'kv/data/a': ['read'], 'kv/data/*': ['list', 'update'], 'kv/data/+': ['delete'] },
      path: 'kv/data/a',
      capabilities: ['read'],
      reason: 'exact rule "kv/data/a" wins over every glob',
    },
    {
      name: 'longest prefix wins',
      rules: { 'kv/*': ['read'], 'kv/data/*': ['list'], 'kv/data/argo/*': ['update'] },
      path: 'kv/data/argo/x',
      capabilities: ['update'],
      reason: 'longest prefix "kv/data/argo/" (rule "kv/data/argo/*") matches "kv/data/argo/x"',
    },
    {
      name: '(a) later first wildcard wins',
      rules: { 'kv/data/a/+': ['read'], 'kv/data/*': ['list'] },
      path: 'kv/data/a/b',
      capabilities: ['read'],
      reason: '"kv/data/a/+" outranks "kv/data/*" because its first wildcard comes later',
    },
    {
      name: '(a) prefix beats earlier plus',
      rules: { 'kv/+/a/b': ['read'], 'kv/data/*': ['list'] },
      path: 'kv/data/a/b',
      capabilities: ['list'],
      reason: '"kv/data/*" outranks "kv/+/a/b" because its first wildcard comes later',
    },
    {
      name: '(b) no trailing glob wins',
      rules: { 'kv/+/x': ['read'], 'kv/+/x*': ['list'] },
      path: 'kv/a/x',
      capabilities: ['read'],
      reason: '"kv/+/x" outranks "kv/+/x*" because it does not end in "*"',
    },
    {
      // The "+" and the prefix end at the same index, so the tie goes to the rule without "*".
      name: '(b) segment beats equal prefix',
      rules: { 'kv/data/+/x': ['read'], 'kv/data/*': ['list'] },
      path: 'kv/data/a/x',
      capabilities: ['read'],
      reason: '"kv/data/+/x" outranks "kv/data/*" because it does not end in "*"',
    },
    {
      name: '(c) fewer plus segments win',
      rules: { 'kv/+/b/c': ['read'], 'kv/+/+/c': ['list'] },
      path: 'kv/a/b/c',
      capabilities: ['read'],
      reason: '"kv/+/b/c" outranks "kv/+/+/c" because it has fewer "+" segments',
    },
    {
      name: '(d) longer pattern wins',
      rules: { 'kv/+/bar/ba*': ['read'], 'kv/+/bar/b*': ['list'] },
      path: 'kv/x/bar/baz',
      capabilities: ['read'],
      reason: '"kv/+/bar/ba*" outranks "kv/+/bar/b*" because it is longer',
    },
    {
      name: '(e) lexically later wins',
      rules: { 'kv/+/x/+': ['read'], 'kv/+/+/y': ['list'] },
      path: 'kv/a/x/y',
      capabilities: ['read'],
      reason: '"kv/+/x/+" outranks "kv/+/+/y" because it sorts later byte by byte',
    },
    {
      // Vault compares UTF-8 bytes: both patterns are 9 bytes, although "é" is one UTF-16 unit.
      name: '(e) compares UTF-8 bytes',
      rules: { 'kv/+/é/+': ['read'], 'kv/+/+/ab': ['list'] },
      path: 'kv/q/é/ab',
      capabilities: ['read'],
      reason: '"kv/+/é/+" outranks "kv/+/+/ab" because it sorts later byte by byte',
    },
    {
      name: 'prefix wins when no segment matches',
      rules: { 'kv/data/*': ['read'], 'kv/+/other': ['list'] },
      path: 'kv/data/x',
      capabilities: ['read'],
      reason: 'longest prefix "kv/data/" (rule "kv/data/*") matches "kv/data/x"',
    },
    {
      name: 'single segment rule wins',
      rules: { 'kv/+/x': ['read'] },
      path: 'kv/a/x',
      capabilities: ['read'],
      reason: 'segment rule "kv/+/x" is the only non-exact rule that matches "kv/a/x"',
    },
    {
      name: 'implicit deny',
      rules: { 'kv/data/a': ['read'] },
      path: 'kv/data/b',
      capabilities: ['deny'],
      reason: 'no rule matches "kv/data/b"',
    },
  ])('$name', ({ rules, path, capabilities, reason }) => {
    const decision = evaluate([policy('test', rules)], path);
    expect(decision.capabilities).toEqual(capabilities);
    expect(decision.reason).toBe(reason);
  });

  it('lists every matching rule', () => {
    const decision = evaluate([policy('test', { 'kv/data/*': ['list'], 'kv/data/a': ['read'], 'kv/*': ['update'], 'kv/data/+': ['delete'], 'db/*': ['read'] })], 'kv/data/a');
    expect(decision.rule?.pattern).toBe('kv/data/a');
    expect(decision.matching.map((rule) => [rule.pattern, rule.kind])).toEqual([
      ['kv/data/a', 'exact'],
      ['kv/data/+', 'segment'],
      ['kv/data/*', 'prefix'],
      ['kv/*', 'prefix'],
    ]);
  });

  it('treats a middle star literally', () => {
    const policies = [policy('test', { 'kv/a*b': ['read'] })];
    expect(evaluate(policies, 'kv/a*b').capabilities).toEqual(['read']);
    expect(evaluate(policies, 'kv/axb').capabilities).toEqual(['deny']);
  });

  it.each([
    ['kv/data/a', ['read']],
    ['kv/data/abc', ['read']],
    ['kv/data/a/b/c', ['read']],
    ['kv/data/', ['deny']],
    ['kv/data/b', ['deny']],
  ])('prefix kv/data/a* on %s', (path, capabilities) => {
    expect(evaluate([policy('test', { 'kv/data/a*': ['read'] })], path).capabilities).toEqual(capabilities);
  });

  it.each([
    ['kv/+/x', 'kv/a/x', true],
    ['kv/+/x', 'kv/a/b/x', false],
    ['kv/+/x', 'kv/a/x/y', false],
    ['kv/+/x*', 'kv/a/xyz/q', true],
    ['kv/+/x*', 'kv/a/y', false],
    ['kv/+/*', 'kv/a', false],
    ['kv/+/*', 'kv/a/', true],
    ['kv/+/*', 'kv/a/b/c', true],
    ['kv/+', 'kv/', true],
    ['+', 'kv', true],
    ['+', 'kv/a', false],
    ['+/a', 'kv/a', true],
    ['kv/+x', 'kv/+x', true],
    ['kv/+x', 'kv/ax', false],
  ])('segment %s on %s matches: %s', (pattern, path, matches) => {
    const decision = evaluate([policy('test', { [pattern]: ['read'] })], path);
    expect(decision.capabilities).toEqual(matches ? ['read'] : ['deny']);
  });

  it('strips leading slashes from the path', () => {
    const decision = evaluate([policy('test', { 'kv/data/a': ['read'] })], '//kv/data/a');
    expect(decision.path).toBe('kv/data/a');
    expect(decision.capabilities).toEqual(['read']);
  });

  it('matches a pattern written with a slash', () => {
    const decision = evaluate([parsePolicy('path "/kv/data/a" { capabilities = ["read"] }', { name: 'test' })], 'kv/data/a');
    expect(decision.capabilities).toEqual(['read']);
  });
});

describe('deny and merging', () => {
  it('deny on identical pattern wins', () => {
    const allow = policy('allow', { 'kv/data/*': ['read', 'list'] });
    const deny = policy('deny', { 'kv/data/*': ['deny'] });
    for (const policies of [
      [allow, deny],
      [deny, allow],
    ]) {
      const decision = evaluate(policies, 'kv/data/x');
      expect(decision.capabilities).toEqual(['deny']);
      expect(decision.allowed('read')).toBe(false);
      expect(decision.rule?.rules.map((rule) => rule.policy).sort()).toEqual(['allow', 'deny']);
    }
  });

  it('deny on broader pattern loses', () => {
    const policies = [policy('deny', { 'kv/*': ['deny'] }), policy('allow', { 'kv/data/app': ['read'], 'kv/data/*': ['list'] })];
    expect(evaluate(policies, 'kv/data/app').capabilities).toEqual(['read']);
    expect(evaluate(policies, 'kv/data/other').capabilities).toEqual(['list']);
    expect(evaluate(policies, 'kv/other').capabilities).toEqual(['deny']);
  });

  it('merges capabilities across policies', () => {
    const policies = [
      policy('reader', { 'kv/data/app/*': ['read'] }),
      policy('lister', { 'kv/data/app/*': ['list'] }),
      policy('writer', { 'kv/data/*': ['update'] }),
    ];
    const decision = evaluate(policies, 'kv/data/app/config');
    expect(decision.capabilities).toEqual(['list', 'read']);
    expect(decision.rule?.rules.map((rule) => rule.policy)).toEqual(['reader', 'lister']);
    expect(decision.matching.map((rule) => rule.pattern)).toEqual(['kv/data/app/*', 'kv/data/*']);
  });

  it('merges repeated blocks in one policy', () => {
    const decision = evaluate([parsePolicy('path "kv/*" { capabilities = ["read"] }\npath "kv/*" { policy = "write" }', { name: 'test' })], 'kv/x');
    expect(decision.capabilities).toEqual(['create', 'delete', 'list', 'read', 'update']);
  });

  it('denies a rule without capabilities', () => {
    const decision = evaluate([policy('test', { 'kv/data/a': [], 'kv/data/*': ['read'] })], 'kv/data/a');
    expect(decision.capabilities).toEqual(['deny']);
    expect(decision.rule?.pattern).toBe('kv/data/a');
  });

  it('sorts the capabilities', () => {
    const decision = evaluate([policy('test', { 'kv/*': ['update', 'sudo', 'create', 'read', 'patch'] })], 'kv/x');
    expect(decision.capabilities).toEqual(['create', 'patch', 'read', 'sudo', 'update']);
  });
});

describe('list with trailing slash', () => {
  it('uses the exact rule without the slash', () => {
    const policies = [policy('test', { 'kv/metadata/argo': ['list'] })];
    const list = evaluate(policies, 'kv/metadata/argo/', { operation: 'list' });
    expect(list.capabilities).toEqual(['list']);
    expect(list.reason).toBe('exact rule "kv/metadata/argo" wins over every glob, because a list also checks the path without its trailing "/"');
    expect(evaluate(policies, 'kv/metadata/argo/', { operation: 'read' }).capabilities).toEqual(['deny']);
  });

  it('checks globs without the slash first', () => {
    const policies = [policy('test', { 'secret/foo*': ['list'], 'secret/foo/*': ['deny'] })];
    const list = evaluate(policies, 'secret/foo/', { operation: 'list' });
    expect(list.capabilities).toEqual(['list']);
    expect(list.reason).toBe('longest prefix "secret/foo" (rule "secret/foo*") matches "secret/foo" (a list checks the path without its trailing "/" first)');
    expect(evaluate(policies, 'secret/foo/', { operation: 'read' }).capabilities).toEqual(['deny']);
  });

  // Measured on a Vault 1.14.2 dev server through sys/capabilities. Vault 1.13.10, 1.14.6 and
  // 1.15.2 added the glob lookup without the slash.
  it('matches globs with the slash before 1.14.6', () => {
    const policies = [policy('test', { 'secret/foo*': ['list'], 'secret/foo/*': ['deny'], 'kv/+/argo': ['list', 'read'] })];
    const old = evaluate(policies, 'secret/foo/', { vaultVersion: '1.14.2' });
    expect(old.capabilities).toEqual(['deny']);
    expect(old.reason).toBe('longest prefix "secret/foo/" (rule "secret/foo/*") matches "secret/foo/"');
    expect(old.allowed('list')).toBe(false);
    expect(evaluate(policies, 'secret/foo/', { vaultVersion: '1.14.6' }).capabilities).toEqual(['list']);

    const segment = evaluate(policies, 'kv/metadata/argo/', { vaultVersion: '1.14.2' });
    expect(segment.capabilities).toEqual(['deny']);
    expect(segment.matching).toEqual([]);
    expect(evaluate(policies, 'kv/metadata/argo/').capabilities).toEqual(['list', 'read']);
  });

  it.each([
    ['1.12.11', ['deny']],
    ['1.13.9', ['deny']],
    ['1.13.10', ['list']],
    ['1.14.5+ent', ['deny']],
    ['v1.14.6', ['list']],
    ['1.15.1', ['deny']],
    ['1.15.2', ['list']],
    ['1.16.0', ['list']],
    ['2.0.0', ['list']],
    ['unknown', ['list']],
  ])('reads Vault version %s', (vaultVersion, capabilities) => {
    const policies = [policy('test', { 'secret/foo*': ['list'], 'secret/foo/*': ['deny'] })];
    expect(evaluate(policies, 'secret/foo/', { vaultVersion }).capabilities).toEqual(capabilities);
  });

  it('keeps the trimmed exact rule in 1.14.2', () => {
    const policies = [policy('test', { 'kv/metadata/argo': ['list'], 'kv/metadata/*': ['deny'] })];
    expect(evaluate(policies, 'kv/metadata/argo/', { vaultVersion: '1.14.2' }).capabilities).toEqual(['list']);
  });

  it('defaults to the list lookup', () => {
    const policies = [policy('test', { 'kv/metadata/argo': ['list'] })];
    const decision = evaluate(policies, 'kv/metadata/argo/');
    expect(decision.operation).toBe('list');
    expect(decision.capabilities).toEqual(['list']);
  });

  it('answers each operation with its own lookup', () => {
    const decision = evaluate([policy('test', { 'kv/metadata/argo': ['list', 'read'] })], 'kv/metadata/argo/', { operation: 'read' });
    expect(decision.capabilities).toEqual(['deny']);
    expect(decision.allowed('list')).toBe(true);
    expect(decision.allowed('read')).toBe(false);
  });
});

describe('KV v2 paths', () => {
  it('needs the data segment', () => {
    const secret = 'kv/data/argo/workflows/artifacts';
    const withoutData = evaluate([policy('eso', { 'kv/argo/*': ['read'] })], secret);
    expect(withoutData.capabilities).toEqual(['deny']);
    expect(withoutData.allowed('read')).toBe(false);

    const withData = evaluate([policy('eso', { 'kv/data/argo/*': ['read'] })], secret);
    expect(withData.capabilities).toEqual(['read']);
    expect(withData.allowed('read')).toBe(true);
  });
});

describe('allowed operations', () => {
  const decision = evaluate([policy('test', { 'kv/data/*': ['read', 'list'] })], 'kv/data/x');

  it.each<[Operation, boolean]>([
    ['read', true],
    ['list', true],
    ['create', false],
    ['update', false],
    ['delete', false],
    ['patch', false],
    ['sudo', false],
  ])('allowed(%s) is %s', (operation, expected) => {
    expect(decision.allowed(operation)).toBe(expected);
  });

  it('grants everything to root', () => {
    const root = evaluate([{ name: 'root', rules: [] }], 'sys/raw/x');
    expect(root.capabilities).toEqual(['root']);
    expect(root.allowed('sudo')).toBe(true);
  });
});

describe('templated rules', () => {
  const expression = 'identity.entity.aliases.auth_kubernetes_1a2b.metadata.service_account_namespace';
  const policies = [parsePolicy(`path "kv/data/{{${expression}}}/*" { capabilities = ["read"] }`, { name: 'eso' })];

  it('leaves unresolved templates out', () => {
    const decision = evaluate(policies, 'kv/data/argo/x');
    expect(decision.capabilities).toEqual(['deny']);
    expect(decision.unresolvedTemplates.map((rule) => rule.path)).toEqual([`kv/data/{{${expression}}}/*`]);
  });

  it('substitutes resolved templates', () => {
    const decision = evaluate(policies, 'kv/data/argo/x', { resolveTemplate: (name) => (name === expression ? 'argo' : undefined) });
    expect(decision.capabilities).toEqual(['read']);
    expect(decision.rule?.pattern).toBe('kv/data/argo/*');
    expect(decision.unresolvedTemplates).toEqual([]);
  });

  it('drops values with wildcards', () => {
    const decision = evaluate(policies, 'kv/data/a/x', { resolveTemplate: () => 'a*' });
    expect(decision.capabilities).toEqual(['deny']);
    expect(decision.unresolvedTemplates).toHaveLength(1);
  });
});
