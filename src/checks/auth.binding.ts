import type { CheckContext } from '../context/context.js';
import { suggestServiceAccountNamespace } from '../context/suggest.js';
import type { LoginIdentity } from '../eso/identity.js';
import type { VaultStore } from '../eso/model.js';
import type { Result, Target } from '../report/types.js';
import { asList, boundListAdmits } from '../vault/globs.js';
import type { RoleData } from '../vault/api.js';
import { roleWriteCommand } from '../vault/role-command.js';
import { noIdentityReason, quoteList, ResultBuilder, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'auth.binding',
  title: "The role's bindings admit the service account ESO presents",
  description: "The role's bound service account names and namespaces (Vault's glob rules) admit the identity, and the audience is consistent",
  group: 'auth',
  needs: ['operator-token'],
  modes: ['live', 'lint'],
  messages: {
    ok: 'Role "{role}" admits {ns}/{name}.',
    'name-not-bound': 'Role "{role}" binds service account names {names}, not "{name}".',
    'namespace-not-bound': 'Role "{role}" binds namespaces {namespaces}, not "{ns}".',
    'namespace-selector': 'Role "{role}" admits namespace "{ns}" only through its namespace selector, which this tool does not evaluate.',
    'audience-mismatch': 'Role "{role}" requires audience "{audience}", but ESO requests a token for {audiences}.',
    'audience-unset-on-role': 'serviceAccountRef.audiences is {audiences} and role "{role}" sets no audience, which Vault accepts.',
    'no-operator-token': 'The bindings of role "{role}" were not read: no operator token.',
    'role-unavailable': 'The bindings of role "{role}" were not checked: {reason}.',
    'no-identity': 'No login identity to compare: {reason}.',
  },
};

function targetOf(context: CheckContext, store: VaultStore, identity: LoginIdentity): Target {
  const k8s = store.kubernetes!;
  return {
    ...storeTarget(store, ['spec', 'provider', 'vault', 'auth', 'kubernetes', 'role']),
    kind: 'VaultAuthRole',
    name: k8s.role,
    server: context.serverOf(store).address,
    path: `auth/${k8s.mountPath}/role/${k8s.role}`,
    serviceAccount: `${identity.namespace}/${identity.serviceAccount}`,
  };
}

/** Choose the identity to compare: the one ESO presents or, when that service account is missing, the one after the serviceAccountRef fix. */
async function effectiveIdentity(context: CheckContext, store: VaultStore, identity: LoginIdentity): Promise<{ identity: LoginIdentity; note?: string }> {
  if (identity.rule !== 'consumer-namespace') return { identity };
  const exists = await context.serviceAccountExists(identity.namespace, identity.serviceAccount);
  if (!exists.ok || exists.value) return { identity };
  const suggestion = await suggestServiceAccountNamespace(context, store, identity.serviceAccount);
  if (!suggestion.namespace || !suggestion.existing.includes(suggestion.namespace)) return { identity };
  return {
    identity: { ...identity, namespace: suggestion.namespace, rule: 'ref-namespace' },
    note: `Service account ${identity.serviceAccount} does not exist in ${identity.namespace}; after adding serviceAccountRef.namespace: ${suggestion.namespace}, ESO logs in as ${suggestion.namespace}/${identity.serviceAccount}.`,
  };
}

async function checkIdentity(context: CheckContext, store: VaultStore, role: RoleData, presented: LoginIdentity, seen: Set<string>, out: ResultBuilder): Promise<void> {
  const k8s = store.kubernetes!;
  const { identity, note } = await effectiveIdentity(context, store, presented);
  const key = `${identity.namespace}/${identity.serviceAccount}`;
  if (seen.has(key)) return;
  seen.add(key);
  const target = targetOf(context, store, identity);
  const names = asList(role.bound_service_account_names);
  const namespaces = asList(role.bound_service_account_namespaces);
  const selector = typeof role.bound_service_account_namespace_selector === 'string' ? role.bound_service_account_namespace_selector : '';
  const details = { boundNames: names, boundNamespaces: namespaces, namespaceSelector: selector || undefined, consumers: presented.consumers };
  const cause = note;
  let failed = false;

  const nameMatch = boundListAdmits(names, identity.serviceAccount);
  const namespaceMatch = boundListAdmits(namespaces, identity.namespace);
  if (!nameMatch || !namespaceMatch) {
    const fixedNames = nameMatch ? names : [identity.serviceAccount];
    const fixedNamespaces = namespaceMatch ? namespaces : [identity.namespace];
    const command = roleWriteCommand(k8s.mountPath, k8s.role, role, fixedNames, fixedNamespaces);
    const keepNote = !namespaceMatch && namespaces.length ? ` Keep ${quoteList(namespaces)} in the list only if other workloads log in with this role from there.` : '';
    if (!nameMatch) {
      failed = true;
      out.add('fail', 'name-not-bound', target, `Role "${k8s.role}" binds service account names ${quoteList(names)}, which do not admit "${identity.serviceAccount}"; the login fails with 403 "service account name not authorized".`, {
        details,
        cause,
        fix: { summary: `Bind the service account ESO presents, ${key}, keeping the role's other fields.${keepNote}`, commands: [command] },
      });
    }
    if (!namespaceMatch && selector) {
      out.add('warn', 'namespace-selector', target, `Role "${k8s.role}" binds namespaces ${quoteList(namespaces)}, which do not admit "${identity.namespace}"; it is admitted only if the namespace's labels match bound_service_account_namespace_selector, which this tool does not evaluate.`, { details, cause });
    } else if (!namespaceMatch) {
      failed = true;
      out.add('fail', 'namespace-not-bound', target, `Role "${k8s.role}" binds namespaces ${quoteList(namespaces)}, which do not admit "${identity.namespace}", the namespace of the service account ESO presents (${key}); the login fails with 403 "namespace not authorized".`, {
        details,
        cause,
        fix: { summary: `Bind namespace ${identity.namespace}, keeping the role's other fields.${keepNote}`, commands: [command] },
      });
    }
  }

  const audience = typeof role.audience === 'string' ? role.audience : '';
  const requested = identity.audiences;
  if (audience && !requested.includes(audience)) {
    // Without audiences the token carries the API server's default audience, usually its issuer URL.
    const status = requested.length === 0 && /^https?:\/\//.test(audience) ? 'warn' : 'fail';
    failed = failed || status === 'fail';
    out.add(status, 'audience-mismatch', target, `Role "${k8s.role}" requires audience "${audience}", but ESO requests the token with ${requested.length ? `audiences ${quoteList(requested)}` : "no audiences (so the API server's default audience)"}; the login fails with 403 "invalid audience (aud) claim" unless they match.`, {
      details: { ...details, roleAudience: audience, requestedAudiences: requested },
      fix: {
        summary: `Add "${audience}" to serviceAccountRef.audiences, or change the role's audience to one ESO requests.`,
        commands: [],
        yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          serviceAccountRef:\n            name: ${identity.serviceAccount}\n            audiences:\n              - ${audience}\n`,
      },
    });
  } else if (!audience && requested.length > 0) {
    // Vault 1.14.2 sends the token's own audiences to the TokenReview when the role sets none, so
    // the login works. Binding the audience on the role is still the stricter setting.
    out.add('pass', 'audience-unset-on-role', target, `serviceAccountRef.audiences is ${quoteList(requested)} and role "${k8s.role}" sets no audience; Vault then passes the token's own audiences to the TokenReview, which accepts them. Setting audience=${requested[0]} on the role would also reject tokens minted for other audiences.`, {
      details: { ...details, requestedAudiences: requested },
    });
  }

  if (!failed && nameMatch && (namespaceMatch || selector)) {
    out.add('pass', 'ok', target, `Role "${k8s.role}" admits ${key} (names ${quoteList(names)}, namespaces ${quoteList(namespaces)}).`, { details, cause });
  }
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      const k8s = store.kubernetes;
      if (store.authMethod !== 'kubernetes' || !k8s || (!k8s.serviceAccountRef && context.identities(store).length === 0)) {
        out.add('skip', 'no-identity', storeTarget(store), `No login identity to compare: ${noIdentityReason(store)}.`);
        continue;
      }
      const identities = context.identities(store);
      if (identities.length === 0) {
        out.add('skip', 'no-identity', storeTarget(store), 'No login identity to compare: serviceAccountRef has no namespace and no ExternalSecret uses the store.');
        continue;
      }
      const roleTarget: Target = { ...storeTarget(store), kind: 'VaultAuthRole', name: k8s.role, path: `auth/${k8s.mountPath}/role/${k8s.role}` };
      if (!context.hasOperatorToken) {
        out.add('skip', 'no-operator-token', roleTarget, `The bindings of role "${k8s.role}" were not read: ${context.operatorMissing}.${context.mode === 'live' ? ' auth.login shows whether Vault admits the service account.' : ''}`);
        continue;
      }
      const role = await context.role(store);
      if (!role.ok || role.value === undefined) {
        out.add('skip', 'role-unavailable', roleTarget, `The bindings of role "${k8s.role}" were not checked: ${role.ok ? 'the role does not exist (see auth.role)' : role.error.message}.`);
        continue;
      }
      const seen = new Set<string>();
      for (const identity of identities) await checkIdentity(context, store, role.value, identity, seen, out);
    }
    return out.results;
  },
};
