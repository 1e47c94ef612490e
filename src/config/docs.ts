import { CONFIG_SCHEMA, type ConfigValue, envNameOf, type KeySpec } from './schema.js';
import { formatDurationMs, formatSizeBytes } from './units.js';

/** Renders docs/config.md from the schema. test/config/docs.test.ts keeps the file in step. */
export function renderConfigDocs(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts. Do not edit by hand: run',
    '     `UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts` to regenerate. -->',
    '',
    '`streambus broker` runs with no config at all: a single node listening on 0.0.0.0:9092, data in',
    '`./data`, health and metrics on http://0.0.0.0:8080. Every limit and timeout below has a default.',
    '',
    '## Sources and precedence',
    '',
    'Lowest to highest: built-in defaults, the YAML file (`--config FILE`), `STREAMBUS_*` environment',
    'variables, command-line flags (`--data-dir`, `--listen`, `--http-listen`).',
    '',
    '- **Env names** are the key upper-cased with dots turned into underscores and `STREAMBUS_` in front:',
    '  `storage.flush_policy` is `STREAMBUS_STORAGE_FLUSH_POLICY`. Keys contain underscores too, so env',
    '  names are matched against the table below rather than split; no two keys share an env name (a test',
    '  checks it). `STREAMBUS_LOG_LEVEL` is accepted as an alias of `STREAMBUS_LOGGING_LEVEL`. An empty',
    '  variable counts as unset. Unknown `STREAMBUS_*` variables are reported as a warning and ignored',
    '  (`STREAMBUS_BOOTSTRAP` belongs to the CLI client).',
    '- **Secrets** (the table says "secret"; today `tracing.otlp_headers`) come from the environment, never',
    '  required in the file: `STREAMBUS_<KEY>`, or `STREAMBUS_<KEY>_FILE` naming a file that holds the value',
    '  (trimmed; a Kubernetes or Docker secret mount). Setting both, or naming a file that cannot be read,',
    '  stops the broker with `INVALID_CONFIG`. A secret written in the YAML file still works, but',
    '  `config validate` and the broker warn. `config print` shows secrets as `******`; validation messages',
    '  never echo them and log lines redact them.',
    '- **`config_version`**: this broker reads version 1. A file without it is read as version 1; a newer',
    '  or unknown version stops the broker at start with a message saying what to change.',
    '- **Validation** happens at start: an unknown key (with a did-you-mean), a value of the wrong form or',
    '  limits that contradict each other stop the broker with `INVALID_CONFIG` naming the key and the',
    "  expected form, e.g. `storage.flush_policy: expected one of always, interval, never, got 'sometimes'`.",
    '  So do a listener that cannot bind (`broker.listen`, `health.http.port`, `metrics.port`: the port is',
    '  taken or the address is not on this host) and a `broker.data_dir` that cannot be a folder (a file, or',
    '  under one) or cannot be written, e.g. `health.http.port 8080 (health.http.bind_address 0.0.0.0): listen',
    '  EADDRINUSE: address already in use 0.0.0.0:8080`.',
    '',
    '## Value forms',
    '',
    '- **Durations**: an integer of milliseconds or `500ms`, `5s`, `2m`, `1h`, `7d` (`1.5s` is 1500 ms).',
    '- **Sizes**: an integer of bytes or `64KiB`, `512MiB`, `1GiB`, `1TiB` (binary units only).',
    '- `-1` means "no limit" where the table says so.',
    '- In code (`loadConfig()` returns a frozen `BrokerConfig`) keys are camelCase, durations are',
    '  milliseconds with an `Ms` suffix and sizes are bytes: `resilience.timeouts.proposal` is',
    '  `config.resilience.timeouts.proposalMs`, `storage.flush_policy` is `config.storage.flushPolicy`.',
    '',
    '## Ports: health and metrics',
    '',
    'Health endpoints (`/health/live`, `/health/ready`, `/health/raft`, `/health`) and `/metrics` share one',
    'HTTP listener, `health.http.bind_address:health.http.port` (default `0.0.0.0:8080`). The hardening',
    'spec shows metrics on 9090: set `metrics.port: 9090` to give `/metrics` its own listener (same bind',
    'address). `--http-listen HOST:PORT` sets the health listener.',
    '',
    '## Timeouts',
    '',
    "The spec's `Timeouts` struct maps to `resilience.timeouts.*`. Heartbeats follow issue 4 (500 ms interval,",
    "3 s timeout) rather than the spec example's 10 s / 30 s, so a failed broker is noticed in seconds.",
    'Request, connect and shutdown timeouts are `limits.request_timeout_ms`, `resilience.timeouts.connect`',
    'and `shutdown.timeout_ms`. A request gets one deadline when it arrives (the request timeout plus what',
    'the api may wait, shortened by the timeout the client put in the request) and carries it through every',
    'hop: a forwarded metadata write takes the time left, never a fresh budget. At the deadline the waits end',
    '(a write already in the log stays; its outcome is unknown to the client, as in Kafka).',
    '',
    '## Keys',
    '',
    '| Key | Form | Default | Env | Description |',
    '| --- | --- | --- | --- | --- |',
    ...CONFIG_SCHEMA.map(
      (spec) =>
        `| \`${spec.key}\` | ${formOf(spec)} | ${defaultOf(spec)} | ${envCell(spec)} | ${escapeCell(spec.doc)} |`,
    ),
    '',
    '## Example',
    '',
    '```yaml',
    'config_version: 1',
    'broker:',
    '  id: 1',
    '  listen: "0.0.0.0:9092"',
    '  data_dir: /var/lib/streambus',
    'storage:',
    '  flush_policy: always',
    '  retention_ms: 7d',
    'resilience:',
    '  circuit_breaker:',
    '    failure_threshold: 5',
    '    success_threshold: 2',
    '    timeout: 30s',
    '    max_requests_half_open: 3',
    '  timeouts:',
    '    proposal: 5s',
    '    health_check: 2s',
    'health:',
    '  check_interval: 5s',
    '  http:',
    '    enabled: true',
    '    port: 8080',
    '    bind_address: "0.0.0.0"',
    'metrics:',
    '  enabled: true',
    '  path: "/metrics"',
    'logging:',
    '  level: info',
    '  format: json',
    '  output: stdout',
    '```',
    '',
  ];
  return lines.join('\n');
}

function formOf(spec: KeySpec): string {
  const kind = spec.kind;
  const unlimited = 'unlimited' in kind && kind.unlimited === true ? ' or -1' : '';
  const nullable = spec.nullable === true ? ' or unset' : '';
  switch (kind.type) {
    case 'enum':
      return kind.values.map((v) => `\`${v}\``).join(' \\| ');
    case 'hostport':
      return `host:port${nullable}`;
    default:
      return `${kind.type}${unlimited}${nullable}`;
  }
}

export function formatValue(spec: KeySpec, value: ConfigValue): string {
  if (value === null) return 'unset';
  if (spec.kind.type === 'duration' && typeof value === 'number') return formatDurationMs(value);
  if (spec.kind.type === 'size' && typeof value === 'number') return formatSizeBytes(value);
  return String(value);
}

function defaultOf(spec: KeySpec): string {
  return spec.default === null ? 'unset' : `\`${formatValue(spec, spec.default)}\``;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** A secret can also come from a file: `<ENV_NAME>_FILE` names it. */
function envCell(spec: KeySpec): string {
  const env = envNameOf(spec.key);
  return spec.secret === true ? `\`${env}\` or \`${env}_FILE\` (secret)` : `\`${env}\``;
}
