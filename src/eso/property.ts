// Selection of remoteRef.property from a secret, as ESO does it (client_get.go getSecretValue): an exact
// top-level key wins, otherwise the property is a gjson path over the whole secret. This covers
// the gjson syntax used in practice: dot-separated keys, `\.` escapes, `*` and `?` wildcards in
// keys, array indexes and `#` for an array's length.
// TODO: gjson queries (`#(...)`), modifiers (`@`) and pipes (`|`) are reported as not evaluated.

export type PropertyLookup =
  | { found: true; via: 'top-level' | 'path'; valueType: string; length: number }
  | { found: false; unsupported?: boolean };

export function lookupProperty(secret: Record<string, unknown>, property: string): PropertyLookup {
  if (Object.prototype.hasOwnProperty.call(secret, property)) {
    return describe(secret[property], 'top-level');
  }
  if (/[@|]|#\(/.test(property)) return { found: false, unsupported: true };
  let current: unknown = secret;
  for (const part of splitPath(property)) {
    if (Array.isArray(current)) {
      if (part === '#') {
        current = current.length;
        continue;
      }
      if (!/^\d+$/.test(part)) return { found: false };
      current = current[Number(part)];
      if (current === undefined) return { found: false };
      continue;
    }
    if (!current || typeof current !== 'object') return { found: false };
    const record = current as Record<string, unknown>;
    const key = Object.keys(record).find((candidate) => matchKey(part, candidate));
    if (key === undefined) return { found: false };
    current = record[key];
  }
  return describe(current, 'path');
}

/** The key names of a secret, for messages that must not show values. */
export function topLevelKeys(secret: Record<string, unknown>): string[] {
  return Object.keys(secret).sort();
}

function describe(value: unknown, via: 'top-level' | 'path'): PropertyLookup {
  const valueType = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return { found: true, via, valueType, length: byteValue(value).length };
}

/** The bytes ESO writes for a selected value (runtime/esutils GetByteValue), used only for its length. */
function byteValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function splitPath(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i += 1) {
    const char = path[i]!;
    if (char === '\\' && i + 1 < path.length) {
      current += `\\${path[i + 1]}`;
      i += 1;
    } else if (char === '.') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function matchKey(pattern: string, key: string): boolean {
  if (!/(^|[^\\])[*?]/.test(pattern)) return unescape(pattern) === key;
  let regex = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '\\' && i + 1 < pattern.length) {
      regex += escapeRegex(pattern[i + 1]!);
      i += 1;
    } else if (char === '*') regex += '.*';
    else if (char === '?') regex += '.';
    else regex += escapeRegex(char);
  }
  return new RegExp(`^${regex}$`, 's').test(key);
}

function unescape(part: string): string {
  return part.replace(/\\(.)/g, '$1');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
