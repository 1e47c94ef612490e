import { type Attributes, context, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { tracing as sdkTrace } from '@opentelemetry/sdk-node';
import type { Logger } from 'pino';
import type { TracingExporter } from '../config/types.js';

export interface TracingOptions {
  readonly enabled: boolean;
  readonly exporter: TracingExporter;
  /** OTLP/HTTP traces URL (exporter 'otlp'). */
  readonly endpoint: string;
  /** Sent with every OTLP export, e.g. a hosted collector's API key (config tracing.otlp_headers). */
  readonly otlpHeaders?: Readonly<Record<string, string>>;
  readonly samplingRatio: number;
  readonly serviceName?: string;
  /** Resource attributes, e.g. `{ 'streambus.broker_id': 1 }`. */
  readonly attributes?: Attributes;
  readonly logger?: Logger;
  /** Replaces the configured exporter (tests pass an InMemorySpanExporter). */
  readonly spanExporter?: sdkTrace.SpanExporter;
}

export interface TracingHandle {
  readonly enabled: boolean;
  /** Exports every span ended so far (the processor batches them otherwise). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const TRACER_NAME = 'streambus';

/**
 * Starts OpenTelemetry from config. Disabled (the default) starts nothing: `withSpan` then runs on the
 * API's no-op tracer, which allocates no span data and exports nothing.
 *
 * Exporters: 'console' (ConsoleSpanExporter, bundled with sdk-node), 'otlp' (OTLP over HTTP, using the
 * @opentelemetry/exporter-trace-otlp-http package that sdk-node brings), 'none' (spans are sampled and
 * propagated but not exported; useful to carry trace context without a collector).
 */
export async function startTracing(options: TracingOptions): Promise<TracingHandle> {
  if (!options.enabled) return { enabled: false, forceFlush: async () => {}, shutdown: async () => {} };
  // Loaded only when tracing is on: the SDK is large and a disabled broker should not pay to import it.
  const { NodeSDK, resources, tracing } = await import('@opentelemetry/sdk-node');
  const exporter = options.spanExporter ?? (await createExporter(options, tracing));
  const processor = new tracing.BatchSpanProcessor(exporter);
  const sdk = new NodeSDK({
    serviceName: options.serviceName ?? 'streambus',
    ...(options.attributes === undefined
      ? {}
      : { resource: resources.resourceFromAttributes(options.attributes) }),
    sampler: new tracing.ParentBasedSampler({
      root: new tracing.TraceIdRatioBasedSampler(options.samplingRatio),
    }),
    spanProcessors: [processor],
    instrumentations: [],
  });
  sdk.start();
  options.logger?.info(
    { component: 'tracing', exporter: options.exporter, sampling_ratio: options.samplingRatio },
    'tracing started',
  );
  return {
    enabled: true,
    forceFlush: () => processor.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };
}

async function createExporter(
  options: TracingOptions,
  tracing: typeof sdkTrace,
): Promise<sdkTrace.SpanExporter> {
  switch (options.exporter) {
    case 'none':
      // sdk-node installs no tracer provider without a processor, so 'none' gets one that drops spans.
      return { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    case 'console':
      return new tracing.ConsoleSpanExporter();
    case 'otlp': {
      // Loaded only when asked for: it is a dependency of sdk-node, not of StreamBus directly.
      const otlp = (await import('@opentelemetry/exporter-trace-otlp-http')) as {
        OTLPTraceExporter: new (config: {
          url: string;
          headers?: Record<string, string>;
        }) => sdkTrace.SpanExporter;
      };
      return new otlp.OTLPTraceExporter({ url: options.endpoint, headers: { ...options.otlpHeaders } });
    }
  }
}

/**
 * How a module outside observability/ opens spans without importing OpenTelemetry: it takes an optional
 * runner (`withSpan` when tracing is on, absent when off, so it does no tracing work at all).
 */
export type SpanRunner = <T>(
  name: string,
  attributes: Readonly<Record<string, string | number | boolean>>,
  fn: (span: SpanAttributeSink) => Promise<T>,
) => Promise<T>;

/** The part of a span such a module may use: attributes known only once the work is done. */
export interface SpanAttributeSink {
  setAttribute(key: string, value: string | number | boolean): unknown;
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a span named `name` (`produce`, `fetch`, `metadata.propose`, `cluster.rebalance`),
 * recording an exception and error status if it throws. With tracing off the span is the no-op span.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      if (span.isRecording()) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The W3C `traceparent` of the active span, to put in a request header (undefined when not tracing). */
export function currentTraceparent(): string | undefined {
  const ctx = trace.getSpanContext(context.active());
  if (ctx === undefined || !trace.isSpanContextValid(ctx)) return undefined;
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** Runs `fn` with a remote parent from a request's `traceparent`, so broker spans join the client's trace. */
export function withRemoteParent<T>(traceparent: string | undefined, fn: () => T): T {
  const match =
    traceparent === undefined ? null : /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent);
  if (match === null) return fn();
  const parent = trace.setSpanContext(context.active(), {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16),
    isRemote: true,
  });
  return context.with(parent, fn);
}
