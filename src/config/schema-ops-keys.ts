/**
 * Config keys for operating a broker: health checks, metrics, logging and tracing. Kept apart from
 * schema.ts so each area of the table reads on its own; CONFIG_SCHEMA puts these rows last, in doc order.
 */
import type { KeySpec } from './schema.js';
import { MiB } from './units.js';

/** `name=value[,name=value...]`: names without `=`, `,` or spaces; values without `,`. */
export const HEADER_LIST = /^\s*[^=,\s]+\s*=[^,]*(,\s*[^=,\s]+\s*=[^,]*)*$/;

export const OPS_KEYS: readonly KeySpec[] = [
  // health
  {
    key: 'health.check_interval',
    kind: { type: 'duration', min: 1 },
    default: 5000,
    doc: 'Default period of each health check; endpoints answer from the cached result.',
  },
  {
    key: 'health.disk_free_bytes_min',
    kind: { type: 'size', min: 0 },
    default: 256 * MiB,
    doc: 'The storage check is unhealthy when the data dir has less free space than this.',
  },
  {
    key: 'health.event_loop_block_warn',
    kind: { type: 'duration', min: 0 },
    default: 500,
    doc: 'A block of the event loop at least this long is logged as a warning ("event loop blocked", with blocked_ms): while blocked the broker answers nothing and sends no Raft heartbeats, so a block past an election timeout costs its leaderships. 0: off.',
  },
  {
    key: 'health.slow_fsync_warn',
    kind: { type: 'duration', min: 0 },
    default: 1000,
    doc: 'A data fsync that takes at least this long is logged as a warning ("slow fsync", with fsync_ms; at most once per 10 s, counting those left out): a slow disk holds back every acks=all write and, past an election timeout, the broker\'s leaderships. 0: off.',
  },
  {
    key: 'health.http.enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Serve /health/live, /health/ready, /health/raft and /health over HTTP.',
  },
  {
    key: 'health.http.port',
    kind: { type: 'port' },
    default: 8080,
    doc: 'HTTP port for the health endpoints (and /metrics unless metrics.port is set).',
  },
  {
    key: 'health.http.bind_address',
    kind: { type: 'string', pattern: /^\S+$/, form: 'a host or IP address' },
    default: '0.0.0.0',
    doc: 'Address the ops HTTP listener(s) bind to.',
  },

  // metrics
  {
    key: 'metrics.enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Collect metrics and serve them in Prometheus text format.',
  },
  {
    key: 'metrics.port',
    kind: { type: 'port' },
    default: null,
    nullable: true,
    doc: 'Unset (default): /metrics shares the health listener (8080). Set (e.g. 9090) to serve it on its own port.',
  },
  {
    key: 'metrics.path',
    kind: { type: 'string', pattern: /^\/\S*$/, form: "a path starting with '/'" },
    default: '/metrics',
    doc: 'HTTP path of the Prometheus endpoint.',
  },

  // logging
  {
    key: 'logging.level',
    kind: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
    default: 'info',
    envAliases: ['STREAMBUS_LOG_LEVEL'],
    doc: 'Lowest level written. Also settable with STREAMBUS_LOG_LEVEL.',
  },
  {
    key: 'logging.format',
    kind: { type: 'enum', values: ['json', 'console'] },
    default: 'json',
    doc: 'json: one JSON object per line (production); console: pretty, coloured lines (development).',
  },
  {
    key: 'logging.output',
    kind: { type: 'string', pattern: /\S/, form: "'stdout', 'stderr' or a file path" },
    default: 'stdout',
    doc: "'stdout', 'stderr' or a file path (appended to).",
  },

  // tracing
  {
    key: 'tracing.enabled',
    kind: { type: 'bool' },
    default: false,
    doc: 'OpenTelemetry tracing. Off: spans cost nothing (no-op tracer).',
  },
  {
    key: 'tracing.exporter',
    kind: { type: 'enum', values: ['none', 'console', 'otlp'] },
    default: 'otlp',
    doc: 'none: spans are created but not exported; console: printed to stdout; otlp: OTLP over HTTP to endpoint.',
  },
  {
    key: 'tracing.endpoint',
    kind: { type: 'string', pattern: /^https?:\/\/\S+$/, form: 'an http(s) URL' },
    default: 'http://localhost:4318/v1/traces',
    doc: 'OTLP/HTTP traces endpoint.',
  },
  {
    key: 'tracing.otlp_headers',
    kind: { type: 'string', pattern: HEADER_LIST, form: 'name=value[,name=value...]' },
    default: null,
    nullable: true,
    secret: true,
    doc: 'Headers sent with every OTLP export, `name=value[,name=value]` (the OTEL_EXPORTER_OTLP_HEADERS form), e.g. `x-api-key=...` for a hosted collector. Secret: set it with `STREAMBUS_TRACING_OTLP_HEADERS` or a file named by `STREAMBUS_TRACING_OTLP_HEADERS_FILE`; `config print` masks it.',
  },
  {
    key: 'tracing.sampling_ratio',
    kind: { type: 'number', min: 0, max: 1 },
    default: 1,
    doc: 'Fraction of root traces sampled (parent-based: children follow their parent).',
  },
];
