export { runSelfCheck, type SelfCheckOptions } from './run.js';
export { lint, type LintOptions } from './lint.js';
export { trace, renderTrace, type TraceOptions, type TraceReport } from './trace.js';
export { CHECKS } from './checks/index.js';
export type { Check, CheckMeta } from './checks/types.js';
export { renderHuman } from './report/human.js';
export { exitCodeOf, SCHEMA_VERSION, type Report, type Result, type Status, type Target, type Fix } from './report/types.js';
