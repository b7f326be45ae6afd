import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env: { HOME: '/nonexistent', ...env } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('cli', () => {
  it('prints the version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints help with the exit codes', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--vault-addr');
    expect(run.stdout).toContain('Exit codes');
  });

  it('rejects an unknown option with 2', async () => {
    const run = await cli(['--bogus-flag']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('bogus-flag');
  });

  it('rejects an invalid timeout with 2', async () => {
    const run = await cli(['--timeout', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--timeout must be a positive number');
  });

  it('rejects a Vault address without scheme', async () => {
    const run = await cli([], { VAULT_ADDR: 'vault:8200' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('must start with http:// or https://');
  });

  it('lists the checks', async () => {
    const run = await cli(['--list-checks']);
    expect(run.code).toBe(0);
    for (const id of ['store.config', 'vault.health', 'serviceaccount.exists', 'auth.role', 'auth.binding', 'auth.login', 'policy.read', 'secret.read']) {
      expect(run.stdout).toContain(id);
    }
  });

  it('reports a missing kubeconfig with 2', async () => {
    const run = await cli(['--output', 'json', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout);
    expect(report.errors[0].message).toContain('/nonexistent/kubeconfig');
    expect(report.errors[0].fix.summary).toContain('--kubeconfig');
  });

  it('explains a check', async () => {
    const run = await cli(['explain', 'policy.read']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('denied-kv2-data');
  });

  it('rejects explaining an unknown check', async () => {
    const run = await cli(['explain', 'nope']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nope');
  });

  it.each([
    [['--only', 'nope'], 'unknown check or group: nope'],
    [['lint', 'x.yaml', '--skip', 'policy,nope'], 'unknown check or group: nope'],
  ])('rejects unknown check ids: %j', async (args, message) => {
    const run = await cli(['--output', 'json', ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
  });

  it.each([
    [['-n'], '-n/--namespace needs a namespace name'],
    [['-n', ''], '-n/--namespace needs a namespace name'],
    [['--namespace=', '--output', 'json'], '-n/--namespace needs a namespace name'],
    [['--store'], '--store needs a store name'],
    [['--only'], '--only needs check ids or groups'],
    [['--kubeconfig'], '--kubeconfig needs a file path'],
    [['--vault-addr', ''], '--vault-addr needs a Vault address'],
    [['lint', '--mounts'], '--mounts needs MOUNT=VERSION pairs'],
  ])('rejects empty option %j', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
  });

  it.each([
    [['--bogus-flag'], 'unknown option or argument --bogus-flag'],
    [['-q', '--zz=1'], 'unknown options or arguments -q, --zz'],
  ])('names unknown options as typed: %j', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('names a missing kubeconfig file', async () => {
    const run = await cli(['--output', 'json', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).errors[0].message).toBe('cannot load the kubeconfig /nonexistent/kubeconfig: the file does not exist');
  });

  it('names a missing CA file', async () => {
    const run = await cli(['--ca-cert', '/nonexistent/ca.pem']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read --ca-cert /nonexistent/ca.pem: the file does not exist');
  });
});
