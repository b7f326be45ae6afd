// Turns a parsed policy document into path rules with the checks and normalisation of Vault's
// vault/policy.go (parseACLPolicyWithTemplating and parsePaths), applied in the same order, so
// the first error reported here is normally the one Vault reports.

import {
  parseHcl,
  PolicyParseError,
  type HclItem,
  type HclKey,
  type HclLiteral,
  type HclValue,
  type Position,
  type SourceLocation,
} from './hcl.js';

export { PolicyParseError } from './hcl.js';
export type { SourceLocation } from './hcl.js';

export type RuleKind = 'exact' | 'prefix' | 'segment';

/** Request conditions a rule adds on top of its capabilities. Deny rules never have any. */
export interface RuleConstraints {
  minWrappingTtlSeconds?: number;
  maxWrappingTtlSeconds?: number;
  /** Parameter names are lower-cased, as Vault stores them. */
  allowedParameters?: Record<string, unknown[]>;
  deniedParameters?: Record<string, unknown[]>;
  requiredParameters?: string[];
  mfaMethods?: string[];
  controlGroup?: ControlGroup;
  subscribeEventTypes?: string[];
}

export interface ControlGroup {
  ttlSeconds?: number;
  factors: ControlGroupFactor[];
}

export interface ControlGroupFactor {
  name: string;
  groupIds: string[];
  groupNames: string[];
  approvals: number;
  controlledCapabilities: string[];
}

export interface PolicyRule {
  /** Name of the policy that contains the rule. */
  policy: string;
  /** The pattern as written, without one leading "/" (Vault strips exactly one). */
  path: string;
  /** The block label exactly as written, before the leading "/" is stripped. */
  rawPath: string;
  /**
   * Capabilities after expanding the legacy `policy` key, de-duplicated in written order.
   * A rule that lists "deny" has exactly ["deny"].
   */
  capabilities: string[];
  /** `segment` when the pattern has a "+" segment wildcard, even if it also ends in "*". */
  kind: RuleKind;
  /** Whether the pattern contains `{{...}}` identity templating. */
  templated: boolean;
  /** Location of the `path` key in HCL, or of the pattern key in JSON. */
  location: SourceLocation;
  constraints?: RuleConstraints;
}

export interface ParsedPolicy {
  name: string;
  rules: PolicyRule[];
  /** Problems that some Vault versions reject but the parser accepts. */
  warnings: PolicyWarning[];
}

export interface PolicyWarning {
  message: string;
  location: SourceLocation;
}

export const VALID_CAPABILITIES: readonly string[] = [
  'create',
  'read',
  'update',
  'patch',
  'delete',
  'list',
  'sudo',
  'deny',
  'subscribe',
  'recover',
];

const TOP_LEVEL_KEYS: readonly string[] = ['name', 'path'];

const PATH_KEYS: readonly string[] = [
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
];

// The pre-0.9 `policy = "..."` key. "deny" replaces any listed capabilities, and the others are
// appended to them.
const LEGACY_POLICIES: Readonly<Record<string, readonly string[]>> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

/**
 * Parses a Vault ACL policy written in HCL or JSON.
 *
 * @throws PolicyParseError for a policy that Vault would reject when it is written.
 */
export function parsePolicy(text: string, options: { name: string; file?: string }): ParsedPolicy {
  const document = parseHcl(text, options.file);
  const context = new ParseContext(options.file);

  for (const item of document.items) {
    const key = firstKey(item);
    if (!TOP_LEVEL_KEYS.includes(key.value)) {
      throw context.fail(`invalid key ${JSON.stringify(key.value)} at the top level, where a policy may only contain "name" and "path"${suggest(key.value, TOP_LEVEL_KEYS)}`, key.position);
    }
  }

  // Vault decodes `name` before the paths, so its type errors come first. The value itself is
  // ignored because Vault names a policy by the API path it is written to.
  const names = filterItems(document.items, 'name');
  context.rejectLabelledBlocks(names, '"name" must be a string, found a block');
  for (const item of names.elements) context.decodeString(item.value, '"name"');

  const rules: PolicyRule[] = [];
  for (const item of document.items) {
    const keyword = firstKey(item);
    if (keyword.value.toLowerCase() !== 'path') continue;
    rules.push(parsePathItem(keyword, { keys: item.keys.slice(1), value: item.value }, options.name, document.format, context));
  }

  const warnings = document.duplicateAttributes.map((duplicate) => ({
    message: `attribute ${JSON.stringify(duplicate.key)} is set again after line ${duplicate.firstPosition.line}, column ${duplicate.firstPosition.column}, which Vault 1.21 and later reject`,
    location: context.location(duplicate.position),
  }));
  return { name: options.name, rules, warnings };
}

/** Classifies a pattern with Vault's rules (leading "/" already stripped). */
export function classifyPattern(pattern: string): RuleKind {
  // Vault tests "/+" anywhere, so "kv/+x" is a segment rule even though "+x" is compared
  // literally when matching.
  if (pattern === '+' || pattern.startsWith('+/') || pattern.includes('/+')) return 'segment';
  if (pattern.endsWith('*')) return 'prefix';
  return 'exact';
}

/**
 * Returns the trimmed expressions of every `{{...}}` in a pattern, [] when there are none, or
 * undefined when the braces are unbalanced, which Vault rejects.
 */
export function templateExpressions(pattern: string): string[] | undefined {
  const pieces = pattern.split('{{');
  if ((pieces[0] ?? '').includes('}}')) return undefined;
  const expressions: string[] = [];
  for (const piece of pieces.slice(1)) {
    const parts = piece.split('}}');
    if (parts.length !== 2) return undefined;
    expressions.push((parts[0] ?? '').trim());
  }
  return expressions;
}

/**
 * Substitutes every `{{...}}` in a pattern with `resolve(expression)`. Returns undefined when an
 * expression has no value, or its value is empty or contains "*" or "+": Vault then drops the
 * whole path rule from the token's ACL.
 */
export function substituteTemplates(pattern: string, resolve: (expression: string) => string | undefined): string | undefined {
  const pieces = pattern.split('{{');
  let result = pieces[0] ?? '';
  for (const piece of pieces.slice(1)) {
    const parts = piece.split('}}');
    if (parts.length !== 2) return undefined;
    const value = resolve((parts[0] ?? '').trim());
    if (value === undefined || value === '' || /[*+]/.test(value)) return undefined;
    result += value + (parts[1] ?? '');
  }
  return result;
}

interface Filtered {
  /** Items whose only key is the filtered one, unchanged. */
  elements: HclItem[];
  /** Items with further keys, with the filtered key removed. */
  children: HclItem[];
  /** Both, in document order, with the filtered key removed. */
  all: HclItem[];
}

// HCL v1's ObjectList.Filter: the first key is compared without regard to case.
function filterItems(items: HclItem[], name: string): Filtered {
  const filtered: Filtered = { elements: [], children: [], all: [] };
  for (const item of items) {
    const key = item.keys[0];
    if (key === undefined || key.value.toLowerCase() !== name.toLowerCase()) continue;
    const stripped: HclItem = { keys: item.keys.slice(1), value: item.value };
    filtered.all.push(stripped);
    if (stripped.keys.length === 0) filtered.elements.push(item);
    else filtered.children.push(stripped);
  }
  return filtered;
}

function firstKey(item: HclItem): HclKey {
  const key = item.keys[0];
  if (key === undefined) throw new Error('an HCL item always has a key');
  return key;
}

function describeValue(value: HclValue): string {
  if (value.type === 'object') return 'a block';
  if (value.type === 'list') return 'a list';
  if (value.token === 'number' || value.token === 'float') return 'a number';
  if (value.token === 'bool') return 'a boolean';
  return 'a string';
}

interface Located<T> {
  value: T;
  position: Position;
}

class ParseContext {
  constructor(
    private readonly file: string | undefined,
    /** Prefix for messages, such as `path "kv/*": `. */
    private readonly prefix = '',
  ) {}

  /** Returns a context whose messages name the path rule. */
  forPath(path: string): ParseContext {
    return new ParseContext(this.file, `path ${JSON.stringify(path)}: `);
  }

  fail(reason: string, position: { line: number; column: number }): PolicyParseError {
    return new PolicyParseError(this.prefix + reason, position, this.file);
  }

  location(position: Position): SourceLocation {
    const location: SourceLocation = { line: position.line, column: position.column };
    if (this.file !== undefined) location.file = this.file;
    return location;
  }

  /** HCL v1's decodeString: any literal, with numbers and booleans as written. */
  decodeString(value: HclValue, field: string): string {
    if (value.type !== 'literal') throw this.fail(`${field} must be a string, found ${describeValue(value)}`, value.position);
    return value.value;
  }

  /**
   * HCL v1's decodeSlice into []string, over every item of one field. An empty block decodes to
   * no elements.
   *
   * NOTE: a repeated attribute appends to the earlier list, as HCL v1 decodes it in Vault before
   * 1.21. Vault 1.21 and later reject the policy instead, which parsePolicy reports as a warning.
   */
  decodeStringList(matches: Filtered, field: string): Located<string>[] {
    const result: Located<string>[] = [];
    this.rejectLabelledBlocks(matches, `${field} must be a list of strings, found a block`);
    for (const item of matches.elements) {
      const value = item.value;
      if (value.type === 'literal') {
        throw this.fail(`${field} must be a list of strings, found ${describeValue(value)} (wrap it in [ ])`, value.position);
      }
      if (value.type === 'object') {
        if (value.items.length > 0) throw this.fail(`${field} must be a list of strings, found a block`, value.position);
        continue;
      }
      for (const element of value.elements) {
        result.push({ value: this.decodeString(element, `every element of ${field}`), position: element.position });
      }
    }
    return result;
  }

  /** Rejects `field "label" { }` forms, which HCL v1 cannot decode into a scalar or a list. */
  rejectLabelledBlocks(matches: Filtered, reason: string): void {
    const child = matches.children[0];
    if (child !== undefined) throw this.fail(reason, firstKey(child).position);
  }

  /** HCL v1's decodeInt, which accepts Go integer syntax in numbers and strings. */
  decodeInt(value: HclValue, field: string): number {
    if (value.type === 'literal' && (value.token === 'number' || value.token === 'string' || value.token === 'null')) {
      const parsed = parseGoInteger(value.value);
      if (parsed !== undefined) return parsed;
    }
    throw this.fail(`${field} must be an integer, found ${value.type === 'literal' ? value.text : describeValue(value)}`, value.position);
  }
}

interface DecodedPathBlock {
  policy?: Located<string>;
  capabilities: Located<string>[];
  minWrappingTtl?: HclValue;
  maxWrappingTtl?: HclValue;
  allowedParameters?: Record<string, unknown[]>;
  deniedParameters?: Record<string, unknown[]>;
  requiredParameters?: string[];
  mfaMethods?: string[];
  controlGroup?: DecodedControlGroup;
  subscribeEventTypes?: string[];
}

interface DecodedControlGroup {
  ttl?: HclValue;
  factors: Map<string, DecodedFactor>;
  position: Position;
}

interface DecodedFactor {
  identity?: { groupIds: string[]; groupNames: string[]; approvals: number };
  controlledCapabilities: string[];
  position: Position;
}

/** Parses one `path` item. `item` contains the keys that follow the `path` keyword. */
function parsePathItem(keyword: HclKey, item: HclItem, policyName: string, format: 'hcl' | 'json', documentContext: ParseContext): PolicyRule {
  // A `path` item without a label is a rule for the literal pattern "path", as in Vault.
  const label = item.keys[0];
  const rawPath = label?.value ?? 'path';
  const labelPosition = label?.position ?? keyword.position;
  const context = documentContext.forPath(rawPath);

  const expressions = templateExpressions(rawPath);
  if (expressions === undefined) {
    throw context.fail('unbalanced templating characters (every "{{" needs a matching "}}")', labelPosition);
  }

  const block = item.value;
  if (block.type !== 'object') {
    throw context.fail(`expected a block such as { capabilities = ["read"] }, found ${describeValue(block)}`, block.position);
  }
  for (const member of block.items) {
    const key = firstKey(member);
    if (!PATH_KEYS.includes(key.value)) {
      throw context.fail(`invalid key ${JSON.stringify(key.value)}${suggest(key.value, PATH_KEYS)}`, key.position);
    }
  }
  const decoded = decodePathBlock(block.items, context);

  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (path.includes('+*')) {
    // Vault names the pattern without its leading "/" in this one message.
    throw documentContext.forPath(path).fail("invalid use of wildcards ('+*' is forbidden)", labelPosition);
  }
  const kind = classifyPattern(path);

  const capabilities = expandCapabilities(decoded, context);
  const rule: PolicyRule = {
    policy: policyName,
    path,
    rawPath,
    capabilities,
    kind,
    templated: expressions.length > 0,
    location: context.location(format === 'hcl' ? keyword.position : labelPosition),
  };

  // Vault skips every remaining check for a deny rule, so invalid TTLs there are accepted.
  if (capabilities[0] !== 'deny') {
    const constraints = buildConstraints(decoded, capabilities, context);
    if (Object.keys(constraints).length > 0) rule.constraints = constraints;
  }
  return rule;
}

// Decodes the fields of a path block in the order of Vault's PathRules struct, which is the
// order in which HCL v1 reports type errors.
function decodePathBlock(items: HclItem[], context: ParseContext): DecodedPathBlock {
  const decoded: DecodedPathBlock = { capabilities: [] };

  const policies = filterItems(items, 'policy');
  context.rejectLabelledBlocks(policies, '"policy" must be a string, found a block');
  for (const policyItem of policies.elements) {
    decoded.policy = { value: context.decodeString(policyItem.value, '"policy"'), position: policyItem.value.position };
  }

  decoded.capabilities = context.decodeStringList(filterItems(items, 'capabilities'), '"capabilities"');

  // HCL v1 decodes the TTLs into interface{} values, which accepts any shape, so a wrong shape
  // only fails later when the duration is parsed, and that never happens for deny rules.
  for (const field of ['min_wrapping_ttl', 'max_wrapping_ttl'] as const) {
    const matches = filterItems(items, field);
    const labelled = matches.children[0];
    const last = matches.elements[matches.elements.length - 1]?.value;
    const value = last ?? (labelled === undefined ? undefined : { type: 'object' as const, items: matches.children, position: firstKey(labelled).position });
    if (value === undefined) continue;
    if (field === 'min_wrapping_ttl') decoded.minWrappingTtl = value;
    else decoded.maxWrappingTtl = value;
  }

  const allowed = filterItems(items, 'allowed_parameters');
  if (allowed.all.length > 0) decoded.allowedParameters = decodeParameterMap(allowed, '"allowed_parameters"', context);
  const denied = filterItems(items, 'denied_parameters');
  if (denied.all.length > 0) decoded.deniedParameters = decodeParameterMap(denied, '"denied_parameters"', context);

  const required = filterItems(items, 'required_parameters');
  if (required.all.length > 0) {
    decoded.requiredParameters = context.decodeStringList(required, '"required_parameters"').map((entry) => entry.value);
  }
  const mfa = filterItems(items, 'mfa_methods');
  if (mfa.all.length > 0) decoded.mfaMethods = context.decodeStringList(mfa, '"mfa_methods"').map((entry) => entry.value);

  const controlGroup = filterItems(items, 'control_group');
  const controlGroupKey = controlGroup.elements[0]?.keys[0] ?? controlGroup.children[0]?.keys[0];
  if (controlGroupKey !== undefined) decoded.controlGroup = decodeControlGroup(controlGroup, controlGroupKey.position, context);

  const events = filterItems(items, 'subscribe_event_types');
  if (events.all.length > 0) {
    decoded.subscribeEventTypes = context.decodeStringList(events, '"subscribe_event_types"').map((entry) => entry.value);
  }
  return decoded;
}

/** HCL v1's decodeMap into map[string][]interface{}, for allowed_parameters and denied_parameters. */
function decodeParameterMap(matches: Filtered, field: string, context: ParseContext): Record<string, unknown[]> {
  const result: Record<string, unknown[]> = {};
  const decodeEntries = (entries: HclItem[]): void => {
    for (const entry of entries) {
      const key = firstKey(entry);
      if (entry.keys.length > 1) {
        throw context.fail(`${field}: parameter ${JSON.stringify(key.value)} must be a list, found a block`, key.position);
      }
      const value = entry.value;
      let values: unknown[];
      if (value.type === 'list') values = value.elements.map(toPlainValue);
      else if (value.type === 'object') values = [toPlainValue(value)];
      else throw context.fail(`${field}: parameter ${JSON.stringify(key.value)} must be a list, found ${describeValue(value)}`, value.position);
      result[key.value] = [...(result[key.value] ?? []), ...values];
    }
  };

  if (matches.children.length > 0) decodeEntries(matches.children);
  for (const item of matches.elements) {
    if (item.value.type !== 'object') {
      throw context.fail(`${field} must be a block of parameter names, found ${describeValue(item.value)}`, item.value.position);
    }
    decodeEntries(item.value.items);
  }
  return result;
}

// HCL v1's decodeInterface for values inside a list: objects become maps keyed by their first key.
function toPlainValue(value: HclValue): unknown {
  if (value.type === 'list') return value.elements.map(toPlainValue);
  if (value.type === 'object') {
    const result: Record<string, unknown> = {};
    for (const member of value.items) result[firstKey(member).value] = toPlainValue(member.value);
    return result;
  }
  return literalToPlain(value);
}

function literalToPlain(value: HclLiteral): unknown {
  switch (value.token) {
    case 'number':
      return parseGoInteger(value.text) ?? Number(value.text);
    case 'float':
      return Number(value.text);
    case 'bool':
      return value.text === 'true';
    default:
      return value.value;
  }
}

/** Decodes `control_group` like HCL v1 decodes Vault's ControlGroupHCL struct. */
function decodeControlGroup(matches: Filtered, position: Position, context: ParseContext): DecodedControlGroup {
  const group: DecodedControlGroup = { factors: new Map(), position };
  const structBodies: HclItem[][] = [];
  if (matches.children.length > 0) structBodies.push(matches.children);
  for (const item of matches.elements) {
    if (item.value.type !== 'object') {
      throw context.fail(`"control_group" must be a block, found ${describeValue(item.value)}`, item.value.position);
    }
    structBodies.push(item.value.items);
  }

  for (const body of structBodies) {
    const ttl = filterItems(body, 'ttl');
    const lastTtl = ttl.elements[ttl.elements.length - 1];
    if (lastTtl !== undefined) group.ttl = lastTtl.value;

    const factors = filterItems(body, 'factor');
    if (factors.children.length > 0) decodeFactorMap(factors.children, group, context);
    for (const item of factors.elements) {
      if (item.value.type !== 'object') {
        throw context.fail(`"factor" must be a block, found ${describeValue(item.value)}`, item.value.position);
      }
      decodeFactorMap(item.value.items, group, context);
    }
  }
  return group;
}

function decodeFactorMap(entries: HclItem[], group: DecodedControlGroup, context: ParseContext): void {
  const done = new Set<string>();
  for (const entry of entries) {
    const name = firstKey(entry).value;
    if (done.has(name)) continue;

    let body: HclItem[];
    if (entry.keys.length > 1) {
      body = filterItems(entries, name).all;
      done.add(name);
    } else if (entry.value.type === 'object') {
      body = entry.value.items;
    } else {
      throw context.fail(`control_group factor ${JSON.stringify(name)} must be a block, found ${describeValue(entry.value)}`, entry.value.position);
    }

    const factor = group.factors.get(name) ?? { controlledCapabilities: [], position: firstKey(entry).position };
    group.factors.set(name, factor);
    decodeFactor(body, factor, context);
  }
}

function decodeFactor(body: HclItem[], factor: DecodedFactor, context: ParseContext): void {
  const identities = filterItems(body, 'identity');
  const identityBodies: HclItem[][] = [];
  if (identities.children.length > 0) identityBodies.push(identities.children);
  for (const item of identities.elements) {
    if (item.value.type !== 'object') {
      throw context.fail(`"identity" must be a block, found ${describeValue(item.value)}`, item.value.position);
    }
    identityBodies.push(item.value.items);
  }
  for (const identityBody of identityBodies) {
    factor.identity ??= { groupIds: [], groupNames: [], approvals: 0 };
    const identity = factor.identity;
    identity.groupIds.push(...context.decodeStringList(filterItems(identityBody, 'group_ids'), '"group_ids"').map((entry) => entry.value));
    identity.groupNames.push(...context.decodeStringList(filterItems(identityBody, 'group_names'), '"group_names"').map((entry) => entry.value));
    for (const approvals of filterItems(identityBody, 'approvals').elements) {
      identity.approvals = context.decodeInt(approvals.value, '"approvals"');
    }
  }
  factor.controlledCapabilities.push(
    ...context.decodeStringList(filterItems(body, 'controlled_capabilities'), '"controlled_capabilities"').map((entry) => entry.value),
  );
}

/**
 * Applies the legacy `policy` key and validates capabilities in written order. Vault stops at
 * the first "deny", so names listed after it are never checked.
 */
function expandCapabilities(decoded: DecodedPathBlock, context: ParseContext): string[] {
  let requested = decoded.capabilities;
  const legacy = decoded.policy;
  if (legacy !== undefined && legacy.value.length > 0) {
    const expansion = LEGACY_POLICIES[legacy.value];
    if (expansion === undefined) {
      throw context.fail(`invalid policy ${JSON.stringify(legacy.value)} (the legacy "policy" key accepts "deny", "read", "write" or "sudo")`, legacy.position);
    }
    const expanded = expansion.map((value) => ({ value, position: legacy.position }));
    requested = legacy.value === 'deny' ? expanded : [...requested, ...expanded];
  }

  const capabilities: string[] = [];
  for (const capability of requested) {
    if (capability.value === 'deny') return ['deny'];
    if (!VALID_CAPABILITIES.includes(capability.value)) {
      throw context.fail(`invalid capability ${JSON.stringify(capability.value)}${suggest(capability.value, VALID_CAPABILITIES)}`, capability.position);
    }
    if (!capabilities.includes(capability.value)) capabilities.push(capability.value);
  }
  return capabilities;
}

function buildConstraints(decoded: DecodedPathBlock, capabilities: string[], context: ParseContext): RuleConstraints {
  const constraints: RuleConstraints = {};
  if (decoded.allowedParameters !== undefined) constraints.allowedParameters = lowerCaseKeys(decoded.allowedParameters);
  if (decoded.deniedParameters !== undefined) constraints.deniedParameters = lowerCaseKeys(decoded.deniedParameters);

  if (decoded.minWrappingTtl !== undefined) {
    constraints.minWrappingTtlSeconds = durationField(decoded.minWrappingTtl, '"min_wrapping_ttl"', context);
  }
  if (decoded.maxWrappingTtl !== undefined) {
    constraints.maxWrappingTtlSeconds = durationField(decoded.maxWrappingTtl, '"max_wrapping_ttl"', context);
  }
  if (decoded.mfaMethods !== undefined) constraints.mfaMethods = decoded.mfaMethods;
  if (decoded.controlGroup !== undefined) constraints.controlGroup = validateControlGroup(decoded.controlGroup, capabilities, context);

  const min = constraints.minWrappingTtlSeconds ?? 0;
  const max = constraints.maxWrappingTtlSeconds ?? 0;
  if (min !== 0 && max !== 0 && max < min) {
    throw context.fail('"max_wrapping_ttl" cannot be less than "min_wrapping_ttl"', decoded.maxWrappingTtl?.position ?? { line: 1, column: 1 });
  }
  if (decoded.requiredParameters !== undefined && decoded.requiredParameters.length > 0) {
    constraints.requiredParameters = decoded.requiredParameters;
  }
  if (decoded.subscribeEventTypes !== undefined) constraints.subscribeEventTypes = decoded.subscribeEventTypes;
  return constraints;
}

function lowerCaseKeys(parameters: Record<string, unknown[]>): Record<string, unknown[]> {
  const result: Record<string, unknown[]> = {};
  for (const [key, values] of Object.entries(parameters)) result[key.toLowerCase()] = values;
  return result;
}

function validateControlGroup(group: DecodedControlGroup, capabilities: string[], context: ParseContext): ControlGroup {
  const result: ControlGroup = { factors: [] };
  if (group.ttl !== undefined) result.ttlSeconds = durationField(group.ttl, '"control_group" "ttl"', context);

  for (const [name, factor] of group.factors) {
    const identity = factor.identity;
    if (identity === undefined) {
      throw context.fail(`control_group factor ${JSON.stringify(name)} has no "identity" block`, factor.position);
    }
    if (identity.approvals <= 0 || (identity.groupIds.length === 0 && identity.groupNames.length === 0)) {
      throw context.fail(`control_group factor ${JSON.stringify(name)} needs "approvals" above 0 and at least one group in "group_ids" or "group_names"`, factor.position);
    }
    for (const controlled of factor.controlledCapabilities) {
      if (!capabilities.includes(controlled)) {
        throw context.fail(`control_group factor ${JSON.stringify(name)} controls capability ${JSON.stringify(controlled)}, which the path does not grant`, factor.position);
      }
    }
    result.factors.push({ name, groupIds: identity.groupIds, groupNames: identity.groupNames, approvals: identity.approvals, controlledCapabilities: factor.controlledCapabilities });
  }
  if (result.factors.length === 0) throw context.fail('"control_group" has no "factor" block', group.position);
  return result;
}

function durationField(value: HclValue, field: string, context: ParseContext): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) {
    const found = value.type === 'literal' ? value.text : describeValue(value);
    throw context.fail(`${field} must be a duration such as "30m" or a number of seconds, found ${found}`, value.position);
  }
  return seconds;
}

/**
 * Parses a duration like go-secure-stdlib's parseutil.ParseDurationSecond, which Vault uses for
 * wrapping TTLs: integers are seconds, "<n>d" is days, and other strings use Go duration syntax.
 */
export function parseDurationSeconds(value: HclValue): number | undefined {
  if (value.type !== 'literal') return undefined;
  switch (value.token) {
    case 'number':
      return parseGoInteger(value.text);
    case 'float':
      // Go converts the float to an integer Duration before scaling it to seconds.
      return Math.trunc(Number(value.text));
    case 'bool':
      return undefined;
    default:
      break;
  }

  const text = value.value;
  if (text === '') return 0;
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  if (text.endsWith('d')) {
    const days = text.slice(0, -1);
    return /^[+-]?\d+$/.test(days) ? Number(days) * 86400 : undefined;
  }
  return parseGoDuration(text);
}

const GO_DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6,
  'μs': 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Parses Go's time.ParseDuration syntax, such as "1h30m" or "-1.5s", into seconds. */
function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;

  let total = 0;
  while (rest !== '') {
    const match = /^(\d*)(?:\.(\d*))?([^\d.]+)/.exec(rest);
    if (match === null) return undefined;
    const [whole, integer = '', fraction, unit = ''] = match;
    if (integer === '' && (fraction === undefined || fraction === '')) return undefined;
    const scale = GO_DURATION_UNITS[unit];
    if (scale === undefined) return undefined;
    total += Number(`${integer || '0'}.${fraction ?? '0'}`) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

/** Parses an integer with Go's strconv.ParseInt base 0 rules (0x, 0o, 0b and leading-0 octal). */
function parseGoInteger(text: string): number | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (match === null) return undefined;
  const sign = match[1] === '-' ? -1 : 1;
  const body = (match[2] ?? '').replace(/_/g, '');
  let magnitude: number;
  if (/^0[xX]/.test(body)) magnitude = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) magnitude = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) magnitude = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body.startsWith('0')) magnitude = parseInt(body.slice(1), 8);
  else magnitude = parseInt(body, 10);
  return Number.isNaN(magnitude) ? undefined : sign * magnitude;
}

/** Returns ` (did you mean "x"?)` for a close match among `choices`, or "". */
function suggest(value: string, choices: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const choice of choices) {
    const distance = editDistance(value.toLowerCase(), choice);
    if (distance < bestDistance) {
      best = choice;
      bestDistance = distance;
    }
  }
  if (best === undefined || bestDistance > Math.max(1, Math.floor(best.length / 4))) return '';
  return ` (did you mean ${JSON.stringify(best)}?)`;
}

function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (left[i - 1] === right[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}
