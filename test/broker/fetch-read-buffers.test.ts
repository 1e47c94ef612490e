/**
 * Fetch answers borrow their read buffers from a pool and give them back only once the socket has taken the
 * whole answer. A buffer given back earlier (say, once encoded) could be lent to the next fetch while the
 * first answer still waits in the socket's queue behind a slow reader, and that reader would get another
 * fetch's bytes: this test holds one reader still while other fetches reuse buffers of the same size, then
 * checks every record the slow reader gets.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { ApiKey, decodeResponseBody, encodeRequest } from '../../src/protocol/index.js';
import {
  batchCrcMatches,
  decodeRecords,
  encodeRecordBatch,
  splitBatches,
} from '../../src/protocol/record-batch.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { codeOf, connectTo } from '../helpers/wire.js';

const TOPIC = 'pooled';
const RECORDS_PER_BATCH = 100;
const VALUE_BYTES = 1000;
const BATCHES = 160; // about 16 MiB
const FETCH_BYTES = 12 * 1024 * 1024;

let b: InProcessBroker;
let conn: Connection;

/** Record `offset`'s value: its offset, repeated, so a byte from anywhere else is noticed. */
function recordValue(offset: number): Buffer {
  return Buffer.alloc(VALUE_BYTES, `${offset};`);
}

beforeAll(async () => {
  b = await startInProcessBroker({ 'storage.flush_policy': 'never' });
  conn = await connectTo(b);
  const created = await conn.request(ApiKey.CreateTopics, {
    topics: [{ name: TOPIC, partitions: 1, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  expect(codeOf(created.topics[0]!.error)).toBeNull();
  for (let i = 0; i < BATCHES; i++) {
    const records = Array.from({ length: RECORDS_PER_BATCH }, (_, r) => ({
      value: recordValue(i * RECORDS_PER_BATCH + r),
    }));
    const res = await conn.request(ApiKey.Produce, {
      acks: 1,
      timeoutMs: 5_000,
      partitions: [
        { topic: TOPIC, partition: 0, records: encodeRecordBatch(records, { baseTimestamp: Date.now() }) },
      ],
    });
    expect(codeOf(res.partitions[0]!.error)).toBeNull();
  }
});
afterAll(async () => {
  await conn?.close();
  await b?.destroy();
});

function fetchBody(fetchOffset: number) {
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: FETCH_BYTES,
    partitions: [{ topic: TOPIC, partition: 0, fetchOffset, partitionMaxBytes: FETCH_BYTES }],
  };
}

/** Every batch's CRC holds and every record carries its own offset's value; returns how many records. */
function checkRecords(records: Buffer): number {
  let count = 0;
  for (const batch of splitBatches(records)) {
    expect(batchCrcMatches(batch, 0, batch.length)).toBe(true);
    for (const r of decodeRecords(batch, { topic: TOPIC, partition: 0 })) {
      expect(r.value!.equals(recordValue(r.offset))).toBe(true);
      count++;
    }
  }
  return count;
}

test('an answer held up by a slow reader keeps its buffer while other fetches reuse theirs', async () => {
  const slow = await RawSocket.open(b.host, b.port);
  try {
    slow.socket.pause();
    slow.write(
      encodeRequest(
        { apiKey: ApiKey.Fetch, apiVersion: 0, correlationId: 1, clientId: 'slow' },
        fetchBody(0),
      ),
    );
    // Let the broker read, answer and fill the socket as far as the paused reader allows.
    await new Promise((r) => setTimeout(r, 300));

    // Meanwhile fetches of the same size, from other offsets, borrow and give back buffers again and again.
    for (let i = 1; i <= 12; i++) {
      const offset = i * RECORDS_PER_BATCH;
      const res = await conn.request(ApiKey.Fetch, fetchBody(offset));
      expect(codeOf(res.partitions[0]!.error)).toBeNull();
      expect(checkRecords(res.partitions[0]!.records)).toBeGreaterThan(0);
    }

    slow.socket.resume();
    const answer = await slow.next(10_000);
    expect(answer?.correlationId).toBe(1);
    const body = decodeResponseBody(ApiKey.Fetch, 0, answer!.errorCode, answer!.body);
    const records = body.partitions[0]!.records;
    expect(records.length).toBeGreaterThan(8 * 1024 * 1024); // larger than the socket buffers in between
    expect(checkRecords(records)).toBeGreaterThan(8000);
  } finally {
    slow.socket.destroy();
  }
});

test('the buffers given back are kept for reuse and reported in /metrics', async () => {
  const res = await conn.request(ApiKey.Fetch, fetchBody(0));
  expect(checkRecords(res.partitions[0]!.records)).toBeGreaterThan(0);
  const text = await (await fetch(`http://127.0.0.1:${b.httpPort}/metrics`)).text();
  const idle = Number(/^streambus_read_buffer_pool_idle_bytes(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
  // At least the buffer a 12 MiB answer borrowed (from the 16 MiB class), within the 64 MiB default bound.
  expect(idle).toBeGreaterThanOrEqual(12 * 1024 * 1024);
  expect(idle).toBeLessThanOrEqual(64 * 1024 * 1024);
});
