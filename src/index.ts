export { runSelfCheck, type SelfCheckOptions } from './run.js';
export { CHECKS } from './checks/index.js';
export type { Check, CheckMeta } from './checks/types.js';
export { renderHuman } from './report/human.js';
export { exitCodeOf, SCHEMA_VERSION, type Report, type Result, type Status, type Target, type Fix } from './report/types.js';
