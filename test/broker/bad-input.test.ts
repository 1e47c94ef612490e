/**
 * Nothing a client sends can crash the broker or starve other clients: bad frames get an error response
 * (when there is a correlation id to answer) or a closed connection, and the broker keeps serving. Also the
 * connection limit and in-order answers to pipelined requests.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { codeFromWire, ERRORS } from '../../src/errors/index.js';
import { ApiKey, encodeRequest, packBody, unpackBody } from '../../src/protocol/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import {
  BAD_INPUT_LIMITS,
  expectServing,
  metadataFrame,
  RawSocket,
  rawFrame,
  rawRequest,
  rawRequestIds,
} from '../helpers/raw-socket.js';
import { batchOf, codeOf, connectTo } from '../helpers/wire.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
console.log(`broker bad-input fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

let b: InProcessBroker;

beforeAll(async () => {
  b = await startInProcessBroker(BAD_INPUT_LIMITS);
  const conn = await connectTo(b);
  await conn.request(ApiKey.CreateTopics, {
    topics: [{ name: 'fz', partitions: 2, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  await conn.close();
});
afterAll(async () => {
  await b?.destroy();
});

/** Sends `bytes` on a fresh socket and expects the broker to close it without answering. */
async function expectClosedWithoutAnswer(bytes: Buffer): Promise<void> {
  const raw = await RawSocket.open(b.host, b.port);
  try {
    raw.write(bytes);
    expect(await raw.next()).toBeNull();
    expect(raw.isClosed).toBe(true);
  } finally {
    raw.close();
  }
  await expectServing(b);
}

/** Sends one bad request; expects an error response with `code` and the same connection still usable. */
async function expectErrorResponse(frame: Buffer, correlationId: number, code: keyof typeof ERRORS) {
  const raw = await RawSocket.open(b.host, b.port);
  try {
    raw.write(frame);
    const res = await raw.next();
    expect(res).not.toBeNull();
    expect(res!.correlationId).toBe(correlationId);
    expect(codeFromWire(res!.errorCode)).toBe(code);
    const body = unpackBody(res!.body, 'response', 'MALFORMED_FRAME') as { code: number; message: string };
    expect(body.code).toBe(ERRORS[code].wireCode);
    expect(body.message.length).toBeGreaterThan(0);
    // The connection survives a request-level error.
    raw.write(metadataFrame(correlationId + 1));
    const next = await raw.next();
    expect([next?.correlationId, next?.errorCode]).toEqual([correlationId + 1, 0]);
  } finally {
    raw.close();
  }
  await expectServing(b);
}

describe('malformed frames close the connection and the broker keeps serving', () => {
  test('garbage bytes (an HTTP request) close the connection', async () => {
    await expectClosedWithoutAnswer(Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
  });

  test('a length prefix of 0 closes the connection', async () => {
    await expectClosedWithoutAnswer(rawFrame(0, Buffer.from([1, 2, 3])));
  });

  test('a frame too short for the header closes the connection', async () => {
    await expectClosedWithoutAnswer(rawFrame(5, Buffer.from([0, 3, 0, 0, 0])));
  });

  test('a client id length running past the frame closes the connection', async () => {
    const header = Buffer.alloc(10);
    header.writeUInt16BE(ApiKey.Metadata, 0);
    header.writeInt32BE(9, 4);
    header.writeUInt16BE(500, 8);
    await expectClosedWithoutAnswer(rawFrame(header.length + 3, Buffer.concat([header, Buffer.from('abc')])));
  });
});

describe('bad requests get an error response with their correlation id', () => {
  test('an unknown api key answers UNKNOWN_API', async () => {
    await expectErrorResponse(rawRequest({ apiKey: 99, correlationId: 1234 }, {}), 1234, 'UNKNOWN_API');
  });

  test('an unsupported api version answers UNSUPPORTED_VERSION', async () => {
    await expectErrorResponse(
      rawRequest({ apiKey: ApiKey.Metadata, apiVersion: 7, correlationId: -77 }, { topics: null }),
      -77,
      'UNSUPPORTED_VERSION',
    );
  });

  test('valid msgpack of the wrong shape answers INVALID_REQUEST', async () => {
    await expectErrorResponse(
      rawRequest({ apiKey: ApiKey.Metadata, correlationId: 500 }, { topics: 5 }),
      500,
      'INVALID_REQUEST',
    );
    await expectErrorResponse(
      rawRequest({ apiKey: ApiKey.Produce, correlationId: 501 }, { acks: 1, timeoutMs: 10, partitions: 'x' }),
      501,
      'INVALID_REQUEST',
    );
    await expectErrorResponse(
      rawRequest(
        { apiKey: ApiKey.CreateTopics, correlationId: 502 },
        {
          topics: [{ name: 'fz-frac', partitions: 1.5, replicationFactor: 1, configs: {} }],
          timeoutMs: 1,
          validateOnly: false,
        },
      ),
      502,
      'INVALID_REQUEST',
    );
  });

  test('a body that is not msgpack answers INVALID_REQUEST', async () => {
    await expectErrorResponse(
      rawRequest({ apiKey: ApiKey.Metadata, correlationId: 600 }, Buffer.from([0xc1, 0xff, 0x00])),
      600,
      'INVALID_REQUEST',
    );
    // A truncated msgpack map.
    await expectErrorResponse(
      rawRequest({ apiKey: ApiKey.Fetch, correlationId: 601 }, Buffer.from([0x84, 0xa4])),
      601,
      'INVALID_REQUEST',
    );
  });

  test('an empty body answers INVALID_REQUEST', async () => {
    await expectErrorResponse(
      rawRequest({ apiKey: ApiKey.ApiVersions, correlationId: 700 }, Buffer.alloc(0)),
      700,
      'INVALID_REQUEST',
    );
  });
});

describe('memory does not follow a declared length', () => {
  test('many connections declaring frames just under the limit hold only the bytes they sent', async () => {
    // Each of these declares a frame just under frame_bytes_max of a broker with a 64 MiB limit. If the
    // broker allocated by declared length, 16 of them would need ~1 GiB.
    const big = await startInProcessBroker({ 'limits.frame_bytes_max': 64 * 1024 * 1024 });
    const sockets: RawSocket[] = [];
    try {
      const before = process.memoryUsage();
      for (let i = 0; i < 16; i++) {
        const raw = await RawSocket.open(big.host, big.port);
        raw.write(rawFrame(64 * 1024 * 1024 - 1, Buffer.from([0, 3, 0, 0, 0, 0, 0, 1, 0, 0])));
        sockets.push(raw);
      }
      await new Promise((r) => setTimeout(r, 200));
      const after = process.memoryUsage();
      expect(sockets.every((s) => !s.isClosed)).toBe(true);
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
      expect(after.rss - before.rss).toBeLessThan(256 * 1024 * 1024);
      await expectServing(big);
      // And a declared length over the limit is refused outright, from its first bytes.
      const huge = await RawSocket.open(big.host, big.port);
      huge.write(rawFrame(0x7fff0000, rawRequestIds(ApiKey.Metadata, 9)));
      expect((await huge.next())?.correlationId).toBe(9);
      await huge.waitClosed();
    } finally {
      for (const s of sockets) s.close();
      await big.destroy();
    }
  });
});

describe('fuzz: random frames never crash the broker', () => {
  const apiKeys = fc.oneof(fc.constantFrom(...Object.values(ApiKey)), fc.integer({ min: 0, max: 0xffff }));
  const msgpackBody = fc.anything({ maxDepth: 3 }).map((v) => {
    try {
      return packBody(v);
    } catch {
      return Buffer.from([0xc0]);
    }
  });
  const nearValidBody = fc.record({
    acks: fc.constantFrom(0, 1, -1, 2, 'x'),
    timeoutMs: fc.oneof(fc.integer(), fc.constant(-1)),
    // Not 'fz': a DeleteTopics would remove the topic the produce and fetch cases aim at.
    topics: fc.oneof(fc.constant(null), fc.array(fc.constantFrom('fz-other', 'nope', '', 'a/b'))),
    partitions: fc.array(
      fc.record({
        topic: fc.constantFrom('fz', 'nope', 7),
        partition: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double()),
        fetchOffset: fc.integer({ min: -1, max: 1000 }),
        partitionMaxBytes: fc.integer({ min: 0, max: 1 << 20 }),
        timestamp: fc.integer({ min: -10, max: 10 }),
        records: fc.oneof(
          fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
          fc.constant(batchOf(['fuzz'])),
        ),
      }),
      { maxLength: 3 },
    ),
    maxWaitMs: fc.integer({ min: 0, max: 50 }),
    minBytes: fc.integer({ min: 0, max: 10 }),
    maxBytes: fc.integer({ min: 0, max: 1 << 16 }),
    validateOnly: fc.boolean(),
  });
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    msgpackBody,
    nearValidBody.map((v) => packBody(v)),
  );
  const frame = fc
    .record({
      apiKey: apiKeys,
      apiVersion: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
      correlationId: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      clientIdBytes: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 0xffff })),
      body,
    })
    .map(({ apiKey, apiVersion, correlationId, clientIdBytes, body: b0 }) => {
      const header = Buffer.alloc(10 + Math.min(clientIdBytes, 16), 0x61);
      header.writeUInt16BE(apiKey, 0);
      header.writeUInt16BE(apiVersion, 2);
      header.writeInt32BE(correlationId, 4);
      header.writeUInt16BE(clientIdBytes, 8);
      const payload = Buffer.concat([header, b0]);
      return { correlationId, bytes: rawFrame(payload.length, payload) };
    });

  test('every random frame gets its own answer or a close, and a health request still succeeds', async () => {
    const health: Connection = await connectTo(b);
    let answered = 0;
    let closed = 0;
    try {
      await fc.assert(
        fc.asyncProperty(frame, async ({ correlationId, bytes }) => {
          const raw = await RawSocket.open(b.host, b.port);
          try {
            // A follow-up request proves the stream stayed in step (acks=0 produce answers nothing).
            raw.write(Buffer.concat([bytes, metadataFrame(424242)]));
            const first = await raw.next();
            if (first === null) {
              closed++;
            } else {
              answered++;
              const last = first.correlationId === 424242 ? first : await raw.next();
              if (first.correlationId !== 424242) expect(first.correlationId).toBe(correlationId);
              expect(last?.correlationId).toBe(424242);
              expect(last?.errorCode).toBe(0);
            }
          } finally {
            raw.close();
          }
          const md = await health.request(ApiKey.Metadata, { topics: ['fz'] }, { timeoutMs: 5_000 });
          expect(codeOf(md.topics[0]!.error)).toBeNull();
        }),
        { seed: SEED, numRuns: 3000 },
      );
    } finally {
      await health.close();
    }
    console.log(`fuzz: ${answered} answered, ${closed} closed`);
    expect(answered).toBeGreaterThan(0);
    expect(closed).toBeGreaterThan(0);
    await expectServing(b);
  });
});

describe('connection limit', () => {
  test('with connections_max 2 a third connection is closed while the first two keep working', async () => {
    const limited = await startInProcessBroker({ 'limits.connections_max': 2 });
    const conns: Connection[] = [];
    try {
      conns.push(await connectTo(limited), await connectTo(limited));
      for (const c of conns) await c.request(ApiKey.ApiVersions, {});
      const third = await RawSocket.open(limited.host, limited.port);
      third.write(metadataFrame(1));
      expect(await third.next()).toBeNull();
      third.close();
      for (const c of conns) {
        const md = await c.request(ApiKey.Metadata, { topics: null });
        expect(md.brokers[0]!.port).toBe(limited.port);
      }
      // A slot freed by a close is available again.
      await conns.shift()!.close();
      await new Promise((r) => setTimeout(r, 50));
      const again = await connectTo(limited);
      conns.push(again);
      expect((await again.request(ApiKey.ApiVersions, {})).apis.length).toBeGreaterThan(0);
    } finally {
      for (const c of conns) await c.close();
      await limited.destroy();
    }
  });
});

describe('idle connections', () => {
  test('a connection idle for limits.connection_idle_timeout_ms is closed; an active one is not', async () => {
    const idle = await startInProcessBroker({ 'limits.connection_idle_timeout_ms': 300 });
    const quiet = await RawSocket.open(idle.host, idle.port);
    const busy = await connectTo(idle);
    try {
      const until = Date.now() + 900;
      while (Date.now() < until) {
        await busy.request(ApiKey.ApiVersions, {});
        await new Promise((r) => setTimeout(r, 50));
      }
      await quiet.waitClosed(5_000);
      expect(busy.closed).toBe(false);
    } finally {
      quiet.close();
      await busy.close();
      await idle.destroy();
    }
  });
});

describe('pipelining', () => {
  test('over limits.in_flight_requests_per_connection_max the broker stops reading instead of failing', async () => {
    const narrow = await startInProcessBroker({ 'limits.in_flight_requests_per_connection_max': 2 });
    const raw = await RawSocket.open(narrow.host, narrow.port);
    try {
      raw.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => metadataFrame(i))));
      const ids: number[] = [];
      for (let i = 0; i < 50; i++) {
        const res = await raw.next();
        expect(res?.errorCode).toBe(0);
        ids.push(res!.correlationId);
      }
      expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => i));
    } finally {
      raw.close();
      await narrow.destroy();
    }
  });

  test('200 raw frames written back to back are answered in order with matching correlation ids', async () => {
    const raw = await RawSocket.open(b.host, b.port);
    try {
      const frames: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        frames.push(
          i % 2 === 0
            ? metadataFrame(10_000 + i)
            : encodeRequest(
                { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 10_000 + i, clientId: 'raw' },
                {},
              ),
        );
      }
      raw.write(Buffer.concat(frames));
      const ids: number[] = [];
      for (let i = 0; i < 200; i++) {
        const res = await raw.next();
        expect(res?.errorCode).toBe(0);
        ids.push(res!.correlationId);
      }
      expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => 10_000 + i));
    } finally {
      raw.close();
    }
  });

  test('200 pipelined produce requests are appended and answered in request order', async () => {
    const conn = await connectTo(b);
    try {
      await conn.request(ApiKey.CreateTopics, {
        topics: [{ name: 'pipelined', partitions: 1, replicationFactor: 1, configs: {} }],
        timeoutMs: 5_000,
        validateOnly: false,
      });
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          conn.request(ApiKey.Produce, {
            acks: -1,
            timeoutMs: 5_000,
            partitions: [{ topic: 'pipelined', partition: 0, records: batchOf([`m${i}`]) }],
          }),
        ),
      );
      expect(results.map((r) => r.partitions[0]!.baseOffset)).toEqual(
        Array.from({ length: 200 }, (_, i) => i),
      );
    } finally {
      await conn.close();
    }
  });
});
