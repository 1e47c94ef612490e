import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, type MetricSpec } from './metric-names.js';

/** Sub-millisecond to 10 s: request, produce, fetch and proposal latencies. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** fsync is usually 50 µs to tens of ms. */
export const FSYNC_BUCKETS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
/** Rebalances take seconds to minutes. */
/** A pass over one partition: milliseconds for a small log, minutes for gigabytes of segments. */
const CLEANER_PASS_BUCKETS_SECONDS: readonly number[] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
export const REBALANCE_BUCKETS_SECONDS: readonly number[] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Per-topic data plane counters as plain numbers. prom-client re-hashes labels on every `inc`, even through
 * `labels()` children, so the hot path adds to these fields (a property write) and the registry copies
 * them into the counters only when scraped.
 */
export class TopicCounters {
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  /** Of messagesOut, those read from this broker's follower copy (fetch from followers). */
  followerMessagesOut = 0;

  constructor(readonly topic: string) {}

  addIn(messages: number, bytes: number): void {
    this.messagesIn += messages;
    this.bytesIn += bytes;
  }

  addOut(messages: number, bytes: number): void {
    this.messagesOut += messages;
    this.bytesOut += bytes;
  }

  addOutAsFollower(messages: number): void {
    this.followerMessagesOut += messages;
  }
}

export interface MetricsRegistryOptions {
  /** Node.js process metrics (CPU, memory, event loop lag, GC, handles); default true. */
  readonly processMetrics?: boolean;
  /** Labels on every series, e.g. `{ broker_id: '1' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

type CollectHook = () => void | Promise<void>;

/**
 * Every StreamBus metric in its own prom-client Registry (not the global one, so tests and in-process
 * clusters can create many). Fields are named after METRICS keys: `metrics.raftProposalsTotal.inc()`.
 */
export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly topics = new Map<string, TopicCounters>();
  private readonly collectHooks: CollectHook[] = [];

  readonly raftProposalsTotal = this.counter(METRICS.raftProposalsTotal);
  readonly raftProposalDurationSeconds = this.histogram(
    METRICS.raftProposalDurationSeconds,
    LATENCY_BUCKETS_SECONDS,
  );
  readonly raftLeadershipChangesTotal = this.counter(METRICS.raftLeadershipChangesTotal);
  readonly raftCommitIndex = this.gauge(METRICS.raftCommitIndex);
  readonly raftAppliedIndex = this.gauge(METRICS.raftAppliedIndex);
  readonly raftPeersCount = this.gauge(METRICS.raftPeersCount);

  readonly metadataOperationsTotal = this.counter(METRICS.metadataOperationsTotal);
  readonly metadataOperationDurationSeconds = this.histogram(
    METRICS.metadataOperationDurationSeconds,
    LATENCY_BUCKETS_SECONDS,
  );
  readonly metadataVersion = this.gauge(METRICS.metadataVersion);
  readonly metadataBrokersCount = this.gauge(METRICS.metadataBrokersCount);
  readonly clusterFeatureLevel = this.gauge(METRICS.clusterFeatureLevel);
  readonly featureLevelSupported = this.gauge(METRICS.featureLevelSupported);
  readonly metadataPartitionsCount = this.gauge(METRICS.metadataPartitionsCount);

  readonly clusterBrokersActive = this.gauge(METRICS.clusterBrokersActive);
  readonly clusterRebalancesTotal = this.counter(METRICS.clusterRebalancesTotal);
  readonly clusterRebalanceDurationSeconds = this.histogram(
    METRICS.clusterRebalanceDurationSeconds,
    REBALANCE_BUCKETS_SECONDS,
  );
  readonly clusterPartitionsTotal = this.gauge(METRICS.clusterPartitionsTotal);
  readonly clusterImbalanceScore = this.gauge(METRICS.clusterImbalanceScore);

  readonly circuitbreakerState = this.gauge(METRICS.circuitbreakerState);
  readonly circuitbreakerRequestsTotal = this.counter(METRICS.circuitbreakerRequestsTotal);
  readonly circuitbreakerStateChangesTotal = this.counter(METRICS.circuitbreakerStateChangesTotal);

  readonly messagesInTotal = this.topicCounter(METRICS.messagesInTotal, (t) => t.messagesIn);
  readonly bytesInTotal = this.topicCounter(METRICS.bytesInTotal, (t) => t.bytesIn);
  readonly messagesOutTotal = this.topicCounter(METRICS.messagesOutTotal, (t) => t.messagesOut);
  readonly bytesOutTotal = this.topicCounter(METRICS.bytesOutTotal, (t) => t.bytesOut);
  readonly followerMessagesOutTotal = this.topicCounter(
    METRICS.followerMessagesOutTotal,
    (t) => t.followerMessagesOut,
  );
  readonly requestDurationSeconds = this.histogram(METRICS.requestDurationSeconds, LATENCY_BUCKETS_SECONDS);
  readonly requestsTotal = this.counter(METRICS.requestsTotal);
  readonly requestsInFlight = this.gauge(METRICS.requestsInFlight);
  readonly requestQueueDepth = this.gauge(METRICS.requestQueueDepth);
  readonly connectionsActive = this.gauge(METRICS.connectionsActive);
  readonly connectionsRejectedTotal = this.counter(METRICS.connectionsRejectedTotal);
  readonly quotaThrottledRequestsTotal = this.counter(METRICS.quotaThrottledRequestsTotal);
  readonly quotaThrottleSecondsTotal = this.counter(METRICS.quotaThrottleSecondsTotal);
  readonly produceDurationSeconds = this.histogram(METRICS.produceDurationSeconds, LATENCY_BUCKETS_SECONDS);
  readonly fetchDurationSeconds = this.histogram(METRICS.fetchDurationSeconds, LATENCY_BUCKETS_SECONDS);
  readonly logFsyncDurationSeconds = this.histogram(METRICS.logFsyncDurationSeconds, FSYNC_BUCKETS_SECONDS);
  readonly logCleanerRecordsRemovedTotal = this.counter(METRICS.logCleanerRecordsRemovedTotal);
  readonly logCleanerBytesRemovedTotal = this.counter(METRICS.logCleanerBytesRemovedTotal);
  readonly logCleanerSegmentsCleanedTotal = this.counter(METRICS.logCleanerSegmentsCleanedTotal);
  readonly logCleanerSegmentsMergedTotal = this.counter(METRICS.logCleanerSegmentsMergedTotal);
  readonly logCleanerSegmentsSkippedTotal = this.counter(METRICS.logCleanerSegmentsSkippedTotal);
  readonly logCleanerErrorsTotal = this.counter(METRICS.logCleanerErrorsTotal);
  readonly logCleanerPassDurationSeconds = this.histogram(
    METRICS.logCleanerPassDurationSeconds,
    CLEANER_PASS_BUCKETS_SECONDS,
  );
  readonly partitionsUnderReplicated = this.gauge(METRICS.partitionsUnderReplicated);
  readonly partitionReplicasQuiescent = this.gauge(METRICS.partitionReplicasQuiescent);
  readonly partitionLeaderElectionsTotal = this.counter(METRICS.partitionLeaderElectionsTotal);
  readonly partitionLeaderStepDownsTotal = this.counter(METRICS.partitionLeaderStepDownsTotal);
  readonly replicationCommitDurationSeconds = this.histogram(
    METRICS.replicationCommitDurationSeconds,
    LATENCY_BUCKETS_SECONDS,
  );
  readonly replicaFollowerLagEntries = this.gauge(METRICS.replicaFollowerLagEntries);
  readonly consumerGroupLag = this.gauge(METRICS.consumerGroupLag);
  readonly consumerGroups = this.gauge(METRICS.consumerGroups);
  readonly consumerGroupMembers = this.gauge(METRICS.consumerGroupMembers);
  readonly consumerGroupRebalancesTotal = this.counter(METRICS.consumerGroupRebalancesTotal);
  readonly consumerGroupRebalanceDurationSeconds = this.histogram(
    METRICS.consumerGroupRebalanceDurationSeconds,
    REBALANCE_BUCKETS_SECONDS,
  );
  readonly offsetCommitDurationSeconds = this.histogram(
    METRICS.offsetCommitDurationSeconds,
    LATENCY_BUCKETS_SECONDS,
  );
  readonly diskFreeBytes = this.gauge(METRICS.diskFreeBytes);
  readonly logSizeBytes = this.gauge(METRICS.logSizeBytes);
  readonly readBufferPoolIdleBytes = this.gauge(METRICS.readBufferPoolIdleBytes);
  readonly timeoutsTotal = this.counter(METRICS.timeoutsTotal);
  readonly errorsTotal = this.counter(METRICS.errorsTotal);
  readonly healthCheckStatus = this.gauge(METRICS.healthCheckStatus);

  constructor(options: MetricsRegistryOptions = {}) {
    if (options.defaultLabels !== undefined) this.registry.setDefaultLabels({ ...options.defaultLabels });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition of every metric; runs collect hooks first. */
  async text(): Promise<string> {
    for (const hook of this.collectHooks) await hook();
    return this.registry.metrics();
  }

  /**
   * The counters of one topic; cache the result where the topic is resolved (per partition, say) so the
   * hot path is `counters.addIn(messages, bytes)`.
   */
  topicCounters(topic: string): TopicCounters {
    let counters = this.topics.get(topic);
    if (counters === undefined) {
      counters = new TopicCounters(topic);
      this.topics.set(topic, counters);
    }
    return counters;
  }

  /** Forget a deleted topic's series. */
  removeTopic(topic: string): void {
    this.topics.delete(topic);
    this.logSizeBytes.remove(topic);
    this.logCleanerRecordsRemovedTotal.remove(topic);
    this.logCleanerBytesRemovedTotal.remove(topic);
    this.logCleanerSegmentsCleanedTotal.remove(topic);
    this.logCleanerSegmentsMergedTotal.remove(topic);
    this.logCleanerSegmentsSkippedTotal.remove(topic);
  }

  /** Run before each scrape: set gauges that are cheaper to read on demand (queue depth, disk free). */
  addCollectHook(hook: CollectHook): () => void {
    this.collectHooks.push(hook);
    return () => {
      const i = this.collectHooks.indexOf(hook);
      if (i >= 0) this.collectHooks.splice(i, 1);
    };
  }

  /** Records one request: latency by api and the outcome (`ok` or an error code) by api. */
  observeRequest(api: string, status: string, durationSeconds: number): void {
    this.requestDurationSeconds.observe({ api }, durationSeconds);
    this.requestsTotal.inc({ api, status });
  }

  private counter(spec: MetricSpec): Counter<string> {
    return new Counter({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [this.registry],
    });
  }

  private gauge(spec: MetricSpec): Gauge<string> {
    return new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [this.registry],
    });
  }

  private histogram(spec: MetricSpec, buckets: readonly number[]): Histogram<string> {
    return new Histogram({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      buckets: [...buckets],
      registers: [this.registry],
    });
  }

  private topicCounter(spec: MetricSpec, read: (t: TopicCounters) => number): Counter<string> {
    const topics = this.topics;
    return new Counter({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [this.registry],
      collect() {
        // Counters cannot be set, so rebuild from the running totals at scrape time.
        this.reset();
        for (const counters of topics.values()) this.inc({ topic: counters.topic }, read(counters));
      },
    });
  }
}
