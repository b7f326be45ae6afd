import type { CheckContext } from '../context/context.js';
import type { LoginIdentity } from '../eso/identity.js';
import type { VaultStore } from '../eso/model.js';
import { KubeError } from '../kube/client.js';
import type { Result, Target } from '../report/types.js';
import { OfflineError } from '../context/offline.js';
import { suggestServiceAccountNamespace } from '../context/suggest.js';
import { kubectlStore, noIdentityReason, ResultBuilder, storeLabel, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'serviceaccount.exists',
  title: 'The service account exists where ESO looks for it',
  description: 'The service account exists in the namespace ESO will really use, per consuming namespace for a referent ClusterSecretStore',
  group: 'serviceaccount',
  needs: ['kube'],
  modes: ['live', 'lint'],
  messages: {
    exists: 'Service account {ns}/{name} exists.',
    missing: 'Service account {ns}/{name} does not exist; ESO fails with: serviceaccounts "{name}" not found.',
    'missing-referent': 'Service account {name} does not exist in {ns}, where ESO looks for it because serviceAccountRef has no namespace.',
    'no-permission': 'Cannot check service account {ns}/{name}: {reason}.',
    'kube-unavailable': 'The Kubernetes API is not available: {reason}.',
    'no-identity': 'No service account to check: {reason}.',
  },
};

function targetOf(store: VaultStore, identity: LoginIdentity): Target {
  return { ...storeTarget(store), kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace, serviceAccount: `${identity.namespace}/${identity.serviceAccount}` };
}

async function checkIdentity(context: CheckContext, store: VaultStore, identity: LoginIdentity, out: ResultBuilder): Promise<void> {
  const target = targetOf(store, identity);
  const label = `${identity.namespace}/${identity.serviceAccount}`;
  const exists = await context.serviceAccountExists(identity.namespace, identity.serviceAccount);
  if (!exists.ok) {
    const error = exists.error;
    if (error instanceof OfflineError) {
      out.add('skip', 'no-identity', target, `No service account to check: ${error.message}; pass the ServiceAccount manifests to check ${label}.`);
      return;
    }
    if (error instanceof KubeError && (error.kind === 'forbidden' || error.kind === 'unauthorized')) {
      out.add('error', 'no-permission', target, `Cannot check service account ${label}: ${error.message}.`, {
        fix: { summary: `Grant the user running this tool get on serviceaccounts in ${identity.namespace}.`, commands: [`kubectl auth can-i get serviceaccounts -n ${identity.namespace}`] },
      });
    } else {
      out.add('error', 'kube-unavailable', target, `The Kubernetes API is not available: ${error.message}.`);
    }
    return;
  }
  if (exists.value) {
    out.add('pass', 'exists', target, `Service account ${label} exists${identity.rule === 'consumer-namespace' ? ' (resolved in the ExternalSecret namespace, since serviceAccountRef has no namespace)' : ''}.`, {
      details: { rule: identity.rule, consumers: identity.consumers },
    });
    return;
  }
  const consumers = identity.consumers.join(', ');
  if (identity.rule === 'consumer-namespace') {
    const suggestion = await suggestServiceAccountNamespace(context, store, identity.serviceAccount);
    const namespace = suggestion.namespace ?? '<namespace of the service account>';
    if (suggestion.lookupError) {
      out.add('error', 'no-permission', { ...target, namespace: undefined, serviceAccount: identity.serviceAccount }, `Cannot look up which namespaces hold service account ${identity.serviceAccount}: ${suggestion.lookupError.message}. The suggested namespace below is ${suggestion.namespace ? "the namespace the Vault role binds, not checked against the cluster" : 'unknown'}.`, {
        fix: { summary: 'Grant the user running this tool list on serviceaccounts cluster-wide, or pass the namespace yourself.', commands: ['kubectl auth can-i list serviceaccounts --all-namespaces'] },
      });
    }
    out.add('fail', 'missing-referent', target, `Service account ${identity.serviceAccount} does not exist in ${identity.namespace}. ${storeLabel(store)} has a serviceAccountRef without namespace, so ESO requests the token in the namespace of each ExternalSecret (${consumers}) and fails there with: serviceaccounts "${identity.serviceAccount}" not found.`, {
      details: { rule: identity.rule, consumers: identity.consumers, existsIn: suggestion.existing },
      cause: suggestion.existing.length ? `${identity.serviceAccount} exists in ${suggestion.existing.join(', ')}.` : undefined,
      fix: {
        summary: `Add namespace: ${namespace} to serviceAccountRef, so every ExternalSecret logs in as ${namespace}/${identity.serviceAccount}. The alternative is a service account ${identity.serviceAccount} in ${identity.namespace} that the Vault role also binds.`,
        commands: [`kubectl edit ${kubectlStore(store)}`],
        yaml: `spec:\n  provider:\n    vault:\n      auth:\n        kubernetes:\n          serviceAccountRef:\n            name: ${identity.serviceAccount}\n            namespace: ${namespace}\n`,
      },
    });
    return;
  }
  out.add('fail', 'missing', target, `Service account ${label} does not exist; ESO fails with: serviceaccounts "${identity.serviceAccount}" not found.`, {
    details: { rule: identity.rule, consumers: identity.consumers },
    fix: {
      summary: `Create service account ${identity.serviceAccount} in ${identity.namespace}, or point serviceAccountRef at the one the Vault role binds.`,
      commands: [`kubectl create serviceaccount ${identity.serviceAccount} -n ${identity.namespace}`],
    },
  });
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const store of context.stores) {
      if (store.authMethod !== 'kubernetes' || !store.kubernetes || (!store.kubernetes.serviceAccountRef && context.identities(store).length === 0)) {
        out.add('skip', 'no-identity', storeTarget(store), `No service account to check: ${noIdentityReason(store)}.`);
        continue;
      }
      const identities = context.identities(store);
      if (identities.length === 0) {
        out.add('skip', 'no-identity', storeTarget(store), `No service account to check: serviceAccountRef of ${storeLabel(store)} has no namespace and no ExternalSecret uses the store.`);
        continue;
      }
      await Promise.all(identities.map((identity) => checkIdentity(context, store, identity, out)));
    }
    return out.results;
  },
};
