/**
 * A producer stores one partition's records in the order send() was called, whatever each send waits for
 * before its records are batched (metadata here). With idempotence the broker cannot catch a violation:
 * sequences are taken when batches are built, so records appended out of call order carry in-order
 * sequences (the chaos run's "p1: seq 4379 stored before 4376-4378", all four in one batch).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { decodeRecords } from '../../src/protocol/record-batch.js';
import { FakeBroker, holdMetadata } from './fake-broker.js';

let broker: FakeBroker | undefined;
let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  await broker?.stop();
  cluster = undefined;
  broker = undefined;
});

function storedValues(b: FakeBroker, topic: string, partition: number): string[] {
  const stored = b.topics.get(topic)?.[partition];
  return (stored?.batches ?? []).flatMap((batch) => decodeRecords(batch).map((r) => String(r.value)));
}

describe('producer: send order', () => {
  it('stores a partition’s records in call order when earlier sends wait for a metadata refresh a later one does not', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 1);
    cluster = new Cluster({ bootstrap: [broker.bootstrap] });
    const b = broker;
    const c = cluster;
    const producer = new Producer(c, { lingerMs: 0 });
    await producer.send({ topic: 't', messages: [{ value: 'm0', partition: 0 }] });

    // The cache is stale (past metadataMaxAgeMs, 5 s in the chaos workload, or after a NOT_LEADER or a
    // closed connection) and the refresh is slow (a restarting or unreachable broker): the next sends wait.
    const releaseMetadata = holdMetadata(b);
    c.invalidateMetadata();
    const sends = [1, 2].map((i) =>
      producer.send({ topic: 't', messages: [{ value: `m${i}`, partition: 0 }] }),
    );
    // A send issued the moment the refresh lands (in the chaos run: from the callback of an acknowledgement
    // that arrived in the same read) finds the metadata fresh, before the waiting sends have resumed.
    const refreshed = c.refreshMetadata();
    void refreshed.then(() => {
      sends.push(producer.send({ topic: 't', messages: [{ value: 'm3', partition: 0 }] }));
    });
    releaseMetadata();
    await refreshed;
    await Promise.all(sends);

    expect(storedValues(b, 't', 0)).toEqual(['m0', 'm1', 'm2', 'm3']);
  });
});
