/**
 * Binds the broker's narrow observer interfaces (data plane, requests, connections) to the metrics
 * registry and the logger. Handlers and connections never import prom-client; they call these.
 */
import type { StreamBusError } from '../errors/index.js';
import type { Logger, MetricsRegistry } from '../observability/index.js';
import { LogSampler } from '../observability/index.js';
import type { ConnectionInfo, ConnectionObserver } from './connection.js';
import type { DataPlaneObserver } from './handlers/context.js';
import type { RequestObserver } from './router.js';

export interface BrokerObservers {
  dataPlane: DataPlaneObserver;
  requests: RequestObserver;
  connections: ConnectionObserver & {
    onConnectionOpened(): void;
    onConnectionRejected(remote: string): void;
    onHandshakeFailed(remote: string, err: Error): void;
  };
}

/**
 * Refusals of an idempotent producer's batch for its own state: after a failover, every batch in flight
 * behind one that failed is refused as out of order (the SDK reports each); a fenced epoch is the client's
 * to act on. Counted in streambus_errors_total like every error, logged at debug (which sequence the
 * leader expected is what tells such a case apart).
 */
const PRODUCER_STATE_CODES: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE',
  'INVALID_PRODUCER_EPOCH',
]);

export function brokerObservers(
  /** Null when `metrics.enabled` is false: nothing is recorded per request (logs still are). */
  metrics: MetricsRegistry | null,
  logger: Logger,
  clock: { nowMs(): number },
  /** Counts and logs (sampled) a timeout: the ops stack's `onTimeout`. */
  onTimeout?: (operation: string, timeoutMs: number) => void,
): BrokerObservers {
  const sampler = new LogSampler(clock);
  const countError = (err: StreamBusError): void => {
    metrics?.errorsTotal.inc({ code: err.code, category: err.category });
  };
  return {
    dataPlane: {
      onProduced: (topic, messages, bytes) => metrics?.topicCounters(topic).addIn(messages, bytes),
      onFetched: (topic, messages, bytes) => metrics?.topicCounters(topic).addOut(messages, bytes),
      onFetchedAsFollower: (topic, messages) => metrics?.topicCounters(topic).addOutAsFollower(messages),
      onPartitionError: (operation, err) => {
        countError(err);
        // A client mistake (unknown partition, offset out of range) is the client's to log; a broker-side
        // failure (disk full, storage error) is the operator's, sampled because it repeats per request.
        // A producer refused for its own sequence or epoch is fatal to that producer, not a broker failure.
        if (PRODUCER_STATE_CODES.has(err.code)) {
          logger.debug({ operation, error: err.message, code: err.code }, 'producer batch refused');
        } else if (err.category === 'fatal') {
          logger.error({ operation, error: err.message, code: err.code }, 'partition operation failed');
        } else if (err.category === 'transient') {
          sampler.warn(
            logger,
            `${operation}:${err.code}`,
            { operation, error: err.message, code: err.code },
            'partition operation failed',
          );
        }
      },
    },
    requests: {
      onRequest: (api, status, seconds) => {
        if (metrics === null) return;
        metrics.observeRequest(api, status, seconds);
        if (api === 'Produce') metrics.produceDurationSeconds.observe(seconds);
        else if (api === 'Fetch') metrics.fetchDurationSeconds.observe(seconds);
      },
      ...(onTimeout === undefined ? {} : { onTimeout }),
      onThrottle: (kind, clientId, throttleMs) => {
        metrics?.quotaThrottledRequestsTotal.inc({ kind });
        // Per client id and kind, sampled: who is held back, without a line per request.
        sampler.warn(
          logger,
          `quota:${kind}:${clientId}`,
          { operation: `quota.${kind}`, client_id: clientId, throttle_ms: throttleMs },
          kind === 'request'
            ? 'client over its request-time quota: throttled'
            : 'client over its byte-rate quota: throttled',
        );
      },
      onError: (api: string, err: StreamBusError, connection: ConnectionInfo) => {
        countError(err);
        if (err.category === 'fatal') {
          logger.error(
            {
              operation: `request.${api}`,
              error: err.message,
              code: err.code,
              remote: connection.remoteAddress,
            },
            'request failed',
          );
        } else {
          sampler.warn(
            logger,
            `${api}:${err.code}`,
            { operation: `request.${api}`, error: err.message, code: err.code },
            'request rejected',
          );
        }
      },
    },
    connections: {
      onConnectionOpened: () => metrics?.connectionsActive.inc(),
      onMuted: (_info, addedMs) => metrics?.quotaThrottleSecondsTotal.inc(addedMs / 1000),
      onClosed: () => metrics?.connectionsActive.dec(),
      onConnectionRejected: (remote) => {
        metrics?.connectionsRejectedTotal.inc();
        sampler.warn(
          logger,
          'connection-limit',
          { operation: 'accept', remote },
          'connection limit reached; connection refused',
        );
      },
      // A client with the wrong CA or no certificate fails every reconnect: sampled, as protocol errors are.
      onHandshakeFailed: (remote, err) => {
        sampler.warn(
          logger,
          'tls-handshake',
          { operation: 'accept', remote, error: err.message },
          'TLS handshake failed; connection closed',
        );
      },
      onInFlightChange: (delta) => metrics?.requestsInFlight.inc(delta),
      onQueuedChange: (delta) => metrics?.requestQueueDepth.inc(delta),
      onProtocolError: (info, err) => {
        countError(err);
        sampler.warn(
          logger,
          `protocol:${err.code}`,
          { operation: 'decode', remote: info.remoteAddress, error: err.message },
          'protocol error; connection closed',
        );
      },
    },
  };
}

/** A partition log this broker holds (a single-node log or a replica, leader or follower). */
export interface SizedPartitionLog {
  readonly topic: string;
  sizeBytes(): number;
}

/**
 * Keeps streambus_log_size_bytes{topic} at the bytes of the partition logs held here, summed per topic.
 * Read at scrape time (a sum over in-memory segment sizes, no I/O); the gauge is rebuilt each time so a
 * deleted topic or a replica moved away drops out. Returns the function that detaches it.
 */
export function bindLogSizeMetrics(
  metrics: MetricsRegistry,
  partitions: () => Iterable<SizedPartitionLog>,
): () => void {
  return metrics.addCollectHook(() => {
    const byTopic = new Map<string, number>();
    for (const p of partitions()) byTopic.set(p.topic, (byTopic.get(p.topic) ?? 0) + p.sizeBytes());
    metrics.logSizeBytes.reset();
    for (const [topic, bytes] of byTopic) metrics.logSizeBytes.set({ topic }, bytes);
  });
}
