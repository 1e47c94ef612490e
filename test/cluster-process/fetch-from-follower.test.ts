/**
 * Fetch from followers (Kafka's KIP-392) on three real broker processes in racks a, b and c: a consumer
 * whose clientRack is a follower's rack is sent there by the leader and reads every acknowledged (acks=all)
 * message from that follower, exactly once, at its acknowledged offset, in order, and the follower's
 * streambus_follower_messages_out_total rises; so does a consumer group member of the CLI's
 * `consume --client-rack`. Then that follower is killed (kill -9) while the consumer reads and the producer
 * writes: the consumer goes back to the leader and finishes there, nothing lost or read twice.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { brokerFleet, formedCluster, until } from '../helpers/cluster-processes.js';
import { runCli } from '../helpers/run-cli.js';

const TOPIC = 'near';
/** Loopback address of this file's brokers (127.0.3.128-254 is this test's share of 127.0.3.0/24). */
const HOST = '127.0.3.140';
const RACKS: Readonly<Record<number, string>> = { 1: 'a', 2: 'b', 3: 'c' };

async function followerMessagesOut(b: BrokerProcess): Promise<number> {
  const res = await fetch(`http://${b.host}:${b.httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
  const text = await res.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('streambus_follower_messages_out_total{') && l.includes(`topic="${TOPIC}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('fetch from followers on broker processes', () => {
  const { running, clients, start } = brokerFleet('ffetch', 3, { host: HOST });

  it('a consumer in a follower rack reads every acknowledged write from that follower once, in order, and finishes from the leader after the follower is killed', async () => {
    await Promise.all([1, 2, 3].map((id) => start(id, { STREAMBUS_BROKER_RACK: RACKS[id] })));
    await until('a metadata leader seeing all three brokers alive', () =>
      formedCluster([...running.values()]),
    );
    const client = createClient({
      bootstrap: [...running.values()].map((b) => b.bootstrap),
      requestTimeoutMs: 5_000,
    });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopic({
      name: TOPIC,
      partitions: 1,
      replicationFactor: 3,
      configs: { min_insync_replicas: '2' },
    });
    const leader = await until('a leader in sync with both followers', async () => {
      const p = (await admin.metadata([TOPIC])).topics[0]?.partitions[0];
      return p !== undefined && p.leaderId > 0 && p.isr.length === 3 ? p.leaderId : undefined;
    });
    const followerId = [1, 2, 3].find((id) => id !== leader)!;
    const follower = running.get(followerId)!;

    const producer = client.producer({ acks: -1, lingerMs: 2, retries: 50, retryBackoffMaxMs: 500 });
    /** seq -> the offset its acknowledgement named. */
    const acked = new Map<number, number>();
    let next = 0;
    const produce = async (count: number, pauseMs: number): Promise<void> => {
      for (const end = next + count; next < end; ) {
        const seqs = Array.from({ length: Math.min(50, end - next) }, (_, i) => next + i);
        next += seqs.length;
        const metas = await producer.send({
          topic: TOPIC,
          messages: seqs.map((seq) => ({ partition: 0, value: String(seq) })),
        });
        for (const [i, m] of metas.entries()) acked.set(seqs[i]!, m.offset);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    await produce(2_000, 0);

    const consumer = client.consumer({
      clientRack: RACKS[followerId]!,
      autoOffsetReset: 'earliest',
      maxWaitMs: 200,
    });
    await consumer.assign([{ topic: TOPIC, partition: 0 }]);
    const read: { seq: number; offset: number }[] = [];
    const readUntil = (count: number, what: string) =>
      until(
        what,
        async () => {
          for (let i = 0; i < 100 && read.length < count; i++) {
            for (const m of await consumer.poll())
              read.push({ seq: Number(m.value?.toString()), offset: m.offset });
          }
          return read.length >= count ? true : undefined;
        },
        60_000,
        0,
      );
    await readUntil(2_000, 'the first 2,000 messages');
    const servedByFollower = await followerMessagesOut(follower);
    console.log(
      `fetch-from-follower: broker ${followerId} (rack ${RACKS[followerId]}) served ${servedByFollower}`,
    );
    expect(servedByFollower).toBeGreaterThanOrEqual(2_000);

    // The CLI's consumer takes the rack too, and a group member reads from the same follower.
    const cli = await runCli([
      'consume',
      TOPIC,
      '--bootstrap',
      follower.bootstrap,
      '--group',
      'near-readers',
      '--from-beginning',
      '--client-rack',
      RACKS[followerId]!,
      '--max-messages',
      '2000',
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.trim().split('\n')).toEqual(Array.from({ length: 2_000 }, (_, seq) => String(seq)));
    const servedWithCli = await followerMessagesOut(follower);
    expect(servedWithCli).toBeGreaterThanOrEqual(servedByFollower + 2_000);

    // Writes go on while the consumer reads; the follower it reads from is killed half way.
    const writing = produce(2_000, 20);
    await readUntil(3_000, 'a thousand more, from the follower');
    expect(await followerMessagesOut(follower)).toBeGreaterThan(servedWithCli);
    await follower.kill();
    running.delete(followerId);
    await writing;
    await readUntil(acked.size, 'every acknowledged message, from the leader');
    for (let i = 0; i < 5; i++) {
      for (const m of await consumer.poll())
        read.push({ seq: Number(m.value?.toString()), offset: m.offset });
    }

    // Exactly once, in order, each at the offset its acknowledgement named.
    expect(read.map((r) => r.seq)).toEqual(Array.from({ length: acked.size }, (_, seq) => seq));
    for (const r of read) expect(r.offset, `seq ${r.seq}`).toBe(acked.get(r.seq));
    await consumer.close();
    await producer.close();
  });
});
