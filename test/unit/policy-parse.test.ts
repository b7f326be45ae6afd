import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { parseHcl, type HclItem, type HclValue } from '../../src/policy/hcl.js';
import { parsePolicy, PolicyParseError, type PolicyRule } from '../../src/policy/index.js';

const fixtures = fileURLToPath(new URL('../../fixtures/policies/', import.meta.url));

function parseRules(text: string): PolicyRule[] {
  return parsePolicy(text, { name: 'test' }).rules;
}

function parseError(text: string, file?: string): PolicyParseError {
  try {
    parsePolicy(text, file === undefined ? { name: 'test' } : { name: 'test', file });
  } catch (error) {
    if (error instanceof PolicyParseError) return error;
    throw error;
  }
  throw new Error(`expected a PolicyParseError for:\n${text}`);
}

function hclError(text: string): PolicyParseError {
  try {
    parseHcl(text);
  } catch (error) {
    if (error instanceof PolicyParseError) return error;
    throw error;
  }
  throw new Error(`expected a PolicyParseError for:\n${text}`);
}

/** Returns the value of the top-level item with the given first key. */
function itemValue(items: HclItem[], key: string): HclValue {
  const item = items.find((candidate) => candidate.keys[0]?.value === key);
  if (item === undefined) throw new Error(`no item ${key}`);
  return item.value;
}

function literalValue(value: HclValue): string {
  if (value.type !== 'literal') throw new Error(`expected a literal, found ${value.type}`);
  return value.value;
}

describe('HCL syntax', () => {
  it('skips all three comment styles', () => {
    const rules = parseRules(`
# hash comment
// slash comment
/* block
   comment */
path "kv/data/a" { # trailing hash
  capabilities = ["read"] // trailing slashes
  /* inline */
}
`);
    expect(rules.map((rule) => [rule.path, rule.capabilities])).toEqual([['kv/data/a', ['read']]]);
  });

  it('decodes escapes in quoted strings', () => {
    const [rule] = parseRules(String.raw`path "kv/\"q\"\\b\u00e9\x41\101\t" { capabilities = ["read"] }`);
    expect(rule?.path).toBe('kv/"q"\\béAA\t');
  });

  it('keeps interpolations and templates literally', () => {
    const items = parseHcl('a = "kv/${x("y")}/{{identity.entity.id}}"\nb = "${ "\\n" }\\n"').items;
    expect(literalValue(itemValue(items, 'a'))).toBe('kv/${x("y")}/{{identity.entity.id}}');
    // Escapes inside ${...} stay as written; the one after it is decoded.
    expect(literalValue(itemValue(items, 'b'))).toBe('${ "\\n" }\n');
  });

  it('reads plain and indented heredocs', () => {
    const items = parseHcl('a = <<EOF\nline one\n  line two\nEOF\nb = <<-EOT\n    indented\n      more\n    EOT\n').items;
    expect(literalValue(itemValue(items, 'a'))).toBe('line one\n  line two\n');
    expect(literalValue(itemValue(items, 'b'))).toBe('indented\n  more\n');
  });

  it('accepts trailing and leading commas in lists', () => {
    const [rule] = parseRules('path "a" {\n  capabilities = [\n    "read",\n    "list",\n  ]\n}\npath "b" { capabilities = [, "read"] }');
    expect(rule?.capabilities).toEqual(['read', 'list']);
  });

  it('accepts objects with and without "="', () => {
    const factor = 'factor "ops" { identity { group_names = ["ops"], approvals = 1 } }';
    const [withEquals, withoutEquals] = parseRules(
      `path "a" { capabilities = ["read"]\n control_group = { ${factor} } }\npath "b" { capabilities = ["read"]\n control_group { ${factor} } }`,
    );
    expect(withEquals?.constraints?.controlGroup?.factors.map((entry) => entry.name)).toEqual(['ops']);
    expect(withEquals?.constraints).toEqual(withoutEquals?.constraints);
  });

  it('rejects "=" after a block label', () => {
    // HCL v1 allows "=" only after a single key, so `path "a" = { }` never reaches Vault.
    const error = parseError('path "a" = { capabilities = ["read"] }');
    expect([error.line, error.column]).toEqual([1, 10]);
    expect(error.reason).toBe('expected "{" after keys "path" "a", because a block with labels cannot use "="');
  });

  it('warns about duplicate attributes', () => {
    const policy = parsePolicy('path "a" {\n  capabilities = ["read"]\n  capabilities = ["list"]\n}', { name: 'test', file: 'dup.hcl' });
    // Vault before 1.21 appends the second list to the first.
    expect(policy.rules[0]?.capabilities).toEqual(['read', 'list']);
    expect(policy.warnings).toEqual([
      {
        message: 'attribute "capabilities" is set again after line 2, column 3, which Vault 1.21 and later reject',
        location: { file: 'dup.hcl', line: 3, column: 3 },
      },
    ]);
  });

  it('accepts quoted keys and comma separators', () => {
    const [rule] = parseRules('"path" "a" { "capabilities" = ["read"], policy = "read", }');
    expect(rule?.capabilities).toEqual(['read', 'list']);
  });

  it('keeps every repeated path block', () => {
    const rules = parseRules('path "kv/*" { capabilities = ["read"] }\npath "kv/*" { capabilities = ["list"] }');
    expect(rules.map((rule) => [rule.path, rule.capabilities])).toEqual([
      ['kv/*', ['read']],
      ['kv/*', ['list']],
    ]);
  });

  it('parses numbers, booleans and identifiers', () => {
    const items = parseHcl('int = 42\nneg = -7\nhex = 0x1F\nfloat = 1.5e3\nflag = true\nlist = [true, "a", 2]\nsome-key.x = "v"').items;
    const tokens = items.map((item) => [item.keys[0]?.value, item.value.type === 'literal' ? item.value.token : item.value.type]);
    expect(tokens).toEqual([
      ['int', 'number'],
      ['neg', 'number'],
      ['hex', 'number'],
      ['float', 'float'],
      ['flag', 'bool'],
      ['list', 'list'],
      ['some-key.x', 'string'],
    ]);
    const list = itemValue(items, 'list');
    // HCL v1 drops booleans inside lists.
    expect(list.type === 'list' ? list.elements.map(literalValue) : []).toEqual(['a', '2']);
  });

  it('parses nested blocks', () => {
    const [rule] = parseRules(`
path "secret/critical/*" {
  capabilities = ["read", "update"]
  control_group {
    ttl = "4h"
    factor "ops" {
      identity {
        group_names = ["ops"]
        approvals = 2
      }
      controlled_capabilities = ["update"]
    }
  }
}`);
    expect(rule?.constraints?.controlGroup).toEqual({
      ttlSeconds: 14400,
      factors: [{ name: 'ops', groupIds: [], groupNames: ['ops'], approvals: 2, controlledCapabilities: ['update'] }],
    });
  });

  it('reads the other path block keys', () => {
    const [rule] = parseRules(`
path "transit/encrypt/app" {
  capabilities = ["update"]
  comment = "any value is accepted here"
  min_wrapping_ttl = 60
  max_wrapping_ttl = "1h"
  allowed_parameters = { "Plaintext" = [], "context" = ["a", "b*"] }
  denied_parameters = { "key_version" = [1] }
  required_parameters = ["plaintext"]
  mfa_methods = ["totp"]
  subscribe_event_types = ["kv*"]
}`);
    expect(rule?.constraints).toEqual({
      minWrappingTtlSeconds: 60,
      maxWrappingTtlSeconds: 3600,
      allowedParameters: { plaintext: [], context: ['a', 'b*'] },
      deniedParameters: { key_version: [1] },
      requiredParameters: ['plaintext'],
      mfaMethods: ['totp'],
      subscribeEventTypes: ['kv*'],
    });
  });

  it('detects JSON by a leading brace', () => {
    expect(parseHcl('  \n{"a": 1}').format).toBe('json');
    expect(parseHcl('# comment\na = 1').format).toBe('hcl');
  });
});

describe('JSON policies', () => {
  it('reads the path object form', () => {
    const rules = parseRules(`{
  "name": "eso",
  "path": {
    "kv/data/*": { "capabilities": ["read"] },
    "kv/metadata/*": { "capabilities": ["list"], "policy": "read" }
  }
}`);
    expect(rules.map((rule) => [rule.path, rule.capabilities, rule.location])).toEqual([
      ['kv/data/*', ['read'], { line: 4, column: 5 }],
      ['kv/metadata/*', ['list', 'read'], { line: 5, column: 5 }],
    ]);
  });

  it('reads a list of path objects', () => {
    const rules = parseRules('{"path": [{"a": {"capabilities": ["read"]}}, {"b": {"capabilities": ["list"]}}]}');
    expect(rules.map((rule) => [rule.path, rule.capabilities])).toEqual([
      ['a', ['read']],
      ['b', ['list']],
    ]);
  });

  it('accepts a trailing comma in objects', () => {
    const rules = parseRules('{"path": {"a": {"capabilities": ["read"],},},}');
    expect(rules.map((rule) => rule.path)).toEqual(['a']);
  });

  it('flattens nested objects like Vault', () => {
    // HCL v1 folds a block whose values are all objects into its key, so Vault reads
    // "allowed_parameters" as part of the label and rejects "foo" as a key of the path.
    const error = parseError('{"path": {"kv/*": {"allowed_parameters": {"foo": []}}}}');
    expect(error.reason).toBe('path "kv/*": invalid key "foo"');
  });

  it('matches the HCL form of a fixture', () => {
    const hclFile = `${fixtures}eso-reader.hcl`;
    const jsonFile = `${fixtures}eso-reader.json`;
    const fromHcl = parsePolicy(readFileSync(hclFile, 'utf8'), { name: 'eso-reader', file: hclFile });
    const fromJson = parsePolicy(readFileSync(jsonFile, 'utf8'), { name: 'eso-reader', file: jsonFile });

    const summary = (rules: PolicyRule[]) => rules.map((rule) => [rule.policy, rule.path, rule.kind, rule.capabilities]);
    expect(summary(fromJson.rules)).toEqual(summary(fromHcl.rules));
    expect(fromHcl.rules.map((rule) => rule.location)).toEqual([
      { file: hclFile, line: 2, column: 1 },
      { file: hclFile, line: 6, column: 1 },
    ]);
    expect(fromJson.rules.map((rule) => rule.location)).toEqual([
      { file: jsonFile, line: 3, column: 5 },
      { file: jsonFile, line: 6, column: 5 },
    ]);
  });
});

describe('path rules', () => {
  it.each([
    ['deny', ['deny']],
    ['read', ['read', 'list']],
    ['write', ['create', 'read', 'update', 'delete', 'list']],
    ['sudo', ['create', 'read', 'update', 'delete', 'list', 'sudo']],
  ])('expands legacy policy %s', (legacy, expected) => {
    const [rule] = parseRules(`path "kv/*" { policy = "${legacy}" }`);
    expect(rule?.capabilities).toEqual(expected);
  });

  it.each([
    ['appends legacy read', '["patch"]', 'read', ['patch', 'read', 'list']],
    ['replaces with legacy deny', '["read"]', 'deny', ['deny']],
    ['ignores an empty policy', '["read"]', '', ['read']],
  ])('legacy policy %s', (_name, capabilities, legacy, expected) => {
    const [rule] = parseRules(`path "kv/*" { capabilities = ${capabilities}\n policy = "${legacy}" }`);
    expect(rule?.capabilities).toEqual(expected);
  });

  it.each([
    ['makes deny exclusive', '["read", "deny", "list"]', ['deny']],
    ['skips names after deny', '["deny", "bogus"]', ['deny']],
    ['removes duplicates', '["read", "list", "read"]', ['read', 'list']],
    ['accepts every capability', '["create", "read", "update", "patch", "delete", "list", "sudo", "subscribe", "recover"]', ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'subscribe', 'recover']],
    ['accepts an empty list', '[]', []],
    ['accepts an empty block', '{}', []],
  ])('capabilities list %s', (_name, capabilities, expected) => {
    const [rule] = parseRules(`path "kv/*" { capabilities = ${capabilities} }`);
    expect(rule?.capabilities).toEqual(expected);
  });

  it.each([
    ['kv/data/a', 'kv/data/a', 'exact'],
    ['kv/data/*', 'kv/data/*', 'prefix'],
    ['kv/a*b', 'kv/a*b', 'exact'],
    ['kv/+/a', 'kv/+/a', 'segment'],
    ['kv/+/a*', 'kv/+/a*', 'segment'],
    ['+', '+', 'segment'],
    ['+/a', '+/a', 'segment'],
    ['kv/+x', 'kv/+x', 'segment'],
    ['kv/a+b', 'kv/a+b', 'exact'],
    ['+a/b', '+a/b', 'exact'],
    ['/kv/data/a', 'kv/data/a', 'exact'],
    ['//kv/*', '/kv/*', 'prefix'],
    ['', '', 'exact'],
  ])('pattern %j becomes %j (%s)', (written, path, kind) => {
    const [rule] = parseRules(`path ${JSON.stringify(written)} { capabilities = ["read"] }`);
    expect(rule?.path).toBe(path);
    expect(rule?.rawPath).toBe(written);
    expect(rule?.kind).toBe(kind);
  });

  it('treats an unlabelled block as pattern "path"', () => {
    const [rule] = parseRules('path { capabilities = ["read"] }');
    expect(rule?.path).toBe('path');
  });

  it('marks templated patterns', () => {
    const rules = parseRules('path "kv/data/{{identity.entity.name}}/*" { capabilities = ["read"] }\npath "kv/data/x" {}');
    expect(rules.map((rule) => rule.templated)).toEqual([true, false]);
  });

  it('accepts invalid TTLs on deny rules', () => {
    const [rule] = parseRules('path "kv/*" { capabilities = ["deny"]\n min_wrapping_ttl = "soon" }');
    expect(rule?.capabilities).toEqual(['deny']);
    expect(rule?.constraints).toBeUndefined();
  });

  it('records the policy name', () => {
    const policy = parsePolicy('name = "ignored"\npath "kv/*" { capabilities = ["read"] }', { name: 'eso' });
    expect(policy.name).toBe('eso');
    expect(policy.rules[0]?.policy).toBe('eso');
  });
});

describe('parse errors', () => {
  it.each([
    ['unterminated string', 'path "kv/a {\n  capabilities = ["read"]\n}', 1, 6, 'unterminated string (missing closing \'"\' before the end of the line)'],
    ['missing closing brace', 'path "kv/a" {\n  capabilities = ["read"]\n', 1, 13, 'unclosed "{" (expected "}" before the end of the file)'],
    ['stray closing brace', 'path "a" {}\n}', 2, 1, 'unexpected "}" without a matching "{"'],
    ['unknown top-level key', 'path "a" {}\nrole "x" {}', 2, 1, 'invalid key "role" at the top level, where a policy may only contain "name" and "path"'],
    ['unknown block key', 'path "kv/a" {\n  capabilites = ["read"]\n}', 2, 3, 'path "kv/a": invalid key "capabilites" (did you mean "capabilities"?)'],
    ['invalid capability', 'path "kv/a" {\n  capabilities = ["read", "reed"]\n}', 2, 27, 'path "kv/a": invalid capability "reed" (did you mean "read"?)'],
    ['capability before deny', 'path "kv/a" { capabilities = ["bogus", "deny"] }', 1, 31, 'path "kv/a": invalid capability "bogus"'],
    ['plus before glob', 'path "kv/+*" {}', 1, 6, "path \"kv/+*\": invalid use of wildcards ('+*' is forbidden)"],
    ['plus before glob after slash', 'path "/kv/+*" {}', 1, 6, "path \"kv/+*\": invalid use of wildcards ('+*' is forbidden)"],
    ['invalid legacy policy', 'path "a" { policy = "admin" }', 1, 21, 'path "a": invalid policy "admin" (the legacy "policy" key accepts "deny", "read", "write" or "sudo")'],
    ['missing equals sign', 'path "a" {\n  capabilities ["read"]\n}', 2, 16, 'expected "=" or "{" after key "capabilities", found "["'],
    ['labelled assignment', 'path "a" {}\npath "b" "c" = {}', 2, 14, 'expected "{" after keys "path" "b" "c", because a block with labels cannot use "="'],
    ['unquoted value', 'path "a" { policy = read }', 1, 21, 'expected a value after "=", found the identifier "read" (quote strings with \'"\')'],
    ['missing list comma', 'path "a" { capabilities = ["read" "list"] }', 1, 35, 'expected "," or "]" in list, found the string "list"'],
    ['unclosed list', 'path "a" {\n capabilities = ["read",\n', 2, 17, 'unclosed "[" (expected "]" before the end of the file)'],
    ['invalid escape', String.raw`path "kv/\q" {}`, 1, 10, 'invalid escape sequence "\\q" in string'],
    ['unterminated comment', 'path "a" {}\n/* never closed', 2, 1, 'unterminated comment (missing "*/")'],
    ['single slash', 'path "a" {} / ', 1, 13, 'unexpected "/" (comments start with "//" or "/*")'],
    ['string capabilities', 'path "a" { capabilities = "read" }', 1, 27, 'path "a": "capabilities" must be a list of strings, found a string (wrap it in [ ])'],
    ['string as path value', 'path = "read"', 1, 8, 'path "path": expected a block such as { capabilities = ["read"] }, found a string'],
    ['unbalanced template', 'path "kv/{{identity.entity.id}/*" {}', 1, 6, 'path "kv/{{identity.entity.id}/*": unbalanced templating characters (every "{{" needs a matching "}}")'],
    ['invalid TTL', 'path "a" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "soon"\n}', 3, 22, 'path "a": "min_wrapping_ttl" must be a duration such as "30m" or a number of seconds, found "soon"'],
    ['max below min TTL', 'path "a" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "1h"\n  max_wrapping_ttl = "30m"\n}', 4, 22, 'path "a": "max_wrapping_ttl" cannot be less than "min_wrapping_ttl"'],
    ['control group without factor', 'path "a" {\n  capabilities = ["read"]\n  control_group { ttl = "1h" }\n}', 3, 3, 'path "a": "control_group" has no "factor" block'],
    ['JSON missing brace', '{"path": {"a": {"capabilities": ["read"]}}', 1, 1, 'unclosed "{" (expected "}" before the end of the file)'],
    ['JSON unterminated string', '{"path": {"a: {}}}', 1, 11, 'unterminated string (missing closing \'"\' before the end of the file)'],
    ['JSON invalid capability', '{\n  "path": {\n    "a": {"capabilities": ["read", 7]}\n  }\n}', 3, 36, 'path "a": invalid capability "7"'],
  ])('reports %s', (_name, text, line, column, reason) => {
    const error = parseError(text);
    expect(error.reason).toBe(reason);
    expect([error.line, error.column]).toEqual([line, column]);
    expect(error.message).toBe(`${line}:${column}: ${reason}`);
  });

  it('puts the file in the message', () => {
    const error = parseError('path "kv/a" {\n  capabilites = ["read"]\n}', 'policies/eso.hcl');
    expect(error.file).toBe('policies/eso.hcl');
    expect(error.message).toBe('policies/eso.hcl:2:3: path "kv/a": invalid key "capabilites" (did you mean "capabilities"?)');
  });

  it('rejects a heredoc closed at end of file', () => {
    // HCL v1 needs a newline after the closing line.
    const error = hclError('x = <<EOF\nabc\nEOF');
    expect([error.line, error.column]).toEqual([1, 5]);
    expect(error.reason).toBe('unterminated heredoc (no closing "EOF" line followed by a newline)');
  });

  it('rejects a newline inside a string', () => {
    const error = hclError('a = "one\ntwo"');
    expect([error.line, error.column]).toEqual([1, 5]);
  });

  it('counts columns in code points', () => {
    const error = parseError('path "kv/é😀" { capabilities = ["nope"] }');
    expect([error.line, error.column]).toEqual([1, 32]);
  });
});
