/** `streambus config validate|print` through the built CLI (dist/, built by `npm run build`). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'streambus-config-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('streambus config validate', () => {
  it('accepts a correct file with exit 0 and says valid', async () => {
    const file = writeConfig(
      'good.yaml',
      'config_version: 1\nbroker:\n  id: 3\n  listen: 127.0.0.1:9400\nstorage:\n  segment_bytes: 64MiB\n',
    );
    const result = await runCli(['config', 'validate', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/valid/);
  });

  it('rejects a bad file with exit 1, naming every bad key', async () => {
    const file = writeConfig(
      'bad.yaml',
      'broker:\n  id: -4\n  lisen: x\nstorage:\n  flush_policy: sometimes\nnot_a_section: 1\n',
    );
    const result = await runCli(['config', 'validate', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toMatch(/valid/);
    for (const key of ['broker.id', 'broker.lisen', 'storage.flush_policy', 'not_a_section'])
      expect(result.stderr).toContain(key);
    // One line per problem, so an operator can fix them all in one pass.
    expect(result.stderr.trim().split('\n').length).toBeGreaterThanOrEqual(4);
  });

  it('rejects an unknown config_version with a message saying what to change', async () => {
    const file = writeConfig('future.yaml', 'config_version: 99\n');
    const result = await runCli(['config', 'validate', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/config_version/);
  });

  it('fails on a file that cannot be read', async () => {
    const result = await runCli(['config', 'validate', join(dir, 'missing.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read/);
  });
});

describe('streambus config print', () => {
  it('prints the effective config as YAML: defaults, then the file, then STREAMBUS_* env', async () => {
    const file = writeConfig('print.yaml', 'broker:\n  id: 7\nlogging:\n  level: debug\n');
    const result = await runCli(['config', 'print', '--config', file, '--sources'], {
      env: { STREAMBUS_LOGGING_LEVEL: 'warn' },
    });
    expect(result.code).toBe(0);
    const printed = parseYaml(result.stdout) as Record<string, Record<string, unknown>>;
    expect(printed.broker?.id).toBe(7);
    expect(printed.logging?.level).toBe('warn');
    // A default the file does not mention is still shown.
    expect(printed.storage?.flush_policy).toBeDefined();
    expect(result.stdout).toMatch(/broker\.id: file/);
    expect(result.stdout).toMatch(/logging\.level: env/);
  });

  it('prints defaults without a file and exits 1 on an invalid env value', async () => {
    const ok = await runCli(['config', 'print'], { env: {} });
    expect(ok.code).toBe(0);
    expect((parseYaml(ok.stdout) as Record<string, unknown>).broker).toBeDefined();
    const bad = await runCli(['config', 'print'], { env: { STREAMBUS_BROKER_ID: 'abc' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broker\.id/);
  });

  it('--sources leaves out empty env vars, nullable keys too (an empty variable counts as unset)', async () => {
    const result = await runCli(['config', 'print', '--sources'], {
      env: { STREAMBUS_BROKER_RACK: '', STREAMBUS_STORAGE_FLUSH_POLICY: '' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/broker\.rack: env/);
    expect(result.stdout).not.toMatch(/storage\.flush_policy: env/);
  });

  it('masks a secret read from STREAMBUS_<KEY>_FILE and names its source', async () => {
    const secret = writeConfig('otlp-headers', 'x-api-key=k-123\n');
    const result = await runCli(['config', 'print', '--sources'], {
      env: { STREAMBUS_TRACING_OTLP_HEADERS_FILE: secret },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('k-123');
    const printed = parseYaml(result.stdout) as Record<string, Record<string, unknown>>;
    expect(printed.tracing?.otlp_headers).toBe('******');
    expect(result.stdout).toMatch(/tracing\.otlp_headers: env_file/);
  });
});

describe('streambus config validate and secrets', () => {
  it('a secret written in the file is valid but warned about, without echoing it', async () => {
    const file = writeConfig('secret.yaml', 'tracing:\n  otlp_headers: x-api-key=k-123\n');
    const result = await runCli(['config', 'validate', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/valid/);
    expect(result.stderr).toContain('warning: tracing.otlp_headers is a secret');
    expect(result.stderr).toContain('STREAMBUS_TRACING_OTLP_HEADERS_FILE');
    expect(result.stderr).not.toContain('k-123');
  });
});
