import { describe, expect, it } from 'vitest';
import {
  currentTraceparent,
  startTracing,
  withRemoteParent,
  withSpan,
} from '../../src/observability/index.js';

describe('tracing', () => {
  it('costs nothing when disabled: spans do not record and no traceparent is produced', async () => {
    const handle = await startTracing({
      enabled: false,
      exporter: 'otlp',
      endpoint: 'http://x',
      samplingRatio: 1,
    });
    expect(handle.enabled).toBe(false);
    const result = await withSpan('produce', { topic: 'orders' }, async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(currentTraceparent()).toBeUndefined();
      return 42;
    });
    expect(result).toBe(42);
    await expect(
      withSpan('fetch', {}, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });

  it('when enabled, records spans, exposes a traceparent and joins a remote parent', async () => {
    const handle = await startTracing({
      enabled: true,
      exporter: 'none',
      endpoint: 'http://x',
      samplingRatio: 1,
    });
    try {
      const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await withRemoteParent(parent, () =>
        withSpan('produce', { topic: 'orders', partition: 0 }, async (span) => {
          expect(span.isRecording()).toBe(true);
          expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
          expect(currentTraceparent()).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
        }),
      );
    } finally {
      await handle.shutdown();
    }
  });
});
