/**
 * The config schema: one row per key, in the order `docs/config.md` lists them. The table is the single
 * source of truth for defaults, validation, env var names and the reference docs. Add a key here and in
 * `BrokerConfig` (types.ts); test/config checks that the two agree and that docs/config.md is current.
 */

export type ConfigValue = number | boolean | string | null;

export type ValueKind =
  | { readonly type: 'int'; readonly min?: number; readonly max?: number }
  | { readonly type: 'number'; readonly min?: number; readonly max?: number }
  | { readonly type: 'bool' }
  | { readonly type: 'string'; readonly pattern?: RegExp; readonly form?: string }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  /** Milliseconds; `unlimited` allows -1 to mean "no limit". */
  | { readonly type: 'duration'; readonly min?: number; readonly max?: number; readonly unlimited?: boolean }
  /** Bytes; `unlimited` allows -1 to mean "no limit". */
  | { readonly type: 'size'; readonly min?: number; readonly max?: number; readonly unlimited?: boolean }
  | { readonly type: 'hostport' }
  | { readonly type: 'port' };

export interface KeySpec {
  /** Dotted snake_case path as written in YAML: `storage.flush_policy`. */
  readonly key: string;
  readonly kind: ValueKind;
  readonly default: ConfigValue;
  /** `null` is a legal value (meaning "unset"; the doc says what unset does). */
  readonly nullable?: boolean;
  /** Masked by `config print`; should come from env or a file, never be required in the config file. */
  readonly secret?: boolean;
  /** Extra env var names accepted besides the derived `STREAMBUS_<KEY>`. */
  readonly envAliases?: readonly string[];
  readonly doc: string;
}

/** The config format version this broker writes and reads. */
export const CONFIG_VERSION_CURRENT = 1;

/** `name=value[,name=value...]`: names without `=`, `,` or spaces; values without `,`. */
export const HEADER_LIST = /^\s*[^=,\s]+\s*=[^,]*(,\s*[^=,\s]+\s*=[^,]*)*$/;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DAY_MS = 86_400_000;

export const CONFIG_SCHEMA: readonly KeySpec[] = [
  {
    key: 'config_version',
    kind: { type: 'int', min: 1 },
    default: CONFIG_VERSION_CURRENT,
    doc: 'Config format version. This broker reads version 1; a newer or unknown version fails at start.',
  },

  // broker
  {
    key: 'broker.id',
    kind: { type: 'int', min: 1, max: 2 ** 31 - 1 },
    default: 1,
    doc: 'This broker\'s id, unique in the cluster; also its Raft node id (0 means "none" in Raft).',
  },
  {
    key: 'broker.listen',
    kind: { type: 'hostport' },
    default: '0.0.0.0:9092',
    doc: 'Client listener, host:port. Port 0 picks a free port (tests).',
  },
  {
    key: 'broker.advertised_listen',
    kind: { type: 'hostport' },
    default: null,
    nullable: true,
    doc: 'host:port clients are told to connect to. Unset: `broker.listen`, with 0.0.0.0 replaced by 127.0.0.1.',
  },
  {
    key: 'broker.data_dir',
    kind: { type: 'string', pattern: /\S/, form: 'a non-empty path' },
    default: './data',
    doc: 'Directory for partition logs and broker state; created if missing.',
  },
  {
    key: 'broker.rack',
    kind: { type: 'string', pattern: /\S/, form: 'a non-empty rack name' },
    default: null,
    nullable: true,
    doc: 'Rack or zone label used by rack-aware replica placement. Unset: no rack.',
  },

  // limits
  {
    key: 'limits.frame_bytes_max',
    kind: { type: 'size', min: 1024, max: 2 ** 31 - 1 },
    default: 64 * MiB,
    doc: 'Largest request frame accepted; a larger declared length closes the connection before allocation.',
  },
  {
    key: 'limits.batch_bytes_max',
    kind: { type: 'size', min: 64 },
    default: MiB + 12,
    doc: "Largest record batch accepted by produce (Kafka's message.max.bytes). Must be <= frame_bytes_max.",
  },
  {
    key: 'limits.fetch_bytes_max',
    kind: { type: 'size', min: 1024 },
    default: 50 * MiB,
    doc: 'Upper bound on the bytes one fetch response may carry, whatever the client asks (at least one batch).',
  },
  {
    key: 'limits.in_flight_requests_per_connection_max',
    kind: { type: 'int', min: 1, max: 100_000 },
    default: 100,
    doc: 'Pipelined requests one connection may have in flight; more are refused with TOO_MANY_REQUESTS_IN_FLIGHT.',
  },
  {
    key: 'limits.connections_max',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: 1000,
    doc: 'Client connections open at once; more are closed at once (the client backs off and retries).',
  },
  {
    key: 'limits.fetch_wait_max_ms',
    kind: { type: 'duration', min: 0 },
    default: 30_000,
    doc: 'Longest a fetch long poll may wait for data, whatever the client asks.',
  },
  {
    key: 'limits.request_timeout_ms',
    kind: { type: 'duration', min: 1 },
    default: 30_000,
    doc: "Longest the broker works on one request (acks=all waits included) before answering REQUEST_TIMED_OUT; a client's own shorter timeout in the request (Produce, CreateTopics, DeleteTopics timeoutMs) wins. The deadline travels with the work: replication and group-commit waits, metadata proposals (forwarded with the time left) and long polls end at it.",
  },
  {
    key: 'limits.connection_idle_timeout_ms',
    kind: { type: 'duration', min: 0 },
    default: 540_000,
    doc: "Close client connections idle this long (Kafka's connections.max.idle.ms). 0 disables.",
  },

  // storage
  {
    key: 'storage.segment_bytes',
    kind: { type: 'size', min: 1024 },
    default: GiB,
    doc: 'Roll to a new segment file once the active one reaches this size.',
  },
  {
    key: 'storage.segment_ms',
    kind: { type: 'duration', min: 1 },
    default: 7 * DAY_MS,
    doc: 'Roll to a new segment once the active one is this old (by its first batch).',
  },
  {
    key: 'storage.index_interval_bytes',
    kind: { type: 'size', min: 1 },
    default: 4096,
    doc: 'Add a sparse offset/time index entry every this many bytes of log.',
  },
  {
    key: 'storage.retention_ms',
    kind: { type: 'duration', min: 1, unlimited: true },
    default: 7 * DAY_MS,
    doc: 'Delete whole segments whose newest record is older than this. -1: keep forever.',
  },
  {
    key: 'storage.retention_bytes',
    kind: { type: 'size', min: 1, unlimited: true },
    default: -1,
    doc: 'Per partition: delete the oldest segments while the log is larger than this. -1: no size limit.',
  },
  {
    key: 'storage.flush_policy',
    kind: { type: 'enum', values: ['always', 'interval', 'never'] },
    default: 'always',
    doc: 'always: fsync before acknowledging (group commit); interval: every flush_interval_ms; never: leave it to the OS.',
  },
  {
    key: 'storage.flush_interval_ms',
    kind: { type: 'duration', min: 1 },
    default: 1000,
    doc: 'fsync period when flush_policy is interval.',
  },
  {
    key: 'storage.read_buffer_pool_bytes',
    kind: { type: 'size', min: 0 },
    default: 64 * MiB,
    doc: 'Idle memory kept for reuse by fetch reads of 256 KiB or more (each borrows a buffer until its answer is written; reuse spares the garbage collector). 0: a fresh buffer per read.',
  },
  {
    key: 'storage.retention_check_interval_ms',
    kind: { type: 'duration', min: 1 },
    default: 300_000,
    doc: 'How often retention runs.',
  },

  // shutdown
  {
    key: 'shutdown.timeout_ms',
    kind: { type: 'duration', min: 1 },
    default: 30_000,
    doc: 'Budget of the whole shutdown on SIGTERM/SIGINT (drain, leadership handovers, closing Raft and the logs). When it runs out, a warning names the step that was still waiting and the rest is forced (connections cut, handovers skipped, close steps given 1 s more); the process still exits 0.',
  },

  // resilience
  {
    key: 'resilience.circuit_breaker.failure_threshold',
    kind: { type: 'int', min: 1 },
    default: 5,
    doc: 'Consecutive counted failures that open a breaker (invalid_input errors do not count): the metadata breaker, each Raft peer breaker (failed dials) and each health-probe breaker (missed probes).',
  },
  {
    key: 'resilience.circuit_breaker.success_threshold',
    kind: { type: 'int', min: 1 },
    default: 2,
    doc: 'Successes in half-open that close the breaker again. Must be <= max_requests_half_open.',
  },
  {
    key: 'resilience.circuit_breaker.timeout',
    kind: { type: 'duration', min: 1 },
    default: 30_000,
    doc: 'How long an open breaker rejects calls before letting trial requests through (half-open). The metadata breaker only: a Raft peer breaker stays open for the redial backoff cap (1 s) and a health-probe breaker for 3 probe intervals, so neither delays regaining a returning broker.',
  },
  {
    key: 'resilience.circuit_breaker.max_requests_half_open',
    kind: { type: 'int', min: 1 },
    default: 3,
    doc: 'Trial requests allowed at once while half-open; more are rejected with CIRCUIT_OPEN.',
  },
  {
    key: 'resilience.retry.retries_max',
    kind: { type: 'int', min: 0, max: 1000 },
    default: 10,
    doc: 'Retries after the first attempt for retriable errors (metadata proposals, inter-broker RPCs).',
  },
  {
    key: 'resilience.retry.base_delay',
    kind: { type: 'duration', min: 1 },
    default: 50,
    doc: 'First backoff ceiling; doubles each retry, with full jitter.',
  },
  {
    key: 'resilience.retry.max_delay',
    kind: { type: 'duration', min: 1 },
    default: 2000,
    doc: 'Largest backoff ceiling.',
  },
  {
    key: 'resilience.timeouts.proposal',
    kind: { type: 'duration', min: 1 },
    default: 5000,
    doc: 'One attempt of a metadata write (propose, or forward to the leader, until applied; retried per resilience.retry), and one partition or Raft membership proposal. Timeouts count in streambus_timeouts_total (metadata.*, replica.append, group.append).',
  },
  {
    key: 'resilience.timeouts.health_check',
    kind: { type: 'duration', min: 1 },
    default: 2000,
    doc: 'Default timeout of one health check; a check that takes longer is reported unhealthy and counted as health.<check> in streambus_timeouts_total.',
  },
  {
    key: 'resilience.timeouts.rebalance',
    kind: { type: 'duration', min: 1 },
    default: 30_000,
    doc: "The coordinator's writes for one rebalance plan (replica moves or leader changes) before they are abandoned (cluster.rebalance in streambus_timeouts_total); unfinished recorded moves are picked up again on a later check.",
  },
  {
    key: 'resilience.timeouts.heartbeat_interval',
    kind: { type: 'duration', min: 1 },
    default: 500,
    doc: 'Broker heartbeat period to the cluster coordinator (500 ms per issue 4; the spec example says 10s).',
  },
  {
    key: 'resilience.timeouts.heartbeat_timeout',
    kind: { type: 'duration', min: 1 },
    default: 3000,
    doc: 'A broker silent this long is marked failed (3 s per issue 4). Must exceed heartbeat_interval.',
  },
  {
    key: 'resilience.timeouts.leader_election',
    kind: { type: 'duration', min: 1 },
    default: 10_000,
    doc: 'A metadata operation that has known no Raft leader this long, across its retries, fails with LEADER_NOT_AVAILABLE (metadata.leader_election in streambus_timeouts_total). Not the election timeout itself, which is fixed at 10 ticks of 100 ms.',
  },
  {
    key: 'resilience.timeouts.snapshot',
    kind: { type: 'duration', min: 1 },
    default: 60_000,
    doc: 'Taking or installing one Raft snapshot (metadata or partition group) longer than this is logged and counted as raft.snapshot in streambus_timeouts_total; it is not cut short, since it runs inside the ordered persist-and-apply step.',
  },
  {
    key: 'resilience.timeouts.connect',
    kind: { type: 'duration', min: 1 },
    default: 10_000,
    doc: 'Opening a TCP connection to a peer broker.',
  },

  // cluster
  {
    key: 'cluster.enabled',
    kind: { type: 'bool' },
    default: false,
    doc: 'Cluster mode: run the metadata Raft group with `cluster.voters`. Off: a single-node broker.',
  },
  {
    key: 'cluster.peer_listen',
    kind: { type: 'hostport' },
    default: '0.0.0.0:9093',
    doc: 'Inter-broker (Raft) listener, host:port. Used only when cluster.enabled.',
  },
  {
    key: 'cluster.advertised_peer_listen',
    kind: { type: 'hostport' },
    default: null,
    nullable: true,
    doc: 'host:port other brokers reach this one at. Unset: `cluster.peer_listen`, with 0.0.0.0 replaced by 127.0.0.1.',
  },
  {
    key: 'cluster.voters',
    kind: {
      type: 'string',
      pattern: /^\s*\d+@[^\s,@]+:\d{1,5}(\s*,\s*\d+@[^\s,@]+:\d{1,5})*\s*$/,
      form: "a comma-separated list of id@host:port, like '1@10.0.0.1:9093,2@10.0.0.2:9093,3@10.0.0.3:9093'",
    },
    default: null,
    nullable: true,
    doc: 'The metadata quorum: 1, 3 or 5 comma-separated `id@host:port` (broker id and peer address), unique ids. A broker not in the list joins as a non-voter (a learner of the metadata log) through the voters. Required when cluster.enabled.',
  },
  {
    key: 'cluster.rebalance_interval',
    kind: { type: 'duration', min: 100 },
    default: 10_000,
    doc: 'The coordinator checks the replica and leader spread this often; broker joins, failures and drains also trigger a check.',
  },
  {
    key: 'cluster.probe_interval',
    kind: { type: 'duration', min: 50 },
    default: 1000,
    doc: "The coordinator pings every broker's client listener this often (each ping times out after resilience.timeouts.health_check); 3 missed pings in a row mark a broker that still heartbeats as failed (stuck).",
  },
  {
    key: 'cluster.failed_grace',
    kind: { type: 'duration', min: 0 },
    default: 30_000,
    doc: 'How long a failed broker keeps its replicas before the rebalancer moves them to other brokers (a quick restart costs no moves).',
  },
  {
    key: 'cluster.concurrent_moves_max',
    kind: { type: 'int', min: 1, max: 1000 },
    default: 4,
    doc: 'Replica moves in flight at once, cluster-wide.',
  },
  {
    key: 'cluster.imbalance_score_max',
    kind: { type: 'number', min: 0, max: 100 },
    default: 0,
    doc: 'Balancing moves stop once the replica imbalance score (cluster_imbalance_score: 0 is as even as whole numbers allow) is at or below this.',
  },

  // groups
  {
    key: 'groups.offsets_partitions',
    kind: { type: 'int', min: 1, max: 1000 },
    default: 10,
    doc: "Partitions of the internal `__consumer_offsets` topic, created on first use; a group's coordinator is the leader of partition hash(group) mod this. Changing it after the topic exists moves every group (do not).",
  },
  {
    key: 'groups.offsets_replication_factor',
    kind: { type: 'int', min: 1, max: 7 },
    default: 3,
    doc: 'Replication factor of `__consumer_offsets` (capped at the brokers alive when it is created; always 1 on a single-node broker).',
  },
  {
    key: 'groups.offsets_retention',
    kind: { type: 'duration', min: 1000 },
    default: 7 * DAY_MS,
    doc: "Retention of `__consumer_offsets` segments. Each coordinator rewrites its groups' live state (every committed offset and generation) every quarter of this, so retention only ever drops superseded records: this is the topic's compaction. A group nobody coordinates for longer than three quarters of it loses its offsets.",
  },
  {
    key: 'groups.session_timeout_min',
    kind: { type: 'duration', min: 1 },
    default: 1000,
    doc: 'The shortest session timeout a consumer may ask for (JoinGroup answers INVALID_SESSION_TIMEOUT below it).',
  },
  {
    key: 'groups.session_timeout_max',
    kind: { type: 'duration', min: 1 },
    default: 300_000,
    doc: 'The longest session timeout a consumer may ask for.',
  },
  {
    key: 'groups.initial_rebalance_delay',
    kind: { type: 'duration', min: 0 },
    default: 500,
    doc: "An empty group's first rebalance waits this long for more members (each new one extends it, up to the rebalance timeout), so a starting fleet does not rebalance once per member.",
  },
  {
    key: 'groups.max_size',
    kind: { type: 'int', min: 1 },
    default: 1000,
    doc: 'Members one group may have (JoinGroup answers GROUP_MAX_SIZE_REACHED beyond it).',
  },

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

export const SCHEMA_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(
  CONFIG_SCHEMA.map((spec) => [spec.key, spec]),
);

/** Dotted prefixes that are sections (`storage`, `resilience.timeouts`), never values. */
export const SECTIONS: ReadonlySet<string> = new Set(
  CONFIG_SCHEMA.flatMap((spec) => {
    const parts = spec.key.split('.');
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);

/** `storage.flush_policy` -> `STREAMBUS_STORAGE_FLUSH_POLICY`. */
export function envNameOf(key: string): string {
  return `STREAMBUS_${key.replaceAll('.', '_').toUpperCase()}`;
}
