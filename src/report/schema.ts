// The report's shape, defined once. types.ts infers the TypeScript types from these schemas and
// schema/report.schema.json is generated from them, so code, types and JSON Schema cannot drift.
// The CLI does not import this module, because loading zod adds about 0.13 s to start-up (measured
// on a 2-core machine) and no run needs to parse a report.

import * as z from 'zod';

import { SCHEMA_VERSION } from './types.js';

export const StatusSchema = z
  .enum(['pass', 'fail', 'warn', 'skip', 'error'])
  .meta({
    id: 'Status',
    description:
      'Verdict of one result. pass: the link works. fail: the link is broken, so ESO cannot sync; fix, when present, says how to repair it. warn: works now but is fragile or ambiguous. skip: not checked, the message says why (a missing operator token, a failed prerequisite). error: the check could not reach a verdict (no permission, a server error, a crash).',
  });

export const TargetKindSchema = z
  .enum(['ClusterSecretStore', 'SecretStore', 'ExternalSecret', 'ServiceAccount', 'Vault', 'VaultAuthRole', 'VaultPolicy', 'File'])
  .meta({ id: 'TargetKind', description: 'What kind of object a result is about. Consumers must accept kinds they do not know (see docs/report.md).' });

export const TargetSchema = z
  .object({
    kind: TargetKindSchema,
    name: z.string().optional().describe('Name of the object.'),
    namespace: z.string().optional().describe('Kubernetes namespace of the object, when it has one.'),
    store: z.string().optional().describe('The store the result belongs to, as Kind/name or Kind/namespace/name.'),
    entry: z.string().optional().describe('The ExternalSecret entry, for example data[0] or dataFrom[1].extract.'),
    server: z.string().optional().describe('The Vault server address the result is about.'),
    path: z.string().optional().describe('The Vault API path (without /v1/) the result is about.'),
    serviceAccount: z.string().optional().describe('Service account identity as namespace/name.'),
    location: z.string().optional().describe('Source location in lint runs: file:line:column, or file alone when no line applies.'),
  })
  .meta({ id: 'Target', description: 'The object a result is about. Every field but kind is optional.' });

export const FixSchema = z
  .object({
    summary: z.string().describe('What to change, in one or two sentences.'),
    commands: z.array(z.string()).describe('Shell commands to run in order; lines starting with # are instructions, not commands.'),
    yaml: z.string().optional().describe('The Kubernetes YAML to apply or merge, when the fix is a manifest change.'),
    hcl: z.string().optional().describe('The Vault policy HCL to write, when the fix is a policy change.'),
  })
  .meta({ id: 'Fix', description: 'The exact repair for a failure, warning or error.' });

export const ResultSchema = z
  .object({
    check: z.string().min(1).describe('Stable check id, for example policy.read; CI gates may key on it.'),
    status: StatusSchema,
    messageId: z.string().min(1).describe('Stable id of the message template within the check; CI gates may key on check and messageId together.'),
    target: TargetSchema,
    message: z.string().describe('The verdict as a sentence, for people; its wording may change in any release.'),
    cause: z.string().optional().describe('Why the check reached this verdict, in one or more sentences.'),
    fix: FixSchema.optional(),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Facts behind the verdict (paths, versions, key names, lengths); never a secret value or token. Their keys are not part of the contract.'),
  })
  .meta({ id: 'Result', description: 'One verdict of one check on one target.' });

export const SummarySchema = z
  .object({
    pass: z.int().nonnegative(),
    fail: z.int().nonnegative(),
    warn: z.int().nonnegative(),
    skip: z.int().nonnegative(),
    error: z.int().nonnegative(),
  })
  .meta({ id: 'Summary', description: 'Number of results with each status; always equal to counting results by status.' });

export const StoreSummarySchema = z
  .object({
    ref: z.string().describe('The value results carry in target.store: Kind/name or Kind/namespace/name.'),
    kind: z.enum(['ClusterSecretStore', 'SecretStore']),
    name: z.string(),
    namespace: z.string().optional().describe('Set for a SecretStore only.'),
    server: z.string().optional().describe('The Vault address checked for this store: in a live run --vault-addr or VAULT_ADDR when set, else the store\'s spec.provider.vault.server.'),
  })
  .meta({ id: 'StoreSummary', description: 'A store that the run checked.' });

export const ReportErrorSchema = z
  .object({
    message: z.string(),
    cause: z.string().optional(),
    fix: FixSchema.optional(),
  })
  .meta({ id: 'ReportError', description: 'A problem that stopped part of the run, such as a missing kubeconfig or permission; any entry makes the exit code 2.' });

export const ReportSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION).describe('Version of this contract; see docs/report.md for what changes it.'),
    tool: z.object({ name: z.string(), version: z.string() }).describe('The program that wrote the report.'),
    mode: z.enum(['live', 'lint']).describe('live: a cluster and Vault were checked. lint: files were checked offline.'),
    generatedAt: z.iso.datetime().describe('When the run started, in UTC.'),
    summary: SummarySchema,
    stores: z.array(StoreSummarySchema),
    results: z.array(ResultSchema).describe('Every verdict, grouped for reading: results without a store first, then by store in the order of stores, then by check in the order the chain is walked. The order is not part of the contract.'),
    errors: z.array(ReportErrorSchema),
  })
  .meta({
    title: 'vault-selfcheck report',
    description: 'The JSON report of vault-selfcheck (--output json), for the live check and for lint.',
  });

/**
 * Generate the published JSON Schema. Zod's input mode leaves objects open to undeclared fields,
 * so a field added later under the same schemaVersion does not make an older schema copy fail.
 */
export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ReportSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}

/**
 * Generate the schema with every object closed to undeclared fields. Tests validate the tool's own
 * reports with it, so a field the code emits without declaring it fails a test, not a consumer.
 */
export function closedReportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ReportSchema, { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>;
}

/** Format schema/report.schema.json, shared by the script and the test that it is up to date. */
export function reportJsonSchemaText(): string {
  return `${JSON.stringify(reportJsonSchema(), null, 2)}\n`;
}
