import type { CheckContext } from '../context/context.js';
import type { VaultStore } from '../eso/model.js';
import type { Result, Target } from '../report/types.js';
import { VaultError } from '../vault/client.js';
import { ResultBuilder, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'auth.role',
  title: 'The Kubernetes auth mount and role exist',
  description: 'The auth mount at mountPath exists and is of type kubernetes, and the role exists on it',
  group: 'auth',
  needs: ['vault', 'operator-token'],
  modes: ['live', 'lint'],
  messages: {
    ok: 'Role "{role}" exists on the kubernetes auth mount "{mount}".',
    'mount-missing': 'No auth method is mounted at "{mount}"; ESO logs in at auth/{mount}/login.',
    'mount-prefixed': 'mountPath "{mount}" starts with "auth/"; ESO would log in at auth/{mount}/login.',
    'mount-wrong-type': 'The auth mount "{mount}" is of type {type}, not kubernetes.',
    'role-missing': 'Role "{role}" does not exist on auth mount "{mount}"; login fails with: invalid role name.',
    'role-empty': 'auth.kubernetes.role is empty; login fails with: missing role.',
    'config-missing': 'auth/{mount}/config has never been written; every login fails with: could not load backend configuration.',
    'no-operator-token': 'Role "{role}" on "{mount}" was not read: no operator token.',
    'read-failed': 'Reading {what} with the operator token failed: {reason}.',
    'not-kubernetes-auth': 'The store does not use auth.kubernetes.',
  },
};

function roleTarget(context: CheckContext, store: VaultStore): Target {
  const k8s = store.kubernetes!;
  return { ...storeTarget(store, ['spec', 'provider', 'vault', 'auth', 'kubernetes', 'role']), kind: 'VaultAuthRole', name: k8s.role, server: context.serverOf(store).address, path: `auth/${k8s.mountPath}/role/${k8s.role}` };
}

async function checkStore(context: CheckContext, store: VaultStore, out: ResultBuilder): Promise<void> {
  const k8s = store.kubernetes!;
  const target = roleTarget(context, store);
  if (k8s.mountPath.startsWith('auth/')) {
    const fixed = k8s.mountPath.slice('auth/'.length);
    out.add('fail', 'mount-prefixed', target, `mountPath "${k8s.mountPath}" starts with "auth/"; ESO uses it verbatim and logs in at auth/${k8s.mountPath}/login.`, {
      fix: { summary: `Set mountPath: ${fixed}.`, commands: [], yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          mountPath: ${fixed}\n` },
    });
    return;
  }
  if (k8s.role === '') {
    out.add('fail', 'role-empty', target, 'auth.kubernetes.role is empty; every login fails with "missing role".', {
      fix: { summary: 'Set auth.kubernetes.role to the Vault role that binds the service account.', commands: [`vault list auth/${k8s.mountPath}/role`] },
    });
    return;
  }
  if (!context.hasOperatorToken) {
    out.add('skip', 'no-operator-token', target, `Role "${k8s.role}" on auth mount "${k8s.mountPath}" was not read: ${context.operatorMissing}.${context.mode === 'live' ? ' auth.login still shows whether the login succeeds.' : ''}`);
    return;
  }

  const mounts = await context.authMounts(store);
  if (!mounts.ok) {
    out.add('skip', 'read-failed', target, `Reading sys/auth with the operator token failed: ${mounts.error.message}.`, {
      fix: { summary: 'Use an operator token with read on sys/auth, auth/<mount>/role/* and sys/policies/acl/*.', commands: ['vault token capabilities sys/auth'] },
    });
    return;
  }
  const mount = mounts.value.find((candidate) => candidate.path === k8s.mountPath);
  if (!mount) {
    const kubernetesMounts = mounts.value.filter((candidate) => candidate.type === 'kubernetes').map((candidate) => candidate.path);
    out.add('fail', 'mount-missing', target, `No auth method is mounted at "${k8s.mountPath}"; ESO logs in at auth/${k8s.mountPath}/login and gets "permission denied" (or "no handler for route").`, {
      details: { kubernetesMounts },
      fix: kubernetesMounts.length
        ? { summary: `Set mountPath to the kubernetes auth mount: ${kubernetesMounts.join(' or ')}.`, commands: [], yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          mountPath: ${kubernetesMounts[0]}\n` }
        : { summary: 'Enable Kubernetes auth in Vault and configure it.', commands: [`vault auth enable -path=${k8s.mountPath} kubernetes`, `vault write auth/${k8s.mountPath}/config kubernetes_host=https://<api-server>`] },
    });
    return;
  }
  if (mount.type !== 'kubernetes') {
    out.add('fail', 'mount-wrong-type', target, `The auth mount "${k8s.mountPath}" is of type ${mount.type}, not kubernetes.`, {
      fix: { summary: 'Point mountPath at a kubernetes auth mount.', commands: ['vault auth list'] },
    });
    return;
  }

  const [role, config] = await Promise.all([context.role(store), context.authConfig(store)]);
  if (config.ok && config.value === undefined) {
    out.add('fail', 'config-missing', target, `auth/${k8s.mountPath}/config has never been written, so every login fails with "could not load backend configuration".`, {
      fix: { summary: 'Configure the auth method with the API server address and CA.', commands: [`vault write auth/${k8s.mountPath}/config kubernetes_host=https://<api-server> kubernetes_ca_cert=@ca.crt`] },
    });
  }
  if (!role.ok) {
    const status = role.error instanceof VaultError ? role.error.status : undefined;
    out.add('skip', 'read-failed', target, `Reading auth/${k8s.mountPath}/role/${k8s.role} with the operator token failed: ${role.error.message}.`, {
      details: { status },
      fix: { summary: `Use an operator token with read on auth/${k8s.mountPath}/role/*.`, commands: [`vault token capabilities auth/${k8s.mountPath}/role/${k8s.role}`] },
    });
    return;
  }
  if (role.value === undefined) {
    out.add('fail', 'role-missing', target, `Role "${k8s.role}" does not exist on auth mount "${k8s.mountPath}"; the login fails with 400 "invalid role name".`, {
      fix: {
        summary: `Create the role, or set auth.kubernetes.role to an existing one (vault list auth/${k8s.mountPath}/role).`,
        commands: [`vault list auth/${k8s.mountPath}/role`, `vault write auth/${k8s.mountPath}/role/${k8s.role} bound_service_account_names=<name> bound_service_account_namespaces=<namespace> token_policies=<policy>`],
      },
    });
    return;
  }
  out.add('pass', 'ok', target, `Role "${k8s.role}" exists on the kubernetes auth mount "${k8s.mountPath}".`, {
    details: { tokenPolicies: role.value.token_policies ?? role.value.policies ?? [] },
  });
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      if (store.authMethod !== 'kubernetes' || !store.kubernetes) {
        out.add('skip', 'not-kubernetes-auth', storeTarget(store), `The store does not use auth.kubernetes (it uses ${store.authMethod}).`);
        continue;
      }
      await checkStore(context, store, out);
    }
    return out.results;
  },
};
