// The explain mode: for one ExternalSecret, the exact HTTP requests ESO will send to Vault, the
// identity that logs in, and the policy rule that decides each read. Never prints.

import { CheckContext } from './context/context.js';
import type { Fact } from './context/limit.js';
import { planRequests } from './context/requests.js';
import { storePathVerdict } from './context/requests.js';
import type { ExternalSecretView, VaultStore } from './eso/model.js';
import { storeOfEntry } from './eso/model.js';
import { KubeClient } from './kube/client.js';
import { loadOffline, type LintOptions } from './lint.js';
import { loadPolicies, rolePolicyNames } from './context/policies.js';
import { evaluate, type ParsedPolicy } from './policy/index.js';
import { SCHEMA_VERSION } from './report/types.js';
import { discover, findControllerServiceAccount, kubeFailure, resolveOptions, type SelfCheckOptions } from './run.js';
import type { RoleData } from './vault/api.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';

export interface TraceOptions extends SelfCheckOptions {
  /** `NAMESPACE/NAME`, or `NAME` when only one ExternalSecret has that name. */
  externalSecret: string;
  /** Files to read instead of the cluster; empty for a live trace. */
  paths?: string[];
  mounts?: string;
  stdin?: LintOptions['stdin'];
}

export interface TraceRule {
  pattern: string;
  policies: string[];
  capabilities: string[];
  locations: string[];
}

export interface TraceStep {
  entry: string;
  secretKey?: string;
  key: string;
  property?: string;
  method: 'GET';
  /** Path and query as sent, for example `/v1/kv/data/argo/x?version=2`. */
  request?: string;
  buildError?: string;
  headers: Record<string, string>;
  mount?: string;
  kvVersion?: 1 | 2;
  capability: 'read' | 'list';
  decision?: { allowed: boolean; capabilities: string[]; rule?: TraceRule; reason: string; outranked: TraceRule[] };
  /** Set when the store path is not exactly the KV mount: the path ESO should request after the fix. */
  correctedRequest?: string;
  decisionUnavailable?: string;
}

export interface TraceReport {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: string; version: string };
  mode: 'trace';
  externalSecret?: { namespace: string; name: string; location?: string };
  stores: {
    ref: string;
    server: string;
    login?: { method: 'PUT'; request: string; headers: Record<string, string>; serviceAccount?: string; namespaceRule?: string; role: string; audiences: string[]; expirationSeconds: number };
    policies?: string[];
    steps: TraceStep[];
  }[];
  errors: { message: string }[];
}

function findExternalSecret(all: ExternalSecretView[], requested: string): ExternalSecretView | string {
  const [namespace, name] = requested.includes('/') ? requested.split('/', 2) : [undefined, requested];
  const matches = all.filter((es) => es.name === name && (namespace === undefined || es.namespace === namespace));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) return `ExternalSecret ${requested} was not found`;
  return `${matches.length} ExternalSecrets are named ${name}; give NAMESPACE/NAME (${matches.map((es) => `${es.namespace}/${es.name}`).join(', ')})`;
}

async function policiesOf(context: CheckContext, store: VaultStore): Promise<{ policies?: ParsedPolicy[]; names?: string[]; unavailable?: string }> {
  if (!store.kubernetes) return { unavailable: 'the store does not use Kubernetes auth' };
  if (!context.hasOperatorToken) return { unavailable: context.operatorMissing };
  const role: Fact<RoleData | undefined> = await context.role(store);
  let names: string[] | undefined;
  if (role.ok && role.value) names = rolePolicyNames(role.value);
  else if (context.offline && context.offline.policies.size > 0) names = [...context.offline.policies.keys()];
  if (!names) return { unavailable: role.ok ? `role "${store.kubernetes.role}" was not found` : role.error.message };
  const loaded = await loadPolicies(context, store, names);
  if (loaded.failure?.kind === 'read') return { unavailable: loaded.failure.message };
  if (loaded.failure?.kind === 'parse') return { unavailable: `policy ${loaded.failure.name} cannot be parsed: ${loaded.failure.message}` };
  return { policies: loaded.policies, names };
}

function toRule(rule: { pattern: string; rules: { policy: string; capabilities: string[]; location: { file?: string; line: number; column: number } }[] }): TraceRule {
  return {
    pattern: rule.pattern,
    policies: [...new Set(rule.rules.map((item) => item.policy))],
    capabilities: [...new Set(rule.rules.flatMap((item) => item.capabilities))].sort(),
    locations: rule.rules.map((item) => `${item.location.file ?? item.policy}:${item.location.line}:${item.location.column}`),
  };
}

async function traceIn(context: CheckContext, es: ExternalSecretView, report: TraceReport): Promise<void> {
  const storeRefs = [...new Set(es.entries.map((entry) => storeOfEntry(es, entry)).filter((ref): ref is string => Boolean(ref)))];
  for (const ref of storeRefs) {
    const store = context.stores.find((candidate) => candidate.ref === ref);
    if (!store) {
      report.errors.push({ message: `${ref} is not a Vault store that was found; its entries are not traced.` });
      continue;
    }
    const { address } = context.serverOf(store);
    const base = new URL(address.endsWith('/') ? address : `${address}/`).pathname.replace(/\/$/, '');
    const headers: Record<string, string> = store.vaultNamespace ? { 'X-Vault-Namespace': store.vaultNamespace } : {};
    const identity = context.identityFor(store, es);
    const k8s = store.kubernetes;
    const loginNamespace = context.loginNamespace(store);
    const entry: TraceReport['stores'][number] = { ref, server: address, steps: [] };
    if (k8s) {
      entry.login = {
        method: 'PUT',
        request: `${base}/v1/auth/${k8s.mountPath}/login`,
        headers: loginNamespace ? { 'X-Vault-Namespace': loginNamespace } : {},
        serviceAccount: identity ? `${identity.namespace}/${identity.serviceAccount}` : undefined,
        namespaceRule: identity?.rule,
        role: k8s.role,
        audiences: identity?.audiences ?? [],
        expirationSeconds: 600,
      };
    }
    const { verdict } = await storePathVerdict(context, store);
    const mountInfo = verdict.kind === 'ok' || verdict.kind === 'folder' || verdict.kind === 'api-segment' ? verdict.mount : undefined;
    const policies = await policiesOf(context, store);
    const health = context.mode === 'live' ? await context.health(store) : undefined;
    const vaultVersion = health?.ok ? health.value.version : undefined;
    entry.policies = policies.names;
    const requests = (await planRequests(context, store)).filter((request) => request.es === es);
    for (const request of requests) {
      const step: TraceStep = {
        entry: request.entry.id,
        secretKey: request.entry.secretKey,
        key: request.entry.kind === 'find' ? request.entry.findPath ?? '' : request.entry.key,
        property: request.entry.property,
        method: 'GET',
        headers,
        mount: request.mount,
        kvVersion: mountInfo?.kvVersion ?? (store.version === 'v2' ? 2 : 1),
        capability: request.capability,
      };
      if (request.buildError) step.buildError = request.buildError;
      else step.request = `${base}/v1/${request.capability === 'list' ? request.path!.replace(/\/$/, '') : request.path}${request.query}`;
      if (request.correctedPath) step.correctedRequest = `${base}/v1/${request.correctedPath}${request.query}`;
      if (request.path && policies.policies) {
        const decision = evaluate(policies.policies, request.path, { operation: request.capability === 'list' ? 'list' : 'read', vaultVersion });
        step.decision = {
          allowed: decision.allowed(request.capability),
          capabilities: decision.capabilities,
          rule: decision.rule ? toRule(decision.rule) : undefined,
          reason: decision.reason,
          outranked: decision.matching.slice(1).map(toRule),
        };
      } else if (!request.buildError) {
        step.decisionUnavailable = policies.unavailable ?? 'no policies';
      }
      entry.steps.push(step);
    }
    report.stores.push(entry);
  }
}

/** Trace one ExternalSecret, live or from files; problems are returned in `errors`. */
export async function trace(options: TraceOptions): Promise<TraceReport> {
  const report: TraceReport = { schemaVersion: SCHEMA_VERSION, tool: { name: TOOL_NAME, version: TOOL_VERSION }, mode: 'trace', stores: [], errors: [] };
  let context: CheckContext;
  if (options.paths && options.paths.length > 0) {
    const loaded = await loadOffline({ paths: options.paths, mounts: options.mounts, stdin: options.stdin });
    report.errors.push(...loaded.errors.map((error) => ({ message: error.message })));
    context = loaded.context;
  } else {
    const resolved = resolveOptions(options);
    let kube: KubeClient;
    try {
      kube = await KubeClient.connect({ kubeconfig: resolved.kubeconfig, context: resolved.context, timeoutMs: resolved.timeoutMs });
    } catch (error) {
      report.errors.push({ message: kubeFailure(error, 'kubeconfig').message });
      return report;
    }
    const discovery = await discover(kube, { ...resolved, stores: [] });
    report.errors.push(...discovery.errors.map((error) => ({ message: error.message })));
    await findControllerServiceAccount(kube, discovery.stores, resolved);
    context = new CheckContext(resolved, { stores: discovery.stores, externalSecrets: discovery.externalSecrets, kube, esoVersions: discovery.versions });
  }
  try {
    const es = findExternalSecret(context.externalSecrets, options.externalSecret);
    if (typeof es === 'string') {
      report.errors.push({ message: es });
      return report;
    }
    report.externalSecret = { namespace: es.namespace, name: es.name, location: es.location };
    await traceIn(context, es, report);
  } finally {
    await context.close();
  }
  return report;
}

/** Render a trace for a terminal. */
export function renderTrace(report: TraceReport): string {
  const lines: string[] = [];
  if (report.externalSecret) lines.push(`ExternalSecret ${report.externalSecret.namespace}/${report.externalSecret.name}${report.externalSecret.location ? `  (${report.externalSecret.location})` : ''}`);
  for (const store of report.stores) {
    lines.push(`  via ${store.ref} at ${store.server}`);
    if (store.login) {
      const header = Object.entries(store.login.headers).map(([name, value]) => ` ${name}: ${value}`).join('');
      lines.push(`  login: ${store.login.method} ${store.login.request}${header} as ${store.login.serviceAccount ?? '(unknown service account)'}, role ${store.login.role}`);
      lines.push(`         TokenRequest audiences ${store.login.audiences.length ? store.login.audiences.join(', ') : "(none: the API server's default)"}, ${store.login.expirationSeconds} s${store.login.namespaceRule ? `, namespace by rule ${store.login.namespaceRule}` : ''}`);
    }
    if (store.policies) lines.push(`  policies: ${store.policies.join(', ')}`);
    for (const step of store.steps) {
      lines.push('');
      lines.push(`  ${step.entry}${step.secretKey ? ` ${step.secretKey}` : ''} <- key ${step.key}${step.property ? ` property ${step.property}` : ''}`);
      if (step.buildError) {
        lines.push(`    ESO cannot build the request: ${step.buildError}`);
        continue;
      }
      const header = Object.entries(step.headers).map(([name, value]) => `  ${name}: ${value}`).join('');
      lines.push(`    ${step.method} ${step.request}${header}`);
      if (step.mount) lines.push(`    mount ${step.mount} (KV v${step.kvVersion})`);
      if (step.correctedRequest) lines.push(`    wrong path: the store path is not exactly the KV mount (lint or store.config explains); after the fix ESO sends GET ${step.correctedRequest}`);
      if (step.decision) {
        const verdict = step.decision.allowed ? `allowed: ${step.capability}` : `denied: ${step.capability}`;
        if (step.decision.rule) {
          lines.push(`    ${verdict} by rule "${step.decision.rule.pattern}" [${step.decision.rule.capabilities.join(', ')}] in ${step.decision.rule.policies.join(', ')} (${step.decision.rule.locations.join(', ')})`);
        } else {
          lines.push(`    ${verdict}: no rule matches`);
        }
        lines.push(`    why: ${step.decision.reason}`);
        for (const other of step.decision.outranked) lines.push(`    outranks "${other.pattern}" [${other.capabilities.join(', ')}] in ${other.policies.join(', ')}`);
      } else if (step.decisionUnavailable) {
        lines.push(`    policy decision not available: ${step.decisionUnavailable}`);
      }
    }
  }
  for (const error of report.errors) lines.push(`ERROR ${error.message}`);
  return `${lines.join('\n')}\n`;
}
