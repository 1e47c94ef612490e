export {
  BREAKER_STATE_VALUE,
  bindBreakerMetrics,
  bindHealthMetrics,
  dropBreakerMetrics,
} from './bindings.js';
export {
  type CheckResult,
  type ComponentHealth,
  type HealthChangeEvent,
  type HealthCheckSpec,
  HealthRegistry,
  type HealthRegistryOptions,
  type HealthReport,
  type HealthStatus,
  type Readiness,
} from './health.js';
export { diskSpaceCheck, type EventLoopLagCheck, eventLoopLagCheck } from './health-checks.js';
export {
  type OpsServer,
  type OpsServerOptions,
  type RaftHealthProvider,
  type RaftHealthView,
  startOpsServer,
} from './http-server.js';
export { LogSampler } from './log-sampler.js';
export {
  type CreateLoggerOptions,
  componentLogger,
  createLogger,
  type Logger,
  silentLogger,
} from './logger.js';
export { METRICS, type MetricField, type MetricSpec, type MetricType } from './metric-names.js';
export { MetricsRegistry, type MetricsRegistryOptions, TopicCounters } from './metrics.js';
export { type OpsStack, type OpsStackOptions, startOpsStack } from './ops-stack.js';
export { timeoutObserver } from './timeouts.js';
export {
  currentTraceparent,
  startTracing,
  type TracingHandle,
  type TracingOptions,
  tracer,
  withRemoteParent,
  withSpan,
} from './tracing.js';
