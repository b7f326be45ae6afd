#!/usr/bin/env node
// Runs after tsc: bundles dist/kube/kubeconfig.js, which re-exports client-node's KubeConfig, into
// one file with only the code KubeConfig reaches. Importing @kubernetes/client-node itself loads
// every generated API module first (about 800 files): docs/benchmarks.md measures 0.47 s and
// 121 MB for that import against 0.13 s and 62 MB for the bundle. The licenses of the bundled
// packages are written next to the bundle, as their terms ask.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'kube', 'kubeconfig.js');
if (!existsSync(entry)) {
  process.stderr.write(`bundle: ${relative(root, entry)} does not exist; run tsc first (npm run build)\n`);
  process.exit(2);
}

const result = await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Some bundled packages are CommonJS and require Node built-ins; ESM output has no `require`.
  banner: { js: "import { createRequire as __vaultSelfcheckRequire } from 'node:module';\nconst require = __vaultSelfcheckRequire(import.meta.url);" },
});

/** Return the package directory of a bundled input path, for example node_modules/@scope/name. */
function packageDir(input) {
  const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  return match ? match[1] : undefined;
}

// tsc's source map describes the re-export, not the bundle.
rmSync(`${entry}.map`, { force: true });

const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const dir = packageDir(input);
  if (!dir || packages.has(dir)) continue;
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const licenseFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE', 'license.md'].map((name) => join(root, dir, name)).find((file) => existsSync(file));
  packages.set(dir, { name: manifest.name, version: manifest.version, license: manifest.license, text: licenseFile ? readFileSync(licenseFile, 'utf8').trim() : undefined });
}
const sections = [...packages.values()]
  .sort((a, b) => (a.name < b.name ? -1 : 1))
  .map((pkg) => `${pkg.name}@${pkg.version} (${pkg.license ?? 'license not stated'})\n\n${pkg.text ?? 'No license file is shipped with this package; see its package.json.'}`);
const notice = `kubeconfig.js bundles the following packages.\n\n${sections.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`;
writeFileSync(join(dirname(entry), 'kubeconfig.licenses.txt'), notice);
const bytes = result.metafile.outputs[relative(process.cwd(), entry)]?.bytes;
process.stderr.write(`bundle: ${relative(root, entry)}${bytes ? ` (${Math.round(bytes / 1024)} KiB)` : ''}, ${packages.size} packages\n`);
