// Keeps docs/checks/ in step with the checks: one page per check id, one "### `message-id`" section
// per message id in the check's meta, and `explain` serving those pages.

import { existsSync, readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { CHECKS } from '../../src/checks/index.js';
import { explainCheck } from '../../src/cli/explain.js';

const DOCS = new URL('../../docs/checks/', import.meta.url);
const CHECK_IDS = CHECKS.map((check) => check.meta.id);
const MODES = ['live', 'lint'] as const;

function pageUrl(id: string): URL {
  return new URL(`${id}.md`, DOCS);
}

function readPage(id: string): string {
  return readFileSync(pageUrl(id), 'utf8');
}

/** Drop fenced code blocks, where a "#" starts a shell comment, not a heading. */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) lines.push(line);
  }
  return lines;
}

/** List the message ids a page documents: the backticked words in its headings below the title. */
function documentedMessageIds(text: string): string[] {
  const ids: string[] = [];
  for (const line of proseLines(text)) {
    const heading = /^#{2,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    for (const match of heading[1]!.matchAll(/`([^`]+)`/g)) ids.push(match[1]!);
  }
  return ids;
}

/** Collect the prose under the heading of one message id, up to the next heading. */
function messageSection(text: string, messageId: string): string {
  const lines = proseLines(text);
  const start = lines.findIndex((line) => /^#{2,6}\s/.test(line) && line.includes(`\`${messageId}\``));
  if (start === -1) return '';
  const end = lines.findIndex((line, index) => index > start && /^#{1,6}\s/.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

describe.each(CHECKS.map((check) => [check.meta.id, check.meta] as const))('page of %s', (id, meta) => {
  it('exists', () => {
    expect(existsSync(pageUrl(id)), `docs/checks/${id}.md is missing`).toBe(true);
  });

  it('has the check id in its title', () => {
    const title = readPage(id).split('\n')[0]!;
    expect(title.startsWith(`# \`${id}\``), `first line of docs/checks/${id}.md: ${title}`).toBe(true);
  });

  it.each(Object.keys(meta.messages))('documents message %s', (messageId) => {
    expect(documentedMessageIds(readPage(id))).toContain(messageId);
  });

  it.each(Object.keys(meta.messages))('gives a status for message %s', (messageId) => {
    expect(messageSection(readPage(id), messageId)).toMatch(/\*\*Status:\*\* (pass|fail|warn|skip|error)/);
  });

  it('documents only listed message ids', () => {
    const unknown = documentedMessageIds(readPage(id)).filter((messageId) => !(messageId in meta.messages));
    expect(unknown, `headings in docs/checks/${id}.md name message ids that ${id} does not list`).toEqual([]);
  });

  it('documents each message id once', () => {
    const ids = documentedMessageIds(readPage(id));
    const repeated = ids.filter((messageId, index) => ids.indexOf(messageId) !== index);
    expect(repeated).toEqual([]);
  });

  it.each(MODES)('states whether it runs in %s', (mode) => {
    const runs = proseLines(readPage(id)).find((line) => line.startsWith('| Runs |'));
    expect(runs, `docs/checks/${id}.md has no "| Runs |" row`).toBeDefined();
    expect(runs!.includes(mode), `"${runs}" against meta.modes ${meta.modes.join(', ')}`).toBe(meta.modes.includes(mode));
  });

  it('names related checks', () => {
    expect(readPage(id)).toMatch(/^Related checks: /m);
  });

  it('is what explain returns', () => {
    expect(explainCheck(id)).toEqual({ text: readPage(id) });
  });
});

describe('docs/checks directory', () => {
  const pages = readdirSync(DOCS).filter((name) => name.endsWith('.md') && name !== 'README.md');

  it.each(pages)('%s names a real check', (name) => {
    expect(CHECK_IDS).toContain(name.slice(0, -'.md'.length));
  });

  it.each(CHECK_IDS)('index links %s', (id) => {
    expect(readFileSync(new URL('README.md', DOCS), 'utf8')).toContain(`](${id}.md)`);
  });
});

describe('explainCheck', () => {
  it('rejects an unknown id', () => {
    const result = explainCheck('vault.sealed');
    expect(result).toHaveProperty('error');
    const error = (result as { error: string }).error;
    expect(error).toContain('"vault.sealed"');
    for (const id of CHECK_IDS) expect(error).toContain(id);
  });

  it('rejects a path as id', () => {
    expect(explainCheck('../checks/README')).toHaveProperty('error');
    expect(explainCheck('README')).toHaveProperty('error');
  });

  it('rejects an empty id', () => {
    expect(explainCheck('')).toHaveProperty('error');
  });
});
