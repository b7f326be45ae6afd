// Loading the ACL policies a login token carries, shared by policy.read and trace so both parse
// the same texts with the same source locations.

import type { VaultStore } from '../eso/model.js';
import { parsePolicy, type ParsedPolicy } from '../policy/index.js';
import { asList } from '../vault/globs.js';
import type { CheckContext } from './context.js';

/** List the policies a login token of this role carries: token_policies, plus default unless disabled. */
export function rolePolicyNames(role: Record<string, unknown>): string[] {
  const names = asList(role.token_policies).length ? asList(role.token_policies) : asList(role.policies);
  const lower = names.map((name) => name.trim().toLowerCase());
  if (role.token_no_default_policy !== true && !lower.includes('default')) lower.push('default');
  return [...new Set(lower)];
}

export interface LoadedPolicies {
  policies: ParsedPolicy[];
  /** Names that do not exist; Vault ignores them at login, so they grant nothing. */
  missing: string[];
  /** The first policy that could not be read or parsed; `policies` is then incomplete. */
  failure?: { kind: 'read' | 'parse'; name: string; message: string };
}

/** Parsed policies per run: every identity of a large cluster carries the same few policies. */
const parsedByContext = new WeakMap<CheckContext, Map<string, ParsedPolicy>>();

function parseOnce(context: CheckContext, text: string, name: string, file: string): ParsedPolicy {
  let parsed = parsedByContext.get(context);
  if (!parsed) parsedByContext.set(context, (parsed = new Map()));
  const key = `${name}\u0000${file}\u0000${text}`;
  let policy = parsed.get(key);
  if (!policy) parsed.set(key, (policy = parsePolicy(text, { name, file })));
  return policy;
}

/** Read and parse the named policies; `root` is skipped because it is not a policy text. */
export async function loadPolicies(context: CheckContext, store: VaultStore, names: string[]): Promise<LoadedPolicies> {
  const loaded: LoadedPolicies = { policies: [], missing: [] };
  for (const name of names) {
    if (name === 'root') continue;
    const text = await context.policyText(store, name);
    if (!text.ok) {
      loaded.failure = { kind: 'read', name, message: text.error.message };
      return loaded;
    }
    if (text.value === undefined) {
      loaded.missing.push(name);
      continue;
    }
    const file = context.offline?.policies.get(name)?.file ?? `sys/policies/acl/${name}`;
    try {
      loaded.policies.push(parseOnce(context, text.value, name, file));
    } catch (error) {
      loaded.failure = { kind: 'parse', name, message: (error as Error).message };
      return loaded;
    }
  }
  return loaded;
}
