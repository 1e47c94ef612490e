/**
 * The one error catalogue. Every failure a client, a peer or an operator can see has an entry here with a
 * stable code (a string for logs and docs), a wire code (a number that travels in responses) and a
 * category that decides what callers do about it:
 *
 * - retriable:     try again now, perhaps after refreshing metadata (not leader, timeout, leadership change)
 * - transient:     wait and try again (resource exhaustion, circuit open, disk full, throttling)
 * - fatal:         cannot recover by retrying (corruption, broken invariant)
 * - invalid_input: the request itself is wrong; retrying the same request fails the same way
 *
 * Rules: a wire code is never reused once retired, codes never change meaning, and `docs/errors.md` is kept
 * in step by a test (test/errors/catalogue.test.ts).
 */
export type ErrorCategory = 'retriable' | 'transient' | 'fatal' | 'invalid_input';

export interface ErrorSpec {
  readonly wireCode: number;
  readonly category: ErrorCategory;
  readonly message: string;
}

export const ERRORS = {
  // 1..99: request and protocol
  UNKNOWN_SERVER_ERROR: { wireCode: 1, category: 'fatal', message: 'unexpected server error' },
  MALFORMED_FRAME: { wireCode: 2, category: 'invalid_input', message: 'frame is malformed' },
  FRAME_TOO_LARGE: { wireCode: 3, category: 'invalid_input', message: 'frame exceeds the size limit' },
  UNKNOWN_API: { wireCode: 4, category: 'invalid_input', message: 'unknown api key' },
  UNSUPPORTED_VERSION: { wireCode: 5, category: 'invalid_input', message: 'unsupported api version' },
  INVALID_REQUEST: { wireCode: 6, category: 'invalid_input', message: 'request body is invalid' },
  TOO_MANY_REQUESTS_IN_FLIGHT: {
    wireCode: 7,
    category: 'transient',
    message: 'too many requests in flight on this connection',
  },
  CONNECTION_LIMIT_REACHED: {
    wireCode: 8,
    category: 'transient',
    message: 'broker connection limit reached',
  },
  REQUEST_TIMED_OUT: { wireCode: 9, category: 'retriable', message: 'request timed out' },
  BROKER_SHUTTING_DOWN: { wireCode: 10, category: 'retriable', message: 'broker is shutting down' },
  NETWORK_ERROR: { wireCode: 11, category: 'retriable', message: 'network error' },
  CONNECTION_CLOSED: { wireCode: 12, category: 'retriable', message: 'connection closed' },
  REQUEST_ABORTED: { wireCode: 13, category: 'invalid_input', message: 'request aborted by caller' },
  INVALID_CONFIG: { wireCode: 14, category: 'invalid_input', message: 'configuration is invalid' },
  CIRCUIT_OPEN: { wireCode: 15, category: 'transient', message: 'circuit breaker is open' },
  BULKHEAD_FULL: { wireCode: 16, category: 'transient', message: 'too many concurrent operations' },
  TLS_HANDSHAKE_FAILED: {
    wireCode: 17,
    category: 'fatal',
    message: 'TLS handshake failed: a certificate was not accepted',
  },
  // The caller's own client, producer or consumer was closed (Kafka's IllegalStateException): not a broker's
  // socket closing (CONNECTION_CLOSED, retriable), so a retry loop deciding by category stops at once.
  CLIENT_CLOSED: {
    wireCode: 18,
    category: 'invalid_input',
    message: 'the client, producer or consumer is closed',
  },

  // 100..199: topics and partitions
  UNKNOWN_TOPIC_OR_PARTITION: {
    wireCode: 100,
    category: 'invalid_input',
    message: 'unknown topic or partition',
  },
  TOPIC_ALREADY_EXISTS: { wireCode: 101, category: 'invalid_input', message: 'topic already exists' },
  INVALID_TOPIC_NAME: { wireCode: 102, category: 'invalid_input', message: 'invalid topic name' },
  INVALID_PARTITIONS: { wireCode: 103, category: 'invalid_input', message: 'invalid number of partitions' },
  INVALID_REPLICATION_FACTOR: {
    wireCode: 104,
    category: 'invalid_input',
    message: 'invalid replication factor',
  },
  INVALID_TOPIC_CONFIG: { wireCode: 105, category: 'invalid_input', message: 'invalid topic config' },
  TOPIC_DELETION_IN_PROGRESS: {
    wireCode: 106,
    category: 'retriable',
    message: 'topic is being deleted',
  },
  INTERNAL_TOPIC: {
    wireCode: 107,
    category: 'invalid_input',
    message: 'topics named __* are internal: only the broker writes, creates or deletes them',
  },
  INVALID_REPLICA_ASSIGNMENT: {
    wireCode: 108,
    category: 'invalid_input',
    message: 'invalid replica assignment',
  },

  // 200..299: produce and fetch
  CORRUPT_BATCH: { wireCode: 200, category: 'invalid_input', message: 'record batch CRC mismatch' },
  INVALID_BATCH: {
    wireCode: 201,
    category: 'invalid_input',
    message: 'record batch header or record framing is invalid',
  },
  BATCH_TOO_LARGE: {
    wireCode: 202,
    category: 'invalid_input',
    message: 'record batch exceeds the size limit',
  },
  OFFSET_OUT_OF_RANGE: { wireCode: 203, category: 'invalid_input', message: 'offset out of range' },
  INVALID_ACKS: { wireCode: 204, category: 'invalid_input', message: 'acks must be 0, 1 or -1 (all)' },
  INVALID_TIMESTAMP: { wireCode: 205, category: 'invalid_input', message: 'invalid timestamp' },
  UNSUPPORTED_COMPRESSION: {
    wireCode: 206,
    category: 'invalid_input',
    message: 'unsupported compression codec',
  },
  DUPLICATE_SEQUENCE: { wireCode: 207, category: 'invalid_input', message: 'duplicate producer sequence' },
  OUT_OF_ORDER_SEQUENCE: { wireCode: 208, category: 'fatal', message: 'out of order producer sequence' },
  INVALID_PRODUCER_EPOCH: { wireCode: 209, category: 'fatal', message: 'producer epoch is fenced' },
  UNKNOWN_PRODUCER_ID: { wireCode: 210, category: 'retriable', message: 'unknown producer id' },
  INVALID_RECORD: {
    wireCode: 211,
    category: 'invalid_input',
    message: 'a record is not valid for this topic (a compacted topic needs a key on every record)',
  },

  // 300..399: replication and consensus
  NOT_LEADER: { wireCode: 300, category: 'retriable', message: 'this node is not the leader' },
  LEADER_NOT_AVAILABLE: { wireCode: 301, category: 'retriable', message: 'no leader is available' },
  NOT_ENOUGH_REPLICAS: { wireCode: 302, category: 'retriable', message: 'not enough in-sync replicas' },
  PROPOSAL_DROPPED: { wireCode: 303, category: 'retriable', message: 'proposal was dropped' },
  RAFT_STOPPED: { wireCode: 304, category: 'retriable', message: 'raft node is stopped' },
  LEADERSHIP_TRANSFER_IN_PROGRESS: {
    wireCode: 305,
    category: 'retriable',
    message: 'leadership transfer in progress',
  },
  CONFIG_CHANGE_IN_PROGRESS: {
    wireCode: 306,
    category: 'retriable',
    message: 'a membership change is already in progress',
  },
  INVALID_CONFIG_CHANGE: { wireCode: 307, category: 'invalid_input', message: 'invalid membership change' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: {
    wireCode: 308,
    category: 'retriable',
    message: 'written, but not on min_insync_replicas replicas in time',
  },

  // 400..499: storage
  STORAGE_ERROR: { wireCode: 400, category: 'transient', message: 'storage error' },
  DISK_FULL: { wireCode: 401, category: 'transient', message: 'disk is full' },
  CORRUPT_LOG: { wireCode: 402, category: 'fatal', message: 'log is corrupt' },
  LOG_CLOSED: { wireCode: 403, category: 'retriable', message: 'log is closed' },

  // 500..599: consumer groups
  COORDINATOR_NOT_AVAILABLE: {
    wireCode: 500,
    category: 'retriable',
    message: 'group coordinator not available',
  },
  NOT_COORDINATOR: {
    wireCode: 501,
    category: 'retriable',
    message: 'this broker is not the group coordinator',
  },
  UNKNOWN_MEMBER_ID: { wireCode: 502, category: 'invalid_input', message: 'unknown member id' },
  ILLEGAL_GENERATION: { wireCode: 503, category: 'invalid_input', message: 'illegal generation' },
  REBALANCE_IN_PROGRESS: { wireCode: 504, category: 'retriable', message: 'rebalance in progress' },
  GROUP_ID_NOT_FOUND: { wireCode: 505, category: 'invalid_input', message: 'group id not found' },
  NON_EMPTY_GROUP: { wireCode: 506, category: 'invalid_input', message: 'group has active members' },
  INVALID_SESSION_TIMEOUT: { wireCode: 507, category: 'invalid_input', message: 'invalid session timeout' },
  FENCED_INSTANCE_ID: {
    wireCode: 508,
    category: 'fatal',
    message: 'another member joined with this group instance id',
  },
  OFFSET_REGRESSION: {
    wireCode: 509,
    category: 'invalid_input',
    message: 'committed offsets only move forward (reset them explicitly)',
  },
  INCONSISTENT_GROUP_PROTOCOL: {
    wireCode: 510,
    category: 'invalid_input',
    message: 'no assignor every member supports',
  },
  GROUP_MAX_SIZE_REACHED: { wireCode: 511, category: 'invalid_input', message: 'group is full' },
  GROUP_SUBSCRIBED_TO_TOPIC: {
    wireCode: 512,
    category: 'invalid_input',
    message: 'a member of the group subscribes to the topic',
  },

  // 600..699: cluster and metadata
  UNKNOWN_BROKER: { wireCode: 600, category: 'invalid_input', message: 'unknown broker id' },
  BROKER_NOT_AVAILABLE: { wireCode: 601, category: 'retriable', message: 'broker not available' },
  METADATA_CONFLICT: { wireCode: 602, category: 'invalid_input', message: 'metadata change conflicts' },
  FEATURE_NOT_FINALIZED: {
    wireCode: 603,
    category: 'invalid_input',
    message: 'the cluster feature level does not include this feature yet (finish the rolling upgrade)',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

const byWireCode = new Map<number, ErrorCode>();
for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, ErrorSpec][]) {
  if (byWireCode.has(spec.wireCode)) throw new Error(`duplicate wire code ${spec.wireCode} for ${code}`);
  byWireCode.set(spec.wireCode, code);
}

/** The code for a wire code; an unknown number (a newer broker) maps to UNKNOWN_SERVER_ERROR. */
export function codeFromWire(wireCode: number): ErrorCode {
  return byWireCode.get(wireCode) ?? 'UNKNOWN_SERVER_ERROR';
}
