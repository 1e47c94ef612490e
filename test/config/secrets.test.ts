/**
 * Secret config keys (`secret: true`, e.g. tracing.otlp_headers): read from STREAMBUS_<KEY> or from the file
 * STREAMBUS_<KEY>_FILE names (trimmed), never shown in `config print`, in a validation message or in a log
 * line; allowed in the YAML file with a warning.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_SCHEMA,
  loadConfig,
  loadConfigDetailed,
  renderEffectiveConfig,
} from '../../src/config/index.js';
import { parseHeaderList } from '../../src/config/validate.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { createLogger, REDACT_PATHS } from '../../src/observability/logger.js';
import { scratchDir } from '../helpers/scratch-dir.js';

const HEADERS = 'x-api-key=k-123, x-tenant = acme';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isStreamBusError(err, 'INVALID_CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('secret config keys', () => {
  it('tracing.otlp_headers is a secret, unset by default, and parsed into headers from env', () => {
    expect(CONFIG_SCHEMA.find((s) => s.key === 'tracing.otlp_headers')?.secret).toBe(true);
    expect(loadConfig({ env: {} }).tracing.otlpHeaders).toBeNull();
    const config = loadConfig({ env: { STREAMBUS_TRACING_OTLP_HEADERS: HEADERS } });
    expect(parseHeaderList(config.tracing.otlpHeaders ?? '')).toEqual({
      'x-api-key': 'k-123',
      'x-tenant': 'acme',
    });
  });

  it('reads a secret from the file STREAMBUS_<KEY>_FILE names, trimmed', () => {
    const file = join(scratchDir('streambus-secret-'), 'otlp-headers');
    writeFileSync(file, `${HEADERS}\n`);
    const loaded = loadConfigDetailed({ env: { STREAMBUS_TRACING_OTLP_HEADERS_FILE: file } });
    expect(loaded.config.tracing.otlpHeaders).toBe(HEADERS);
    expect(loaded.sources.get('tracing.otlp_headers')).toBe('env_file');
  });

  it('an unreadable secret file, or both the variable and its _FILE, is a clear INVALID_CONFIG', () => {
    const missing = join(scratchDir('streambus-secret-'), 'nope');
    const message = configError(() => loadConfig({ env: { STREAMBUS_TRACING_OTLP_HEADERS_FILE: missing } }));
    expect(message).toContain('tracing.otlp_headers');
    expect(message).toContain(missing);
    expect(message).toContain('STREAMBUS_TRACING_OTLP_HEADERS_FILE');
    expect(message).toContain('ENOENT');

    const file = join(scratchDir('streambus-secret-'), 'h');
    writeFileSync(file, HEADERS);
    expect(
      configError(() =>
        loadConfig({
          env: { STREAMBUS_TRACING_OTLP_HEADERS: HEADERS, STREAMBUS_TRACING_OTLP_HEADERS_FILE: file },
        }),
      ),
    ).toMatch(/either STREAMBUS_TRACING_OTLP_HEADERS or STREAMBUS_TRACING_OTLP_HEADERS_FILE/);
  });

  it('_FILE is only for secret keys: for any other key it is an unknown env var', () => {
    const warnings: string[] = [];
    loadConfig({ env: { STREAMBUS_STORAGE_RETENTION_MS_FILE: '/x' }, onWarning: (m) => warnings.push(m) });
    expect(warnings.join('\n')).toContain('ignoring unknown env var STREAMBUS_STORAGE_RETENTION_MS_FILE');
  });

  it('a bad secret value is refused without echoing it', () => {
    const message = configError(() =>
      loadConfig({ env: { STREAMBUS_TRACING_OTLP_HEADERS: 'k-123-no-equals' } }),
    );
    expect(message).toContain('tracing.otlp_headers');
    expect(message).not.toContain('k-123');
  });

  it('a secret in the YAML file still works but warns, naming the env vars to use', () => {
    const warnings: string[] = [];
    const config = loadConfig({
      yamlText: `tracing:\n  otlp_headers: "${HEADERS}"\n`,
      env: {},
      onWarning: (m) => warnings.push(m),
    });
    expect(config.tracing.otlpHeaders).toBe(HEADERS);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('STREAMBUS_TRACING_OTLP_HEADERS_FILE');
    expect(warnings[0]).not.toContain('k-123');
  });

  it('config print masks every secret key', () => {
    const { values } = loadConfigDetailed({ env: { STREAMBUS_TRACING_OTLP_HEADERS: HEADERS } });
    const printed = renderEffectiveConfig(values);
    expect(printed).not.toContain('k-123');
    expect(printed).toMatch(/otlp_headers: "?\*{6}"?/);
  });

  it('log lines redact every secret key, under its config and its BrokerConfig name', () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ destination });
    const config = loadConfig({ env: { STREAMBUS_TRACING_OTLP_HEADERS: HEADERS } });
    log.info({ tracing: config.tracing }, 'tracing config');
    log.info({ config: { tracing: { otlp_headers: HEADERS } } }, 'config keys');
    log.info({ otlpHeaders: config.tracing.otlpHeaders }, 'exporter');
    expect(chunks).toHaveLength(3);
    for (const line of chunks) expect(line).not.toContain('k-123');
    expect(JSON.parse(chunks[0]!).tracing.otlpHeaders).toBe('[redacted]');
    // Every secret key is covered by name, so a new one cannot be forgotten.
    for (const spec of CONFIG_SCHEMA.filter((s) => s.secret === true)) {
      const leaf = spec.key.split('.').at(-1)!;
      const camel = leaf.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      expect(REDACT_PATHS).toContain(leaf);
      expect(REDACT_PATHS).toContain(camel);
    }
  });
});
