// ESO's Vault request paths, reproduced from providers/v1/vault/client_get.go (buildPath and
// buildMetadataPath in external-secrets v2.9.0; unchanged in behaviour since v0.7). Paths here are
// Vault API paths without the leading "/v1/".

export type KvVersion = 'v1' | 'v2';

/** Build the GET path ESO requests for a data read. `storePath` undefined means the field is omitted. */
export function buildDataPath(storePath: string | undefined, version: KvVersion, key: string): string {
  if (storePath === undefined) {
    if (version === 'v1') return cleanPath(key);
    if (key.includes('/data/')) return cleanPath(key);
    // With no store path, ESO treats the key's first segment as the mount.
    const [mount, ...rest] = key.split('/');
    return cleanPath([mount, 'data', ...rest].join('/'));
  }

  let remaining = key;
  const prefix = `${storePath}/`;
  if (remaining.startsWith(prefix)) {
    remaining = remaining.slice(prefix.length);
    if (version === 'v2' && remaining.startsWith('data/')) remaining = remaining.slice('data/'.length);
  }
  const base = version === 'v2' ? `${storePath}/data` : storePath;
  return cleanPath(`${base}/${remaining}`);
}

/** Build the path ESO reads for `metadataPolicy: Fetch`, or an error message as ESO raises it. */
export function buildMetadataPath(
  storePath: string | undefined,
  version: KvVersion,
  key: string,
): { path: string } | { error: string } {
  if (version === 'v1') return { error: 'cannot perform metadata fetch operations with kv version v1' };
  if (storePath === undefined) {
    if (!key.includes('data')) return { error: "provided Path isn't a valid kv v2 path" };
    return { path: cleanPath(key.replace('/data/', '/metadata/')) };
  }
  // Unlike buildPath, the metadata path keeps the mount prefix of the key.
  return { path: cleanPath(`${storePath}/metadata/${key}`) };
}

/** Build the LIST path ESO requests for `dataFrom.find`, sent as GET with `?list=true`. */
export function buildFindListPath(
  storePath: string | undefined,
  version: KvVersion,
  findPath: string | undefined,
): { path: string } | { error: string } {
  return buildMetadataPath(storePath, version, findPath === undefined ? '' : `${findPath}/`);
}

/**
 * Clean a path the way Go's path.Join does for the Vault client's URL: repeated slashes collapse,
 * "." and ".." segments resolve and a trailing slash is dropped.
 */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return out.join('/');
}

/** Build the query string ESO adds to a data read: `?version=N` whenever remoteRef.version is set. */
export function readQuery(remoteVersion: string | undefined): string {
  return remoteVersion ? `?version=${encodeURIComponent(remoteVersion)}` : '';
}
