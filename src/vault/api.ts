import { VaultClient, VaultError, httpError } from './client.js';

export interface Health {
  httpStatus: number;
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  performanceStandby: boolean;
  version?: string;
  clusterName?: string;
}

/** Read sys/health. Every documented status code is a state of the node, not an error. */
export async function readHealth(client: VaultClient): Promise<Health> {
  const response = await client.raw({ method: 'GET', path: 'sys/health' });
  const body = response.body as Record<string, unknown>;
  if (typeof body.initialized !== 'boolean') {
    throw httpError({ method: 'GET', path: 'sys/health' }, response, client.url('sys/health'));
  }
  return {
    httpStatus: response.status,
    initialized: body.initialized,
    sealed: body.sealed === true,
    standby: body.standby === true,
    performanceStandby: body.performance_standby === true,
    version: typeof body.version === 'string' ? body.version : undefined,
    clusterName: typeof body.cluster_name === 'string' ? body.cluster_name : undefined,
  };
}

export interface LoginResult {
  token: string;
  accessor?: string;
  policies: string[];
  tokenPolicies: string[];
  metadata: Record<string, string>;
}

/** PUT auth/<mountPath>/login, exactly the request ESO's Kubernetes auth sends. */
export async function kubernetesLogin(
  client: VaultClient,
  args: { mountPath: string; role: string; jwt: string; namespace?: string },
): Promise<LoginResult> {
  const body = await client.call({
    method: 'PUT',
    path: `auth/${args.mountPath}/login`,
    namespace: args.namespace,
    body: { jwt: args.jwt, role: args.role },
  });
  const auth = body.auth;
  if (!auth?.client_token) {
    throw new VaultError('http', `PUT ${client.url(`auth/${args.mountPath}/login`)}: the response carries no client token`, 200);
  }
  return {
    token: auth.client_token,
    accessor: auth.accessor,
    policies: auth.policies ?? [],
    tokenPolicies: auth.token_policies ?? [],
    metadata: auth.metadata ?? {},
  };
}

export async function revokeSelf(client: VaultClient, token: string, namespace?: string): Promise<void> {
  await client.call({ method: 'PUT', path: 'auth/token/revoke-self', token, namespace });
}

export interface TokenInfo {
  policies: string[];
  identityPolicies: string[];
  ttl: number;
  displayName?: string;
}

export async function lookupSelf(client: VaultClient, token: string, namespace?: string): Promise<TokenInfo> {
  const body = await client.call({ method: 'GET', path: 'auth/token/lookup-self', token, namespace });
  const data = (body.data ?? {}) as Record<string, unknown>;
  return {
    policies: asStrings(data.policies),
    identityPolicies: asStrings(data.identity_policies),
    ttl: typeof data.ttl === 'number' ? data.ttl : 0,
    displayName: typeof data.display_name === 'string' ? data.display_name : undefined,
  };
}

/** POST sys/capabilities-self: the capabilities of the calling token on each path. */
export async function capabilitiesSelf(
  client: VaultClient,
  token: string,
  paths: string[],
  namespace?: string,
): Promise<Record<string, string[]>> {
  const body = await client.call({ method: 'POST', path: 'sys/capabilities-self', token, namespace, body: { paths } });
  const data = (body.data ?? body) as Record<string, unknown>;
  const out: Record<string, string[]> = {};
  for (const path of paths) {
    const value = data[path] ?? (paths.length === 1 ? data.capabilities : undefined);
    out[path] = asStrings(value);
  }
  return out;
}

export interface AuthMount {
  path: string;
  type: string;
  accessor?: string;
}

export async function listAuthMounts(client: VaultClient, token: string, namespace?: string): Promise<AuthMount[]> {
  const body = await client.call({ method: 'GET', path: 'sys/auth', token, namespace });
  const data = (body.data ?? body) as Record<string, unknown>;
  return Object.entries(data)
    .filter(([, value]) => value && typeof value === 'object' && 'type' in (value as object))
    .map(([path, value]) => {
      const mount = value as { type: string; accessor?: string };
      return { path: path.replace(/\/$/, ''), type: mount.type, accessor: mount.accessor };
    });
}

export interface SecretsMount {
  path: string;
  type: string;
  kvVersion?: 1 | 2;
}

export async function listSecretsMounts(client: VaultClient, token: string, namespace?: string): Promise<SecretsMount[]> {
  const body = await client.call({ method: 'GET', path: 'sys/mounts', token, namespace });
  const data = (body.data ?? body) as Record<string, unknown>;
  return Object.entries(data)
    .filter(([, value]) => value && typeof value === 'object' && 'type' in (value as object))
    .map(([path, value]) => toSecretsMount(path, value as { type: string; options?: { version?: string } | null }));
}

/**
 * Look up the mount that contains a path with GET sys/internal/ui/mounts/<path>, for any token with some
 * capability under that mount. Vault returns 403 both for "no access" and "no such mount".
 */
export async function lookupMountOf(client: VaultClient, token: string, path: string, namespace?: string): Promise<SecretsMount> {
  const body = await client.call({ method: 'GET', path: `sys/internal/ui/mounts/${path}`, token, namespace });
  const data = (body.data ?? {}) as { path?: string; type?: string; options?: { version?: string } | null };
  return toSecretsMount(data.path ?? '', { type: data.type ?? 'unknown', options: data.options });
}

function toSecretsMount(path: string, value: { type: string; options?: { version?: string } | null }): SecretsMount {
  const mount: SecretsMount = { path: path.replace(/\/$/, ''), type: value.type };
  if (value.type === 'kv' || value.type === 'generic') mount.kvVersion = value.options?.version === '2' ? 2 : 1;
  return mount;
}

export type RoleData = Record<string, unknown>;

/** GET auth/<mount>/role/<role>; undefined when the role does not exist. */
export async function readKubernetesRole(
  client: VaultClient,
  token: string,
  mountPath: string,
  role: string,
  namespace?: string,
): Promise<RoleData | undefined> {
  const response = await client.raw({ method: 'GET', path: `auth/${mountPath}/role/${role}`, token, namespace });
  if (response.status === 404) return undefined;
  if (response.status >= 400) throw httpError({ method: 'GET', path: `auth/${mountPath}/role/${role}` }, response, client.url(`auth/${mountPath}/role/${role}`));
  return (response.body.data ?? {}) as RoleData;
}

/** GET auth/<mount>/config; undefined when the mount has no configuration yet. */
export async function readKubernetesConfig(
  client: VaultClient,
  token: string,
  mountPath: string,
  namespace?: string,
): Promise<Record<string, unknown> | undefined> {
  const response = await client.raw({ method: 'GET', path: `auth/${mountPath}/config`, token, namespace });
  if (response.status === 404) return undefined;
  if (response.status >= 400) throw httpError({ method: 'GET', path: `auth/${mountPath}/config` }, response, client.url(`auth/${mountPath}/config`));
  return (response.body.data ?? {}) as Record<string, unknown>;
}

/** Read the HCL text of an ACL policy; undefined when it does not exist. */
export async function readAclPolicy(client: VaultClient, token: string, name: string, namespace?: string): Promise<string | undefined> {
  const response = await client.raw({ method: 'GET', path: `sys/policies/acl/${name}`, token, namespace });
  if (response.status === 404) return undefined;
  if (response.status >= 400) throw httpError({ method: 'GET', path: `sys/policies/acl/${name}` }, response, client.url(`sys/policies/acl/${name}`));
  const data = (response.body.data ?? {}) as { policy?: string };
  return data.policy ?? '';
}

export interface SecretRead {
  status: number;
  /** The v2 `data.data` or v1 `data` map; null for a soft-deleted or destroyed version. */
  data?: Record<string, unknown> | null;
  metadata?: { version?: number; deletion_time?: string; destroyed?: boolean };
  warnings: string[];
  errors: string[];
}

/** GET a data path and keep only what the checks need; HTTP errors are returned, not thrown. */
export async function readSecretPath(
  client: VaultClient,
  token: string,
  pathWithQuery: string,
  kvVersion: 'v1' | 'v2',
  namespace?: string,
): Promise<SecretRead> {
  const response = await client.raw({ method: 'GET', path: pathWithQuery, token, namespace });
  const body = response.body;
  const read: SecretRead = { status: response.status, warnings: body.warnings ?? [], errors: body.errors ?? [] };
  if (body.data === undefined || body.data === null) return read;
  if (kvVersion === 'v2') {
    const inner = body.data as { data?: Record<string, unknown> | null; metadata?: SecretRead['metadata'] };
    read.data = inner.data === undefined ? undefined : inner.data;
    read.metadata = inner.metadata ?? undefined;
  } else {
    read.data = body.data;
  }
  return read;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' && value !== '' ? value.split(',') : [];
}
