// deploy/rbac.yaml on a real kube-apiserver. The CLI run as the ServiceAccount that the file
// creates gives the same verdicts as a cluster admin. With one rule taken out of the ClusterRole,
// the report names the verb and resource that the API server denied. deploy/job.yaml passes strict
// server-side validation and the restricted Pod Security Standard.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { writeServiceAccountKubeconfig } from '../../e2e/harness/kubeconfig.mjs';
import { startServers } from '../../e2e/harness/servers.mjs';
import { loadScenario } from '../../e2e/scenarios/index.mjs';
import type { Report, Result } from '../../src/report/types.js';
import { runJson, type CliRun } from './run-cli.js';

type Servers = Awaited<ReturnType<typeof startServers>>;

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A permission in the terms of a SubjectAccessReview. `resource` may include a subresource, as in `serviceaccounts/token`. */
interface Permission {
  verb: string;
  resource: string;
  group: string;
  namespace?: string;
  name?: string;
}

const ROOT = new URL('../..', import.meta.url).pathname;
const RBAC_FILE = join(ROOT, 'deploy', 'rbac.yaml');
const JOB_FILE = join(ROOT, 'deploy', 'job.yaml');
const ESO_GROUP = 'external-secrets.io';

const SELF_NAMESPACE = 'vault-selfcheck';
const SELF_NAME = 'vault-selfcheck';
const SELF_USER = `system:serviceaccount:${SELF_NAMESPACE}:${SELF_NAME}`;
const SELF_GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${SELF_NAMESPACE}`, 'system:authenticated'];

// The argo-stack scenarios log in as external-secrets-system/eso-vault-auth (e2e/scenarios/index.mjs).
const STORE_NAMESPACE = 'external-secrets-system';
const STORE_SERVICE_ACCOUNTS = ['eso-vault-auth'];

// The API server reads the RBAC objects through an informer, so a changed ClusterRole takes a
// moment to reach the authorizer.
const RBAC_PROPAGATION_MS = 15_000;

let servers: Servers;
let manifests: Manifest[];
let fullRules: PolicyRule[];
let adminEnv: Record<string, string>;
let restrictedEnv: Record<string, string>;

function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => document.toJS() as Manifest | null)
    .filter((object): object is Manifest => object !== null);
}

function findManifest(objects: Manifest[], kind: string): Manifest {
  const found = objects.find((object) => object.kind === kind);
  if (!found) throw new Error(`deploy/rbac.yaml has no ${kind}`);
  return found;
}

/** Copies the ClusterRole's rules and sets the TokenRequest rule's resourceNames to the scenario's accounts. */
function rulesForScenario(clusterRole: Manifest): PolicyRule[] {
  const rules = structuredClone(clusterRole.rules as PolicyRule[]);
  const tokenRule = rules.find((rule) => rule.resources.includes('serviceaccounts/token'));
  if (!tokenRule) throw new Error('the ClusterRole in deploy/rbac.yaml has no rule for serviceaccounts/token');
  tokenRule.resourceNames = [...STORE_SERVICE_ACCOUNTS];
  return rules;
}

/** Removes `verb` on `resource` and keeps every other grant, splitting a rule that covers several resources. */
function rulesWithout(rules: PolicyRule[], verb: string, resource: string): PolicyRule[] {
  const result: PolicyRule[] = [];
  for (const rule of rules) {
    if (!rule.resources.includes(resource) || !rule.verbs.includes(verb)) {
      result.push(rule);
      continue;
    }
    const others = rule.resources.filter((name) => name !== resource);
    if (others.length > 0) result.push({ ...rule, resources: others });
    const verbs = rule.verbs.filter((name) => name !== verb);
    if (verbs.length > 0) result.push({ ...rule, resources: [resource], verbs });
  }
  return result;
}

/** Asks the API server, as the admin, whether the tool's ServiceAccount has `permission`. */
async function serviceAccountMay(permission: Permission): Promise<boolean> {
  const [resource, subresource] = permission.resource.split('/');
  const { body } = await servers.kube.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SELF_USER,
        groups: SELF_GROUPS,
        resourceAttributes: { verb: permission.verb, group: permission.group, resource, subresource, namespace: permission.namespace, name: permission.name },
      },
    },
  });
  return body.status?.allowed === true;
}

function describePermission(permission: Permission): string {
  const scope = permission.namespace ? ` in ${permission.namespace}` : '';
  const name = permission.name ? ` named ${permission.name}` : '';
  return `${permission.verb} ${permission.resource}${permission.group ? `.${permission.group}` : ''}${name}${scope}`;
}

/** Applies the ClusterRole with `rules` and waits until the authorizer gives `expected` for each permission. */
async function applyClusterRole(rules: PolicyRule[], expected: { permission: Permission; allowed: boolean }[]): Promise<void> {
  const clusterRole = findManifest(manifests, 'ClusterRole');
  await servers.kube.apply({ ...clusterRole, rules } as Manifest);
  const deadline = Date.now() + RBAC_PROPAGATION_MS;
  for (;;) {
    const answers = await Promise.all(expected.map(async (entry) => ({ ...entry, actual: await serviceAccountMay(entry.permission) })));
    const pending = answers.filter((answer) => answer.actual !== answer.allowed);
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      const list = pending.map((answer) => `${describePermission(answer.permission)} is ${answer.actual ? 'allowed' : 'denied'}`).join('; ');
      throw new Error(`the ClusterRole change did not reach the authorizer within ${RBAC_PROPAGATION_MS / 1000} s: ${list}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Returns the fields of each result that a CI gate may key on, sorted because results of equal rank may come in any order. */
function verdicts(report: Report): string[] {
  return report.results.map((result) => JSON.stringify({ check: result.check, status: result.status, messageId: result.messageId, target: result.target })).sort();
}

function describeRun(run: CliRun, report: Report): string {
  const results = report.results.map((result) => `${result.status} ${result.check} ${result.messageId}: ${result.message}`);
  const errors = report.errors.map((error) => `report error: ${error.message}`);
  return [`exit ${run.code}`, ...results, ...errors].join('\n');
}

async function runScenario(name: string, env: Record<string, string>): Promise<{ run: CliRun; report: Report }> {
  const loaded = await loadScenario(servers, name);
  return runJson([], { ...env, VAULT_ADDR: loaded.env.VAULT_ADDR, VAULT_TOKEN: loaded.env.VAULT_TOKEN });
}

const TOKEN_FOR_STORE_ACCOUNT: Permission = { verb: 'create', resource: 'serviceaccounts/token', group: '', namespace: STORE_NAMESPACE, name: STORE_SERVICE_ACCOUNTS[0] };
const GRANTED: Permission[] = [
  { verb: 'list', resource: 'clustersecretstores', group: ESO_GROUP },
  { verb: 'list', resource: 'secretstores', group: ESO_GROUP },
  { verb: 'list', resource: 'externalsecrets', group: ESO_GROUP },
  { verb: 'get', resource: 'externalsecrets', group: ESO_GROUP, namespace: 'argo-workflows' },
  { verb: 'get', resource: 'serviceaccounts', group: '', namespace: STORE_NAMESPACE },
  { verb: 'list', resource: 'serviceaccounts', group: '' },
  TOKEN_FOR_STORE_ACCOUNT,
];

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing; run npm run build before the e2e suite');
  }
  const runDir = mkdtempSync(join(tmpdir(), 'vault-selfcheck-rbac-'));
  servers = await startServers({ runDir, log: () => {} });

  manifests = readManifests(RBAC_FILE);
  fullRules = rulesForScenario(findManifest(manifests, 'ClusterRole'));
  for (const object of manifests) {
    await servers.kube.apply(object.kind === 'ClusterRole' ? ({ ...object, rules: fullRules } as Manifest) : object);
  }
  await applyClusterRole(fullRules, GRANTED.map((permission) => ({ permission, allowed: true })));

  adminEnv = { KUBECONFIG: servers.kubeconfig };
  restrictedEnv = { KUBECONFIG: await writeServiceAccountKubeconfig(servers, { namespace: SELF_NAMESPACE, name: SELF_NAME }, join(servers.runDir, 'kubeconfig-restricted')) };
});

afterAll(async () => {
  await servers?.stop();
});

describe('deploy/rbac.yaml', () => {
  it('ClusterRole grants no wildcard or watch', () => {
    const rules = findManifest(manifests, 'ClusterRole').rules as PolicyRule[];
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.verbs).not.toContain('watch');
      expect(rule.resources).not.toContain('*');
      expect(rule.apiGroups).not.toContain('*');
    }
    const writes = rules.filter((rule) => rule.verbs.some((verb) => !['get', 'list'].includes(verb)));
    expect(writes).toEqual([{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: expect.any(Array) }]);
  });

  it('binds the ServiceAccount to the ClusterRole', () => {
    const binding = findManifest(manifests, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: findManifest(manifests, 'ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: SELF_NAME, namespace: SELF_NAMESPACE }]);
  });

  it('restricted user has no other permission', async () => {
    const denied: Permission[] = [
      { verb: 'get', resource: 'secrets', group: '', namespace: STORE_NAMESPACE },
      { verb: 'list', resource: 'secrets', group: '' },
      { verb: 'get', resource: 'configmaps', group: '', namespace: STORE_NAMESPACE },
      { verb: 'watch', resource: 'externalsecrets', group: ESO_GROUP },
      { verb: 'list', resource: 'clusterexternalsecrets', group: ESO_GROUP },
      { verb: 'create', resource: 'externalsecrets', group: ESO_GROUP, namespace: 'argo-workflows' },
      { verb: 'create', resource: 'serviceaccounts/token', group: '', namespace: STORE_NAMESPACE, name: 'default' },
      { verb: 'create', resource: 'serviceaccounts/token', group: '', namespace: SELF_NAMESPACE, name: SELF_NAME },
      { verb: 'update', resource: 'serviceaccounts', group: '', namespace: STORE_NAMESPACE },
    ];
    for (const permission of denied) {
      expect(await serviceAccountMay(permission), describePermission(permission)).toBe(false);
    }
    for (const permission of GRANTED) {
      expect(await serviceAccountMay(permission), describePermission(permission)).toBe(true);
    }
  });

  it.each(['argo-stack-broken', 'argo-stack-fixed'])('%s: same verdicts as admin', async (scenario) => {
    const admin = await runScenario(scenario, adminEnv);
    const restricted = await runScenario(scenario, restrictedEnv);

    expect(admin.report.errors, describeRun(admin.run, admin.report)).toEqual([]);
    expect(restricted.report.errors, describeRun(restricted.run, restricted.report)).toEqual([]);
    expect(restricted.report.results.length, describeRun(restricted.run, restricted.report)).toBeGreaterThan(0);
    expect(verdicts(restricted.report)).toEqual(verdicts(admin.report));
    expect(restricted.report.summary).toEqual(admin.report.summary);
    expect(restricted.run.code).toBe(admin.run.code);
  });

  it('argo-stack-broken: serviceaccounts narrowed by resourceNames', async () => {
    // deploy/README.md offers this narrowing: list is authorized by name because the tool lists
    // service accounts with a metadata.name field selector.
    const narrowed = fullRules.map((rule) => (rule.resources.includes('serviceaccounts') ? { ...rule, resourceNames: [...STORE_SERVICE_ACCOUNTS] } : rule));
    const otherAccount: Permission = { verb: 'get', resource: 'serviceaccounts', group: '', namespace: STORE_NAMESPACE, name: 'default' };
    try {
      await applyClusterRole(narrowed, [{ permission: otherAccount, allowed: false }]);
      const admin = await runScenario('argo-stack-broken', adminEnv);
      const restricted = await runScenario('argo-stack-broken', restrictedEnv);
      expect(restricted.report.errors, describeRun(restricted.run, restricted.report)).toEqual([]);
      expect(verdicts(restricted.report)).toEqual(verdicts(admin.report));
      const fixes = (report: Report) => report.results.filter((result) => result.check === 'serviceaccount.exists').map((result) => result.fix);
      expect(fixes(restricted.report)).toEqual(fixes(admin.report));
    } finally {
      await applyClusterRole(fullRules, [{ permission: otherAccount, allowed: true }]);
    }
  });

  it('argo-stack-fixed: restricted login uses the TokenRequest', async () => {
    const { run, report } = await runScenario('argo-stack-fixed', restrictedEnv);
    const logins = report.results.filter((result) => result.check === 'auth.login');
    expect(logins.map((result) => result.status), describeRun(run, report)).toEqual(['pass']);
    expect(run.code).toBe(0);
  });
});

/** A permission taken out of the ClusterRole, and where the report must name it. */
interface RemovedPermission {
  permission: Permission;
  scenario: string;
  /** The check whose `error` result names the denial; without it, a report error must. */
  check?: string;
  messageId?: string;
}

const REMOVED: RemovedPermission[] = [
  { permission: TOKEN_FOR_STORE_ACCOUNT, scenario: 'argo-stack-fixed', check: 'auth.login', messageId: 'token-request-forbidden' },
  { permission: { verb: 'list', resource: 'externalsecrets', group: ESO_GROUP }, scenario: 'argo-stack-fixed' },
  { permission: { verb: 'list', resource: 'clustersecretstores', group: ESO_GROUP }, scenario: 'argo-stack-fixed' },
  { permission: { verb: 'list', resource: 'secretstores', group: ESO_GROUP }, scenario: 'argo-stack-fixed' },
  { permission: { verb: 'get', resource: 'serviceaccounts', group: '', namespace: STORE_NAMESPACE }, scenario: 'argo-stack-fixed', check: 'serviceaccount.exists', messageId: 'no-permission' },
];

/** Runs the scenario as the tool's ServiceAccount after removing one permission, and checks that the report names it. */
async function expectRemovedPermissionNamed(entry: RemovedPermission): Promise<void> {
  const { permission } = entry;
  await applyClusterRole(rulesWithout(fullRules, permission.verb, permission.resource), [{ permission, allowed: false }]);
  const { run, report } = await runScenario(entry.scenario, restrictedEnv);
  const output = describeRun(run, report);

  let messages: string[];
  if (entry.check) {
    const affected = report.results.filter((result: Result) => result.check === entry.check && result.status === 'error');
    expect(affected.map((result) => result.messageId), output).toEqual([entry.messageId]);
    messages = affected.map((result) => result.message);
  } else {
    messages = report.errors.map((error) => error.message);
  }
  // The API server's 403 names the user, the verb and the resource, for example
  // User "system:serviceaccount:..." cannot list resource "externalsecrets".
  const denial = `cannot ${permission.verb} resource "${permission.resource}"`;
  expect(messages.some((message) => message.includes(denial)), output).toBe(true);
  expect(messages.some((message) => message.includes(SELF_USER)), output).toBe(true);
  expect(run.code, output).toBe(2);
}

describe('ClusterRole with one permission removed', () => {
  afterAll(async () => {
    if (servers) await applyClusterRole(fullRules, GRANTED.map((permission) => ({ permission, allowed: true })));
  });

  it.each(REMOVED.map((entry) => [describePermission(entry.permission), entry] as const))('without %s: names it', async (_label, entry) => {
    await expectRemovedPermissionNamed(entry);
  });

  // Without list on serviceaccounts the cluster-wide lookup of a missing account's namespace
  // fails; the tool reports that denial next to the missing-account finding.
  it('without list serviceaccounts: names it', async () => {
    await expectRemovedPermissionNamed({ permission: { verb: 'list', resource: 'serviceaccounts', group: '' }, scenario: 'argo-stack-broken', check: 'serviceaccount.exists', messageId: 'no-permission' });
  });
});

describe('deploy/job.yaml', () => {
  const job = readManifests(JOB_FILE)[0]!;
  const podSpec = (job.spec as { template: { spec: Record<string, any> } }).template.spec;

  it('runs as the ServiceAccount of deploy/rbac.yaml', () => {
    expect(job.metadata.namespace).toBe(SELF_NAMESPACE);
    expect(podSpec.serviceAccountName).toBe(SELF_NAME);
    expect(podSpec.automountServiceAccountToken).toBe(true);
    expect((job.spec as { backoffLimit: number }).backoffLimit).toBe(0);
    expect(podSpec.containers[0].args).toEqual(expect.arrayContaining(['--output', 'json']));
  });

  it('passes strict server-side validation', async () => {
    const path = `/apis/batch/v1/namespaces/${SELF_NAMESPACE}/jobs/${job.metadata.name}`;
    const { status } = await servers.kube.request('PATCH', `${path}?fieldManager=vault-selfcheck-e2e&dryRun=All&fieldValidation=Strict`, {
      body: job,
      contentType: 'application/apply-patch+yaml',
    });
    expect(status).toBe(201);
  });

  it('pod meets the restricted Pod Security Standard', async () => {
    // Pod Security admission enforces on pods only, so the Job's template is tried as a pod in the
    // namespace that deploy/rbac.yaml labels with enforce: restricted.
    const namespace = findManifest(manifests, 'Namespace');
    expect((namespace.metadata.labels as Record<string, string>)['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vault-selfcheck-pss', namespace: SELF_NAMESPACE }, spec: podSpec };
    const { status } = await servers.kube.request('POST', `/api/v1/namespaces/${SELF_NAMESPACE}/pods?dryRun=All&fieldValidation=Strict`, { body: pod });
    expect(status).toBe(201);
  });
});
