import type { VaultStore } from '../eso/model.js';
import { asList } from '../vault/globs.js';
import type { CheckContext } from './context.js';

/**
 * The namespace a referent store should name in serviceAccountRef: a namespace the role binds that
 * contains the service account, else the only namespace that contains it, else the only bound namespace.
 */
export async function suggestServiceAccountNamespace(context: CheckContext, store: VaultStore, name: string): Promise<{ namespace?: string; existing: string[]; lookupError?: Error }> {
  let existing: string[] = [];
  const found = await context.namespacesWithServiceAccount(name);
  if (found.ok) existing = found.value;
  const lookupError = found.ok ? undefined : found.error;
  if (context.hasOperatorToken && store.kubernetes) {
    const role = await context.role(store);
    if (role.ok && role.value) {
      const bound = asList(role.value.bound_service_account_namespaces).filter((ns) => !ns.includes('*'));
      const match = bound.find((ns) => existing.includes(ns));
      if (match) return { namespace: match, existing, lookupError };
      if (existing.length === 0 && bound.length === 1) return { namespace: bound[0], existing, lookupError };
    }
  }
  return { namespace: existing.length === 1 ? existing[0] : undefined, existing, lookupError };
}
