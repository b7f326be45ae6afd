// Facts for offline runs (lint and trace on files): the mount table from --mounts, roles and
// policies from files, and service accounts from manifests. A fact that no input provides fails
// with OfflineError, which checks report as skip.

import type { MountInfo } from '../eso/storepath.js';
import type { RoleData } from '../vault/api.js';

export class OfflineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OfflineError';
  }
}

export interface OfflineRole {
  mount: string;
  role: string;
  data: RoleData;
  file: string;
}

export interface OfflineSources {
  /** KV mount table from --mounts; undefined when not given. */
  mounts?: MountInfo[];
  roles: OfflineRole[];
  /** Policy text by lower-cased name. */
  policies: Map<string, { text: string; file: string }>;
  /** `namespace/name` of every ServiceAccount manifest; undefined when the input has none. */
  serviceAccounts?: Set<string>;
}

/** Parse `--mounts kv=2,secret=1,team/kv=2` into a KV mount table. */
export function parseMounts(value: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const part of value.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
    const match = /^([^=]+?)\/?=(1|2|v1|v2)$/.exec(part);
    if (!match) throw new Error(`invalid --mounts entry "${part}": expected MOUNT=VERSION such as kv=2`);
    mounts.push({ path: match[1]!, type: 'kv', kvVersion: match[2]!.endsWith('2') ? 2 : 1 });
  }
  return mounts;
}
