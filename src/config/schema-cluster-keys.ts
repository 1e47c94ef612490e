/**
 * Config keys for how brokers work together: resilience (breakers, retries, timeouts of inter-broker and
 * metadata work), the cluster coordinator, and consumer groups. Kept apart from schema.ts so each area of
 * the table reads on its own; CONFIG_SCHEMA puts these rows after the node keys, in doc order.
 */
import type { KeySpec } from './schema.js';
import { DAY_MS } from './units.js';

export const CLUSTER_KEYS: readonly KeySpec[] = [
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
    doc: 'A metadata operation that has known no Raft leader this long, across its retries, fails with LEADER_NOT_AVAILABLE (metadata.leader_election in streambus_timeouts_total). A metadata voter that has known no leader this long also looks for it through the other voters, as a joining broker does (it may have been removed while it was down). Not the election timeout itself, which is fixed at 10 ticks of 100 ms.',
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
    key: 'cluster.peer_tls',
    kind: { type: 'bool' },
    default: false,
    doc: 'Mutual TLS on the inter-broker (Raft) link: each broker presents `broker.tls.cert_file` (its SANs must cover its advertised peer address) and accepts only peers whose certificate `broker.tls.ca_file` signed. Every broker of a cluster must agree.',
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
    doc: 'The metadata quorum: 1, 3 or 5 comma-separated `id@host:port` (broker id and peer address), unique ids. A broker not in the list joins as a non-voter (a learner of the metadata log) through the voters it lists, which are then only contact points: any 1 to 5 current voters, a follower as good as the leader. Required when cluster.enabled.',
  },
  {
    key: 'cluster.rebalance_interval',
    kind: { type: 'duration', min: 100 },
    default: 10_000,
    doc: "The coordinator checks the replica and leader spread this often; broker joins, failures and drains also trigger a check. A partition's leader moves for balance at most once per `resilience.timeouts.heartbeat_timeout` after any leader change the coordinator made (an unavailable one is replaced at once).",
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
    doc: "How long a failed broker keeps its replicas before the rebalancer moves them to other brokers (a quick restart costs no moves). A pinned partition's (an operator's replica assignment) stay on it: the partition waits for the broker.",
  },
  {
    key: 'cluster.concurrent_moves_max',
    kind: { type: 'int', min: 1, max: 1000 },
    default: 4,
    doc: 'Replica moves in flight at once, cluster-wide.',
  },
  {
    key: 'cluster.placement_strategy',
    kind: { type: 'enum', values: ['rack-aware', 'round-robin', 'capacity-aware'] },
    default: 'rack-aware',
    doc: "How a new topic's (or added partitions') replicas are chosen: rack-aware spreads each partition over as many racks (broker.rack) as it has replicas, otherwise as round-robin (the same placement when no broker has a rack); round-robin ignores racks; capacity-aware puts replicas where the cluster holds fewest already, racks breaking ties (docs/cluster.md, Placement).",
  },
  {
    key: 'cluster.imbalance_score_max',
    kind: { type: 'number', min: 0, max: 100 },
    default: 0,
    doc: 'Balancing moves stop once the replica imbalance score (cluster_imbalance_score: 0 is as even as whole numbers allow) is at or below this.',
  },
  {
    key: 'cluster.feature_level_max',
    kind: { type: 'int', min: 0, max: 1000 },
    default: 0,
    doc: 'Holds the cluster feature level (docs/operations.md, Rolling upgrades) at most this; 0: no hold, the coordinator finalizes the highest level every registered broker supports. Set it on every broker before a rolling upgrade you may want to roll back: a finalized level is never lowered, and a build older than it cannot join.',
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
];
