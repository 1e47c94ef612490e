/**
 * The request-time quota in the router (quotas.request_percentage): a request's event-loop time is what
 * runs before its handler's first wait and after its answer arrives, never the wait itself (a slow disk, a
 * long-poll fetch); a client over its share is throttled and counted under kind="request". The clock is a
 * fake that moves 1 ms each time it is read and 10 s while the append waits.
 */
import { describe, expect, it } from 'vitest';
import { ClientQuotas, fixedQuotaLimits } from '../../src/broker/client-quotas.js';
import { brokerObservers } from '../../src/broker/observability.js';
import { RequestRouter } from '../../src/broker/router.js';
import { MetricsRegistry } from '../../src/observability/index.js';
import { ApiKey, encodeRequest } from '../../src/protocol/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { catalogServing } from '../helpers/catalog-stub.js';
import { batchOf } from '../helpers/wire.js';

const MS = 1_000_000n;

function routerWith(requestPercentage: number) {
  let nowNs = 0n;
  const clock = () => {
    nowNs += MS;
    return nowNs;
  };
  const metrics = new MetricsRegistry({ processMetrics: false });
  const { logger, lines } = captureLogger();
  const wallClock = { nowMs: () => 1_000_000 };
  const observers = brokerObservers(metrics, logger, wallClock);
  const catalog = catalogServing({
    // The disk takes 10 s: the handler waits, the event loop is free for others.
    append: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      nowNs += 10_000n * MS;
      return { baseOffset: 0, logAppendTimeMs: -1 };
    },
    read: () => new Promise(() => {}),
    highWatermark: () => 0,
    logStartOffset: () => 0,
    sizeBytes: () => 0,
    offsetForTimestamp: () => new Promise(() => {}),
    onHighWatermark: () => () => {},
    leadership: () => 0,
  });
  const quotas = new ClientQuotas(
    fixedQuotaLimits({ producerByteRate: -1, consumerByteRate: -1, requestPercentage }),
    { nowMs: wallClock.nowMs, handlerClockNs: clock },
  );
  const router = new RequestRouter(
    {
      clock: wallClock,
      catalog,
      limits: { fetchWaitMaxMs: 0, fetchBytesMax: 1 << 20 },
      self: { id: 1, host: '127.0.0.1', port: 9092, rack: null },
      clusterId: () => 'test',
      brokerVersion: 'test',
      observer: observers.dataPlane,
      shutdownSignal: new AbortController().signal,
    },
    observers.requests,
    60_000,
    false,
    quotas,
  );
  const produce = () =>
    router.route(
      encodeRequest(
        { apiKey: ApiKey.Produce, apiVersion: 0, correlationId: 1, clientId: 'busy' },
        { acks: 1, timeoutMs: 60_000, partitions: [{ topic: 't', partition: 0, records: batchOf(['x']) }] },
      ).subarray(4),
      { id: 1, remoteAddress: 'test' },
    );
  return { produce, metrics, lines };
}

describe('request-time quota', () => {
  it("counts a request's event-loop stretches, not its wait, and throttles the client over its share", async () => {
    // 0.01% of one thread: 0.1 ms a second, 1 ms over the 10 s minimum span. The produce runs 2 ms (1 ms
    // up to the append's wait, 1 ms after it) and waits 10 s: twice the quota, so the excess takes 10 s
    // more at the quota. Had the wait counted, the throttle would be the 11 s cap.
    const { produce, metrics, lines } = routerWith(0.01);
    const answer = await produce();
    expect(answer?.throttleMs).toBe(10_000);
    expect(await metrics.text()).toMatch(/streambus_quota_throttled_requests_total\{kind="request"\} 1/);
    expect(lines().find((l) => l.msg === 'client over its request-time quota: throttled')).toMatchObject({
      client_id: 'busy',
      throttle_ms: 10_000,
    });
  });

  it('a client within its share, or with no request-time quota, is not throttled', async () => {
    expect((await routerWith(50).produce())?.throttleMs).toBeUndefined();
    expect((await routerWith(-1).produce())?.throttleMs).toBeUndefined();
  });
});
