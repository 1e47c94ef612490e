/**
 * A request that outlives limits.request_timeout_ms is answered REQUEST_TIMED_OUT, counted in
 * streambus_timeouts_total{operation} and streambus_errors_total{code,category}, and logged (sampled) with
 * the operation and the timeout.
 */
import { describe, expect, it } from 'vitest';
import type { TopicCatalog } from '../../src/broker/catalog.js';
import { brokerObservers } from '../../src/broker/observability.js';
import { RequestRouter } from '../../src/broker/router.js';
import { codeFromWire } from '../../src/errors/index.js';
import { MetricsRegistry, timeoutObserver } from '../../src/observability/index.js';
import { ApiKey, decodeResponseHeader, encodeRequest } from '../../src/protocol/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { catalogServing } from '../helpers/catalog-stub.js';
import { batchOf } from '../helpers/wire.js';

/** A catalog whose partition accepts the append and never finishes it: a stuck disk. */
function hangingCatalog(): TopicCatalog {
  const never = new Promise<never>(() => {});
  return catalogServing(
    {
      append: () => never,
      read: () => never,
      highWatermark: () => 0,
      logStartOffset: () => 0,
      sizeBytes: () => 0,
      offsetForTimestamp: () => never,
      onHighWatermark: () => () => {},
      leadership: () => 0,
    },
    { createTopic: () => never, deleteTopic: () => never, alterConfigs: () => never },
  );
}

describe('request timeouts', () => {
  it('answers REQUEST_TIMED_OUT, counts the timeout and the error, and logs operation and timeout_ms', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const { logger, lines } = captureLogger();
    const clock = { nowMs: () => Date.now() };
    const observers = brokerObservers(metrics, logger, clock, timeoutObserver(metrics, logger, clock));
    const timeoutMs = 25;
    const router = new RequestRouter(
      {
        clock,
        catalog: hangingCatalog(),
        limits: { fetchWaitMaxMs: 0, fetchBytesMax: 1 << 20 },
        self: { id: 1, host: '127.0.0.1', port: 9092, rack: null },
        clusterId: () => 'test',
        brokerVersion: 'test',
        observer: observers.dataPlane,
        shutdownSignal: new AbortController().signal,
      },
      observers.requests,
      timeoutMs,
    );
    const frame = encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 0, correlationId: 42, clientId: 'timeouts' },
      { acks: -1, timeoutMs: 5_000, partitions: [{ topic: 't', partition: 0, records: batchOf(['x']) }] },
    );
    // Twice: the second timeout is counted but its log line is sampled away.
    for (let i = 0; i < 2; i++) {
      const response = await router.route(frame.subarray(4), { id: 1, remoteAddress: 'test' });
      expect(response).not.toBeNull();
      const header = decodeResponseHeader(Buffer.concat(response!.chunks).subarray(4));
      expect(header.correlationId).toBe(42);
      expect(codeFromWire(header.errorCode)).toBe('REQUEST_TIMED_OUT');
    }

    const text = await metrics.text();
    expect(text).toMatch(/streambus_timeouts_total\{operation="request\.Produce"\} 2/);
    expect(text).toMatch(/streambus_errors_total\{code="REQUEST_TIMED_OUT",category="retriable"\} 2/);
    const timeoutLogs = lines().filter((l) => l.msg === 'request.Produce timed out');
    expect(timeoutLogs).toHaveLength(1);
    expect(timeoutLogs[0]).toMatchObject({
      level: 'warn',
      operation: 'request.Produce',
      timeout_ms: timeoutMs,
    });
  });
});
