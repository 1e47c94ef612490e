/**
 * Zero cost when tracing is disabled: the broker does not touch the tracing API per request. A counting
 * tracer provider is installed globally (as an application embedding the broker might have), and produce
 * and fetch through a broker with tracing.enabled false never ask it for a tracer or a span.
 */
import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { connectTo, createProduceFetch } from '../helpers/wire.js';

let tracerRequests = 0;
const countingProvider: TracerProvider = {
  getTracer(name: string): Tracer {
    tracerRequests++;
    return new NoopTracerLike(name);
  },
};

/** Fails any span start: none may happen with tracing disabled. */
class NoopTracerLike implements Tracer {
  constructor(readonly name: string) {}
  startSpan(): never {
    throw new Error(`tracer ${this.name}: startSpan called with tracing disabled`);
  }
  startActiveSpan(): never {
    throw new Error(`tracer ${this.name}: startActiveSpan called with tracing disabled`);
  }
}

let b: InProcessBroker;
let conn: Connection;

beforeAll(async () => {
  expect(trace.setGlobalTracerProvider(countingProvider)).toBe(true);
  b = await startInProcessBroker({ 'tracing.enabled': false });
  conn = await connectTo(b);
});
afterAll(async () => {
  await conn?.close();
  await b?.destroy();
  trace.disable();
});

describe('tracing disabled', () => {
  it('produce and fetch never ask the tracing API for a tracer or a span', async () => {
    const records = await createProduceFetch(conn, 'untraced', ['a', 'b']);
    expect(records.length).toBeGreaterThan(0);
    expect(tracerRequests).toBe(0);
  });
});
