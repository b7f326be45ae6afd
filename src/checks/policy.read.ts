import type { CheckContext } from '../context/context.js';
import { loadPolicies, rolePolicyNames } from '../context/policies.js';
import { planRequests, type PlannedRequest } from '../context/requests.js';
import type { LoginIdentity } from '../eso/identity.js';
import type { VaultStore } from '../eso/model.js';
import { evaluate, type Decision, type ParsedPolicy, type PolicyRule } from '../policy/index.js';
import type { Fix, Result } from '../report/types.js';
import { entryTarget, quoteList, ResultBuilder, resultsInOrder, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'policy.read',
  title: 'The login token may read every path ESO requests',
  description: 'For every remoteRef, read (list for dataFrom.find) is granted on the exact path ESO requests; when denied, names the rule and gives the corrected HCL',
  group: 'policy',
  needs: ['login', 'operator-token'],
  modes: ['live', 'lint'],
  messages: {
    allowed: '{capability} is granted on {path}.',
    denied: '{capability} is not granted on {path}.',
    'denied-kv2-data': '{capability} is not granted on {path}: rule "{pattern}" is written for the KV v1 form of the path.',
    'store-path-invalid': 'Not checked at {path}, the path ESO builds now: the store path is not exactly the KV mount.',
    'build-error': 'ESO cannot build a path for this reference: {error}.',
    'policy-missing': 'Policy "{policy}" named by role "{role}" does not exist.',
    'policy-parse-error': 'Policy "{policy}" could not be parsed: {error}.',
    'no-token': 'Not checked: {reason}.',
  },
};

interface Evaluation {
  /** The reason the policy texts are missing although an operator token was given. */
  policyReadError?: string;
  /** Version from sys/health; the evaluator follows that version's rule lookup. */
  vaultVersion?: string;
  /** Capabilities per path, from Vault or from the evaluator. */
  capabilities: Record<string, string[]>;
  source: 'vault' | 'evaluator';
  policies?: ParsedPolicy[];
  policyNames: string[];
  note?: string;
}

/** Load a store's policies, reporting missing and unparsable ones; `readError` explains a failed read. */
async function storePolicies(context: CheckContext, store: VaultStore, names: string[], out: ResultBuilder): Promise<{ policies?: ParsedPolicy[]; readError?: string }> {
  if (!context.hasOperatorToken) return {};
  const k8s = store.kubernetes!;
  const loaded = await loadPolicies(context, store, names);
  for (const name of loaded.missing) {
    out.add('warn', 'policy-missing', { ...storeTarget(store), kind: 'VaultPolicy', name }, `Policy "${name}" named by role "${k8s.role}" does not exist; Vault ignores missing policy names at login, so it grants nothing.`, {
      fix: { summary: `Create policy ${name}, or remove it from the role's token_policies.`, commands: [`vault policy write ${name} ${name}.hcl`] },
    });
  }
  const failure = loaded.failure;
  if (failure?.kind === 'parse') {
    out.add('error', 'policy-parse-error', { ...storeTarget(store), kind: 'VaultPolicy', name: failure.name }, `Policy "${failure.name}" could not be parsed by this tool: ${failure.message}.`);
    return {};
  }
  if (failure?.kind === 'read') return { readError: `the operator token could not read sys/policies/acl/${failure.name}: ${failure.message}` };
  return { policies: loaded.policies };
}

async function evaluateIdentity(context: CheckContext, store: VaultStore, identity: LoginIdentity, paths: string[], out: ResultBuilder): Promise<Evaluation | string> {
  const login = await context.login(store, identity);
  if (login.ok) {
    const caps = await context.capabilities(store, identity, paths);
    if (!caps.ok) return `sys/capabilities-self failed: ${caps.error.message}`;
    const names = login.value.policies;
    const { policies, readError } = await storePolicies(context, store, names, out);
    return { capabilities: caps.value, source: 'vault', policies, policyNames: names, vaultVersion: await versionOf(context, store), policyReadError: readError };
  }
  const who = `${identity.namespace}/${identity.serviceAccount}`;
  if (!context.hasOperatorToken) return context.mode === 'lint' ? context.operatorMissing : `the login as ${who} could not be made (see auth.login) and ${context.operatorMissing}`;
  const k8s = store.kubernetes!;
  const role = await context.role(store);
  let names: string[];
  let note: string;
  if (role.ok && role.value) {
    names = rolePolicyNames(role.value);
    note = context.mode === 'lint'
      ? `Evaluated by this tool from role "${k8s.role}"'s policies ${quoteList(names)}; identity (entity and group) policies are not included.`
      : `Evaluated by this tool from role "${k8s.role}"'s policies ${quoteList(names)} because the login could not be made (see auth.login); identity (entity and group) policies are not included.`;
  } else if (context.offline && context.offline.policies.size > 0) {
    names = [...context.offline.policies.keys()];
    note = `Evaluated against every policy file given (${quoteList(names)}), because no role definition for role "${k8s.role}" on auth mount "${k8s.mountPath}" was given.`;
  } else {
    return context.mode === 'lint'
      ? `role "${k8s.role}" on auth mount "${k8s.mountPath}" is not among the role definitions given, and no policy files were given`
      : `the login as ${who} could not be made and role "${k8s.role}" could not be read`;
  }
  const { policies } = await storePolicies(context, store, names, out);
  if (!policies) return `the policies ${quoteList(names)} could not be read`;
  const capabilities: Record<string, string[]> = {};
  const vaultVersion = await versionOf(context, store);
  for (const path of paths) capabilities[path] = evaluate(policies, path, { vaultVersion }).capabilities;
  return { capabilities, source: 'evaluator', policies, policyNames: names, note, vaultVersion };
}

/** The Vault version from sys/health, in live runs; offline runs evaluate as current Vault does. */
async function versionOf(context: CheckContext, store: VaultStore): Promise<string | undefined> {
  if (context.mode !== 'live') return undefined;
  const health = await context.health(store);
  return health.ok ? health.value.version : undefined;
}

function granted(capabilities: string[], needed: string): boolean {
  return capabilities.includes('root') || (capabilities.includes(needed) && !capabilities.includes('deny'));
}

/** Find a rule written for the KV v1 form of a KV v2 path (mount/x instead of mount/data/x). */
function kvV1StyleRule(policies: ParsedPolicy[], path: string, mount: string | undefined, capability: string, vaultVersion?: string): PolicyRule | undefined {
  if (!mount) return undefined;
  const prefix = `${mount}/data/`;
  const meta = `${mount}/metadata/`;
  let v1Path: string | undefined;
  if (path.startsWith(prefix)) v1Path = `${mount}/${path.slice(prefix.length)}`;
  else if (path.startsWith(meta)) v1Path = `${mount}/${path.slice(meta.length)}`;
  if (!v1Path) return undefined;
  const decision = evaluate(policies, v1Path, { operation: capability === 'list' ? 'list' : 'read', vaultVersion });
  if (!decision.allowed(capability as 'read')) return undefined;
  return decision.rule?.rules[0];
}

function correctedPattern(rule: PolicyRule, mount: string, segment: 'data' | 'metadata'): string {
  return rule.path.startsWith(`${mount}/`) ? `${mount}/${segment}/${rule.path.slice(mount.length + 1)}` : rule.path;
}

function hclStanza(pattern: string, capabilities: string[]): string {
  return `path "${pattern}" {\n  capabilities = [${capabilities.map((capability) => `"${capability}"`).join(', ')}]\n}\n`;
}

function policyCommands(policy: string): string[] {
  return [`vault policy read ${policy} > ${policy}.hcl`, `# edit ${policy}.hcl as shown, then:`, `vault policy write ${policy} ${policy}.hcl`];
}

function explainDenial(request: PlannedRequest, path: string, evaluation: Evaluation): { messageId: string; message: string; fix: Fix; details: Record<string, unknown> } {
  const capability = request.capability;
  const policies = evaluation.policies;
  const base = `${capability} is not granted on ${path}, the path ESO requests for key "${request.entry.key || request.entry.findPath || ''}"`;
  if (!policies) {
    return {
      messageId: 'denied',
      message: `${base} (policies ${quoteList(evaluation.policyNames)}; ${evaluation.policyReadError ?? 'run with an operator token to see which rule decides'}).`,
      details: { policies: evaluation.policyNames },
      fix: { summary: `Grant ${capability} on ${path} in one of the role's policies.`, commands: policyCommands(evaluation.policyNames.find((name) => name !== 'default' && name !== 'root') ?? '<policy>'), hcl: hclStanza(path, [capability]) },
    };
  }
  const decision: Decision = evaluate(policies, path, { operation: capability === 'list' ? 'list' : 'read', vaultVersion: evaluation.vaultVersion });
  const v1Rule = kvV1StyleRule(policies, path, request.mount, capability, evaluation.vaultVersion);
  if (v1Rule && request.mount) {
    const segment = path.startsWith(`${request.mount}/metadata/`) ? 'metadata' : 'data';
    const pattern = correctedPattern(v1Rule, request.mount, segment);
    const caps = v1Rule.capabilities.includes(capability) ? v1Rule.capabilities : [...v1Rule.capabilities, capability];
    return {
      messageId: 'denied-kv2-data',
      message: `${base}: rule path "${v1Rule.path}" in policy "${v1Rule.policy}" is written for the KV v1 form of the path, but "${request.mount}" is a KV v2 mount and Vault matches rules against the API path ${path}.`,
      details: { policies: evaluation.policyNames, rule: v1Rule.path, policy: v1Rule.policy, location: v1Rule.location, decidingRule: decision.rule?.pattern, reason: decision.reason },
      fix: { summary: `In policy "${v1Rule.policy}", replace path "${v1Rule.path}" with path "${pattern}".`, commands: policyCommands(v1Rule.policy), hcl: hclStanza(pattern, caps) },
    };
  }
  const target = policies.map((policy) => policy.name).find((name) => name !== 'default' && name !== 'root') ?? '<policy>';
  const deciding = decision.rule ? `rule "${decision.rule.pattern}" in ${quoteList([...new Set(decision.rule.rules.map((rule) => rule.policy))])} decides (${decision.reason}) and grants ${quoteList(decision.capabilities)}` : `no rule in ${quoteList(evaluation.policyNames)} matches it`;
  return {
    messageId: 'denied',
    message: `${base}: ${deciding}.`,
    details: { policies: evaluation.policyNames, decidingRule: decision.rule?.pattern, reason: decision.reason },
    fix: { summary: `Grant ${capability} on ${path} in policy "${target}".`, commands: policyCommands(target), hcl: hclStanza(path, [capability]) },
  };
}

function allowedMessage(request: PlannedRequest, path: string, evaluation: Evaluation): { message: string; details: Record<string, unknown> } {
  const details: Record<string, unknown> = { policies: evaluation.policyNames, source: evaluation.source };
  let why = '';
  if (evaluation.policies) {
    const decision = evaluate(evaluation.policies, path, { operation: request.capability === 'list' ? 'list' : 'read', vaultVersion: evaluation.vaultVersion });
    if (decision.rule) {
      why = ` by rule "${decision.rule.pattern}" in ${quoteList([...new Set(decision.rule.rules.map((rule) => rule.policy))])}`;
      details.rule = decision.rule.pattern;
      details.reason = decision.reason;
    }
  }
  return { message: `${request.capability} is granted on ${path}${why}${evaluation.source === 'vault' ? ' (sys/capabilities-self of the login token)' : ''}.`, details };
}

function requestPaths(request: PlannedRequest): string[] {
  return request.path ? [request.path, ...(request.correctedPath ? [request.correctedPath] : [])] : [];
}

/** Collect every path per token group across stores, so each login token is asked once. */
async function pathsByTokenGroup(context: CheckContext, plans: Map<VaultStore, PlannedRequest[]>): Promise<Map<string, Set<string>>> {
  const groups = new Map<string, Set<string>>();
  if (context.mode !== 'live') return groups;
  for (const [store, requests] of plans) {
    for (const request of requests) {
      if (!request.identity || request.buildError) continue;
      const key = await context.tokenGroup(store, request.identity);
      const paths = groups.get(key) ?? new Set<string>();
      for (const path of requestPaths(request)) paths.add(path);
      groups.set(key, paths);
    }
  }
  return groups;
}

async function checkStore(context: CheckContext, store: VaultStore, requests: PlannedRequest[], groups: Map<string, Set<string>>, out: ResultBuilder): Promise<void> {
  const byIdentity = new Map<string, { identity: LoginIdentity; requests: PlannedRequest[] }>();
  for (const request of requests) {
    const target = entryTarget(store, request.es, request.entry, request.path);
    if (request.buildError) {
      out.add('fail', 'build-error', target, `ESO cannot build a path for ${request.entry.id}: ${request.buildError}.`, {
        fix: { summary: 'Set the store path to the KV mount and make find.path or the key relative to it.', commands: [] },
      });
      continue;
    }
    if (!request.identity) {
      out.add('skip', 'no-token', target, 'Not checked: the store does not log in with auth.kubernetes.serviceAccountRef.');
      continue;
    }
    const key = `${request.identity.namespace}/${request.identity.serviceAccount}`;
    const group = byIdentity.get(key) ?? { identity: request.identity, requests: [] };
    group.requests.push(request);
    byIdentity.set(key, group);
  }

  // Each identity has its own login token, so their capabilities queries go out together.
  const perIdentity = await resultsInOrder(meta, [...byIdentity.values()], async ({ identity, requests: group }, out) => {
    const own = group.flatMap(requestPaths);
    const shared = context.mode === 'live' ? groups.get(await context.tokenGroup(store, identity)) : undefined;
    const paths = shared ? [...shared] : own;
    const evaluation = await evaluateIdentity(context, store, identity, paths, out);
    for (const request of group) {
      const target = entryTarget(store, request.es, request.entry, request.path);
      if (typeof evaluation === 'string') {
        out.add('skip', 'no-token', target, `Not checked: ${evaluation}.`);
        continue;
      }
      const common = { source: evaluation.source, serviceAccount: `${identity.namespace}/${identity.serviceAccount}` };
      if (request.correctedPath) {
        const ok = granted(evaluation.capabilities[request.correctedPath] ?? [], request.capability);
        if (ok) {
          out.add('skip', 'store-path-invalid', target, `Not checked at ${request.path}, the path ESO builds now, because the store path is not exactly the KV mount (see store.config); at the corrected path ${request.correctedPath} ${request.capability} is granted.`, { details: { ...common, correctedPath: request.correctedPath } });
          continue;
        }
        const denial = explainDenial(request, request.correctedPath, evaluation);
        out.add('fail', denial.messageId, { ...target, path: request.correctedPath }, `After the store path fix (see store.config): ${denial.message}`, { details: { ...common, ...denial.details }, cause: evaluation.note, fix: denial.fix });
        continue;
      }
      const path = request.path!;
      if (granted(evaluation.capabilities[path] ?? [], request.capability)) {
        const allowed = allowedMessage(request, path, evaluation);
        out.add('pass', 'allowed', target, allowed.message, { details: { ...common, ...allowed.details, capabilities: evaluation.capabilities[path] }, cause: evaluation.note });
      } else {
        const denial = explainDenial(request, path, evaluation);
        out.add('fail', denial.messageId, target, denial.message, { details: { ...common, ...denial.details, capabilities: evaluation.capabilities[path] }, cause: evaluation.note, fix: denial.fix });
      }
    }
  });
  out.results.push(...perIdentity);
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const plans = new Map<VaultStore, PlannedRequest[]>();
    for (const store of context.stores) {
      if (store.authMethod !== 'kubernetes' || !store.kubernetes) continue;
      plans.set(store, await planRequests(context, store));
    }
    const groups = await pathsByTokenGroup(context, plans);
    return resultsInOrder(meta, [...plans], ([store, requests], out) => checkStore(context, store, requests, groups, out));
  },
};
