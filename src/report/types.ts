// The canonical report. Renderers and CI gates read only this shape, and docs/report.md gives the
// compatibility rules of schemaVersion. The types are inferred from the zod schemas in schema.ts,
// where the field descriptions are. The import is type-only, so this module does not load zod.

import type * as z from 'zod';

import type { FixSchema, ReportSchema, ResultSchema, StatusSchema, StoreSummarySchema, SummarySchema, TargetSchema } from './schema.js';

export const SCHEMA_VERSION = 1 as const;

export type Status = z.infer<typeof StatusSchema>;

/** Every status in report order; a unit test checks it against the schema's enum. */
export const STATUSES: readonly Status[] = ['pass', 'fail', 'warn', 'skip', 'error'];

/** The object a result is about. Every field but `kind` is optional. */
export type Target = z.infer<typeof TargetSchema>;

export type Fix = z.infer<typeof FixSchema>;

export type Result = z.infer<typeof ResultSchema>;

export type Summary = z.infer<typeof SummarySchema>;

export type StoreSummary = z.infer<typeof StoreSummarySchema>;

export type Report = z.infer<typeof ReportSchema>;

export function summarize(results: Result[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };
  for (const result of results) summary[result.status] += 1;
  return summary;
}

/** Exit code contract: 0 healthy, 1 a check failed, 2 usage, configuration or internal error. */
export function exitCodeOf(report: Report, options: { strict?: boolean } = {}): 0 | 1 | 2 {
  if (report.summary.error > 0 || report.errors.length > 0) return 2;
  if (report.summary.fail > 0) return 1;
  if (options.strict && report.summary.warn > 0) return 1;
  return 0;
}
