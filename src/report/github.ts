// GitHub Actions workflow commands: each failure, error and warning becomes an annotation on the
// run, and on the file and line in lint runs. Passing and skipped results appear only in the closing
// summary line, because annotations are for what needs attention.

import { describeTarget } from './human.js';
import type { Fix, Report } from './types.js';

/** Escape a command's message the way @actions/core does, so text can never start a new command. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escape a property value: the message escapes plus `:` and `,`, which end a property. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function command(name: 'error' | 'warning', properties: [string, string | undefined][], message: string): string {
  const encoded = properties
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${escapeProperty(value)}`)
    .join(',');
  return `::${name}${encoded ? ` ${encoded}` : ''}::${escapeData(message)}`;
}

/** Split `file:line:column` from the right, because a file name may contain colons. */
function position(location: string | undefined): { file?: string; line?: string; col?: string } {
  if (!location) return {};
  const match = /^(.*):(\d+):(\d+)$/.exec(location);
  const found = match ? { file: match[1]!, line: match[2], col: match[3] } : { file: location };
  // Lint names standard input <stdin>, which is no file in the repository to annotate.
  return found.file === '<stdin>' ? {} : found;
}

/** Format the annotation text: the message, then the cause and the fix with its commands, YAML and HCL. */
function annotationText(entry: { message: string; cause?: string; fix?: Fix }): string {
  const lines = [entry.message];
  if (entry.cause) lines.push(`Cause: ${entry.cause}`);
  if (entry.fix) {
    lines.push(`Fix: ${entry.fix.summary}`);
    for (const line of entry.fix.commands) lines.push(line.startsWith('#') ? `  ${line}` : `  $ ${line}`);
    if (entry.fix.yaml) lines.push(entry.fix.yaml.replace(/\n$/, ''));
    if (entry.fix.hcl) lines.push(entry.fix.hcl.replace(/\n$/, ''));
  }
  return lines.join('\n');
}

function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** Render the report as workflow commands, one line each, ending with a plain summary line. */
export function renderGithub(report: Report): string {
  const lines: string[] = [];
  for (const result of report.results) {
    if (result.status !== 'fail' && result.status !== 'error' && result.status !== 'warn') continue;
    const { file, line, col } = position(result.target.location);
    const title = `${result.check}: ${describeTarget(result.target)}`;
    const properties: [string, string | undefined][] = [['file', file], ['line', line], ['col', col], ['title', title]];
    lines.push(command(result.status === 'warn' ? 'warning' : 'error', properties, annotationText(result)));
  }
  for (const error of report.errors) {
    lines.push(command('error', [['title', `${report.tool.name}: run error`]], annotationText(error)));
  }
  const summary = report.summary;
  const parts = [
    `${summary.pass} passed`,
    `${summary.fail} failed`,
    plural(summary.warn, 'warning', 'warnings'),
    `${summary.skip} skipped`,
    plural(summary.error, 'check error', 'check errors'),
  ];
  if (report.errors.length > 0) parts.push(plural(report.errors.length, 'run error', 'run errors'));
  lines.push(`${report.tool.name}: ${parts.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Tell whether the process runs in GitHub Actions, where the CLI prints this format instead of the human one. */
export function githubDefault(env: Record<string, string | undefined>): boolean {
  return env.GITHUB_ACTIONS === 'true';
}
