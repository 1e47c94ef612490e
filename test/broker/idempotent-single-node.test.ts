/**
 * A single-node broker drops an idempotent producer's retried batch and refuses a sequence gap, also across a
 * restart (the log keeps the producer state in snapshot files, storage/log-state.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { tempDir } from '../helpers/broker-process.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { codeOf, connectTo } from '../helpers/wire.js';

let broker: InProcessBroker;
let conn: Connection;

beforeAll(async () => {
  broker = await startInProcessBroker();
  conn = await connectTo(broker);
  await conn.request(ApiKey.CreateTopics, {
    topics: [{ name: 'idem', partitions: 1, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
});

afterAll(async () => {
  await conn.close();
  await broker.destroy();
});

const seqBatch = (seq: number, values: string[]) =>
  encodeRecordBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v) })),
    { baseTimestamp: Date.now(), producerId: 9, producerEpoch: 0, baseSequence: seq },
  );

async function produce(records: Buffer, topic = 'idem', on = conn) {
  const res = await on.request(ApiKey.Produce, {
    acks: -1,
    timeoutMs: 5_000,
    partitions: [{ topic, partition: 0, records }],
  });
  const p = res.partitions[0]!;
  return { code: codeOf(p.error), baseOffset: p.baseOffset };
}

async function valuesIn(topic: string, on = conn): Promise<(string | undefined)[]> {
  const fetched = await on.request(ApiKey.Fetch, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    partitions: [{ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
  });
  return [...splitBatches(fetched.partitions[0]!.records)].flatMap((b) =>
    decodeRecords(b).map((r) => r.value?.toString()),
  );
}

describe('idempotent produce on a single node', () => {
  it('answers a retried batch with its original offset and writes it once; a gap is OUT_OF_ORDER_SEQUENCE', async () => {
    const first = seqBatch(0, ['x0', 'x1']);
    expect(await produce(Buffer.from(first))).toEqual({ code: null, baseOffset: 0 });
    expect(await produce(Buffer.from(first))).toEqual({ code: null, baseOffset: 0 });
    expect(await produce(seqBatch(2, ['x2']))).toEqual({ code: null, baseOffset: 2 });
    expect((await produce(seqBatch(7, ['gap']))).code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(await valuesIn('idem')).toEqual(['x0', 'x1', 'x2']);
  });

  it('after a restart, a retry of the last batch gets its original offset and the next batch its epoch', async () => {
    const dataDir = tempDir();
    let node = await startInProcessBroker({}, dataDir);
    let c = await connectTo(node);
    try {
      await c.request(ApiKey.CreateTopics, {
        topics: [{ name: 'kept', partitions: 1, replicationFactor: 1, configs: {} }],
        timeoutMs: 5_000,
        validateOnly: false,
      });
      expect(await produce(seqBatch(0, ['k0']), 'kept', c)).toEqual({ code: null, baseOffset: 0 });
      expect(await produce(seqBatch(1, ['k1', 'k2']), 'kept', c)).toEqual({ code: null, baseOffset: 1 });
      await c.close();
      await node.stop();
      node = await startInProcessBroker({}, dataDir);
      c = await connectTo(node);
      // A send whose answer the restart cut off is retried: known, so answered, not written again (today's
      // forgetful broker would refuse it as from an unknown producer, and write a retried sequence 0 twice).
      expect(await produce(seqBatch(1, ['k1', 'k2']), 'kept', c)).toEqual({ code: null, baseOffset: 1 });
      expect(await produce(seqBatch(0, ['k0']), 'kept', c)).toEqual({ code: null, baseOffset: 0 });
      // The producer carries on under epoch 0 where it was: no UNKNOWN_PRODUCER_ID.
      expect(await produce(seqBatch(3, ['k3']), 'kept', c)).toEqual({ code: null, baseOffset: 3 });
      expect(await valuesIn('kept', c)).toEqual(['k0', 'k1', 'k2', 'k3']);
    } finally {
      await c.close();
      await node.destroy();
    }
  });

  it('an entry holding a batch over the size limit writes none of its batches, not even the ones after it', async () => {
    await conn.request(ApiKey.CreateTopics, {
      topics: [{ name: 'idem-large', partitions: 1, replicationFactor: 1, configs: {} }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    const batchOf = (seq: number, value: string) =>
      encodeRecordBatch([{ key: null, value: Buffer.from(value) }], {
        baseTimestamp: Date.now(),
        producerId: 21,
        producerEpoch: 0,
        baseSequence: seq,
      });
    // The default limit is 1 MiB + 12: the first batch is over it, the second (its successor) is not.
    const entry = Buffer.concat([batchOf(0, 'x'.repeat(1_100_000)), batchOf(1, 'small')]);
    expect((await produce(entry, 'idem-large')).code).toBe('BATCH_TOO_LARGE');
    expect(await valuesIn('idem-large')).toEqual([]);
    // The producer state holds nothing of the entry either: the producer starts again at sequence 0.
    expect(await produce(batchOf(0, 'first'), 'idem-large')).toEqual({ code: null, baseOffset: 0 });
    expect(await valuesIn('idem-large')).toEqual(['first']);
  });
});
