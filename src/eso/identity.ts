// Which service account ESO presents to Vault for a store, following ESO's namespace rule
// (providers/v1/vault auth.go and client_manager.go): the ref's namespace counts only on a
// ClusterSecretStore; otherwise the namespace of the request, which at sync time is the
// ExternalSecret's namespace.

import type { ExternalSecretView, VaultStore } from './model.js';

export type NamespaceRule = 'ref-namespace' | 'store-namespace' | 'consumer-namespace' | 'controller';

export interface LoginIdentity {
  serviceAccount: string;
  namespace: string;
  audiences: string[];
  rule: NamespaceRule;
  /** ExternalSecrets (`namespace/name`) whose sync logs in as this identity. */
  consumers: string[];
}

export function identityKey(identity: Pick<LoginIdentity, 'serviceAccount' | 'namespace'>): string {
  return `${identity.namespace}/${identity.serviceAccount}`;
}

/**
 * The identities ESO logs in as for a store with Kubernetes auth. Without serviceAccountRef and
 * secretRef, ESO presents the token mounted in its own pod, so the controller's service account
 * is the identity when it is known.
 */
export function loginIdentities(store: VaultStore, consumers: ExternalSecretView[], controller?: { namespace: string; name: string }): LoginIdentity[] {
  const ref = store.kubernetes?.serviceAccountRef;
  const consumerIds = consumers.map((es) => `${es.namespace}/${es.name}`);
  if (!ref) {
    if (!store.kubernetes || store.kubernetes.secretRef || !controller) return [];
    return [{ serviceAccount: controller.name, namespace: controller.namespace, audiences: [], rule: 'controller', consumers: consumerIds }];
  }
  if (store.kind === 'SecretStore') {
    return [{ serviceAccount: ref.name, namespace: store.namespace!, audiences: ref.audiences, rule: 'store-namespace', consumers: consumerIds }];
  }
  if (ref.namespace) {
    return [{ serviceAccount: ref.name, namespace: ref.namespace, audiences: ref.audiences, rule: 'ref-namespace', consumers: consumerIds }];
  }
  const byNamespace = new Map<string, LoginIdentity>();
  for (const es of consumers) {
    let identity = byNamespace.get(es.namespace);
    if (!identity) {
      identity = { serviceAccount: ref.name, namespace: es.namespace, audiences: ref.audiences, rule: 'consumer-namespace', consumers: [] };
      byNamespace.set(es.namespace, identity);
    }
    identity.consumers.push(`${es.namespace}/${es.name}`);
  }
  return [...byNamespace.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
}
