#!/usr/bin/env node
// Writes schema/report.schema.json from the zod schema in the compiled package. `npm run schema`
// compiles first, so the file matches src/report/schema.ts. A unit test fails when it is stale.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const root = new URL('..', import.meta.url);
const target = new URL('schema/report.schema.json', root);

let module;
try {
  module = await import(new URL('dist/report/schema.js', root).href);
} catch (error) {
  console.error(`Failed to load dist/report/schema.js: ${error.message}. Run "npm run schema", which compiles first.`);
  process.exit(1);
}

mkdirSync(dirname(target.pathname), { recursive: true });
writeFileSync(target, module.reportJsonSchemaText());
console.log(`Wrote ${target.pathname}`);
