// JUnit XML for CI test-report views (Jenkins, GitLab, Azure Pipelines and the like): one test case
// per result, so a broken link shows up as a failed test with its fix in the failure text.
//
// One <testsuite> per store, not per check: the check id is already each test case's classname, so
// per-check suites would only repeat it. A store is the unit a person repairs, and a suite per store
// puts every verdict on one chain together.

import { describeTarget } from './human.js';
import type { Fix, Report, Result } from './types.js';

export interface JunitOptions {
  /** Report warnings as failures, as `--strict` makes them fail the run. */
  strict?: boolean;
}

/** Suite name of results that belong to no store, such as crd.versions or a policy file in lint. */
export const NO_STORE_SUITE = '(no store)';

// XML 1.0 allows tab, LF, CR and these ranges only, even as character references.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Replace characters that XML 1.0 cannot carry with a visible `\uXXXX`, so no text is lost silently. */
function toXmlChars(text: string): string {
  return text.replace(NOT_XML_CHAR, (char) => `\\u${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
}

function escapeXmlText(text: string): string {
  // XML end-of-line handling turns a literal CR into LF, so CR is written as a reference.
  return toXmlChars(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

function escapeXmlAttribute(text: string): string {
  // Attribute-value normalization turns literal tabs and line breaks into spaces, so they are references.
  return escapeXmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXmlAttribute(String(value))}"`)
    .join('');
}

function fixLines(fix: Fix): string[] {
  const lines = [`Fix: ${fix.summary}`];
  for (const command of fix.commands) lines.push(command.startsWith('#') ? `  ${command}` : `  $ ${command}`);
  if (fix.yaml) lines.push('YAML:', fix.yaml.replace(/\n$/, ''));
  if (fix.hcl) lines.push('HCL:', fix.hcl.replace(/\n$/, ''));
  return lines;
}

/** Format the text under a failure or warning: what a person needs to repair it without the JSON. */
function resultBody(result: Result): string {
  const lines = [result.message, `Check: ${result.check} (${result.messageId}), status ${result.status}`];
  if (result.target.location) lines.push(`Location: ${result.target.location}`);
  if (result.cause) lines.push(`Cause: ${result.cause}`);
  if (result.fix) lines.push(...fixLines(result.fix));
  return `${lines.join('\n')}\n`;
}

/** Split `file:line:column` from the right, because a file name may contain colons. */
function fileAndLine(location: string | undefined): { file?: string; line?: number } {
  if (!location) return {};
  const match = /^(.*):(\d+):(\d+)$/.exec(location);
  return match ? { file: match[1], line: Number(match[2]) } : { file: location };
}

/** Name each test case after its target, made unique within its suite so that no two cases look alike. */
function caseNames(results: Result[]): string[] {
  const base = results.map((result) => describeTarget(result.target) || result.target.kind);
  const key = (index: number, name: string) => `${results[index]!.check}\u0000${name}`;
  const counts = new Map<string, number>();
  base.forEach((name, index) => counts.set(key(index, name), (counts.get(key(index, name)) ?? 0) + 1));
  const named = base.map((name, index) => ((counts.get(key(index, name)) ?? 0) > 1 ? `${name} (${results[index]!.messageId})` : name));
  const seen = new Map<string, number>();
  return named.map((name, index) => {
    const count = (seen.get(key(index, name)) ?? 0) + 1;
    seen.set(key(index, name), count);
    return count === 1 ? name : `${name} #${count}`;
  });
}

interface Suite {
  name: string;
  server?: string;
  results: Result[];
}

/** Group results by store: results without a store first, then the stores in report order. */
function suites(report: Report): Suite[] {
  const byStore = new Map<string, Result[]>();
  for (const result of report.results) {
    const key = result.target.store ?? '';
    byStore.set(key, [...(byStore.get(key) ?? []), result]);
  }
  const out: Suite[] = [];
  const unowned = byStore.get('');
  if (unowned) out.push({ name: NO_STORE_SUITE, results: unowned });
  byStore.delete('');
  for (const store of report.stores) {
    const results = byStore.get(store.ref);
    byStore.delete(store.ref);
    if (results) out.push({ name: store.ref, server: store.server, results });
  }
  // A store that results name but the store list lacks still gets its suite, so no result is dropped.
  for (const [name, results] of byStore) out.push({ name, results });
  return out;
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

function renderCase(result: Result, name: string, options: JunitOptions): { xml: string; counts: Counts } {
  const counts: Counts = { tests: 1, failures: 0, errors: 0, skipped: 0 };
  const { file, line } = fileAndLine(result.target.location);
  const open = `    <testcase${attributes({ classname: result.check, name, time: 0, file, line })}`;
  const failed = result.status === 'fail' || result.status === 'error' || (result.status === 'warn' && options.strict === true);
  if (failed) {
    counts.failures = 1;
    const failure = `      <failure${attributes({ message: result.message, type: result.status })}>${escapeXmlText(resultBody(result))}</failure>`;
    return { xml: `${open}>\n${failure}\n    </testcase>`, counts };
  }
  if (result.status === 'skip') {
    counts.skipped = 1;
    return { xml: `${open}>\n      <skipped${attributes({ message: result.message })}/>\n    </testcase>`, counts };
  }
  if (result.status === 'warn') {
    return { xml: `${open}>\n      <system-out>${escapeXmlText(`WARNING: ${resultBody(result)}`)}</system-out>\n    </testcase>`, counts };
  }
  return { xml: `${open}/>`, counts };
}

function renderSuite(suite: Suite, report: Report, timestamp: string, options: JunitOptions): { xml: string; counts: Counts } {
  const names = caseNames(suite.results);
  const total: Counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const cases = suite.results.map((result, index) => {
    const rendered = renderCase(result, names[index]!, options);
    total.tests += rendered.counts.tests;
    total.failures += rendered.counts.failures;
    total.errors += rendered.counts.errors;
    total.skipped += rendered.counts.skipped;
    return rendered.xml;
  });
  const properties = [
    `      <property${attributes({ name: 'mode', value: report.mode })}/>`,
    `      <property${attributes({ name: 'schemaVersion', value: report.schemaVersion })}/>`,
  ];
  if (suite.server) properties.push(`      <property${attributes({ name: 'server', value: suite.server })}/>`);
  const open = `  <testsuite${attributes({ name: suite.name, ...total, time: 0, timestamp })}>`;
  return { xml: [open, '    <properties>', ...properties, '    </properties>', ...cases, '  </testsuite>'].join('\n'), counts: total };
}

/** Render run errors as errored test cases, so a run that could not check everything cannot look green. */
function renderRunErrors(report: Report, timestamp: string): { xml: string; counts: Counts } {
  const cases = report.errors.map((error) => {
    const lines = [error.message];
    if (error.cause) lines.push(`Cause: ${error.cause}`);
    if (error.fix) lines.push(...fixLines(error.fix));
    const name = error.message.split('\n')[0]!;
    const body = escapeXmlText(`${lines.join('\n')}\n`);
    return `    <testcase${attributes({ classname: 'vault-selfcheck', name, time: 0 })}>\n      <error${attributes({ message: error.message, type: 'run-error' })}>${body}</error>\n    </testcase>`;
  });
  const counts: Counts = { tests: cases.length, failures: 0, errors: cases.length, skipped: 0 };
  const open = `  <testsuite${attributes({ name: 'run errors', ...counts, time: 0, timestamp })}>`;
  return { xml: [open, ...cases, '  </testsuite>'].join('\n'), counts };
}

/**
 * Render the report as JUnit XML. fail and error results are failures, skip is skipped, and a
 * warning passes with its text in system-out unless `strict` makes it a failure. The report has
 * no durations, so every time is 0.
 */
export function renderJunit(report: Report, options: JunitOptions = {}): string {
  // The Ant JUnit schema (windyroad/JUnit-Schema) allows no zone in timestamp, so this is UTC to the second.
  const timestamp = report.generatedAt.replace(/\.\d+Z$|Z$/, '');
  const rendered = suites(report).map((suite) => renderSuite(suite, report, timestamp, options));
  if (report.errors.length > 0) rendered.push(renderRunErrors(report, timestamp));
  const total: Counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const { counts } of rendered) {
    total.tests += counts.tests;
    total.failures += counts.failures;
    total.errors += counts.errors;
    total.skipped += counts.skipped;
  }
  const open = `<testsuites${attributes({ name: report.tool.name, ...total, time: 0, timestamp })}>`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', open, ...rendered.map((suite) => suite.xml), '</testsuites>', ''].join('\n');
}
