/** A single-node broker drops an idempotent producer's retried batch and refuses a sequence gap. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
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

async function produce(records: Buffer) {
  const res = await conn.request(ApiKey.Produce, {
    acks: -1,
    timeoutMs: 5_000,
    partitions: [{ topic: 'idem', partition: 0, records }],
  });
  const p = res.partitions[0]!;
  return { code: codeOf(p.error), baseOffset: p.baseOffset };
}

describe('idempotent produce on a single node', () => {
  it('answers a retried batch with its original offset and writes it once; a gap is OUT_OF_ORDER_SEQUENCE', async () => {
    const first = seqBatch(0, ['x0', 'x1']);
    expect(await produce(Buffer.from(first))).toEqual({ code: null, baseOffset: 0 });
    expect(await produce(Buffer.from(first))).toEqual({ code: null, baseOffset: 0 });
    expect(await produce(seqBatch(2, ['x2']))).toEqual({ code: null, baseOffset: 2 });
    expect((await produce(seqBatch(7, ['gap']))).code).toBe('OUT_OF_ORDER_SEQUENCE');
    const fetched = await conn.request(ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      partitions: [{ topic: 'idem', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
    });
    const values = [...splitBatches(fetched.partitions[0]!.records)].flatMap((b) =>
      decodeRecords(b).map((r) => r.value?.toString()),
    );
    expect(values).toEqual(['x0', 'x1', 'x2']);
  });
});
