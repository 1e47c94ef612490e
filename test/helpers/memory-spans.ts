/** Tracing switched on with every span kept in memory, for tests that check the spans an operation makes. */
import { tracing as sdkTrace } from '@opentelemetry/sdk-node';
import { startTracing } from '../../src/observability/tracing.js';

export interface RecordedSpans {
  /** Flushes, then returns the finished spans called `name`, oldest first. */
  named(name: string): Promise<sdkTrace.ReadableSpan[]>;
  /** Shuts tracing down (call in a finally). */
  stop(): Promise<void>;
}

export async function recordSpans(): Promise<RecordedSpans> {
  const exporter = new sdkTrace.InMemorySpanExporter();
  const tracing = await startTracing({
    enabled: true,
    exporter: 'none',
    endpoint: '',
    samplingRatio: 1,
    spanExporter: exporter,
  });
  return {
    async named(name) {
      await tracing.forceFlush();
      return exporter.getFinishedSpans().filter((s) => s.name === name);
    },
    stop: () => tracing.shutdown(),
  };
}
