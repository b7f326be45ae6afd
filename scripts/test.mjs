#!/usr/bin/env node
// The README's test command: builds the package and the real test servers when missing, runs the
// unit and end-to-end suites, and ends with the plain "N passed, N failed" line CI reads.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const extra = process.argv.slice(2);

function run(command, args, label) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`${label} failed to start: ${result.error.message}`);
    return 127;
  }
  return result.status ?? 1;
}

// The end-to-end suites start the CLI from dist/, so they test the bundle that ships.
if (run('npm', ['run', '--silent', 'build'], 'the build') !== 0) {
  console.error('The build (tsc and the kubeconfig bundle) failed.');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const servers = run('bash', ['e2e/gobins/build.sh'], 'the test server build');
if (servers !== 0) console.error('The test servers could not be built; the end-to-end tests will fail. See the message above.');

mkdirSync(join(root, '.e2e-run'), { recursive: true });
const reportFile = join(root, '.e2e-run', 'vitest-report.json');
const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...extra], 'vitest');

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(reportFile)) {
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that fails to load or whose setup fails has no failed tests of its own.
  if (failed === 0) failed = report.numFailedTestSuites ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} else {
  failed = 1;
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
