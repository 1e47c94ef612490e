/**
 * Replica moves while an idempotent acks=all producer writes without pause (6 partitions, RF 3,
 * min_insync_replicas 2): a fourth broker joins three and the rebalancer moves replicas onto it (add learner,
 * catch up, promote, remove the old voter), then that broker is decommissioned and everything moves off it.
 * What a Kafka user expects of both: every acknowledged message read back exactly once, at the offset its
 * acknowledgement named, in send order within its partition; the moves finish with full in-sync sets; the
 * decommissioned broker ends up holding nothing and leaves the registry; a moved-away replica's data is
 * removed from the broker it left; no broker exits. Timings (moves, the longest produce stall per partition)
 * are printed, never asserted: the machine is shared.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';
import { REPLICAS_DIR } from '../../src/storage/log-manager.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { brokerFleet, formedCluster, raftView, until } from '../helpers/cluster-processes.js';

const TOPIC = 'moving';
const PARTITIONS = 6;
/** Rebalance checks every second; a broker that fails keeps its replicas (no moves but the ones we cause). */
const ENV = { STREAMBUS_CLUSTER_REBALANCE_INTERVAL: '1s', STREAMBUS_CLUSTER_FAILED_GRACE: '120s' };
const IN_FLIGHT_MAX = 100;

type Partition = MetadataResponse['topics'][number]['partitions'][number];

function partitionsOf(md: MetadataResponse): Partition[] {
  const t = md.topics.find((x) => x.name === TOPIC);
  return t === undefined || t.error !== null ? [] : t.partitions;
}

/** Replica folders of the topic a broker holds on disk, as `partition` numbers. */
function foldersOf(b: BrokerProcess): number[] {
  const dir = join(b.dataDir, REPLICAS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.startsWith(`${TOPIC}-`))
    .map((name) => Number(name.split('-')[1]))
    .sort((a, b) => a - b);
}

/** Every partition led, with `rf` replicas all in sync and none on `without`. */
function settled(p: Partition[], rf: number, without?: number): boolean {
  return (
    p.length === PARTITIONS &&
    p.every(
      (x) =>
        x.leaderId > 0 &&
        x.replicas.length === rf &&
        new Set(x.replicas).size === rf &&
        x.isr.length === rf &&
        x.replicas.every((id) => x.isr.includes(id)) &&
        (without === undefined || !x.replicas.includes(without)),
    )
  );
}

describe('replica reassignment under acks=all load', () => {
  const { running, clients, start } = brokerFleet('move', 4, { env: ENV });

  it('keeps every acknowledged write exactly once while replicas move onto a new broker and off a decommissioned one', async () => {
    const first = await Promise.all([start(1), start(2), start(3)]);
    await until('a formed three-broker cluster', () => formedCluster(first), 30_000);

    const client = createClient({ bootstrap: first.map((b) => b.bootstrap), requestTimeoutMs: 5_000 });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopic({
      name: TOPIC,
      partitions: PARTITIONS,
      replicationFactor: 3,
      configs: { min_insync_replicas: '2' },
    });
    await until('every partition led and in sync', async () =>
      settled(partitionsOf(await admin.metadata([TOPIC])), 3) ? true : undefined,
    );

    // The producer: SDK defaults (idempotent, acks=all, unbounded retries within the delivery timeout).
    const producer = client.producer({ acks: -1, lingerMs: 2, deliveryTimeoutMs: 30_000 });
    const acked = new Map<number, { partition: number; offset: number }>();
    const failureCodes = new Map<string, number>();
    const lastAckAt = new Map<number, number>();
    const stallMax = new Map<number, number>();
    let stop = false;
    const inFlight = new Set<Promise<void>>();
    const produce = (async () => {
      for (let seq = 0; !stop; seq++) {
        while (inFlight.size >= IN_FLIGHT_MAX) await Promise.race(inFlight);
        const p = producer
          .send({ topic: TOPIC, messages: [{ key: `k${seq % 97}`, value: String(seq) }] })
          .then(
            ([meta]) => {
              const now = Date.now();
              const partition = meta!.partition;
              acked.set(seq, { partition, offset: meta!.offset });
              const last = lastAckAt.get(partition);
              if (last !== undefined)
                stallMax.set(partition, Math.max(stallMax.get(partition) ?? 0, now - last));
              lastAckAt.set(partition, now);
            },
            (err: unknown) => {
              const code = (err as { code?: string }).code ?? String(err);
              failureCodes.set(code, (failureCodes.get(code) ?? 0) + 1);
            },
          )
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    })();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const run = { joinMs: 0, ackedAtJoin: 0, decommissionMs: 0, killed: 0, atRemoval: [] as Partition[] };
    let foldersAtRemoval: number[] = [];
    try {
      await sleep(2_000);

      // 1. A fourth broker joins: replicas move onto it until 18 replicas sit 4 or 5 per broker, all in sync.
      const joinAt = Date.now();
      await start(4);
      await until(
        'replicas spread over four brokers with full in-sync sets',
        async () => {
          const p = partitionsOf(await admin.metadata([TOPIC]));
          const counts = [1, 2, 3, 4].map((id) => p.filter((x) => x.replicas.includes(id)).length);
          return settled(p, 3) && counts.every((n) => n === 4 || n === 5) ? true : undefined;
        },
        60_000,
        250,
      );
      run.joinMs = Date.now() - joinAt;
      run.ackedAtJoin = acked.size;
      await sleep(2_000);

      // Old replicas' data goes: each broker ends up with folders for exactly the partitions it hosts.
      const spread = partitionsOf(await admin.metadata([TOPIC]));
      const assigned = (id: number) => spread.filter((x) => x.replicas.includes(id)).map((x) => x.partition);
      await until(
        'moved-away replica folders removed',
        async () =>
          [1, 2, 3, 4].every((id) => foldersOf(running.get(id)!).join() === assigned(id).join())
            ? true
            : undefined,
        90_000,
        500,
      ).catch((err: unknown) => {
        console.log(
          `folders: ${[1, 2, 3, 4].map((id) => `${id}:[${foldersOf(running.get(id)!)}] wants [${assigned(id)}]`).join(' ')}`,
        );
        throw err;
      });

      // 2. Decommission it under load: emptied, its leaderships moved, then unregistered.
      const decommissionAt = Date.now();
      expect(await admin.alterBroker(4, 'decommission')).toBe('decommissioned');
      const metadataLeader = (await raftView(running.get(1)!)).leader_id;
      const survivor = running.get(metadataLeader === 1 ? 1 : 2) as BrokerProcess;
      await until(
        'broker 4 unregistered',
        async () => {
          const v = await raftView(survivor);
          return v.brokers !== undefined && !v.brokers.some((b) => b.id === 4) ? true : undefined;
        },
        60_000,
        50,
      );
      run.atRemoval = partitionsOf(await admin.metadata([TOPIC]));
      run.decommissionMs = Date.now() - decommissionAt;
      // Removed means no partition needs it: the operator stops it, and the three brokers left then tolerate
      // one failure as any RF 3 cluster does. Kill both at once (a group still counting broker 4 as a voter
      // would lose its quorum here and stop taking writes).
      const lastLeft = [1, 2, 3].find((id) => id !== metadataLeader) as number;
      run.killed = lastLeft;
      foldersAtRemoval = foldersOf(running.get(4)!);
      await Promise.all([running.get(4)!.kill(), running.get(lastLeft)!.kill()]);
      running.delete(4);
      running.delete(lastLeft);
      const killedAt = Date.now();
      await until(
        'every partition taking acknowledged writes after the kills',
        async () =>
          lastAckAt.size === PARTITIONS && [...lastAckAt.values()].every((at) => at > killedAt + 500)
            ? true
            : undefined,
        30_000,
        250,
      ).catch((err: unknown) => {
        const behind = [...lastAckAt].filter(([, at]) => at <= killedAt + 500).map(([p]) => p);
        console.log(`reassignment: partitions without an ack since the kills: [${behind}]`);
        throw err;
      });
      await sleep(2_000);
    } finally {
      stop = true;
      await produce;
    }

    // The moves had finished when it was removed: new replica sets without it, every new replica in sync.
    expect(settled(run.atRemoval, 3, 4)).toBe(true);
    const stalls = [...stallMax].sort(([a], [b]) => a - b).map(([p, ms]) => `p${p}:${ms}`);
    console.log(
      `reassignment: join settled in ${run.joinMs} ms (${run.ackedAtJoin} acked by then), decommission in ` +
        `${run.decommissionMs} ms; ${acked.size} acknowledged, failed sends ${JSON.stringify([...failureCodes])}; ` +
        `longest produce stall per partition (ms) ${stalls.join(' ')}`,
    );
    expect(acked.size).toBeGreaterThan(500);
    expect([...failureCodes]).toEqual([]);
    console.log(
      `reassignment: broker 4 replica folders when it was removed [${foldersAtRemoval}]; killed it and broker ${run.killed}`,
    );
    for (const [id, b] of running)
      expect({ id, exit: b.child.exitCode, signal: b.child.signalCode }).toEqual({
        id,
        exit: null,
        signal: null,
      });

    // Read everything back from the leaders.
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 200 });
    await consumer.assign([{ topic: TOPIC }]);
    const seen = new Map<string, string>(); // "partition:offset" -> value
    const copies = new Map<number, number>(); // seq -> times read
    const readOrder = new Map<number, number[]>(); // partition -> seqs in offset order
    let unread = acked.size;
    await until(
      'every acknowledged message read back',
      async () => {
        for (let round = 0; round < 1_000 && unread > 0; round++) {
          const messages = await consumer.poll();
          if (messages.length === 0) break;
          for (const m of messages) {
            const key = `${m.partition}:${m.offset}`;
            const value = m.value?.toString() ?? '';
            if (seen.has(key)) continue;
            seen.set(key, value);
            const seq = Number(value);
            const n = (copies.get(seq) ?? 0) + 1;
            copies.set(seq, n);
            readOrder.set(m.partition, [...(readOrder.get(m.partition) ?? []), seq]);
            if (n === 1 && acked.has(seq)) unread--;
          }
        }
        return unread === 0 ? true : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      const missing = [...acked].filter(([seq]) => !copies.has(seq));
      console.log(
        `reassignment: ${missing.length} acknowledged not read back, e.g. ${JSON.stringify(missing.slice(0, 5))}`,
      );
      throw err;
    });
    await consumer.close();

    const lost = [...acked].filter(([seq, at]) => seen.get(`${at.partition}:${at.offset}`) !== String(seq));
    const duplicated = [...copies].filter(([, n]) => n > 1).map(([seq]) => seq);
    let reordered = 0;
    for (const seqs of readOrder.values())
      for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) reordered++;
    console.log(
      `reassignment: ${acked.size} acked, ${seen.size} read back, ${lost.length} lost or misplaced, ` +
        `${duplicated.length} duplicated, ${reordered} reordered`,
    );
    expect(lost.slice(0, 5)).toEqual([]);
    expect(duplicated.slice(0, 5)).toEqual([]);
    expect(reordered).toBe(0);
  }, 300_000);
});
