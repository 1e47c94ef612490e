import type { BrokerConfig } from './types.js';

export interface OpsListener {
  readonly host: string;
  readonly port: number;
  readonly health: boolean;
  readonly metrics: boolean;
  /** The config key that set `port`: a listener that cannot bind is reported as that key's fault. */
  readonly portKey: 'health.http.port' | 'metrics.port';
}

/**
 * Which HTTP listeners the ops server needs. Health and metrics share one listener (default 0.0.0.0:8080)
 * unless `metrics.port` is set to a different port, which gives /metrics its own listener. With health
 * HTTP disabled, metrics (if enabled) still listens, on metrics.port or else health.http.port.
 */
export function opsListeners(config: BrokerConfig): OpsListener[] {
  const host = config.health.http.bindAddress;
  const healthOn = config.health.http.enabled;
  const metricsOn = config.metrics.enabled;
  const healthPort = config.health.http.port;
  const metricsPort = config.metrics.port ?? healthPort;
  // An explicit metrics.port of 0 asks for a listener of its own on a free port (tests), like any other
  // port that differs from the health port.
  const shared = config.metrics.port === null || (metricsPort === healthPort && healthPort !== 0);
  if (healthOn && metricsOn && shared) {
    return [{ host, port: healthPort, health: true, metrics: true, portKey: 'health.http.port' }];
  }
  const listeners: OpsListener[] = [];
  if (healthOn)
    listeners.push({ host, port: healthPort, health: true, metrics: false, portKey: 'health.http.port' });
  if (metricsOn) {
    const portKey = config.metrics.port === null ? 'health.http.port' : 'metrics.port';
    listeners.push({ host, port: metricsPort, health: false, metrics: true, portKey });
  }
  return listeners;
}
