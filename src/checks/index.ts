import type { Check } from './types.js';
import { check as authBinding } from './auth.binding.js';
import { check as authLogin } from './auth.login.js';
import { check as authRole } from './auth.role.js';
import { check as crdVersions } from './crd.versions.js';
import { check as policyRead } from './policy.read.js';
import { check as policySyntax } from './policy.syntax.js';
import { check as remoteRefKey } from './remoteref.key.js';
import { check as secretRead } from './secret.read.js';
import { check as serviceAccountExists } from './serviceaccount.exists.js';
import { check as storeConfig } from './store.config.js';
import { check as vaultHealth } from './vault.health.js';

/** Every check, in the order the chain is walked: CRDs, store, Vault, identity, auth, policy, secret. */
export const CHECKS: readonly Check[] = [crdVersions, storeConfig, remoteRefKey, vaultHealth, serviceAccountExists, authRole, authBinding, authLogin, policySyntax, policyRead, secretRead];

export function findCheck(id: string): Check | undefined {
  return CHECKS.find((check) => check.meta.id === id);
}

/** Select checks by id or group for --only and --skip; unknown names are returned for the error message. */
export function selectChecks(only: string[], skip: string[], mode: 'live' | 'lint' = 'live'): { checks: Check[]; unknown: string[] } {
  const known = new Set(CHECKS.flatMap((check) => [check.meta.id, check.meta.group]));
  const unknown = [...only, ...skip].filter((name) => !known.has(name));
  const matches = (check: Check, names: string[]) => names.includes(check.meta.id) || names.includes(check.meta.group);
  const checks = CHECKS.filter((check) => check.meta.modes.includes(mode) && (only.length === 0 || matches(check, only)) && !matches(check, skip));
  return { checks, unknown };
}
