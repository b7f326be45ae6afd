// Kubernetes auth's bound-name matching (vault-plugin-auth-kubernetes path_login.go with
// go-secure-stdlib strutil.GlobbedStringsMatch): a leading and/or trailing `*` only, case-sensitive,
// and a list that is exactly ["*"] admits everything.

export function globMatch(pattern: string, value: string): boolean {
  if (pattern.length < 2) return pattern === value;
  const leading = pattern.startsWith('*');
  const trailing = pattern.endsWith('*');
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/** Whether a bound list admits a value; the entry that admits it, or undefined. */
export function boundListAdmits(list: string[], value: string): string | undefined {
  if (list.length === 1 && list[0] === '*') return '*';
  return list.find((pattern) => globMatch(pattern, value));
}

export function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter((item) => item !== '');
  if (typeof value === 'string') return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return [];
}
