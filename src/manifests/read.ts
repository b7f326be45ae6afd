// Reads Kubernetes YAML (files, directories, stdin; multi-document, `List` objects, `helm template`
// and `kustomize build` output), Vault policies and role definitions for offline runs, keeping the
// source position of every node so findings can point at `file:line:column`.

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';

import { LineCounter, parseAllDocuments, type Document } from 'yaml';

/** Largest input file read; larger files are rejected instead of exhausting memory. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

export interface SourceObject {
  object: Record<string, unknown>;
  file: string;
  /** `file:line:column` of the node at a path inside this object (the object itself for []). */
  locate(path: (string | number)[]): string;
}

export interface PolicyFile {
  name: string;
  text: string;
  file: string;
}

export interface RoleFile {
  mount: string;
  role: string;
  data: Record<string, unknown>;
  file: string;
}

export interface InputError {
  file: string;
  message: string;
  location?: string;
}

export interface MountsFile {
  mounts: { path: string; type: string; kvVersion?: 1 | 2 }[];
  file: string;
}

export interface Inputs {
  mountFiles: MountsFile[];
  objects: SourceObject[];
  policies: PolicyFile[];
  roles: RoleFile[];
  errors: InputError[];
  files: number;
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml']);

async function listFiles(path: string, out: string[]): Promise<void> {
  const info = await stat(path);
  if (!info.isDirectory()) {
    out.push(path);
    return;
  }
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) await listFiles(child, out);
    else if (YAML_EXTENSIONS.has(extname(entry.name)) || extname(entry.name) === '.hcl' || extname(entry.name) === '.json') out.push(child);
  }
}

function displayName(file: string): string {
  if (file === '-') return '<stdin>';
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** Read YAML text into objects with positions; `List` objects are unpacked. */
export function readYaml(text: string, file: string, inputs: Pick<Inputs, 'objects' | 'errors'>): void {
  const lineCounter = new LineCounter();
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text, { lineCounter, uniqueKeys: false }) as Document.Parsed[];
  } catch (error) {
    inputs.errors.push({ file, message: `cannot parse YAML: ${(error as Error).message}` });
    return;
  }
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    if (document.errors.length > 0) {
      const first = document.errors[0]!;
      const pos = first.linePos?.[0];
      const reason = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      const hint = text.includes('{{') ? '; the file looks like an unrendered Helm template: render it with helm template and pipe the output to lint -' : '';
      inputs.errors.push({ file, message: `invalid YAML: ${reason}${hint}`, location: pos ? `${file}:${pos.line}:${pos.col}` : file });
      continue;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // Unresolved aliases and alias bombs surface only when the document is converted.
      const pos = hasRange(document.contents) ? lineCounter.linePos(document.contents.range[0]) : undefined;
      inputs.errors.push({ file, message: `invalid YAML: ${(error as Error).message}`, location: pos ? `${file}:${pos.line}:${pos.col}` : file });
      continue;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
    const locateIn = (prefix: (string | number)[]) => (path: (string | number)[]) => {
      const full = [...prefix, ...path];
      let node: unknown = full.length === 0 ? document.contents : document.getIn(full, true);
      // Fall back to the closest ancestor that exists.
      for (let cut = full.length - 1; !hasRange(node) && cut >= 0; cut -= 1) node = cut === 0 ? document.contents : document.getIn(full.slice(0, cut), true);
      const offset = hasRange(node) ? node.range[0] : 0;
      const pos = lineCounter.linePos(offset);
      return `${file}:${pos.line}:${pos.col}`;
    };
    const object = value as Record<string, unknown>;
    if (object.kind === 'List' && Array.isArray(object.items)) {
      object.items.forEach((item, index) => {
        if (item && typeof item === 'object') inputs.objects.push({ object: item as Record<string, unknown>, file, locate: locateIn(['items', index]) });
      });
      continue;
    }
    inputs.objects.push({ object, file, locate: locateIn([]) });
  }
}

function hasRange(node: unknown): node is { range: [number, number, number] } {
  return Boolean(node && typeof node === 'object' && Array.isArray((node as { range?: unknown }).range));
}

/**
 * Read a role file: the JSON that `vault read -format=json auth/<mount>/role/<name>` prints. The
 * mount and role come from a top-level `"path": "auth/<mount>/role/<name>"` when present, else
 * from the file's location `…/auth/<mount>/role/<name>.json`.
 */
function readRole(parsed: Record<string, unknown>, file: string): RoleFile | InputError {
  const data = (parsed.data && typeof parsed.data === 'object' ? parsed.data : parsed) as Record<string, unknown>;
  const declared = typeof parsed.path === 'string' ? parsed.path : undefined;
  const fromPath = declared ?? file.replace(/\\/g, '/').replace(/\.json$/, '');
  const match = /(?:^|\/)auth\/(.+)\/role\/([^/]+)$/.exec(fromPath);
  if (!match) {
    return { file, message: 'role file names no mount and role: add "path": "auth/<mount>/role/<name>" or store it as auth/<mount>/role/<name>.json' };
  }
  return { mount: match[1]!, role: match[2]!, data, file };
}

/** Read `vault secrets list -format=json` output (the sys/mounts map); undefined for other JSON. */
function readMounts(parsed: Record<string, unknown>): MountsFile['mounts'] | undefined {
  const source = (parsed.data && typeof parsed.data === 'object' ? parsed.data : parsed) as Record<string, unknown>;
  const entries = Object.entries(source).filter(([key, value]) => key.endsWith('/') && value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string');
  if (entries.length === 0) return undefined;
  return entries.map(([key, value]) => {
    const mount = value as { type: string; options?: { version?: string } | null };
    const kvVersion = mount.type === 'kv' || mount.type === 'generic' ? (mount.options?.version === '2' ? 2 : 1) : undefined;
    return { path: key.replace(/\/$/, ''), type: mount.type, kvVersion };
  });
}

function looksLikeRole(parsed: Record<string, unknown>): boolean {
  const data = (parsed.data && typeof parsed.data === 'object' ? parsed.data : parsed) as Record<string, unknown>;
  return 'bound_service_account_names' in data || 'bound_service_account_namespaces' in data;
}

/** Read every input: paths (files or directories, recursively) and "-" for stdin text. */
export async function readInputs(paths: string[], stdinText?: () => Promise<string>): Promise<Inputs> {
  const inputs: Inputs = { mountFiles: [], objects: [], policies: [], roles: [], errors: [], files: 0 };
  const files: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      files.push('-');
      continue;
    }
    try {
      await listFiles(path, files);
    } catch (error) {
      inputs.errors.push({ file: path, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
    }
  }
  for (const file of files) {
    const name = displayName(file);
    let text: string;
    try {
      if (file === '-') {
        text = stdinText ? await stdinText() : '';
      } else {
        const info = await stat(file);
        if (info.size > MAX_FILE_BYTES) {
          inputs.errors.push({ file: name, message: `file is ${Math.round(info.size / 1024 / 1024)} MiB, over the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit for one input file; split it or pass the relevant documents` });
          continue;
        }
        text = await readFile(file, 'utf8');
      }
    } catch (error) {
      inputs.errors.push({ file: name, message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
      continue;
    }
    inputs.files += 1;
    const extension = extname(file);
    if (extension === '.hcl') {
      inputs.policies.push({ name: basename(file, '.hcl'), text, file: name });
    } else if (extension === '.json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        inputs.errors.push({ file: name, message: `invalid JSON: ${(error as Error).message}` });
        continue;
      }
      const mounts = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? readMounts(parsed as Record<string, unknown>) : undefined;
      if (mounts) {
        inputs.mountFiles.push({ mounts, file: name });
      } else if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && looksLikeRole(parsed as Record<string, unknown>)) {
        const role = readRole(parsed as Record<string, unknown>, name);
        if ('role' in role) inputs.roles.push(role);
        else inputs.errors.push(role);
      } else if (parsed && typeof parsed === 'object' && 'path' in (parsed as object) && !('kind' in (parsed as object))) {
        inputs.policies.push({ name: basename(file, '.json'), text, file: name });
      } else {
        readYaml(text, name, inputs);
      }
    } else {
      readYaml(text, name, inputs);
    }
  }
  return inputs;
}

