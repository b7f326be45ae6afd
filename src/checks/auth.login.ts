import { LoginError, type CheckContext } from '../context/context.js';
import { ESO_TOKEN_SECONDS } from '../context/options.js';
import type { LoginIdentity } from '../eso/identity.js';
import type { VaultStore } from '../eso/model.js';
import { KubeError } from '../kube/client.js';
import type { Fix, Result, Status, Target } from '../report/types.js';
import { flattenMultierror, VaultError } from '../vault/client.js';
import { noIdentityReason, ResultBuilder, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'auth.login',
  title: 'The service account logs in to Vault as ESO does',
  description: `A TokenRequest for the service account as ESO makes it (its audiences, ${ESO_TOKEN_SECONDS} s), then auth/<mountPath>/login; the Vault token is revoked at the end`,
  group: 'auth',
  needs: ['kube', 'vault', 'login'],
  modes: ['live'],
  messages: {
    ok: 'Logged in as {ns}/{name} with role "{role}"; token policies {policies}.',
    'role-missing': 'Vault rejected the login: invalid role name "{role}".',
    'name-not-authorized': 'Vault rejected the login: service account name not authorized.',
    'namespace-not-authorized': 'Vault rejected the login: namespace not authorized.',
    'audience-rejected': 'Vault rejected the login: invalid audience (aud) claim.',
    'token-expired': 'Vault rejected the login: the token is expired.',
    'permission-denied': 'Vault rejected the login with a bare "permission denied".',
    'config-missing': 'Vault rejected the login: could not load backend configuration.',
    'reviewer-forbidden': "Vault's TokenReview call was forbidden by Kubernetes RBAC.",
    'kube-host-unreachable': 'Vault could not reach the Kubernetes API for its TokenReview call.',
    'mount-missing': 'Vault has no auth method at auth/{mount}.',
    'root-policy': 'Vault rejected the login: auth methods cannot create root tokens.',
    'vault-sealed': 'Vault is sealed, so the login cannot be checked.',
    'vault-error': 'Vault rejected the login: {error}.',
    'vault-unreachable': 'The login request did not reach Vault: {reason}.',
    'token-request-forbidden': 'This tool may not create a token for {ns}/{name}: {reason}.',
    'token-request-failed': 'The TokenRequest for {ns}/{name} failed: {reason}.',
    'sa-missing': 'Not attempted: service account {ns}/{name} does not exist.',
    'not-applicable': 'Not attempted: {reason}.',
  },
};

interface Mapped {
  status: Status;
  messageId: string;
  message: string;
  cause?: string;
  fix?: Fix;
}

/** Map Vault's login error text to its cause; the texts come from the Kubernetes auth plugin. */
function mapVaultError(store: VaultStore, identity: LoginIdentity, error: VaultError): Mapped {
  const k8s = store.kubernetes!;
  const text = error.vaultErrors.map(flattenMultierror).join('; ') || error.message;
  const vaultAnswer = `Vault answered HTTP ${error.status}: "${text}"`;
  const identityLabel = `${identity.namespace}/${identity.serviceAccount}`;
  const roleCmd = `vault read auth/${k8s.mountPath}/role/${k8s.role}`;
  if (/invalid role name/.test(text)) {
    return { status: 'fail', messageId: 'role-missing', message: `${vaultAnswer}. Role "${k8s.role}" does not exist on auth mount "${k8s.mountPath}".`, fix: { summary: 'Set auth.kubernetes.role to an existing role, or create it.', commands: [`vault list auth/${k8s.mountPath}/role`] } };
  }
  if (/service account name not authorized/.test(text)) {
    return { status: 'fail', messageId: 'name-not-authorized', message: `${vaultAnswer}. Role "${k8s.role}" does not bind service account name "${identity.serviceAccount}"; auth.binding has the corrected role.`, fix: { summary: `Bind ${identityLabel} in role ${k8s.role}.`, commands: [roleCmd] } };
  }
  if (/namespace not authorized/.test(text)) {
    return { status: 'fail', messageId: 'namespace-not-authorized', message: `${vaultAnswer}. Role "${k8s.role}" does not bind namespace "${identity.namespace}"; auth.binding has the corrected role.`, fix: { summary: `Bind namespace ${identity.namespace} in role ${k8s.role}.`, commands: [roleCmd] } };
  }
  if (/invalid audience/.test(text)) {
    return { status: 'fail', messageId: 'audience-rejected', message: `${vaultAnswer}. The role's audience is not among the audiences ESO requests (${identity.audiences.length ? identity.audiences.join(', ') : "none: the API server's default"}).`, fix: { summary: "Make serviceAccountRef.audiences contain the role's audience.", commands: [roleCmd] } };
  }
  if (/token is expired|exp\) claim/.test(text)) {
    return { status: 'fail', messageId: 'token-expired', message: `${vaultAnswer}. The clocks of Vault and the API server may disagree.`, fix: { summary: 'Check the clock of the Vault servers.', commands: [] } };
  }
  if (/could not load backend configuration/.test(text)) {
    return { status: 'fail', messageId: 'config-missing', message: `${vaultAnswer}. auth/${k8s.mountPath}/config was never written.`, fix: { summary: 'Configure the Kubernetes auth method.', commands: [`vault write auth/${k8s.mountPath}/config kubernetes_host=https://<api-server> kubernetes_ca_cert=@ca.crt`] } };
  }
  if (/tokenreviews/.test(text) && /forbidden/i.test(text)) {
    const user = /User "([^"]+)"/.exec(text)?.[1];
    const sa = user?.match(/^system:serviceaccount:([^:]+):(.+)$/);
    return {
      status: 'fail',
      messageId: 'reviewer-forbidden',
      message: `${vaultAnswer}. The identity Vault uses for TokenReview${user ? ` (${user})` : ''} may not create tokenreviews, which is cluster-scoped.`,
      fix: {
        summary: 'Bind the TokenReview identity to ClusterRole system:auth-delegator with a ClusterRoleBinding; a RoleBinding is not enough.',
        commands: [sa ? `kubectl create clusterrolebinding vault-tokenreview-delegator --clusterrole=system:auth-delegator --serviceaccount=${sa[1]}:${sa[2]}` : 'kubectl create clusterrolebinding vault-tokenreview-delegator --clusterrole=system:auth-delegator --serviceaccount=<namespace>:<reviewer service account>'],
      },
    };
  }
  if (/dial tcp|i\/o timeout|no such host|connection refused|x509|certificate/.test(text)) {
    return {
      status: 'fail',
      messageId: 'kube-host-unreachable',
      message: `${vaultAnswer}. Vault could not complete its TokenReview call to the Kubernetes API.`,
      fix: { summary: 'Check kubernetes_host and kubernetes_ca_cert in the auth config against this cluster, and that Vault can reach that address.', commands: [`vault read auth/${k8s.mountPath}/config`, 'kubectl config view --minify -o jsonpath={.clusters[0].cluster.server}'] },
    };
  }
  if (/no handler for route/.test(text)) {
    return { status: 'fail', messageId: 'mount-missing', message: `${vaultAnswer}. No auth method is mounted at auth/${k8s.mountPath}.`, fix: { summary: 'Set mountPath to the Kubernetes auth mount.', commands: ['vault auth list'] } };
  }
  if (error.status === 503 && /sealed/.test(text)) {
    return { status: 'fail', messageId: 'vault-sealed', message: `${vaultAnswer}. Vault is sealed, so ESO's login fails the same way (see vault.health).`, fix: { summary: 'Unseal Vault.', commands: ['vault operator unseal'] } };
  }
  if (/cannot create root tokens/.test(text)) {
    return { status: 'fail', messageId: 'root-policy', message: `${vaultAnswer}. Role "${k8s.role}" lists the root policy.`, fix: { summary: 'Remove "root" from the role\'s token_policies.', commands: [roleCmd] } };
  }
  if (error.status === 403 && /permission denied/.test(text)) {
    return {
      status: 'fail',
      messageId: 'permission-denied',
      message: `${vaultAnswer}. Vault hides the cause of this answer from clients: its TokenReview call failed (kubernetes_host unreachable, wrong kubernetes_ca_cert, reviewer JWT expired or without system:auth-delegator, audience not accepted by the API server), the auth mount "${k8s.mountPath}" does not exist, or token_bound_cidrs excludes this client.`,
      cause: "Vault logs the real reason at debug level as 'login unauthorized'.",
      fix: { summary: 'Read the auth config and compare it with this cluster; auth.role and auth.binding rule out the role side.', commands: [`vault read auth/${k8s.mountPath}/config`, roleCmd] },
    };
  }
  return { status: 'fail', messageId: 'vault-error', message: `${vaultAnswer}.`, fix: { summary: 'See the Vault error above and the Vault server log.', commands: [roleCmd] } };
}

/** Compare the auth config with this cluster, for the login errors in which Vault hides the cause. */
async function configHints(context: CheckContext, store: VaultStore): Promise<string[]> {
  if (!context.hasOperatorToken || context.mode !== 'live') return [];
  const config = await context.authConfig(store);
  if (!config.ok || !config.value) return [];
  const hints: string[] = [];
  const host = typeof config.value.kubernetes_host === 'string' ? config.value.kubernetes_host.replace(/\/+$/, '') : '';
  const server = context.kube?.server.replace(/\/+$/, '');
  if (host && server && host !== server) {
    hints.push(`kubernetes_host in auth/${store.kubernetes!.mountPath}/config is ${host}, but this kubeconfig's API server is ${server}; if Vault cannot reach ${host}, or it is another cluster, every login fails this way.`);
  }
  if (config.value.token_reviewer_jwt_set === false) {
    hints.push("No token_reviewer_jwt is configured, so Vault reviews each login with the client's own JWT: the service account then needs the ClusterRole system:auth-delegator.");
  }
  return hints;
}

async function checkIdentity(context: CheckContext, store: VaultStore, identity: LoginIdentity, out: ResultBuilder): Promise<void> {
  const k8s = store.kubernetes!;
  const identityLabel = `${identity.namespace}/${identity.serviceAccount}`;
  const target: Target = { ...storeTarget(store), kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace, serviceAccount: identityLabel, server: context.serverOf(store).address, path: `auth/${k8s.mountPath}/login` };
  const exists = await context.serviceAccountExists(identity.namespace, identity.serviceAccount);
  if (exists.ok && !exists.value) {
    out.add('skip', 'sa-missing', target, `Not attempted: service account ${identityLabel} does not exist (see serviceaccount.exists), so ESO fails before it reaches Vault.`);
    return;
  }
  const login = await context.login(store, identity);
  const details = { role: k8s.role, mountPath: k8s.mountPath, audiences: identity.audiences, expirationSeconds: ESO_TOKEN_SECONDS, vaultNamespace: context.loginNamespace(store), consumers: identity.consumers };
  if (login.ok) {
    const policies = login.value.policies;
    out.add('pass', 'ok', target, `Logged in as ${identityLabel} with role "${k8s.role}" on auth/${k8s.mountPath}; token policies ${policies.length ? policies.join(', ') : '(none)'}. The token is revoked when the run ends.`, {
      details: { ...details, policies, tokenPolicies: login.value.tokenPolicies },
    });
    return;
  }
  const error = login.error;
  const stage = error instanceof LoginError ? error.stage : 'login';
  const cause = error instanceof LoginError ? error.cause : error;
  if (stage === 'token-request') {
    if (cause instanceof KubeError && cause.kind === 'not-found') {
      out.add('skip', 'sa-missing', target, `Not attempted: service account ${identityLabel} does not exist.`);
    } else if (cause instanceof KubeError && cause.kind === 'forbidden') {
      out.add('error', 'token-request-forbidden', target, `This tool may not create a token for ${identityLabel}: ${cause.message}. ESO uses its own permission for this; the check needs the same.`, {
        details,
        fix: { summary: `Run the tool as a user allowed to create serviceaccounts/token for ${identityLabel}.`, commands: [`kubectl auth can-i create serviceaccounts/token -n ${identity.namespace}`] },
      });
    } else {
      out.add('error', 'token-request-failed', target, `The TokenRequest for ${identityLabel} failed: ${cause.message}.`, { details });
    }
    return;
  }
  if (cause instanceof VaultError && cause.kind === 'http') {
    const mapped = mapVaultError(store, identity, cause);
    if (mapped.messageId === 'permission-denied') mapped.cause = [mapped.cause, ...(await configHints(context, store))].filter(Boolean).join(' ');
    out.add(mapped.status, mapped.messageId, target, mapped.message, { details: { ...details, httpStatus: cause.status, vaultErrors: cause.vaultErrors.map(flattenMultierror) }, cause: mapped.cause, fix: mapped.fix });
    return;
  }
  out.add('fail', 'vault-unreachable', target, `The login request did not reach Vault: ${cause.message} (see vault.health).`, { details });
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      if (store.authMethod !== 'kubernetes' || !store.kubernetes || (!store.kubernetes.serviceAccountRef && context.identities(store).length === 0)) {
        out.add('skip', 'not-applicable', storeTarget(store), `Not attempted: ${noIdentityReason(store)}.`);
        continue;
      }
      if (store.kubernetes.mountPath.startsWith('auth/') || store.kubernetes.role === '') {
        out.add('skip', 'not-applicable', storeTarget(store), 'Not attempted: mountPath or role is invalid (see auth.role).');
        continue;
      }
      const identities = context.identities(store);
      if (identities.length === 0) {
        out.add('skip', 'not-applicable', storeTarget(store), 'Not attempted: serviceAccountRef has no namespace and no ExternalSecret uses the store.');
        continue;
      }
      await Promise.all(identities.map((identity) => checkIdentity(context, store, identity, out)));
    }
    return out.results;
  },
};
