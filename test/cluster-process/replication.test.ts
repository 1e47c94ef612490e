/**
 * Replicated partitions on three real broker processes: a topic of 6 partitions with replication factor 3
 * and min_insync_replicas 2 takes a stream of acks=all writes while the leader of one partition and then of
 * another is killed with kill -9 and restarted. The idempotent producer (the SDK default) retries through
 * the failovers; afterwards every acknowledged message is read back exactly once, at the offset its
 * acknowledgement named (one offset never holds two values), in the order it was sent within its partition.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { brokerFleet, formedCluster, until } from '../helpers/cluster-processes.js';

const TOPIC = 'durable';
const PARTITIONS = 6;

function leadersOf(md: MetadataResponse): number[] | undefined {
  const t = md.topics.find((x) => x.name === TOPIC);
  if (t === undefined || t.error !== null || t.partitions.length !== PARTITIONS) return undefined;
  const alive = new Set(md.brokers.map((b) => b.id));
  const leaders = t.partitions.map((p) => p.leaderId);
  return leaders.every((id) => alive.has(id)) ? leaders : undefined;
}

describe('replicated partitions on broker processes', () => {
  const { running, clients, start } = brokerFleet('repl', 3);

  it('keeps every acknowledged write through kill -9 of partition leaders', async () => {
    const first = await Promise.all([start(1), start(2), start(3)]);
    await until('a metadata leader seeing all three brokers alive', () =>
      formedCluster([...running.values()]),
    );

    const client = createClient({ bootstrap: first.map((b) => b.bootstrap), requestTimeoutMs: 5_000 });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopic({
      name: TOPIC,
      partitions: PARTITIONS,
      replicationFactor: 3,
      configs: { min_insync_replicas: '2' },
    });
    await until('a leader for every partition', async () => leadersOf(await admin.metadata([TOPIC])));

    const producer = client.producer({ acks: -1, lingerMs: 2, retries: 50, retryBackoffMaxMs: 500 });
    /** seq -> partition and offset its acknowledgement named. */
    const acked = new Map<number, { partition: number; offset: number }>();
    let failures = 0;
    const failureCodes = new Map<string, number>();
    let stop = false;
    const inFlight = new Set<Promise<void>>();
    const produce = (async () => {
      for (let seq = 0; !stop; seq++) {
        while (inFlight.size >= 200) await Promise.race(inFlight);
        const p = producer
          .send({ topic: TOPIC, messages: [{ key: `k${seq % 97}`, value: String(seq) }] })
          .then(
            ([meta]) => {
              acked.set(seq, { partition: meta!.partition, offset: meta!.offset });
            },
            (err: unknown) => {
              failures++;
              const code = (err as { code?: string }).code ?? String(err);
              failureCodes.set(code, (failureCodes.get(code) ?? 0) + 1);
              if (failures <= 5) console.log(`send ${seq} failed: ${String(err)}`);
            },
          )
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    })();

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (const partition of [0, 3]) {
      await sleep(2_000);
      const leaders = await until('leaders', async () => leadersOf(await admin.metadata([TOPIC])));
      const victimId = leaders[partition]!;
      await (running.get(victimId) as BrokerProcess).kill();
      running.delete(victimId);
      await sleep(2_500);
      await start(victimId);
    }
    await sleep(2_000);
    stop = true;
    await produce;
    console.log(
      `replication: ${acked.size} acknowledged, ${failures} sends failed after retries ${JSON.stringify([...failureCodes])}`,
    );
    expect(acked.size).toBeGreaterThan(1_000);

    // Read every partition back from its (possibly new) leader.
    await until('a leader for every partition again', async () => leadersOf(await admin.metadata([TOPIC])));
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 200 });
    await consumer.assign([{ topic: TOPIC }]);
    const seen = new Map<string, string>(); // "partition:offset" -> value
    const found = new Set<number>();
    const copies = new Map<number, number>(); // value -> times read
    let unread = acked.size;
    const readBack = until(
      'every acknowledged message read back',
      async () => {
        // Drain what is there in one go (the poll between probes would otherwise pace the read-back).
        for (let round = 0; round < 1_000 && unread > 0; round++) {
          const messages = await consumer.poll();
          if (messages.length === 0) break;
          for (const m of messages) {
            const key = `${m.partition}:${m.offset}`;
            const value = m.value?.toString() ?? '';
            const before = seen.get(key);
            if (before !== undefined && before !== value)
              throw new Error(`offset ${key} holds ${before} and ${value}`);
            if (before === undefined) copies.set(Number(value), (copies.get(Number(value)) ?? 0) + 1);
            seen.set(key, value);
            const seq = Number(value);
            if (!found.has(seq) && acked.has(seq)) unread--;
            found.add(seq);
          }
        }
        return unread === 0 ? true : undefined;
      },
      90_000,
    );
    try {
      await readBack;
    } catch (err) {
      // Say what is missing and where the partitions stand, so a failure can be told from a slow read.
      const missing = [...acked].filter(([seq]) => !found.has(seq));
      const ends = await admin.listOffsets(
        Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, timestamp: -1 })),
      );
      const positions = Array.from({ length: PARTITIONS }, (_, partition) =>
        consumer.position({ topic: TOPIC, partition }),
      );
      console.log(
        `replication: ${missing.length} acknowledged not read back, e.g. ${JSON.stringify(missing.slice(0, 5))}; ` +
          `latest offsets ${JSON.stringify(ends.map((e) => e.offset))}; consumer positions ${JSON.stringify(positions)}`,
      );
      throw err;
    }
    await consumer.close();
    for (const [seq, at] of acked) expect(seen.get(`${at.partition}:${at.offset}`)).toBe(String(seq));
    const duplicated = [...copies].filter(([, n]) => n > 1).map(([v]) => v);
    console.log(`replication: ${seen.size} messages read, ${duplicated.length} duplicated`);
    expect(duplicated).toEqual([]);
    // Per partition, acknowledged offsets follow the send order.
    const byPartition = new Map<number, { seq: number; offset: number }[]>();
    for (const [seq, at] of acked) {
      const list = byPartition.get(at.partition) ?? [];
      list.push({ seq, offset: at.offset });
      byPartition.set(at.partition, list);
    }
    for (const list of byPartition.values()) {
      list.sort((a, b) => a.seq - b.seq);
      for (let i = 1; i < list.length; i++) expect(list[i]!.offset).toBeGreaterThan(list[i - 1]!.offset);
    }
  }, 180_000);
});
