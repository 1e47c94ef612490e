import { opsListeners } from '../config/ops-listeners.js';
import type { BrokerConfig } from '../config/types.js';
import { parseHeaderList } from '../config/validate.js';
import { type Clock, systemClock, type Timers } from '../resilience/clock.js';
import { bindHealthMetrics } from './bindings.js';
import { HealthRegistry } from './health.js';
import { diskSpaceCheck, eventLoopLagCheck } from './health-checks.js';
import { type OpsServer, startOpsServer } from './http-server.js';
import type { Logger } from './logger.js';
import { MetricsRegistry } from './metrics.js';
import { slowFsyncWarner, watchEventLoopBlocks } from './stall-watch.js';
import { timeoutObserver } from './timeouts.js';
import { startTracing, type TracingHandle, type TracingOptions } from './tracing.js';

export interface OpsStackOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Default true; off in benchmarks measuring the cost of metrics. */
  readonly processMetrics?: boolean;
  /** Replaces the configured span exporter when tracing is enabled (tests). */
  readonly spanExporter?: TracingOptions['spanExporter'];
}

export interface OpsStack {
  readonly metrics: MetricsRegistry;
  readonly health: HealthRegistry;
  /** undefined when both health HTTP and metrics are disabled. */
  readonly server: OpsServer | undefined;
  readonly tracing: TracingHandle;
  /** Pass as `onTimeout` to resilience's `withTimeout`. */
  readonly onTimeout: (operation: string, timeoutMs: number) => void;
  /**
   * Pass as `onFsync` to the logs: each data fsync's duration goes to the fsync histogram and a slow one is
   * logged (health.slow_fsync_warn). undefined when metrics and the warning are both off.
   */
  readonly onFsync: ((durationSeconds: number) => void) | undefined;
  isReady(): boolean;
  /** Stops checks, closes the HTTP listener(s) and flushes traces. Idempotent. */
  close(): Promise<void>;
}

/**
 * The operating surface of one broker from its config: metrics, health (storage disk space, event loop
 * lag), the ops HTTP server on the configured listener(s), tracing. Checks start running at once; the
 * broker registers its own checks (raft, metadata, partitions loaded) on `health` as those parts start.
 */
export async function startOpsStack(config: BrokerConfig, options: OpsStackOptions): Promise<OpsStack> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: 'observability' });
  const metrics = new MetricsRegistry({
    processMetrics: options.processMetrics ?? true,
    defaultLabels: { broker_id: String(config.broker.id) },
  });
  const onTimeout = timeoutObserver(metrics, logger, clock);
  const health = new HealthRegistry({
    intervalMs: config.health.checkIntervalMs,
    timeoutMs: config.resilience.timeouts.healthCheckMs,
    onTimeout,
    clock,
    ...(options.timers === undefined ? {} : { timers: options.timers }),
  });
  const unbindHealth = bindHealthMetrics(health, metrics, logger);
  health.register(
    diskSpaceCheck(config.broker.dataDir, config.health.diskFreeBytesMin, {
      onFreeBytes: (bytes) => metrics.diskFreeBytes.set(bytes),
    }),
  );
  const lag = eventLoopLagCheck();
  health.register(lag);
  health.start();
  const blockWarnMs = config.health.eventLoopBlockWarnMs;
  // Monotonic time: a wall-clock step must not read as a block.
  const stopBlockWatch =
    blockWarnMs > 0
      ? watchEventLoopBlocks({
          thresholdMs: blockWarnMs,
          nowMs: () => performance.now(),
          onBlock: (_startedAtMs, blockedMs) =>
            logger.warn(
              { operation: 'event_loop.block', blocked_ms: Math.round(blockedMs) },
              'event loop blocked',
            ),
        })
      : () => {};
  const onFsync = fsyncReporter(config, metrics, logger, clock);

  const listeners = opsListeners(config);
  const healthListener = listeners.find((l) => l.health);
  const metricsListener = listeners.find((l) => l.metrics);
  const first = healthListener ?? metricsListener;
  let server: OpsServer | undefined;
  try {
    if (first !== undefined) {
      server = await startOpsServer({
        host: first.host,
        port: first.port,
        ...(healthListener === undefined ? {} : { health }),
        ...(metricsListener === undefined ? {} : { metrics, metricsPath: config.metrics.path }),
        metricsPort: metricsListener === undefined || metricsListener === first ? null : metricsListener.port,
        configKeys: {
          host: 'health.http.bind_address',
          port: first.portKey,
          ...(metricsListener === undefined ? {} : { metricsPort: metricsListener.portKey }),
        },
        logger,
      });
    }
  } catch (err) {
    health.stop();
    lag.close();
    stopBlockWatch();
    unbindHealth();
    throw err;
  }
  const tracing = await startTracing({
    enabled: config.tracing.enabled,
    exporter: config.tracing.exporter,
    endpoint: config.tracing.endpoint,
    otlpHeaders: config.tracing.otlpHeaders === null ? {} : parseHeaderList(config.tracing.otlpHeaders),
    samplingRatio: config.tracing.samplingRatio,
    attributes: { 'streambus.broker_id': config.broker.id },
    logger,
    ...(options.spanExporter === undefined ? {} : { spanExporter: options.spanExporter }),
  });

  let closing: Promise<void> | undefined;
  return {
    metrics,
    health,
    server,
    tracing,
    onTimeout,
    onFsync,
    isReady: () => health.readiness().ready,
    close() {
      closing ??= (async () => {
        health.stop();
        lag.close();
        stopBlockWatch();
        unbindHealth();
        await Promise.allSettled([server?.close(), tracing.shutdown()]);
      })();
      return closing;
    },
  };
}

/** Data fsync durations into the histogram (metrics.enabled) and slow ones into a warning. */
function fsyncReporter(
  config: BrokerConfig,
  metrics: MetricsRegistry,
  logger: Logger,
  clock: Clock,
): ((durationSeconds: number) => void) | undefined {
  const observe = config.metrics.enabled
    ? (seconds: number) => metrics.logFsyncDurationSeconds.observe(seconds)
    : undefined;
  const warnMs = config.health.slowFsyncWarnMs;
  const warn = warnMs > 0 ? slowFsyncWarner(logger, warnMs, clock) : undefined;
  if (observe === undefined || warn === undefined) return observe ?? warn;
  return (seconds) => {
    observe(seconds);
    warn(seconds);
  };
}
