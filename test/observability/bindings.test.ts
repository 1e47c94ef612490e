import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import {
  bindBreakerMetrics,
  bindHealthMetrics,
  createLogger,
  HealthRegistry,
  MetricsRegistry,
} from '../../src/observability/index.js';
import { CircuitBreaker, ManualClock } from '../../src/resilience/index.js';
import { captureLines } from '../helpers/capture-logger.js';

describe('bindBreakerMetrics', () => {
  it('exports breaker state, results and transitions as circuitbreaker_* metrics and logs the opening', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      name: 'metadata.propose',
      failureThreshold: 2,
      openTimeoutMs: 100,
      clock,
    });
    const metrics = new MetricsRegistry({ processMetrics: false });
    const out = captureLines();
    const unbind = bindBreakerMetrics(breaker, metrics, createLogger({ destination: out.stream }));
    expect(await metrics.text()).toContain('circuitbreaker_state{name="metadata.propose"} 0');
    const boom = async () => {
      throw new StreamBusError('NETWORK_ERROR');
    };
    await breaker.call(undefined, async () => 1);
    await expect(breaker.call(undefined, boom)).rejects.toThrow();
    await expect(breaker.call(undefined, boom)).rejects.toThrow();
    await expect(breaker.call(undefined, boom)).rejects.toThrow();
    let text = await metrics.text();
    expect(text).toContain('circuitbreaker_state{name="metadata.propose"} 1');
    expect(text).toContain('circuitbreaker_requests_total{name="metadata.propose",result="success"} 1');
    expect(text).toContain('circuitbreaker_requests_total{name="metadata.propose",result="failure"} 2');
    expect(text).toContain('circuitbreaker_requests_total{name="metadata.propose",result="rejected"} 1');
    expect(text).toContain(
      'circuitbreaker_state_changes_total{name="metadata.propose",from="closed",to="open"} 1',
    );
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 'warn', operation: 'circuit_breaker.transition', to: 'open' }),
    ]);
    clock.advance(100);
    await breaker.call(undefined, async () => 1);
    text = await metrics.text();
    expect(text).toContain('circuitbreaker_state{name="metadata.propose"} 2');
    unbind();
    await breaker.call(undefined, async () => 1);
    expect(await metrics.text()).toContain('circuitbreaker_state{name="metadata.propose"} 2');
  });
});

describe('bindHealthMetrics', () => {
  it('exports each check status as a gauge and logs changes away from healthy', async () => {
    const health = new HealthRegistry();
    const metrics = new MetricsRegistry({ processMetrics: false });
    const out = captureLines();
    bindHealthMetrics(health, metrics, createLogger({ destination: out.stream }));
    let status: 'healthy' | 'unhealthy' = 'healthy';
    health.register({ name: 'storage', check: async () => ({ status, message: status }) });
    await health.refresh();
    expect(await metrics.text()).toContain('streambus_health_check_status{check="storage"} 2');
    expect(out.lines()).toEqual([]);
    status = 'unhealthy';
    await health.refresh();
    expect(await metrics.text()).toContain('streambus_health_check_status{check="storage"} 0');
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 'warn', check: 'storage', to: 'unhealthy' }),
    ]);
  });
});
