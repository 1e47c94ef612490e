/**
 * Growing a topic while it is tailed, on a three-broker cluster (RF 3): a producer keeps writing with
 * acks=all, a consumer group of two members and a plain consumer assigned the whole topic keep reading,
 * and CreatePartitions takes the topic from 3 to 6 partitions through another client. Each client learns
 * the new count at its own metadata refresh, as a Kafka client does: the producer starts writing to the new
 * partitions, the group's leader notices and the group rebalances, the new partitions are read from their
 * beginning, the plain consumer adopts them. Nothing acknowledged is missed or read out of order, and no
 * client error surfaces.
 *
 * The second member's metadata is kept old on purpose (metadataMaxAgeMs beyond the test): the leader hands
 * it partitions its cache does not show yet, which it must take rather than refuse. (Refusing them made it
 * rejoin, and the group rebalanced over and over until that member's metadata aged out.) A producer whose
 * metadata predates the growth may likewise send to a new partition by number.
 * Needs `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { type Consumer, type ConsumerMessage, createClient, type StreamBusClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import {
  formedCluster,
  startThreeBrokerCluster,
  threeBrokerFixture,
  until,
} from '../helpers/cluster-processes.js';

const TOPIC = 'tailed';
const GROUP = 'tailers';
const BEFORE = 3;
const AFTER = 6;
const ADDED = [3, 4, 5];
/** Messages acknowledged on the old partitions before the growth, and on each new one after it. */
const OLD_ACKS_MIN = 300;
const NEW_PARTITION_ACKS_MIN = 30;
/** Metadata that never ages out during the test: only a refresh the client asks for updates it. */
const STALE_MAX_AGE_MS = 600_000;
const ENV = { STREAMBUS_GROUPS_INITIAL_REBALANCE_DELAY: '200ms' };

/** What one reader saw: each partition's messages by offset, order breaks and errors poll() threw. */
class Reader {
  readonly seen = new Map<number, Map<number, string>>();
  readonly disorder: string[] = [];
  readonly errors: string[] = [];
  /** The last offset delivered per partition since it was (re)assigned here. */
  private readonly last = new Map<number, number>();

  constructor(readonly name: string) {}

  /** A partition (re)assigned may start again at its committed offset: order restarts there. */
  assigned(partitions: readonly { partition: number }[]): void {
    for (const { partition } of partitions) this.last.delete(partition);
  }

  take(m: ConsumerMessage): void {
    const last = this.last.get(m.partition) ?? -1;
    if (m.offset <= last) this.disorder.push(`${this.name} p${m.partition}: ${m.offset} after ${last}`);
    this.last.set(m.partition, m.offset);
    record(this.seen, m.partition, m.offset, m.value?.toString() ?? '');
  }

  perPartition(): string {
    return [...Array(AFTER).keys()].map((p) => this.seen.get(p)?.size ?? 0).join(',');
  }
}

function record(into: Map<number, Map<number, string>>, partition: number, offset: number, value: string) {
  const byOffset = into.get(partition) ?? new Map<number, string>();
  into.set(partition, byOffset);
  byOffset.set(offset, value);
}

/** Polls until `stop` aborts, recording messages and every error poll() throws. */
async function tail(consumer: Consumer, reader: Reader, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    try {
      for (const m of await consumer.poll({ signal: stop })) reader.take(m);
    } catch (err) {
      reader.errors.push(String(err));
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await consumer.close();
}

describe('adding partitions to a tailed topic', () => {
  const { dirs, running, clients } = threeBrokerFixture('grow-tail');

  it('moves the producer, a group and a whole-topic consumer onto the new partitions, losing nothing', async () => {
    requireDist();
    running.push(...(await startThreeBrokerCluster(dirs, ENV)));
    await until('a formed three-broker cluster', () => formedCluster(running), 30_000);
    const bootstrap = running.map((b) => b.bootstrap).join(',');
    const client = (metadataMaxAgeMs = 1_000): StreamBusClient => {
      const c = createClient({ bootstrap, requestTimeoutMs: 10_000, metadataMaxAgeMs });
      clients.push(c);
      return c;
    };
    // The admin has a client of its own: the change refreshes its metadata, not the others'.
    const admin = client().admin();
    await admin.createTopics([{ name: TOPIC, partitions: BEFORE, replicationFactor: 3 }]);
    await until(
      'every partition led',
      async () =>
        (await admin.describeTopics([TOPIC]))[0]?.partitions.every((p) => p.leaderId > 0) ? true : undefined,
      30_000,
    );

    const stop = new AbortController();
    const tails: Promise<void>[] = [];
    // Stopped however the test ends: a producer left running fills memory.
    let producing = true;
    let producing$ = Promise.resolve();
    try {
      const readers: Reader[] = [];
      const members: Consumer[] = [];
      // member-a joins first, so it leads the group and its fresh metadata notices the growth; member-b's
      // metadata stays as it was when it joined.
      for (const [name, maxAgeMs] of [
        ['member-a', 1_000],
        ['member-b', STALE_MAX_AGE_MS],
      ] as const) {
        const reader = new Reader(name);
        const consumer = client(maxAgeMs).consumer({
          autoOffsetReset: 'earliest',
          maxWaitMs: 200,
          group: { groupId: GROUP, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
        });
        consumer.subscribe([TOPIC], { onAssigned: (ps) => reader.assigned(ps) });
        readers.push(reader);
        members.push(consumer);
        tails.push(tail(consumer, reader, stop.signal));
        await until(
          `${name} assigned`,
          async () => (consumer.assignment().length > 0 ? true : undefined),
          30_000,
        );
      }
      await until(
        `the ${BEFORE} partitions shared by both members`,
        async () => (members.reduce((n, m) => n + m.assignment().length, 0) === BEFORE ? true : undefined),
        30_000,
      );
      const plainReader = new Reader('whole-topic');
      const plain = client().consumer({ autoOffsetReset: 'earliest', maxWaitMs: 200 });
      await plain.assign([{ topic: TOPIC }]);
      tails.push(tail(plain, plainReader, stop.signal));
      const stalePartitionProducer = client(STALE_MAX_AGE_MS).producer({
        acks: -1,
        lingerMs: 0,
        retries: 30,
      });
      const acked = new Map<number, Map<number, string>>();
      const [before] = await stalePartitionProducer.send({
        topic: TOPIC,
        messages: [{ partition: 0, value: 'before' }],
      });
      record(acked, before!.partition, before!.offset, 'before');

      // acks=all, keyless: the sticky partitioner spreads batches over every partition the producer knows of.
      const producer = client().producer({ acks: -1, lingerMs: 2, retries: 30 });
      const sendErrors: string[] = [];
      const produce = async (): Promise<void> => {
        const inFlight = new Set<Promise<void>>();
        for (let seq = 0; producing; seq++) {
          const value = `m${seq}`;
          const sent = producer.send({ topic: TOPIC, messages: [{ value }] }).then(
            ([meta]) => {
              if (meta !== undefined) record(acked, meta.partition, meta.offset, value);
            },
            (err: unknown) => {
              sendErrors.push(String(err));
            },
          );
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
          if (inFlight.size >= 50) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
      };
      producing$ = produce();
      const ackedOn = (ps: readonly number[]) => ps.reduce((n, p) => n + (acked.get(p)?.size ?? 0), 0);

      await until(
        'acks on the old partitions',
        async () => (ackedOn([0, 1, 2]) >= OLD_ACKS_MIN ? true : undefined),
        30_000,
      );
      expect(await admin.createPartitions({ [TOPIC]: AFTER })).toEqual([{ name: TOPIC, error: null }]);
      await until(
        `${NEW_PARTITION_ACKS_MIN} acks on each new partition`,
        async () =>
          ADDED.every((p) => (acked.get(p)?.size ?? 0) >= NEW_PARTITION_ACKS_MIN) ? true : undefined,
        40_000,
      );
      await stalePartitionProducer
        .send({ topic: TOPIC, messages: [{ partition: AFTER - 1, value: 'by-number' }] })
        .then(([meta]) => meta && record(acked, meta.partition, meta.offset, 'by-number'))
        .catch((err: unknown) => sendErrors.push(`by number: ${err}`));
      producing = false;
      await producing$;

      const missed = (rs: readonly Reader[]): number => {
        let n = 0;
        for (const [p, byOffset] of acked)
          for (const offset of byOffset.keys()) if (!rs.some((r) => r.seen.get(p)?.has(offset))) n++;
        return n;
      };
      try {
        await until(
          'every acknowledged message read by the group and by the whole-topic consumer',
          async () => (missed(readers) === 0 && missed([plainReader]) === 0 ? true : undefined),
          30_000,
          200,
        );
      } finally {
        const perPartition = [...Array(AFTER).keys()].map((p) => acked.get(p)?.size ?? 0).join(',');
        console.log(
          `acked ${ackedOn([...acked.keys()])} (per partition ${perPartition}); not read: group ${missed(readers)}, whole-topic ${missed([plainReader])}`,
        );
        for (const r of [...readers, plainReader])
          console.log(
            `${r.name} read per partition ${r.perPartition()}; errors ${r.errors.length}`,
            r.errors.slice(0, 3),
          );
        stop.abort();
        await Promise.all(tails);
      }

      expect(sendErrors).toEqual([]);

      for (const r of [...readers, plainReader]) {
        expect(r.errors, `${r.name}: errors from poll()`).toEqual([]);
        expect(r.disorder, `${r.name}: offsets out of order`).toEqual([]);
        // Every message read is the one acknowledged at that offset.
        for (const [p, byOffset] of r.seen)
          for (const [offset, value] of byOffset)
            expect(`${p}@${offset} ${value}`).toBe(`${p}@${offset} ${acked.get(p)?.get(offset)}`);
      }
      // Within a partition the log keeps the producer's order.
      for (const byOffset of acked.values()) {
        const seqs = [...byOffset.entries()]
          .filter(([, v]) => v.startsWith('m'))
          .sort(([a], [b]) => a - b)
          .map(([, v]) => Number(v.slice(1)));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      // The group's members share the new partitions as the old ones.
      for (const p of ADDED) expect(readers.some((r) => (r.seen.get(p)?.size ?? 0) > 0)).toBe(true);
      expect(readers.every((r) => r.seen.size > 0)).toBe(true);
    } finally {
      producing = false;
      stop.abort();
      await producing$;
      await Promise.all(tails);
    }
  }, 120_000);
});
