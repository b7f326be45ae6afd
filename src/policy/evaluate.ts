// Vault's ACL rule selection, after vault/acl.go (NewACL, AllowOperation and
// CheckAllowedFromNonExactPaths). Only capabilities are modelled. Parameter constraints, wrapping
// TTLs, MFA and control groups are left to the caller through PolicyRule.constraints. Namespaces
// are not modelled either, so every path is treated as a path in the root namespace.

import { Buffer } from 'node:buffer';

import { classifyPattern, substituteTemplates, type ParsedPolicy, type PolicyRule, type RuleKind } from './parse.js';

export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch' | 'sudo';

/** A rule of the token's ACL: every source rule with the same pattern, merged. */
export interface MatchedRule {
  pattern: string;
  kind: RuleKind;
  /** Merged capabilities, sorted. ["deny"] when any source rule denies, [] when none grants any. */
  capabilities: string[];
  rules: PolicyRule[];
}

export interface Decision {
  /** The path that was matched: the requested path without its leading slashes. */
  path: string;
  /** The operation whose lookup chose `rule`. */
  operation: 'read' | 'list';
  /**
   * Capabilities of the deciding rule, sorted. ["deny"] when it denies, when it grants nothing,
   * or when no rule matches. ["root"] for the root policy. With the default `list` operation this
   * is what Vault's sys/capabilities returns.
   */
  capabilities: string[];
  /**
   * Returns whether the ACL grants the capability that `op` needs. A `list` is looked up as a list
   * and every other operation as a read, and the two differ only for paths ending in "/". Request
   * constraints such as required parameters or wrapping TTLs are not applied.
   */
  allowed(op: Operation): boolean;
  rule?: MatchedRule;
  /** Every rule that matches the path, the deciding one first, then in Vault's priority order. */
  matching: MatchedRule[];
  /** One sentence that explains why `rule` decided. */
  reason: string;
  /** Templated rules left out because a `{{...}}` expression had no usable value. */
  unresolvedTemplates: PolicyRule[];
}

export interface EvaluateOptions {
  /**
   * The lookup to model. It defaults to `list`, the lookup that sys/capabilities performs, which
   * differs from `read` only for paths ending in "/".
   */
  operation?: 'read' | 'list';
  /**
   * Returns the value of an identity template expression such as
   * `identity.entity.aliases.auth_kubernetes_1234.metadata.service_account_namespace`, or
   * undefined when the token's entity has none. Without it, templated rules are left out, which
   * is what Vault does for a token whose entity lacks the value.
   */
  resolveTemplate?: (expression: string) => string | undefined;
  /**
   * Version of the Vault server, such as "1.14.2" or "1.15.6+ent". Without it, or when it cannot
   * be parsed, the behaviour of current releases is modelled.
   *
   * Before 1.13.10, 1.14.6 and 1.15.2, a list on a path ending in "/" tried the path without the
   * "/" for exact rules only, and matched glob rules against the path as requested.
   */
  vaultVersion?: string;
}

/** The parts of a ParsedPolicy that evaluation reads, so hand-built policies need no warnings. */
export type PolicyInput = Pick<ParsedPolicy, 'name' | 'rules'>;

interface AclRule {
  pattern: string;
  kind: RuleKind;
  deny: boolean;
  capabilities: Set<string>;
  rules: PolicyRule[];
}

/** A non-exact rule with the keys that Vault ranks it by. */
interface Candidate {
  rule: AclRule;
  /** UTF-8 byte index of the first "+" for segment rules, or the prefix length for prefix rules. */
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  /** The pattern without its trailing "*". */
  wildcardPath: string;
  wildcardPathBytes: Buffer;
  /** `wildcardPath` split at "/" for segment rules, and empty for prefix rules. */
  segments: string[];
}

interface Acl {
  root: boolean;
  exact: Map<string, AclRule>;
  /** Prefix rules by their pattern without the trailing "*". */
  prefix: Map<string, Candidate>;
  segment: Candidate[];
  unresolvedTemplates: PolicyRule[];
}

interface Selection {
  rule?: AclRule;
  reason: string;
}

type Criterion = 'first-wildcard' | 'glob' | 'wildcards' | 'length' | 'lexical' | 'equal';

/**
 * Computes the capabilities that a token holding `policies` has on `path`, and which rule of
 * Vault's ACL decides them.
 */
export function evaluate(policies: readonly PolicyInput[], path: string, options: EvaluateOptions = {}): Decision {
  const acl = options.resolveTemplate ? buildAcl(policies, options.resolveTemplate) : cachedAcl(policies);
  const operation = options.operation ?? 'list';
  const trimmedGlobs = listTriesGlobsWithoutSlash(options.vaultVersion);
  // Vault strips every leading "/" of a request path before matching.
  const normalized = path.replace(/^\/+/, '');

  if (acl.root) {
    return {
      path: normalized,
      operation,
      capabilities: ['root'],
      allowed: () => true,
      matching: [],
      reason: 'the "root" policy grants every capability on every path',
      unresolvedTemplates: [...acl.unresolvedTemplates],
    };
  }

  const selection = select(acl, normalized, operation, trimmedGlobs);
  const otherOperation = operation === 'list' ? 'read' : 'list';
  let otherSelection: Selection | undefined;
  const selectionFor = (requested: Operation): Selection => {
    if ((requested === 'list') === (operation === 'list')) return selection;
    otherSelection ??= select(acl, normalized, otherOperation, trimmedGlobs);
    return otherSelection;
  };

  const matching = collectMatches(acl, normalized, operation, trimmedGlobs, selection.rule).map(toMatchedRule);
  const decision: Decision = {
    path: normalized,
    operation,
    capabilities: decisionCapabilities(selection.rule),
    allowed: (requested) => {
      const rule = selectionFor(requested).rule;
      return rule !== undefined && !rule.deny && rule.capabilities.has(requested);
    },
    matching,
    reason: selection.reason,
    unresolvedTemplates: [...acl.unresolvedTemplates],
  };
  if (selection.rule !== undefined) decision.rule = toMatchedRule(selection.rule);
  return decision;
}

/**
 * ACLs by policy list, so that a large cluster's thousands of paths, evaluated against the same
 * few policies, build the ACL once. An entry is used only while the list still contains the same
 * policy objects with the same rule arrays of the same lengths. A caller that changes its list or
 * adds a rule therefore gets a new ACL.
 */
const aclCache = new WeakMap<readonly PolicyInput[], { members: unknown[]; acl: Acl }>();

/** Return the ACL of a policy list without templates, built on the first call for that list. */
function cachedAcl(policies: readonly PolicyInput[]): Acl {
  const members = policies.flatMap((policy) => [policy, policy.rules, policy.rules.length]);
  const entry = aclCache.get(policies);
  if (entry && entry.members.length === members.length && entry.members.every((member, i) => member === members[i])) return entry.acl;
  const acl = buildAcl(policies, undefined);
  aclCache.set(policies, { members, acl });
  return acl;
}

/**
 * Merges the rules of all policies by pattern, as NewACL does: a deny on either side makes the
 * merged rule deny-only, and otherwise the capabilities are combined.
 */
function buildAcl(policies: readonly PolicyInput[], resolveTemplate: EvaluateOptions['resolveTemplate']): Acl {
  const byPattern = new Map<string, AclRule>();
  const unresolvedTemplates: PolicyRule[] = [];
  let root = false;

  for (const policy of policies) {
    if (policy.name === 'root') root = true;
    for (const rule of policy.rules) {
      let pattern = rule.path;
      let kind = rule.kind;
      if (rule.templated) {
        const substituted = resolveTemplate === undefined ? undefined : substituteTemplates(rule.rawPath, resolveTemplate);
        if (substituted === undefined) {
          unresolvedTemplates.push(rule);
          continue;
        }
        pattern = substituted.startsWith('/') ? substituted.slice(1) : substituted;
        kind = classifyPattern(pattern);
      }

      const denies = rule.capabilities.includes('deny');
      const existing = byPattern.get(pattern);
      if (existing === undefined) {
        byPattern.set(pattern, {
          pattern,
          kind,
          deny: denies,
          capabilities: new Set(denies ? [] : rule.capabilities),
          rules: [rule],
        });
        continue;
      }
      existing.rules.push(rule);
      if (existing.deny) continue;
      if (denies) {
        existing.deny = true;
        existing.capabilities.clear();
      } else {
        for (const capability of rule.capabilities) existing.capabilities.add(capability);
      }
    }
  }

  const acl: Acl = { root, exact: new Map(), prefix: new Map(), segment: [], unresolvedTemplates };
  for (const rule of byPattern.values()) {
    if (rule.kind === 'exact') acl.exact.set(rule.pattern, rule);
    else if (rule.kind === 'prefix') acl.prefix.set(rule.pattern.slice(0, -1), prefixCandidate(rule));
    else acl.segment.push(segmentCandidate(rule));
  }
  return acl;
}

function prefixCandidate(rule: AclRule): Candidate {
  const key = rule.pattern.slice(0, -1);
  return {
    rule,
    firstWildcard: Buffer.byteLength(key),
    isPrefix: true,
    wildcards: 0,
    wildcardPath: key,
    wildcardPathBytes: Buffer.from(key),
    segments: [],
  };
}

function segmentCandidate(rule: AclRule): Candidate {
  const isPrefix = rule.pattern.endsWith('*');
  const wildcardPath = isPrefix ? rule.pattern.slice(0, -1) : rule.pattern;
  const segments = wildcardPath.split('/');
  return {
    rule,
    // Vault takes the first "+" anywhere in the pattern, even one that is not a whole segment.
    firstWildcard: Buffer.byteLength(rule.pattern.slice(0, rule.pattern.indexOf('+'))),
    isPrefix,
    wildcards: segments.filter((segment) => segment === '+').length,
    wildcardPath,
    wildcardPathBytes: Buffer.from(wildcardPath),
    segments,
  };
}

/** Returns whether a segment rule matches `path`. Only whole "+" segments are wildcards. */
function segmentMatches(candidate: Candidate, path: string): boolean {
  const pathSegments = path.split('/');
  const patternSegments = candidate.segments;
  if (pathSegments.length < patternSegments.length) return false;
  if (!candidate.isPrefix && pathSegments.length !== patternSegments.length) return false;

  const last = patternSegments.length - 1;
  return patternSegments.every((segment, index) => {
    const pathSegment = pathSegments[index] ?? '';
    if (segment === '+' || segment === pathSegment) return true;
    return candidate.isPrefix && index === last && pathSegment.startsWith(segment);
  });
}

/**
 * Compares two non-exact rules, and returns a negative order when `a` has the lower priority.
 * The criteria apply in this order. An earlier first wildcard loses, ending in "*" loses, more
 * "+" segments lose, a shorter pattern loses, and a pattern that sorts lower byte by byte loses.
 */
function compareCandidates(a: Candidate, b: Candidate): { order: number; criterion: Criterion } {
  if (a.firstWildcard !== b.firstWildcard) return { order: a.firstWildcard - b.firstWildcard, criterion: 'first-wildcard' };
  if (a.isPrefix !== b.isPrefix) return { order: a.isPrefix ? -1 : 1, criterion: 'glob' };
  if (a.wildcards !== b.wildcards) return { order: b.wildcards - a.wildcards, criterion: 'wildcards' };
  if (a.wildcardPathBytes.length !== b.wildcardPathBytes.length) {
    return { order: a.wildcardPathBytes.length - b.wildcardPathBytes.length, criterion: 'length' };
  }
  const order = Buffer.compare(a.wildcardPathBytes, b.wildcardPathBytes);
  return { order, criterion: order === 0 ? 'equal' : 'lexical' };
}

function byPriorityDescending(a: Candidate, b: Candidate): number {
  return compareCandidates(b, a).order;
}

function longestPrefix(acl: Acl, path: string): Candidate | undefined {
  let best: Candidate | undefined;
  for (const [key, candidate] of acl.prefix) {
    if (path.startsWith(key) && (best === undefined || key.length > best.wildcardPath.length)) best = candidate;
  }
  return best;
}

/**
 * Ranks the non-exact rules that match `path`, best first, as CheckAllowedFromNonExactPaths does.
 * Only the longest matching prefix rule competes with the matching segment rules.
 */
function rankNonExact(acl: Acl, path: string): Candidate[] {
  const prefix = longestPrefix(acl, path);
  const candidates = prefix === undefined ? [] : [prefix];
  for (const candidate of acl.segment) {
    if (segmentMatches(candidate, path)) candidates.push(candidate);
  }
  return candidates.sort(byPriorityDescending);
}

/**
 * Returns whether a list on a path ending in "/" matches glob rules against the path without the
 * "/" before the path itself. Vault added that lookup in 1.13.10, 1.14.6 and 1.15.2.
 */
function listTriesGlobsWithoutSlash(version: string | undefined): boolean {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version?.trim() ?? '');
  if (match === null) return true;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  if (major !== 1) return major > 1;
  if (minor >= 16) return true;
  const firstFixed: Readonly<Record<number, number>> = { 13: 10, 14: 6, 15: 2 };
  const fixed = firstFixed[minor];
  return fixed !== undefined && patch >= fixed;
}

/** Selects the deciding rule in AllowOperation's lookup order. */
function select(acl: Acl, path: string, operation: 'read' | 'list', trimmedGlobs: boolean): Selection {
  const exact = acl.exact.get(path);
  if (exact !== undefined) return { rule: exact, reason: `exact rule ${quote(exact.pattern)} wins over every glob` };

  // A list request path ends in "/", so a list also tries the path without it, first for an
  // exact rule and then, in current versions, for the non-exact rules.
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (operation === 'list' && trimmed !== path) {
    const trimmedExact = acl.exact.get(trimmed);
    if (trimmedExact !== undefined) {
      return {
        rule: trimmedExact,
        reason: `exact rule ${quote(trimmedExact.pattern)} wins over every glob, because a list also checks the path without its trailing "/"`,
      };
    }
  }
  if (operation === 'list' && trimmed !== path && trimmedGlobs) {
    const ranked = rankNonExact(acl, trimmed);
    const winner = ranked[0];
    if (winner !== undefined) {
      return { rule: winner.rule, reason: explainRanking(ranked, trimmed, ' (a list checks the path without its trailing "/" first)') };
    }
  }

  const ranked = rankNonExact(acl, path);
  const winner = ranked[0];
  if (winner !== undefined) return { rule: winner.rule, reason: explainRanking(ranked, path, '') };
  return { reason: `no rule matches ${quote(path)}` };
}

function explainRanking(ranked: Candidate[], path: string, suffix: string): string {
  const [winner, runnerUp] = ranked;
  if (winner === undefined) return `no rule matches ${quote(path)}${suffix}`;
  if (runnerUp === undefined) {
    if (winner.rule.kind === 'prefix') {
      return `longest prefix ${quote(winner.wildcardPath)} (rule ${quote(winner.rule.pattern)}) matches ${quote(path)}${suffix}`;
    }
    return `segment rule ${quote(winner.rule.pattern)} is the only non-exact rule that matches ${quote(path)}${suffix}`;
  }

  const because: Record<Criterion, string> = {
    'first-wildcard': 'its first wildcard comes later',
    glob: 'it does not end in "*"',
    wildcards: 'it has fewer "+" segments',
    length: 'it is longer',
    lexical: 'it sorts later byte by byte',
    equal: 'the two are equal',
  };
  const criterion = compareCandidates(winner, runnerUp).criterion;
  return `${quote(winner.rule.pattern)} outranks ${quote(runnerUp.rule.pattern)} because ${because[criterion]}${suffix}`;
}

/** Collects every rule that matches `path`: the deciding rule, the exact rules, and then the rest by priority. */
function collectMatches(acl: Acl, path: string, operation: 'read' | 'list', trimmedGlobs: boolean, decider: AclRule | undefined): AclRule[] {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const exactPaths = operation === 'list' ? [path, trimmed] : [path];
  const exact = exactPaths.map((candidate) => acl.exact.get(candidate)).filter((rule): rule is AclRule => rule !== undefined);

  // Any prefix of the trimmed path is also a prefix of the path, so one test covers both.
  const nonExact: Candidate[] = [...acl.prefix].filter(([key]) => path.startsWith(key)).map(([, candidate]) => candidate);
  const segmentPaths = operation === 'list' && trimmed !== path && trimmedGlobs ? [trimmed, path] : [path];
  for (const candidate of acl.segment) {
    if (segmentPaths.some((segmentPath) => segmentMatches(candidate, segmentPath))) nonExact.push(candidate);
  }
  nonExact.sort(byPriorityDescending);

  const ordered = [...(decider === undefined ? [] : [decider]), ...exact, ...nonExact.map((candidate) => candidate.rule)];
  return [...new Set(ordered)];
}

function decisionCapabilities(rule: AclRule | undefined): string[] {
  if (rule === undefined || rule.deny || rule.capabilities.size === 0) return ['deny'];
  return [...rule.capabilities].sort();
}

function toMatchedRule(rule: AclRule): MatchedRule {
  return {
    pattern: rule.pattern,
    kind: rule.kind,
    capabilities: rule.deny ? ['deny'] : [...rule.capabilities].sort(),
    rules: [...rule.rules],
  };
}

function quote(text: string): string {
  return JSON.stringify(text);
}
