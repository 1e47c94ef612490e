import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBrokerConfig, readerOf } from '../../src/config/build.js';
import {
  advertisedListen,
  brokerFlagOverrides,
  CONFIG_SCHEMA,
  ENV_TO_KEY,
  envNameOf,
  loadConfig,
  loadConfigDetailed,
  opsListeners,
  renderEffectiveConfig,
} from '../../src/config/index.js';
import type { ConfigValue } from '../../src/config/schema.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { scratchDir } from '../helpers/scratch-dir.js';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isStreamBusError(err, 'INVALID_CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('loadConfig defaults', () => {
  it('with no config at all gives a usable single node with data in ./data', () => {
    const config = loadConfig({ env: {} });
    expect(config.configVersion).toBe(1);
    expect(config.broker).toEqual({
      id: 1,
      listen: '0.0.0.0:9092',
      advertisedListen: null,
      dataDir: './data',
      rack: null,
      tls: {
        enabled: false,
        certFile: null,
        keyFile: null,
        caFile: null,
        clientAuth: 'none',
        reloadIntervalMs: 60_000,
      },
    });
    expect(config.limits.frameBytesMax).toBe(64 * 1024 * 1024);
    expect(config.limits.batchBytesMax).toBe(1024 * 1024 + 12);
    expect(config.limits.inFlightRequestsPerConnectionMax).toBe(100);
    expect(config.limits.connectionsMax).toBe(1000);
    expect(config.limits.fetchWaitMaxMs).toBe(30_000);
    expect(config.limits.requestTimeoutMs).toBe(30_000);
    expect(config.storage).toEqual({
      segmentBytes: 1024 ** 3,
      segmentMs: 7 * 86_400_000,
      indexIntervalBytes: 4096,
      retentionMs: 7 * 86_400_000,
      retentionBytes: -1,
      flushPolicy: 'always',
      flushIntervalMs: 1000,
      preallocateBytes: 1024 * 1024,
      followerDirectWrites: true,
      readBufferPoolBytes: 64 * 1024 * 1024,
      retentionCheckIntervalMs: 300_000,
      cleanupPolicy: 'delete',
      deleteRetentionMs: 86_400_000,
      minCleanableDirtyRatio: 0.5,
      minCompactionLagMs: 0,
      cleanerIntervalMs: 15_000,
      cleanerKeysMax: 1_000_000,
      cleanerIoBytesPerSec: -1,
    });
    expect(config.shutdown.timeoutMs).toBe(30_000);
    expect(config.resilience.circuitBreaker).toEqual({
      failureThreshold: 5,
      successThreshold: 2,
      timeoutMs: 30_000,
      maxRequestsHalfOpen: 3,
    });
    expect(config.resilience.timeouts).toMatchObject({
      proposalMs: 5000,
      healthCheckMs: 2000,
      rebalanceMs: 30_000,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 3000,
      leaderElectionMs: 10_000,
      snapshotMs: 60_000,
    });
    expect(config.health.http).toEqual({ enabled: true, port: 8080, bindAddress: '0.0.0.0' });
    expect(config.metrics).toEqual({ enabled: true, port: null, path: '/metrics' });
    expect(config.logging).toEqual({ level: 'info', format: 'json', output: 'stdout' });
    expect(config.tracing.enabled).toBe(false);
  });

  it('is frozen all the way down', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.resilience.timeouts)).toBe(true);
  });

  it('reads every schema key into BrokerConfig exactly once', () => {
    const values = new Map<string, ConfigValue>(CONFIG_SCHEMA.map((s) => [s.key, s.default]));
    const read = new Set<string>();
    buildBrokerConfig(readerOf(values, read));
    expect([...read].sort()).toEqual(CONFIG_SCHEMA.map((s) => s.key).sort());
  });

  it('names every field by the documented camelCase rule (durations gain Ms)', () => {
    const config = loadConfig({ env: {} }) as unknown as Record<string, unknown>;
    for (const spec of CONFIG_SCHEMA) {
      const parts = spec.key.split('.').map((p) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
      const last = parts.length - 1;
      if (spec.kind.type === 'duration' && !parts[last]?.endsWith('Ms')) parts[last] = `${parts[last]}Ms`;
      let node: unknown = config;
      for (const part of parts) node = (node as Record<string, unknown>)[part];
      expect(node, spec.key).toEqual(spec.default);
    }
  });
});

describe('loadConfig layering', () => {
  const yamlText = [
    'config_version: 1',
    'broker:',
    '  listen: "127.0.0.1:9100"',
    '  data_dir: /var/lib/streambus',
    'storage:',
    '  flush_policy: interval',
    '  segment_bytes: 512MiB',
    'resilience:',
    '  timeouts:',
    '    proposal: 7s',
  ].join('\n');

  it('file overrides defaults, env overrides file, overrides override env', () => {
    const loaded = loadConfigDetailed({
      yamlText,
      env: { STREAMBUS_STORAGE_FLUSH_POLICY: 'never', STREAMBUS_BROKER_LISTEN: '127.0.0.1:9200' },
      overrides: { 'broker.listen': '127.0.0.1:9300' },
    });
    const { config } = loaded;
    expect(config.broker.dataDir).toBe('/var/lib/streambus');
    expect(config.storage.segmentBytes).toBe(512 * 1024 * 1024);
    expect(config.resilience.timeouts.proposalMs).toBe(7000);
    expect(config.storage.flushPolicy).toBe('never');
    expect(config.broker.listen).toBe('127.0.0.1:9300');
    expect(loaded.sources.get('broker.data_dir')).toBe('file');
    expect(loaded.sources.get('storage.flush_policy')).toBe('env');
    expect(loaded.sources.get('broker.listen')).toBe('override');
    expect(loaded.sources.get('limits.connections_max')).toBe('default');
  });

  it('reads a YAML file from disk', () => {
    const dir = scratchDir('streambus-config-');
    const file = join(dir, 'streambus.yaml');
    writeFileSync(file, yamlText);
    expect(loadConfig({ file, env: {} }).storage.flushPolicy).toBe('interval');
  });

  it('accepts nested overrides and skips undefined ones (unset CLI flags)', () => {
    const config = loadConfig({
      env: {},
      overrides: { broker: { data_dir: '/tmp/x' }, 'health.http.port': undefined },
    });
    expect(config.broker.dataDir).toBe('/tmp/x');
    expect(config.health.http.port).toBe(8080);
  });

  it('maps env vars through the schema, including keys with underscores and the log level alias', () => {
    const config = loadConfig({
      env: {
        STREAMBUS_LIMITS_IN_FLIGHT_REQUESTS_PER_CONNECTION_MAX: '7',
        STREAMBUS_HEALTH_HTTP_BIND_ADDRESS: '127.0.0.1',
        STREAMBUS_LOG_LEVEL: 'debug',
        STREAMBUS_METRICS_ENABLED: 'false',
        STREAMBUS_RESILIENCE_TIMEOUTS_HEARTBEAT_INTERVAL: '250ms',
      },
    });
    expect(config.limits.inFlightRequestsPerConnectionMax).toBe(7);
    expect(config.health.http.bindAddress).toBe('127.0.0.1');
    expect(config.logging.level).toBe('debug');
    expect(config.metrics.enabled).toBe(false);
    expect(config.resilience.timeouts.heartbeatIntervalMs).toBe(250);
  });

  it('gives every key a distinct env name', () => {
    const names = CONFIG_SCHEMA.map((s) => envNameOf(s.key));
    expect(new Set(names).size).toBe(names.length);
    for (const spec of CONFIG_SCHEMA) expect(ENV_TO_KEY.get(envNameOf(spec.key))).toBe(spec.key);
  });

  it('warns about unknown STREAMBUS_* env vars instead of failing, but not about the client bootstrap', () => {
    const warnings: string[] = [];
    loadConfig({
      env: { STREAMBUS_STORAGE_FLUSH_POLICI: 'always', STREAMBUS_BOOTSTRAP: 'x:1', PATH: '/bin' },
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings).toEqual([
      'ignoring unknown env var STREAMBUS_STORAGE_FLUSH_POLICI (did you mean STREAMBUS_STORAGE_FLUSH_POLICY?)',
    ]);
  });

  it('treats an empty env var as unset, nullable keys too: not a source, and the file value holds', () => {
    const loaded = loadConfigDetailed({
      env: { STREAMBUS_BROKER_LISTEN: '', STREAMBUS_BROKER_RACK: '', STREAMBUS_METRICS_PORT: '' },
      yamlText: 'metrics:\n  port: 9464\n',
    });
    expect(loaded.config.broker.listen).toBe('0.0.0.0:9092');
    expect(loaded.config.broker.rack).toBeNull();
    expect(loaded.sources.get('broker.rack')).toBe('default');
    expect(loaded.sources.get('broker.listen')).toBe('default');
    expect(loaded.values.get('metrics.port')).toBe(9464);
    expect(loaded.sources.get('metrics.port')).toBe('file');
  });
});

describe('loadConfig validation', () => {
  it('names the bad key and the expected form', () => {
    expect(
      configError(() => loadConfig({ env: {}, yamlText: 'storage:\n  flush_policy: sometimes\n' })),
    ).toBe("storage.flush_policy: expected one of always, interval, never, got 'sometimes'");
    expect(configError(() => loadConfig({ env: {}, yamlText: 'storage:\n  segment_ms: soon\n' }))).toMatch(
      /^storage\.segment_ms: expected an integer of milliseconds or a duration like '500ms'.*got 'soon'$/,
    );
    expect(configError(() => loadConfig({ env: {}, yamlText: 'broker:\n  listen: 9092\n' }))).toMatch(
      /^broker\.listen: expected host:port/,
    );
    expect(configError(() => loadConfig({ env: {}, yamlText: 'limits:\n  connections_max: 0\n' }))).toBe(
      'limits.connections_max: expected an integer from 1 to 1000000, got 0',
    );
  });

  it('says which env var carried a bad value', () => {
    expect(configError(() => loadConfig({ env: { STREAMBUS_HEALTH_HTTP_PORT: 'eighty' } }))).toBe(
      "health.http.port: expected a port number from 0 to 65535, got 'eighty' [from env STREAMBUS_HEALTH_HTTP_PORT]",
    );
  });

  it('rejects unknown keys with a did-you-mean', () => {
    expect(configError(() => loadConfig({ env: {}, yamlText: 'storage:\n  flush_polcy: always\n' }))).toBe(
      'storage.flush_polcy: unknown key (did you mean storage.flush_policy?)',
    );
    expect(configError(() => loadConfig({ env: {}, yamlText: 'broker:\n  flush_policy: always\n' }))).toBe(
      'broker.flush_policy: unknown key (did you mean storage.flush_policy?)',
    );
    expect(configError(() => loadConfig({ env: {}, yamlText: 'zzz: 1\n' }))).toBe('zzz: unknown key');
  });

  it('reports every problem at once', () => {
    const message = configError(() =>
      loadConfig({ env: {}, yamlText: 'storage:\n  flush_policy: x\nlimits:\n  connections_max: -3\n' }),
    );
    expect(message).toContain('storage.flush_policy');
    expect(message).toContain('limits.connections_max');
  });

  it('rejects a value where a section belongs and a section where a value belongs', () => {
    expect(configError(() => loadConfig({ env: {}, yamlText: 'storage: 5\n' }))).toBe(
      'storage: expected a mapping of keys, got 5',
    );
    expect(configError(() => loadConfig({ env: {}, yamlText: 'broker:\n  id:\n    a: 1\n' }))).toBe(
      'broker.id: expected a single value, got a mapping',
    );
  });

  it('refuses a newer config_version and says what to change', () => {
    const message = configError(() => loadConfig({ env: {}, yamlText: 'config_version: 2\nnew_thing: 1\n' }));
    expect(message).toMatch(
      /^config_version: 2 is newer than this broker understands \(1\); upgrade streambus/,
    );
    expect(configError(() => loadConfig({ env: {}, yamlText: 'config_version: zero\n' }))).toMatch(
      /^config_version: unknown version 'zero'/,
    );
    expect(configError(() => loadConfig({ env: { STREAMBUS_CONFIG_VERSION: '3' } }))).toMatch(/newer/);
  });

  it('rejects non-mapping and unparsable documents and missing files', () => {
    expect(configError(() => loadConfig({ env: {}, yamlText: '- a\n- b\n' }))).toMatch(/top level/);
    expect(configError(() => loadConfig({ env: {}, yamlText: 'a: [\n' }))).toMatch(/not valid YAML/);
    expect(configError(() => loadConfig({ env: {}, file: '/nonexistent/streambus.yaml' }))).toMatch(
      /cannot read/,
    );
  });

  it('cross-checks limits against each other', () => {
    expect(
      configError(() =>
        loadConfig({ env: {}, yamlText: 'limits:\n  frame_bytes_max: 1MiB\n  batch_bytes_max: 2MiB\n' }),
      ),
    ).toContain('limits.batch_bytes_max: must be <= limits.frame_bytes_max');
    expect(
      configError(() =>
        loadConfig({
          env: {},
          yamlText: 'resilience:\n  timeouts:\n    heartbeat_interval: 3s\n    heartbeat_timeout: 3s\n',
        }),
      ),
    ).toContain('resilience.timeouts.heartbeat_interval: must be < resilience.timeouts.heartbeat_timeout');
    expect(
      configError(() =>
        loadConfig({ env: {}, yamlText: 'resilience:\n  circuit_breaker:\n    success_threshold: 4\n' }),
      ),
    ).toContain('must be <= resilience.circuit_breaker.max_requests_half_open');
    expect(configError(() => loadConfig({ env: {}, overrides: { 'health.http.port': 9092 } }))).toContain(
      "health.http.port: 9092 is already broker.listen's port",
    );
  });

  it('takes storage.cleaner_io_bytes_per_sec as a size of at least 1MiB, or -1 for no cap', () => {
    const io = (v: string) =>
      loadConfig({ env: {}, yamlText: `storage:\n  cleaner_io_bytes_per_sec: ${v}\n` }).storage
        .cleanerIoBytesPerSec;
    expect(io('20MiB')).toBe(20 * 1024 * 1024);
    expect(io('-1')).toBe(-1);
    expect(configError(() => io('64KiB'))).toMatch(/^storage\.cleaner_io_bytes_per_sec: /);
  });

  it('takes quotas.request_percentage as a percentage from 0.01 to 100, or -1 for no limit', () => {
    const pct = (v: string) =>
      loadConfig({ env: {}, yamlText: `quotas:\n  request_percentage: ${v}\n` }).quotas.requestPercentage;
    expect(loadConfig({ env: {} }).quotas.requestPercentage).toBe(-1);
    expect(pct('2.5')).toBe(2.5);
    expect(pct('-1')).toBe(-1);
    for (const bad of ['0', '101', '-2']) {
      expect(configError(() => pct(bad))).toMatch(/^quotas\.request_percentage: .*from 0\.01 to 100/);
    }
    expect(configError(() => pct('lots'))).toMatch(/or -1 for no limit/);
  });

  it('accepts -1 as unlimited only where documented', () => {
    expect(loadConfig({ env: {}, yamlText: 'storage:\n  retention_ms: -1\n' }).storage.retentionMs).toBe(-1);
    expect(configError(() => loadConfig({ env: {}, yamlText: 'storage:\n  segment_ms: -1\n' }))).toMatch(
      /^storage\.segment_ms/,
    );
  });
});

describe('ops listeners', () => {
  it('share one listener on 8080 by default', () => {
    expect(opsListeners(loadConfig({ env: {} }))).toEqual([
      { host: '0.0.0.0', port: 8080, health: true, metrics: true, portKey: 'health.http.port' },
    ]);
  });

  it('split when metrics.port differs', () => {
    expect(opsListeners(loadConfig({ env: {}, overrides: { 'metrics.port': 9090 } }))).toEqual([
      { host: '0.0.0.0', port: 8080, health: true, metrics: false, portKey: 'health.http.port' },
      { host: '0.0.0.0', port: 9090, health: false, metrics: true, portKey: 'metrics.port' },
    ]);
  });

  it('keep metrics listening when health HTTP is off, and nothing when both are off', () => {
    expect(opsListeners(loadConfig({ env: {}, overrides: { 'health.http.enabled': false } }))).toEqual([
      { host: '0.0.0.0', port: 8080, health: false, metrics: true, portKey: 'health.http.port' },
    ]);
    const off = loadConfig({
      env: {},
      overrides: { 'health.http.enabled': false, 'metrics.enabled': 'false' },
    });
    expect(opsListeners(off)).toEqual([]);
  });
});

describe('renderEffectiveConfig', () => {
  it('prints YAML that loads back to the same config', () => {
    const loaded = loadConfigDetailed({ env: {}, overrides: { 'storage.flush_policy': 'interval' } });
    const text = renderEffectiveConfig(loaded.values);
    expect(text).toContain('segment_bytes: 1GiB');
    expect(loadConfig({ env: {}, yamlText: text })).toEqual(loaded.config);
  });
});

describe('broker flags', () => {
  it('turn --data-dir, --listen and --http-listen into the top layer', () => {
    const overrides = brokerFlagOverrides({
      dataDir: '/d',
      listen: '127.0.0.1:9999',
      httpListen: '127.0.0.1:8181',
    });
    const config = loadConfig({ env: { STREAMBUS_BROKER_DATA_DIR: '/env' }, overrides });
    expect(config.broker.dataDir).toBe('/d');
    expect(config.broker.listen).toBe('127.0.0.1:9999');
    expect(config.health.http).toMatchObject({ bindAddress: '127.0.0.1', port: 8181 });
    expect(brokerFlagOverrides({})).toEqual({});
    expect(() => brokerFlagOverrides({ httpListen: '8080' })).toThrow(/--http-listen: expected host:port/);
  });

  it('turn --broker-id, --voters and --peer-listen into cluster mode', () => {
    const overrides = brokerFlagOverrides({
      brokerId: '2',
      voters: '1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095',
      peerListen: '127.0.0.1:9094',
    });
    const config = loadConfig({ env: {}, overrides });
    expect(config.broker.id).toBe(2);
    expect(config.cluster.enabled).toBe(true);
    expect(config.cluster.voters?.map((v) => v.id)).toEqual([1, 2, 3]);
    expect(config.cluster.peerListen).toBe('127.0.0.1:9094');
    expect(() => loadConfig({ env: {}, overrides: brokerFlagOverrides({ brokerId: 'two' }) })).toThrow(
      /broker\.id/,
    );
  });

  it('take --node-id as an alias of --broker-id and refuse the two when they disagree', () => {
    expect(brokerFlagOverrides({ nodeId: '3' })).toEqual({ 'broker.id': '3' });
    expect(loadConfig({ env: {}, overrides: brokerFlagOverrides({ nodeId: '3' }) }).broker.id).toBe(3);
    expect(brokerFlagOverrides({ nodeId: '3', brokerId: '3' })).toEqual({ 'broker.id': '3' });
    expect(() => brokerFlagOverrides({ nodeId: '3', brokerId: '4' })).toThrow(
      /--node-id 3 and --broker-id 4/,
    );
  });

  it('advertise a concrete host when listening on a wildcard', () => {
    expect(advertisedListen(loadConfig({ env: {} }))).toEqual({ host: '127.0.0.1', port: 9092 });
    const config = loadConfig({
      env: {},
      overrides: { 'broker.advertised_listen': 'broker-1.internal:9092' },
    });
    expect(advertisedListen(config)).toEqual({ host: 'broker-1.internal', port: 9092 });
  });
});
