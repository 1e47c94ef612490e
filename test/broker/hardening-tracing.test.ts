/**
 * Tracing in the running broker: Produce and Fetch are handled inside `streambus.produce` /
 * `streambus.fetch` spans with request attributes, and a client request made inside an application span
 * carries its W3C traceparent in the request header, so the broker's span joins the application's trace.
 */
import { tracing as sdkTrace } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { createClient } from '../../src/client/client.js';
import type { Connection } from '../../src/client/connection.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger, withSpan } from '../../src/observability/index.js';
import { decodeRequestHeader, encodeRequestHeader, TRACE_CONTEXT_FLAG } from '../../src/protocol/header.js';
import { ApiKey } from '../../src/protocol/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { batchOf, connectTo } from '../helpers/wire.js';

const exporter = new sdkTrace.InMemorySpanExporter();
const dataDir = tempDir();
let broker: Broker;
let conn: Connection;
let bootstrap: string;

beforeAll(async () => {
  const config = loadConfig({
    env: {},
    overrides: {
      'broker.data_dir': dataDir,
      'broker.listen': '127.0.0.1:0',
      'health.http.enabled': false,
      'metrics.enabled': false,
      'tracing.enabled': true,
      'tracing.exporter': 'none',
      'tracing.sampling_ratio': 1,
    },
  });
  broker = await Broker.start(config, { logger: silentLogger(), spanExporter: exporter });
  bootstrap = `${broker.addresses.host}:${broker.addresses.port}`;
  conn = await connectTo(broker.addresses);
  const created = await conn.request(ApiKey.CreateTopics, {
    topics: [{ name: 'traced', partitions: 2, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  expect(created.topics[0]?.error).toBeNull();
});
afterAll(async () => {
  await conn?.close();
  await broker?.shutdown('test');
  removeDir(dataDir);
});

async function finishedSpans(name: string): Promise<sdkTrace.ReadableSpan[]> {
  await broker.tracing.forceFlush();
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

describe('broker spans', () => {
  it('handles a produce from the SDK inside a streambus.produce span with topic, partition and byte counts', async () => {
    exporter.reset();
    const client = createClient({ bootstrap: [bootstrap], clientId: 'tracing-test' });
    try {
      const producer = client.producer({ lingerMs: 0 });
      await producer.send({ topic: 'traced', messages: [{ value: 'a', partition: 1 }] });
      await producer.close();
    } finally {
      await client.close();
    }
    const spans = await finishedSpans('streambus.produce');
    expect(spans.length).toBeGreaterThanOrEqual(1);
    const span = spans.at(-1) as sdkTrace.ReadableSpan;
    expect(span.attributes).toMatchObject({
      'streambus.topic_count': 1,
      'streambus.partition_count': 1,
      'streambus.topic': 'traced',
      'streambus.client_id': 'tracing-test',
      'streambus.partition_errors': 0,
    });
    expect(span.attributes['streambus.bytes']).toBeGreaterThan(0);
  });

  it('handles a fetch inside a streambus.fetch span that records the bytes returned', async () => {
    exporter.reset();
    await conn.request(ApiKey.Produce, {
      acks: -1,
      timeoutMs: 5_000,
      partitions: [{ topic: 'traced', partition: 0, records: batchOf(['f1', 'f2']) }],
    });
    const res = await conn.request(ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      partitions: [
        { topic: 'traced', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
        { topic: 'traced', partition: 7, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
      ],
    });
    const [span] = await finishedSpans('streambus.fetch');
    expect(span?.attributes).toMatchObject({
      'streambus.topic_count': 1,
      'streambus.partition_count': 2,
      'streambus.partition_errors': 1,
      'streambus.bytes': res.partitions[0]?.records.length,
    });
  });
});

describe('trace context from the SDK to the broker', () => {
  it('a request sent inside an application span makes the broker span its child', async () => {
    exporter.reset();
    let appTraceId = '';
    let appSpanId = '';
    await withSpan('app.send', {}, async (span) => {
      appTraceId = span.spanContext().traceId;
      appSpanId = span.spanContext().spanId;
      await conn.request(ApiKey.Produce, {
        acks: -1,
        timeoutMs: 5_000,
        partitions: [{ topic: 'traced', partition: 0, records: batchOf(['in-trace']) }],
      });
    });
    const [span] = await finishedSpans('streambus.produce');
    expect(span?.spanContext().traceId).toBe(appTraceId);
    expect(span?.parentSpanContext?.spanId).toBe(appSpanId);
    expect(span?.parentSpanContext?.isRemote).toBe(true);
  });

  it('a request sent outside any span starts a new trace at the broker', async () => {
    exporter.reset();
    await conn.request(ApiKey.Produce, {
      acks: -1,
      timeoutMs: 5_000,
      partitions: [{ topic: 'traced', partition: 0, records: batchOf(['no-trace']) }],
    });
    const [span] = await finishedSpans('streambus.produce');
    expect(span).toBeDefined();
    expect(span?.parentSpanContext).toBeUndefined();
  });
});

describe('request header trace context extension', () => {
  const base = { apiKey: 0, apiVersion: 3, correlationId: 9, clientId: 'c' };
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('is absent from the bytes when there is no traceparent (the original format)', () => {
    const plain = encodeRequestHeader(base);
    expect(plain.readUInt16BE(2)).toBe(3);
    expect(plain.length).toBe(10 + 1);
    expect(decodeRequestHeader(plain).header).toStrictEqual(base);
  });

  it('round-trips a traceparent behind the apiVersion flag bit, leaving the body offset after it', () => {
    const body = Buffer.from([0xc0]);
    const frame = Buffer.concat([encodeRequestHeader({ ...base, traceparent }), body]);
    expect(frame.readUInt16BE(2)).toBe(3 | TRACE_CONTEXT_FLAG);
    const { header, bodyOffset } = decodeRequestHeader(frame);
    expect(header).toStrictEqual({ ...base, traceparent });
    expect(frame.subarray(bodyOffset)).toEqual(body);
  });

  it('is MALFORMED_FRAME when the flag is set but the traceparent is cut short', () => {
    const frame = encodeRequestHeader({ ...base, traceparent });
    for (const cut of [11, 12, frame.length - 1]) {
      expect(() => decodeRequestHeader(frame.subarray(0, cut))).toThrowError(
        expect.objectContaining({ code: 'MALFORMED_FRAME' }),
      );
    }
  });
});
