import type { MetadataStore } from './store.js';

/**
 * The fields of observability's MetricsRegistry that the metadata store feeds, typed narrowly so this
 * module imports neither prom-client nor src/observability (a MetricsRegistry satisfies it as is).
 */
export interface MetadataMetricsSink {
  readonly metadataOperationsTotal: { inc(labels: { operation: string; status: string }): void };
  readonly metadataOperationDurationSeconds: { observe(labels: { operation: string }, value: number): void };
  readonly metadataVersion: { set(value: number): void };
  readonly metadataBrokersCount: { set(value: number): void };
  readonly metadataPartitionsCount: { set(value: number): void };
  readonly clusterFeatureLevel: { set(value: number): void };
}

/**
 * Counts every store operation and keeps the image gauges current (after each apply and restore on this
 * replica). Returns the function that detaches it.
 */
export function bindMetadataMetrics(store: MetadataStore, metrics: MetadataMetricsSink): () => void {
  const sm = store.stateMachine;
  const gauges = (): void => {
    metrics.metadataVersion.set(sm.version);
    metrics.metadataBrokersCount.set(sm.brokerCount());
    metrics.metadataPartitionsCount.set(sm.partitionCount());
    metrics.clusterFeatureLevel.set(sm.featureLevel);
  };
  gauges();
  const offOps = store.subscribe((e) => {
    metrics.metadataOperationsTotal.inc({ operation: e.operation, status: e.status });
    metrics.metadataOperationDurationSeconds.observe({ operation: e.operation }, e.durationMs / 1000);
  });
  const offChanges = sm.subscribe(gauges);
  return () => {
    offOps();
    offChanges();
  };
}
