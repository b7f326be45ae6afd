// SARIF 2.1.0 for code scanning: one result per failure, warning or error, with the finding's
// file, line and column. Passing and skipped results are not findings and are left out.

import { CHECKS } from '../checks/index.js';
import type { Report, Result } from './types.js';

interface SarifLocation {
  physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number; startColumn: number } };
}

/** Split `file:line:column` from the right, since a file name may contain colons. */
export function parseLocation(location: string): SarifLocation {
  const match = /^(.*):(\d+):(\d+)$/.exec(location);
  if (!match) return { physicalLocation: { artifactLocation: { uri: toUri(location) } } };
  return { physicalLocation: { artifactLocation: { uri: toUri(match[1]!) }, region: { startLine: Number(match[2]), startColumn: Number(match[3]) } } };
}

function toUri(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function level(result: Result): 'error' | 'warning' | 'note' {
  if (result.status === 'fail' || result.status === 'error') return 'error';
  if (result.status === 'warn') return 'warning';
  return 'note';
}

function messageText(result: Result): string {
  const parts = [result.message];
  if (result.fix?.summary) parts.push(`Fix: ${result.fix.summary}`);
  return parts.join('\n');
}

export function renderSarif(report: Report): string {
  const findings = report.results.filter((result) => result.status === 'fail' || result.status === 'warn' || result.status === 'error');
  const ruleIds = [...new Set([...CHECKS.map((check) => check.meta.id), ...findings.map((result) => result.check)])];
  const rules = ruleIds.map((id) => {
    const check = CHECKS.find((candidate) => candidate.meta.id === id);
    return {
      id,
      name: id.replace(/[^A-Za-z0-9]+(.)/g, (_, next: string) => next.toUpperCase()),
      shortDescription: { text: check?.meta.title ?? id },
      fullDescription: { text: check?.meta.description ?? id },
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: report.tool.name, version: report.tool.version, rules } },
        results: findings.map((result) => ({
          ruleId: result.check,
          ruleIndex: ruleIds.indexOf(result.check),
          level: level(result),
          message: { text: messageText(result) },
          locations: result.target.location ? [parseLocation(result.target.location)] : [],
          properties: { messageId: result.messageId, status: result.status, target: result.target, fix: result.fix },
        })),
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            toolExecutionNotifications: report.errors.map((error) => ({ level: 'error', message: { text: error.message } })),
          },
        ],
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
