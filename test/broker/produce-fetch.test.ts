/**
 * Produce, Fetch and ListOffsets against an in-process broker through the SDK's raw Connection: offsets,
 * acks, every per-partition error code, fetch sizing and long polling.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient } from '../../src/client/client.js';
import type { Connection } from '../../src/client/connection.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import {
  type Acks,
  ApiKey,
  decodeResponseBody,
  EARLIEST_TIMESTAMP,
  type FetchPartitionResult,
  LATEST_TIMESTAMP,
} from '../../src/protocol/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { RawSocket, rawRequest } from '../helpers/raw-socket.js';
import { batchOf, codeOf, connectTo, rejectionCode } from '../helpers/wire.js';

const BATCH_BYTES_MAX = 4096;

let b: InProcessBroker;
let conn: Connection;
let side: Connection;

beforeAll(async () => {
  b = await startInProcessBroker({ 'limits.batch_bytes_max': BATCH_BYTES_MAX });
  conn = await connectTo(b);
  side = await connectTo(b);
});
afterAll(async () => {
  await conn?.close();
  await side?.close();
  await b?.destroy();
});

async function createTopic(name: string, partitions = 1): Promise<void> {
  const res = await conn.request(ApiKey.CreateTopics, {
    topics: [{ name, partitions, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  expect(codeOf(res.topics[0]!.error)).toBeNull();
}

async function produce(topic: string, partition: number, records: Buffer, acks: Acks = -1) {
  const res = await conn.request(ApiKey.Produce, {
    acks,
    timeoutMs: 5_000,
    partitions: [{ topic, partition, records }],
  });
  return res.partitions[0]!;
}

async function fetchOne(
  topic: string,
  partition: number,
  fetchOffset: number,
  opts: { maxBytes?: number; maxWaitMs?: number; via?: Connection } = {},
): Promise<FetchPartitionResult> {
  const maxBytes = opts.maxBytes ?? 1 << 20;
  const res = await (opts.via ?? conn).request(
    ApiKey.Fetch,
    {
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: 1,
      maxBytes,
      partitions: [{ topic, partition, fetchOffset, partitionMaxBytes: maxBytes }],
    },
    { timeoutMs: 30_000 },
  );
  return res.partitions[0]!;
}

function valuesOf(records: Buffer): { offset: number; value: string }[] {
  return [...splitBatches(records)].flatMap((batch) =>
    decodeRecords(batch).map((r) => ({ offset: r.offset, value: r.value?.toString() ?? '' })),
  );
}

async function latest(topic: string, partition: number, via = conn): Promise<number> {
  const res = await via.request(ApiKey.ListOffsets, {
    partitions: [{ topic, partition, timestamp: LATEST_TIMESTAMP }],
  });
  return res.partitions[0]!.offset;
}

describe('Produce', () => {
  test('offsets are contiguous across batches and requests, and records read back in order', async () => {
    await createTopic('pf-contiguous');
    expect((await produce('pf-contiguous', 0, batchOf(['a0', 'a1', 'a2']))).baseOffset).toBe(0);
    expect((await produce('pf-contiguous', 0, batchOf(['b0', 'b1', 'b2', 'b3', 'b4']))).baseOffset).toBe(3);
    // Two batches in one request: the response carries the first one's base offset.
    const two = Buffer.concat([batchOf(['c0', 'c1']), batchOf(['d0'])]);
    const r = await produce('pf-contiguous', 0, two);
    expect(codeOf(r.error)).toBeNull();
    expect(r.baseOffset).toBe(8);
    const read = valuesOf((await fetchOne('pf-contiguous', 0, 0)).records);
    expect(read.map((x) => x.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(read.map((x) => x.value)).toEqual([
      'a0',
      'a1',
      'a2',
      'b0',
      'b1',
      'b2',
      'b3',
      'b4',
      'c0',
      'c1',
      'd0',
    ]);
    expect(await latest('pf-contiguous', 0)).toBe(11);
  });

  test('acks=1 and acks=-1 both answer with the assigned offset once appended', async () => {
    await createTopic('pf-acks');
    const one = await produce('pf-acks', 0, batchOf(['x', 'y']), 1);
    expect([codeOf(one.error), one.baseOffset]).toEqual([null, 0]);
    expect(one.logAppendTimeMs).toBeGreaterThan(0);
    const all = await produce('pf-acks', 0, batchOf(['z']), -1);
    expect([codeOf(all.error), all.baseOffset]).toEqual([null, 2]);
    expect(await latest('pf-acks', 0)).toBe(3);
  });

  test('acks=0 gets no response frame but the records are still appended', async () => {
    await createTopic('pf-acks0');
    // The SDK resolves acks=0 once written. If the broker answered anyway, that stray frame would break
    // correlation on this connection and the next request would fail.
    await conn.request(ApiKey.Produce, {
      acks: 0,
      timeoutMs: 5_000,
      partitions: [{ topic: 'pf-acks0', partition: 0, records: batchOf(['fire', 'and', 'forget']) }],
    });
    let hw = 0;
    for (let i = 0; i < 100 && hw < 3; i++) {
      hw = await latest('pf-acks0', 0);
      if (hw < 3) await new Promise((r) => setTimeout(r, 20));
    }
    expect(hw).toBe(3);
    expect(conn.closed).toBe(false);
    expect(valuesOf((await fetchOne('pf-acks0', 0, 0)).records).map((x) => x.value)).toEqual([
      'fire',
      'and',
      'forget',
    ]);
  });

  test('a failed acks=0 produce closes its connection (its one way to tell), answering nothing', async () => {
    const own = await connectTo(b);
    try {
      const closed = new Promise<void>((resolve) => own.onClose(() => resolve()));
      // An unknown topic fails the write; an error frame here would be read as the next request's answer.
      await own.request(ApiKey.Produce, {
        acks: 0,
        timeoutMs: 5_000,
        partitions: [{ topic: 'pf-acks0-nowhere', partition: 0, records: batchOf(['lost']) }],
      });
      const stayedOpen = new Promise<'open'>((r) => setTimeout(() => r('open'), 5_000).unref());
      expect(await Promise.race([closed.then(() => 'closed' as const), stayedOpen])).toBe('closed');
      expect(own.closed).toBe(true);
      // Other connections are served as before.
      expect(await latest('pf-acks0', 0)).toBe(3);
    } finally {
      await own.close();
    }
  });

  test('the SDK producer with acks=0 delivers (no response expected)', async () => {
    await createTopic('pf-sdk-acks0');
    const client = createClient({ bootstrap: b.bootstrap });
    try {
      const producer = client.producer({ acks: 0, lingerMs: 0 });
      const meta = await producer.send({
        topic: 'pf-sdk-acks0',
        messages: [{ value: 'v1' }, { value: 'v2' }],
      });
      expect(meta).toHaveLength(2);
      await producer.flush();
    } finally {
      await client.close();
    }
    let hw = 0;
    for (let i = 0; i < 100 && hw < 2; i++) {
      hw = await latest('pf-sdk-acks0', 0);
      if (hw < 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect(hw).toBe(2);
  });

  test('acks=2 fails the request with INVALID_ACKS and appends nothing', async () => {
    await createTopic('pf-bad-acks');
    expect(await rejectionCode(produce('pf-bad-acks', 0, batchOf(['x']), 2 as Acks))).toBe('INVALID_ACKS');
    expect(await latest('pf-bad-acks', 0)).toBe(0);
  });

  test('an unknown topic answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const r = await produce('pf-no-such-topic', 0, batchOf(['x']));
    expect([codeOf(r.error), r.baseOffset]).toEqual(['UNKNOWN_TOPIC_OR_PARTITION', -1]);
  });

  test('a partition out of range answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await createTopic('pf-two-partitions', 2);
    expect(codeOf((await produce('pf-two-partitions', 2, batchOf(['x']))).error)).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
  });

  test('a flipped byte inside the CRC-covered region answers CORRUPT_BATCH and appends nothing', async () => {
    await createTopic('pf-corrupt');
    const batch = batchOf(['hello world', 'second']);
    for (const at of [21, 30, batch.length - 1]) {
      const bad = Buffer.from(batch);
      bad[at] = bad[at]! ^ 0x01;
      expect(codeOf((await produce('pf-corrupt', 0, bad)).error)).toBe('CORRUPT_BATCH');
    }
    expect(await latest('pf-corrupt', 0)).toBe(0);
  });

  test('a truncated batch answers INVALID_BATCH', async () => {
    await createTopic('pf-truncated');
    const batch = batchOf(['some value', 'another']);
    expect(codeOf((await produce('pf-truncated', 0, batch.subarray(0, batch.length - 3))).error)).toBe(
      'INVALID_BATCH',
    );
    expect(codeOf((await produce('pf-truncated', 0, batch.subarray(0, 30))).error)).toBe('INVALID_BATCH');
    // A whole batch followed by a partial one fails as a unit: nothing of it is appended.
    const mixed = Buffer.concat([batch, batch.subarray(0, 20)]);
    expect(codeOf((await produce('pf-truncated', 0, mixed)).error)).toBe('INVALID_BATCH');
    expect(await latest('pf-truncated', 0)).toBe(0);
  });

  test('records that do not match the codec in the batch header answer INVALID_BATCH and append nothing', async () => {
    await createTopic('pf-codec');
    const relabel = (batch: Buffer, codec: number): Buffer => {
      const copy = Buffer.from(batch);
      copy.writeInt16BE(codec, 21);
      copy.writeUInt32BE(crc32c(copy.subarray(21)), 17);
      return copy;
    };
    const records = [{ value: 'compressible '.repeat(40) }, { value: 'second' }];
    const gzipped = encodeRecordBatch(records, { baseTimestamp: Date.now(), compression: 'gzip' });
    const plain = encodeRecordBatch(records, { baseTimestamp: Date.now() });
    // gzip bytes labelled uncompressed: stored, every consumer would read empty or garbled values.
    const gzipAsNone = await produce('pf-codec', 0, relabel(gzipped, 0));
    expect(codeOf(gzipAsNone.error)).toBe('INVALID_BATCH');
    expect(gzipAsNone.error?.message).toContain('uncompressed');
    expect(codeOf((await produce('pf-codec', 0, relabel(plain, 1))).error)).toBe('INVALID_BATCH');
    // An offset delta out of sequence, and bytes left over after the declared records.
    const skipped = encodeRecordBatch([{ value: 'a' }, { value: 'b' }], { baseTimestamp: Date.now() });
    skipped[61 + 1 + 1 + 1] = 2 * 5; // first record: length, attributes, timestampDelta (0), offsetDelta := 5
    expect(codeOf((await produce('pf-codec', 0, relabel(skipped, 0))).error)).toBe('INVALID_BATCH');
    const padded = Buffer.concat([plain, Buffer.from([0, 0, 0])]);
    padded.writeInt32BE(padded.length - 12, 8);
    expect(codeOf((await produce('pf-codec', 0, relabel(padded, 0))).error)).toBe('INVALID_BATCH');
    // Uncompressed records labelled snappy (2), lz4 (3) or zstd (4): not that codec's framing.
    for (const codec of [2, 3, 4]) {
      const mislabelled = await produce('pf-codec', 0, relabel(plain, codec));
      expect([codec, codeOf(mislabelled.error)]).toEqual([codec, 'INVALID_BATCH']);
    }
    // Codes Kafka does not define (5-7): no decoder anywhere.
    for (const codec of [5, 6, 7])
      expect(codeOf((await produce('pf-codec', 0, relabel(plain, codec))).error)).toBe(
        'UNSUPPORTED_COMPRESSION',
      );
    expect(await latest('pf-codec', 0)).toBe(0);
    const compressed = (['snappy', 'lz4', 'zstd'] as const).map((compression) =>
      encodeRecordBatch(records, { baseTimestamp: Date.now(), compression }),
    );
    for (const good of [gzipped, plain, ...compressed])
      expect(codeOf((await produce('pf-codec', 0, good)).error)).toBeNull();
    expect(await latest('pf-codec', 0)).toBe(10);
    const fetched = await fetchOne('pf-codec', 0, 0);
    expect(valuesOf(fetched.records).map((r) => r.value)).toEqual(
      Array(5)
        .fill(records.map((r) => r.value))
        .flat(),
    );
  });

  test('a batch above limits.batch_bytes_max answers BATCH_TOO_LARGE; one just below it is accepted', async () => {
    await createTopic('pf-too-large');
    const big = encodeRecordBatch([{ value: Buffer.alloc(BATCH_BYTES_MAX, 7) }], {
      baseTimestamp: Date.now(),
    });
    expect(big.length).toBeGreaterThan(BATCH_BYTES_MAX);
    expect(codeOf((await produce('pf-too-large', 0, big)).error)).toBe('BATCH_TOO_LARGE');
    const fits = encodeRecordBatch([{ value: Buffer.alloc(BATCH_BYTES_MAX - 200, 7) }], {
      baseTimestamp: Date.now(),
    });
    expect(fits.length).toBeLessThanOrEqual(BATCH_BYTES_MAX);
    expect(codeOf((await produce('pf-too-large', 0, fits)).error)).toBeNull();
    expect(await latest('pf-too-large', 0)).toBe(1);
  });

  test('one bad partition in a produce request does not fail the good ones', async () => {
    await createTopic('pf-mixed', 2);
    const corrupt = Buffer.from(batchOf(['bad']));
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff;
    const res = await conn.request(ApiKey.Produce, {
      acks: -1,
      timeoutMs: 5_000,
      partitions: [
        { topic: 'pf-mixed', partition: 0, records: batchOf(['good-0']) },
        { topic: 'pf-mixed', partition: 1, records: corrupt },
        { topic: 'pf-missing', partition: 0, records: batchOf(['lost']) },
        { topic: 'pf-mixed', partition: 1, records: batchOf(['good-1']) },
      ],
    });
    expect(res.partitions.map((p) => [p.topic, p.partition, codeOf(p.error), p.baseOffset])).toEqual([
      ['pf-mixed', 0, null, 0],
      ['pf-mixed', 1, 'CORRUPT_BATCH', -1],
      ['pf-missing', 0, 'UNKNOWN_TOPIC_OR_PARTITION', -1],
      ['pf-mixed', 1, null, 0],
    ]);
    expect(valuesOf((await fetchOne('pf-mixed', 1, 0)).records).map((x) => x.value)).toEqual(['good-1']);
  });
});

describe('Fetch', () => {
  test('an offset past the high watermark answers OFFSET_OUT_OF_RANGE with the current bounds', async () => {
    await createTopic('fe-range');
    await produce('fe-range', 0, batchOf(['a', 'b']));
    const r = await fetchOne('fe-range', 0, 3);
    expect(codeOf(r.error)).toBe('OFFSET_OUT_OF_RANGE');
    expect(r.records.length).toBe(0);
  });

  test('a fetch at the high watermark returns no records and no error', async () => {
    await createTopic('fe-at-hw');
    await produce('fe-at-hw', 0, batchOf(['a', 'b']));
    const r = await fetchOne('fe-at-hw', 0, 2);
    expect(codeOf(r.error)).toBeNull();
    expect(r.records.length).toBe(0);
    expect(r.highWatermark).toBe(2);
    expect(r.logStartOffset).toBe(0);
  });

  test('unknown topic and partition out of range answer UNKNOWN_TOPIC_OR_PARTITION per partition', async () => {
    await createTopic('fe-known');
    await produce('fe-known', 0, batchOf(['k']));
    const res = await conn.request(ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      partitions: [
        { topic: 'fe-unknown', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
        { topic: 'fe-known', partition: 5, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
        { topic: 'fe-known', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
      ],
    });
    expect(res.partitions.map((p) => codeOf(p.error))).toEqual([
      'UNKNOWN_TOPIC_OR_PARTITION',
      'UNKNOWN_TOPIC_OR_PARTITION',
      null,
    ]);
    expect(valuesOf(res.partitions[2]!.records).map((x) => x.value)).toEqual(['k']);
  });

  test('maxBytes smaller than one batch still returns that one whole batch', async () => {
    await createTopic('fe-small-max');
    const batch = encodeRecordBatch(
      Array.from({ length: 10 }, (_, i) => ({ value: `${i}`.padEnd(200, '.') })),
      { baseTimestamp: Date.now() },
    );
    await produce('fe-small-max', 0, batch);
    await produce('fe-small-max', 0, batchOf(['after']));
    const r = await fetchOne('fe-small-max', 0, 0, { maxBytes: 16 });
    expect(codeOf(r.error)).toBeNull();
    const batches = [...splitBatches(r.records)];
    expect(batches).toHaveLength(1);
    expect(batches[0]!.length).toBe(batch.length);
    expect(r.records.length).toBe(batch.length);
    expect(decodeRecords(batches[0]!).map((x) => x.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('a fetch from inside a batch returns the batch containing that offset', async () => {
    await createTopic('fe-mid-batch');
    await produce('fe-mid-batch', 0, batchOf(['0', '1', '2', '3']));
    const offsets = valuesOf((await fetchOne('fe-mid-batch', 0, 2)).records).map((x) => x.offset);
    expect(offsets).toContain(2);
    expect(offsets).toContain(3);
  });

  test('a long poll at the high watermark returns the data produced while it waits', async () => {
    await createTopic('fe-long-poll');
    const polling = fetchOne('fe-long-poll', 0, 0, { maxWaitMs: 5_000, via: side });
    await new Promise((r) => setTimeout(r, 100));
    await produce('fe-long-poll', 0, batchOf(['woke']));
    const r = await polling;
    expect(codeOf(r.error)).toBeNull();
    expect(valuesOf(r.records).map((x) => x.value)).toEqual(['woke']);
  });

  test('a long poll with no data returns empty once maxWaitMs has passed', async () => {
    await createTopic('fe-idle-poll');
    const r = await fetchOne('fe-idle-poll', 0, 0, { maxWaitMs: 200 });
    expect(codeOf(r.error)).toBeNull();
    expect(r.records.length).toBe(0);
    expect(r.highWatermark).toBe(0);
  });
});

describe('ListOffsets', () => {
  test('earliest, latest and by timestamp; -1 when no record is that new', async () => {
    await createTopic('lo-times');
    const base = Date.now() - 60_000;
    await produce('lo-times', 0, batchOf(['t0', 't1'], base));
    await produce('lo-times', 0, batchOf(['t2'], base + 10_000));
    await produce('lo-times', 0, batchOf(['t3', 't4'], base + 20_000));
    const res = await conn.request(ApiKey.ListOffsets, {
      partitions: [
        { topic: 'lo-times', partition: 0, timestamp: EARLIEST_TIMESTAMP },
        { topic: 'lo-times', partition: 0, timestamp: LATEST_TIMESTAMP },
        { topic: 'lo-times', partition: 0, timestamp: base },
        { topic: 'lo-times', partition: 0, timestamp: base + 5_000 },
        { topic: 'lo-times', partition: 0, timestamp: base + 10_000 },
        { topic: 'lo-times', partition: 0, timestamp: base + 15_000 },
        { topic: 'lo-times', partition: 0, timestamp: base + 3_600_000 },
      ],
    });
    expect(res.partitions.map((p) => codeOf(p.error))).toEqual(Array(7).fill(null));
    expect(res.partitions.map((p) => p.offset)).toEqual([0, 5, 0, 2, 2, 3, -1]);
    expect(res.partitions[4]!.timestamp).toBe(base + 10_000);
  });

  // The codec lets any integer through so the handler can answer per partition, not fail the request.
  test('a negative timestamp other than -1/-2 answers INVALID_TIMESTAMP for that partition', async () => {
    await createTopic('lo-bad-ts');
    const raw = await RawSocket.open(b.host, b.port);
    try {
      raw.write(
        rawRequest(
          { apiKey: ApiKey.ListOffsets, correlationId: 41 },
          {
            partitions: [
              { topic: 'lo-bad-ts', partition: 0, timestamp: -5 },
              { topic: 'lo-bad-ts', partition: 0, timestamp: LATEST_TIMESTAMP },
            ],
          },
        ),
      );
      const res = await raw.next();
      expect(res?.correlationId).toBe(41);
      expect(res?.errorCode).toBe(0);
      const body = decodeResponseBody(ApiKey.ListOffsets, 0, 0, res!.body);
      expect(body.partitions.map((p) => [codeOf(p.error), p.offset])).toEqual([
        ['INVALID_TIMESTAMP', -1],
        [null, 0],
      ]);
    } finally {
      raw.close();
    }
  });

  test('a timestamp below -2 is refused for that partition only, and the connection keeps serving', async () => {
    await createTopic('lo-bad-ts2');
    const res = await conn.request(ApiKey.ListOffsets, {
      partitions: [
        { topic: 'lo-bad-ts2', partition: 0, timestamp: -5 },
        { topic: 'lo-bad-ts2', partition: 0, timestamp: LATEST_TIMESTAMP },
      ],
    });
    expect(res.partitions.map((p) => codeOf(p.error))).toEqual(['INVALID_TIMESTAMP', null]);
    expect(await latest('lo-bad-ts2', 0)).toBe(0);
  });

  test('an unknown topic or partition answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await createTopic('lo-one');
    const res = await conn.request(ApiKey.ListOffsets, {
      partitions: [
        { topic: 'lo-none', partition: 0, timestamp: LATEST_TIMESTAMP },
        { topic: 'lo-one', partition: 1, timestamp: EARLIEST_TIMESTAMP },
      ],
    });
    expect(res.partitions.map((p) => codeOf(p.error))).toEqual([
      'UNKNOWN_TOPIC_OR_PARTITION',
      'UNKNOWN_TOPIC_OR_PARTITION',
    ]);
  });
});
