/**
 * Config keys of one broker on its own: identity and listeners, request limits, storage and shutdown. Kept
 * apart from schema.ts so each area of the table reads on its own; CONFIG_SCHEMA puts these rows first,
 * after config_version, in the order docs/config.md lists them.
 */
import type { KeySpec } from './schema.js';
import { DAY_MS, GiB, MiB } from './units.js';

export const NODE_KEYS: readonly KeySpec[] = [
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
    doc: 'Rack or zone label used by rack-aware replica placement and by fetch from followers: a consumer whose clientRack matches reads from this broker when it holds an in-sync replica (docs/replication.md). Unset: no rack.',
  },
  {
    key: 'broker.tls.enabled',
    kind: { type: 'bool' },
    default: false,
    doc: 'Serve the client listener over TLS (certificate and key from `broker.tls.cert_file` and `broker.tls.key_file`). The peer listener (Raft between brokers) is TLS only with `cluster.peer_tls`; without it, keep it on a private network.',
  },
  {
    key: 'broker.tls.cert_file',
    kind: { type: 'string', pattern: /\S/, form: 'a path to a PEM file' },
    default: null,
    nullable: true,
    doc: 'PEM certificate (chain) of the client listener; its names (SAN) must cover the address clients dial (`broker.advertised_listen`).',
  },
  {
    key: 'broker.tls.key_file',
    kind: { type: 'string', pattern: /\S/, form: 'a path to a PEM file' },
    default: null,
    nullable: true,
    doc: 'PEM private key of `broker.tls.cert_file`.',
  },
  {
    key: 'broker.tls.ca_file',
    kind: { type: 'string', pattern: /\S/, form: 'a path to a PEM file' },
    default: null,
    nullable: true,
    doc: "PEM CA certificates trusted for client certificates (`client_auth: required`), for this broker's health probes of the other brokers' client listeners, and for peers (`cluster.peer_tls`). Unset: Node's bundled CAs.",
  },
  {
    key: 'broker.tls.reload_interval',
    kind: { type: 'duration', min: 0 },
    default: 60_000,
    doc: 'How often the certificate, key and CA files (`broker.tls.*`) are checked for a change (a renewed certificate, a rotated Kubernetes secret); changed files that load are used for new connections, on the client listener and on the peer link (`cluster.peer_tls`, connections accepted and dialed), while open connections keep theirs; files that do not load are logged and the current ones kept. 0: never (a renewal then takes a restart).',
  },
  {
    key: 'broker.tls.client_auth',
    kind: { type: 'enum', values: ['none', 'required'] },
    default: 'none',
    doc: '`required`: a client must present a certificate signed by a CA of `broker.tls.ca_file` (mutual TLS); the broker presents its own certificate when it probes other brokers.',
  },

  // limits
  {
    key: 'limits.frame_bytes_max',
    kind: { type: 'size', min: 1024, max: 2 ** 31 - 1 },
    default: 64 * MiB,
    doc: "Largest request frame accepted. A larger one is refused unread: its correlation id is answered FRAME_TOO_LARGE (naming this limit, which the producer then keeps to) and the connection closed; nothing is allocated for it. Also sets what one compressed batch's records may decompress to: the larger of 100 MiB and this limit (a compressed batch may carry what an uncompressed one could). A produced batch over it (a decompression bomb; gzip, which declares no size, is inflated off the event loop to tell) is refused with BATCH_TOO_LARGE and not stored. SDK consumers refuse batches over their `decompressedBytesMax` (100 MiB by default): raise it with this limit.",
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
    doc: "Longest the broker works on one request (acks=all waits included) before answering REQUEST_TIMED_OUT; a client's own shorter timeout in the request (Produce, CreateTopics, DeleteTopics, CreatePartitions timeoutMs) wins. The deadline travels with the work: replication and group-commit waits, metadata proposals (forwarded with the time left) and long polls end at it.",
  },
  {
    key: 'limits.connection_idle_timeout_ms',
    kind: { type: 'duration', min: 0 },
    default: 540_000,
    doc: "Close client connections idle this long (Kafka's connections.max.idle.ms). 0 disables.",
  },

  // quotas
  {
    key: 'quotas.producer_byte_rate',
    kind: { type: 'size', min: 1, unlimited: true },
    default: -1,
    doc: "Bytes per second one client id may produce to this broker (record batches as sent; Kafka's producer_byte_rate, per broker as Kafka's). Over it the client is slowed, not refused: the answer goes out, then its connection is not read for as long as the excess would take at the quota (measured over 11 one-second windows; at most 11 s), so nothing is lost. -1: unlimited. Metrics streambus_quota_throttled_requests_total / streambus_quota_throttle_seconds_total.",
  },
  {
    key: 'quotas.consumer_byte_rate',
    kind: { type: 'size', min: 1, unlimited: true },
    default: -1,
    doc: "Bytes per second of record batches one client id may fetch from this broker (Kafka's consumer_byte_rate), enforced as `quotas.producer_byte_rate` is. -1: unlimited. Replication between brokers does not count (it does not use Fetch).",
  },
  {
    key: 'quotas.request_percentage',
    kind: { type: 'number', min: 0.01, max: 100, unlimited: true },
    default: -1,
    doc: "Percent of the event loop's time one client id's requests may take on this broker (Kafka's request_percentage, of one thread: 100 is all of it), enforced as `quotas.producer_byte_rate` is. Counted: decoding each request, its handling up to its first wait, and encoding its answer; not counted: waiting for the disk, replication or a long-poll fetch's data. -1: unlimited.",
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
    key: 'storage.preallocate_bytes',
    kind: { type: 'size', min: 0, max: 64 * MiB },
    default: MiB,
    doc: 'With flush_policy always: zeros written ahead of the active segment end while appends are small, so each synchronous append overwrites allocated blocks instead of also committing a new file size (faster acknowledgements; up to 1.5x this much disk per partition). Larger is not faster: appends wait while a fill is written (16 MiB fills raised the e2e p99 about sixfold). 0: off.',
  },
  {
    key: 'storage.follower_direct_writes',
    kind: { type: 'bool' },
    default: true,
    doc: "With flush_policy always: a replicated partition's followers write appends of 64 KiB or more with O_DIRECT, around the OS page cache (their data is rarely read; the copy into the cache is most of a buffered write's cost), while its leader writes through it for consumers. Where the file system refuses O_DIRECT (some FUSE and network mounts, tmpfs before Linux 6.6) followers write through the cache, with one warning.",
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
  {
    key: 'storage.cleanup_policy',
    kind: { type: 'enum', values: ['delete', 'compact', 'compact,delete'] },
    default: 'delete',
    doc: "Default of every topic's `cleanup_policy` (Kafka's cleanup.policy): delete: retention drops whole old segments; compact: the log cleaner keeps only the latest record of each key in closed segments (keyless records are refused with INVALID_RECORD) and retention does not apply; compact,delete: both. See docs/compaction.md.",
  },
  {
    key: 'storage.delete_retention_ms',
    kind: { type: 'duration', min: 0 },
    default: DAY_MS,
    doc: "Compacted topics: a tombstone (a record with a null value) is removed this long after the cleaner first kept it as its key's latest record, so consumers have time to see the delete.",
  },
  {
    key: 'storage.min_cleanable_dirty_ratio',
    kind: { type: 'number', min: 0, max: 1 },
    default: 0.5,
    doc: 'Compacted topics: the cleaner cleans a partition once this fraction of its cleanable log was written since its last clean.',
  },
  {
    key: 'storage.min_compaction_lag_ms',
    kind: { type: 'duration', min: 0 },
    default: 0,
    doc: 'Compacted topics: a closed segment is cleaned only once its newest record is at least this old.',
  },
  {
    key: 'storage.cleaner_interval',
    kind: { type: 'duration', min: 1 },
    default: 15_000,
    doc: 'How often the log cleaner looks for compacted partitions to clean (one partition at a time; it reads and writes in chunks, yielding to requests between them).',
  },
  {
    key: 'storage.cleaner_keys_max',
    kind: { type: 'int', min: 1 },
    default: 1_000_000,
    doc: "Bounds the cleaner's memory: most distinct keys one clean of a partition remembers (about 100 bytes each plus the key). A partition with more keys in its cleanable segments is cleaned up to the segment where the map filled, and the rest on the next pass.",
  },
  {
    key: 'storage.cleaner_io_bytes_per_sec',
    kind: { type: 'size', min: 1024 * 1024, unlimited: true },
    default: -1,
    doc: "Caps the log cleaner's disk I/O (bytes read plus written per second, across all partitions; Kafka's log.cleaner.io.max.bytes.per.second): past it the cleaner waits, requests are served meanwhile. -1: no cap, as in Kafka (the cleaner already works one partition at a time, a megabyte between yields); set it when cleaning competes with produce and fetch for the disk. At least 1MiB: the cleaner waits while it reads a segment, and closing that partition (deleted, moved) waits for the read, so one wait is kept to a couple of seconds (stopping the broker ends a wait at once).",
  },

  // shutdown
  {
    key: 'shutdown.timeout_ms',
    kind: { type: 'duration', min: 1 },
    default: 30_000,
    doc: 'Budget of the whole shutdown on SIGTERM/SIGINT (drain, leadership handovers, closing Raft and the logs). When it runs out, a warning names the step that was still waiting and the rest is forced (connections cut, handovers skipped, close steps given 1 s more); the process still exits 0.',
  },
];
