// The human report: a pure function of the JSON report. Colour is decided by the caller.

import { Chalk, type ChalkInstance } from 'chalk';

import type { Report, Result, Status, Target } from './types.js';

export interface HumanOptions {
  color: boolean;
  verbose?: boolean;
}

const LABELS: Record<Status, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP', error: 'ERROR' };

function paint(chalk: ChalkInstance, status: Status, text: string): string {
  switch (status) {
    case 'pass':
      return chalk.green(text);
    case 'fail':
      return chalk.red.bold(text);
    case 'warn':
      return chalk.yellow(text);
    case 'error':
      return chalk.magenta.bold(text);
    default:
      return chalk.dim(text);
  }
}

/** Describe a target in one phrase, for example `ExternalSecret argo-workflows/artifact-s3 data[0]`. */
export function describeTarget(target: Target): string {
  const namespaced = target.namespace && target.name ? `${target.namespace}/${target.name}` : target.name ?? '';
  switch (target.kind) {
    case 'ExternalSecret':
      return `ExternalSecret ${namespaced}${target.entry ? ` ${target.entry}` : ''}`;
    case 'ServiceAccount':
      return `ServiceAccount ${target.serviceAccount ?? namespaced}`;
    case 'VaultAuthRole':
      return `Vault role ${target.path ?? target.name}${target.serviceAccount ? ` for ${target.serviceAccount}` : ''}`;
    case 'VaultPolicy':
      return `Vault policy ${target.name}`;
    case 'Vault':
      return `Vault ${target.server ?? ''}`.trim();
    case 'File':
      return target.location ?? target.name ?? 'file';
    default:
      return `${target.kind} ${namespaced}`;
  }
}

function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

function renderResult(chalk: ChalkInstance, result: Result, options: HumanOptions): string[] {
  const label = paint(chalk, result.status, LABELS[result.status].padEnd(5));
  const lines = [`  ${label} ${chalk.bold(result.check.padEnd(21))} ${describeTarget(result.target)}`];
  lines.push(indent(result.message, '        '));
  const detailed = result.status === 'fail' || result.status === 'error' || result.status === 'warn' || options.verbose;
  if (result.target.location) lines.push(chalk.dim(`        at ${result.target.location}`));
  if (detailed && result.cause) lines.push(indent(`Cause: ${result.cause}`, '        '));
  if (detailed && result.fix) {
    lines.push(`        ${chalk.cyan('Fix:')} ${result.fix.summary}`);
    for (const command of result.fix.commands) lines.push(`          ${command.startsWith('#') ? chalk.dim(command) : `$ ${command}`}`);
    if (result.fix.yaml) lines.push(indent(result.fix.yaml, '          '));
    if (result.fix.hcl) lines.push(indent(result.fix.hcl, '          '));
  }
  if (options.verbose && result.details) lines.push(chalk.dim(indent(JSON.stringify(result.details), '        ')));
  return lines;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function renderHuman(report: Report, options: HumanOptions): string {
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const out: string[] = [];
  const groups = new Map<string, Result[]>();
  for (const result of report.results) {
    const key = result.target.store ?? '';
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  const clusterResults = groups.get('') ?? [];
  groups.delete('');
  if (clusterResults.length > 0) {
    out.push(chalk.bold(report.mode === 'lint' ? 'Files' : 'Cluster'));
    for (const result of clusterResults) out.push(...renderResult(chalk, result, options));
    out.push('');
  }
  for (const store of report.stores) {
    const results = groups.get(store.ref) ?? [];
    groups.delete(store.ref);
    const title = store.kind === 'SecretStore' ? `SecretStore ${store.namespace}/${store.name}` : `ClusterSecretStore ${store.name}`;
    out.push(chalk.bold(`${title}${store.server ? `  (${store.server})` : ''}`));
    for (const result of results) out.push(...renderResult(chalk, result, options));
    out.push('');
  }
  for (const [key, results] of groups) {
    out.push(chalk.bold(key || 'Cluster'));
    for (const result of results) out.push(...renderResult(chalk, result, options));
    out.push('');
  }
  for (const error of report.errors) {
    out.push(`${paint(chalk, 'error', 'ERROR')} ${error.message}`);
    if (error.cause) out.push(`      Cause: ${error.cause}`);
    if (error.fix) {
      out.push(`      ${chalk.cyan('Fix:')} ${error.fix.summary}`);
      for (const command of error.fix.commands) out.push(`        $ ${command}`);
    }
  }
  const s = report.summary;
  const parts = [
    paint(chalk, 'pass', `${s.pass} passed`),
    paint(chalk, 'fail', `${s.fail} failed`),
    paint(chalk, 'warn', plural(s.warn, 'warning')),
    paint(chalk, 'skip', `${s.skip} skipped`),
    paint(chalk, 'error', plural(s.error, 'check error')),
  ];
  if (report.errors.length) parts.push(paint(chalk, 'error', `${plural(report.errors.length, 'run error')} (listed above) that stopped part of the run`));
  out.push(`Summary: ${parts.join(', ')}`);
  return `${out.join('\n')}\n`;
}
