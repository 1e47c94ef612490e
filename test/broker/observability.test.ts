/**
 * How the broker reports a partition operation's failure: every one is counted by code; the log gets the
 * operator's problems (a corrupt log, a full disk), not a client's own state refused as it should be.
 */
import { describe, expect, it } from 'vitest';
import { brokerObservers } from '../../src/broker/observability.js';
import { type ErrorCode, StreamBusError } from '../../src/errors/index.js';
import { MetricsRegistry } from '../../src/observability/index.js';
import { captureLogger } from '../helpers/capture-logger.js';

function observed() {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const { logger, lines } = captureLogger();
  const observers = brokerObservers(metrics, logger, { nowMs: () => Date.now() });
  const failed = () => lines().filter((l) => l.msg === 'partition operation failed');
  const onPartitionError = observers.dataPlane.onPartitionError;
  if (onPartitionError === undefined) throw new Error('the broker observers take no partition errors');
  const fail = (code: ErrorCode) =>
    onPartitionError('produce', new StreamBusError(code, { operation: 'produce' }));
  return { metrics, fail, failed };
}

describe('broker observers: partition operation failures', () => {
  it('an idempotent producer refused for its own sequence or epoch is counted, not logged as a broker error', async () => {
    // After a failover a producer's batches behind one that failed are refused as out of order, a
    // hundred or more per chaos run: the client reports them; an error line per batch would page nobody
    // usefully and bury the broker's own failures.
    const { metrics, fail, failed } = observed();
    fail('OUT_OF_ORDER_SEQUENCE');
    fail('INVALID_PRODUCER_EPOCH');
    expect(failed()).toEqual([]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/streambus_errors_total\{code="OUT_OF_ORDER_SEQUENCE",category="fatal"\} 1/);
    expect(text).toMatch(/streambus_errors_total\{code="INVALID_PRODUCER_EPOCH",category="fatal"\} 1/);
  });

  it('a broker-side failure is logged: fatal ones as errors, transient ones as (sampled) warnings', () => {
    const { fail, failed } = observed();
    fail('CORRUPT_LOG');
    fail('DISK_FULL');
    expect(failed().map((l) => [l.level, l.code])).toEqual([
      ['error', 'CORRUPT_LOG'],
      ['warn', 'DISK_FULL'],
    ]);
  });
});
