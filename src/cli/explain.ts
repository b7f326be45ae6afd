// `vault-selfcheck explain CHECK_ID`: the documentation page of one check, as terminal text.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { CHECKS } from '../checks/index.js';

/**
 * Read the page of a check from the package's docs/checks/ directory. Both this source file (run by
 * vitest) and its compiled copy in dist/cli/ sit two levels below the package root, so one relative
 * URL serves both. The id is looked up in CHECKS before it becomes part of a path, so no input can
 * name a file outside that directory.
 */
export function explainCheck(id: string): { text: string } | { error: string } {
  const ids = CHECKS.map((check) => check.meta.id);
  if (!ids.includes(id)) {
    return { error: `Unknown check id "${id}". Valid check ids: ${ids.join(', ')}.` };
  }
  const page = new URL(`../../docs/checks/${id}.md`, import.meta.url);
  try {
    return { text: readFileSync(page, 'utf8') };
  } catch (error) {
    // Reached only by a broken install or checkout: every check has a page, which a unit test enforces.
    return { error: `The documentation page of check "${id}" cannot be read at ${fileURLToPath(page)}: ${(error as Error).message}.` };
  }
}
