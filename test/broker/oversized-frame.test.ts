/**
 * A frame over limits.frame_bytes_max is refused unread: the broker reads only its first 8 bytes (api key,
 * version, correlation id), answers that correlation id FRAME_TOO_LARGE naming the limit (and carrying it
 * as `limitBytes`) in its turn after the requests before it, then closes the connection. So a client learns
 * why instead of resending the same frame on every new connection; memory never follows the declared length.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { codeFromWire } from '../../src/errors/index.js';
import { ApiKey, encodeRequest, unpackBody } from '../../src/protocol/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import {
  BAD_INPUT_FRAME_BYTES_MAX,
  BAD_INPUT_LIMITS,
  expectServing,
  metadataFrame,
  RawSocket,
  rawFrame,
  rawRequest,
  rawRequestIds,
} from '../helpers/raw-socket.js';
import { connectTo } from '../helpers/wire.js';

const FRAME_BYTES_MAX = BAD_INPUT_FRAME_BYTES_MAX;

let b: InProcessBroker;

beforeAll(async () => {
  b = await startInProcessBroker(BAD_INPUT_LIMITS);
});
afterAll(async () => {
  await b?.destroy();
});

/** Expects the next answer to refuse `correlationId` as FRAME_TOO_LARGE, naming the limit, then a close. */
async function expectRefusedThenClosed(raw: RawSocket, correlationId: number): Promise<void> {
  const res = await raw.next();
  expect(res?.correlationId).toBe(correlationId);
  expect(codeFromWire(res!.errorCode)).toBe('FRAME_TOO_LARGE');
  const body = unpackBody(res!.body, 'response', 'MALFORMED_FRAME') as {
    message: string;
    limitBytes: number;
  };
  expect(body.message).toContain(`limits.frame_bytes_max of ${FRAME_BYTES_MAX} bytes`);
  expect(body.limitBytes).toBe(FRAME_BYTES_MAX);
  expect(await raw.next()).toBeNull();
}

describe('a frame over limits.frame_bytes_max is refused unread: answered FRAME_TOO_LARGE, then closed', () => {
  test('its correlation id is answered with the limit, the connection closes, other clients are served', async () => {
    const raw = await RawSocket.open(b.host, b.port);
    try {
      const body = Buffer.alloc(FRAME_BYTES_MAX + 10, 0xc0);
      raw.write(rawRequest({ apiKey: ApiKey.Produce, correlationId: 4242 }, body));
      await expectRefusedThenClosed(raw, 4242);
    } finally {
      raw.close();
    }
    await expectServing(b);
  });

  test('the answer needs only the first 8 bytes: a 2 GiB length, its body never sent, is answered', async () => {
    // Nothing of the declared body ever arrives, so an answer proves the broker did not wait to buffer it.
    const raw = await RawSocket.open(b.host, b.port);
    try {
      const head = rawFrame(0x7fffffff, rawRequestIds(ApiKey.Produce, -5));
      // Split inside the length prefix and inside the ids: the head is gathered across reads.
      raw.write(head.subarray(0, 2));
      await new Promise((r) => setTimeout(r, 20));
      raw.write(head.subarray(2, 7));
      await new Promise((r) => setTimeout(r, 20));
      raw.write(head.subarray(7));
      await expectRefusedThenClosed(raw, -5);
    } finally {
      raw.close();
    }
    await expectServing(b);
  });

  test('answers stay in request order: requests before it, a waiting long poll too, are answered first', async () => {
    const conn = await connectTo(b);
    await conn.request(ApiKey.CreateTopics, {
      topics: [{ name: 'refused', partitions: 1, replicationFactor: 1, configs: {} }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    await conn.close();
    const longPoll = encodeRequest(
      { apiKey: ApiKey.Fetch, apiVersion: 0, correlationId: 2, clientId: 'raw' },
      {
        maxWaitMs: 100,
        minBytes: 1,
        maxBytes: 1024,
        partitions: [{ topic: 'refused', partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }],
      },
    );
    const raw = await RawSocket.open(b.host, b.port);
    try {
      // One write: the refused frame's head arrives in the same read as the requests before it.
      const oversized = rawFrame(FRAME_BYTES_MAX + 1, rawRequestIds(ApiKey.Metadata, 3));
      raw.write(Buffer.concat([metadataFrame(1), longPoll, oversized, metadataFrame(4)]));
      for (const id of [1, 2]) {
        const res = await raw.next();
        expect([res?.correlationId, res?.errorCode]).toEqual([id, 0]);
      }
      await expectRefusedThenClosed(raw, 3);
    } finally {
      raw.close();
    }
    await expectServing(b);
  });
});
