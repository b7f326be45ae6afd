import type { RoleData } from './api.js';

const ROLE_FIELDS = [
  'audience',
  'alias_name_source',
  'bound_service_account_namespace_selector',
  'token_policies',
  'token_ttl',
  'token_max_ttl',
  'token_period',
  'token_explicit_max_ttl',
  'token_type',
  'token_bound_cidrs',
  'token_no_default_policy',
  'token_num_uses',
];

/**
 * A `vault write` that sets the bindings and repeats the role's other fields, because a write of
 * only some fields clears bound_service_account_namespace_selector.
 */
export function roleWriteCommand(mountPath: string, role: string, data: RoleData, names: string[], namespaces: string[]): string {
  const args = [`bound_service_account_names=${names.join(',')}`, `bound_service_account_namespaces=${namespaces.join(',')}`];
  for (const field of ROLE_FIELDS) {
    const value = data[field];
    if (value === undefined || value === null || value === '' || value === 0 || value === false) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      args.push(`${field}=${value.join(',')}`);
    } else if (field === 'token_type' && value === 'default') {
      continue;
    } else {
      args.push(`${field}=${shellQuote(String(value))}`);
    }
  }
  return `vault write auth/${mountPath}/role/${role} ${args.join(' ')}`;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:,=@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
