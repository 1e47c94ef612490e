import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/client/connection.js';
import { codeFromWire } from '../../src/errors/index.js';
import { createClient, type Producer } from '../../src/index.js';
import { ApiKey, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../src/protocol/index.js';
import type { WireError } from '../../src/protocol/messages.js';
import { decodeRecords, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { requireDist } from '../helpers/acked-producer.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { brokerFleet, formedCluster, until } from '../helpers/cluster-processes.js';
import { diskLogStart } from '../helpers/replica-folders.js';

const TOPIC = 'retained';
const SEGMENT_BYTES = 32 * 1024;
const RETENTION_BYTES = 512 * 1024;
/** ~280 bytes per one-message batch: about 1900 batches retained, several partition snapshots (512 entries). */
const PADDING = 'x'.repeat(200);
/** Few in flight, so batches stay small and many (snapshots count entries, retention counts bytes). */
const IN_FLIGHT_MAX = 16;
/** A failed broker keeps its replicas: no move but the ones this test makes. */
const ENV = {
  STREAMBUS_STORAGE_RETENTION_CHECK_INTERVAL_MS: '250ms',
  STREAMBUS_CLUSTER_FAILED_GRACE: '300s',
};
const ERROR_LEVELS = ['"level":"error"', '"level":"fatal"'];

interface Batch {
  baseOffset: number;
  sizeBytes: number;
}

/** A read refused by the broker; `moved` when it was refused because another broker leads now. */
class LeaderReadError extends Error {
  readonly moved: boolean;
  constructor(what: string, error: WireError) {
    const code = codeFromWire(error.code);
    super(`${what}: ${code} ${error.message}`);
    this.moved = code === 'NOT_LEADER' || code === 'LEADER_NOT_AVAILABLE';
  }
}

/** What a leader serves from `from` to its high watermark: every record and every batch (control ones too). */
async function readFromLeader(b: BrokerProcess, from: number) {
  const conn = await Connection.connect({ host: b.host, port: b.port, clientId: 'retention-read' });
  try {
    const offsetsOf = async (timestamp: number) => {
      const res = await conn.request(ApiKey.ListOffsets, {
        partitions: [{ topic: TOPIC, partition: 0, timestamp }],
      });
      const p = res.partitions[0]!;
      if (p.error !== null) throw new LeaderReadError(`list offsets on broker ${b.port}`, p.error);
      return p.offset;
    };
    const earliest = await offsetsOf(EARLIEST_TIMESTAMP);
    const hw = await offsetsOf(LATEST_TIMESTAMP);
    const records: { offset: number; value: string }[] = [];
    const batches: Batch[] = [];
    let next = Math.max(from, earliest);
    while (next < hw) {
      const res = await conn.request(ApiKey.Fetch, {
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 4 << 20,
        partitions: [{ topic: TOPIC, partition: 0, fetchOffset: next, partitionMaxBytes: 4 << 20 }],
      });
      const p = res.partitions[0]!;
      if (p.error !== null) throw new LeaderReadError(`fetch @${next}`, p.error);
      const before = next;
      for (const batch of splitBatches(p.records)) {
        const h = readBatchHeader(batch);
        if (h.baseOffset + h.lastOffsetDelta < next) continue;
        batches.push({ baseOffset: h.baseOffset, sizeBytes: h.sizeBytes });
        for (const r of decodeRecords(batch)) {
          if (r.offset < next) continue;
          records.push({ offset: r.offset, value: r.value?.toString() ?? '' });
        }
        next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1);
      }
      if (next === before) throw new Error(`fetch @${next} made no progress (hw ${hw})`);
    }
    return { earliest, hw, records, batches };
  } finally {
    await conn.close();
  }
}

/**
 * The highest offset a replica's log may start at: retention deletes an oldest segment only while the rest
 * is at least retention_bytes, so from any replica's log start to the end lie at least that many bytes.
 */
function retainedFloor(batches: readonly Batch[]): number {
  let bytes = 0;
  for (let i = batches.length - 1; i >= 0; i--) {
    bytes += batches[i]!.sizeBytes;
    if (bytes >= RETENTION_BYTES) return batches[i]!.baseOffset;
  }
  return batches[0]?.baseOffset ?? 0;
}

describe('retention with replication', () => {
  const { running, clients, start } = brokerFleet('retention', 3, { env: ENV });

  it('catches up replicas behind the log start and never keeps less than retention on any replica', async () => {
    requireDist();
    const startedAt = Date.now();
    const first = await Promise.all([start(1), start(2), start(3)]);
    await until('a formed three-broker cluster', () => formedCluster(first), 30_000);
    const client = createClient({ bootstrap: first.map((b) => b.bootstrap), requestTimeoutMs: 5_000 });
    clients.push(client);
    const admin = client.admin();
    // Broker 1 leads (preferred); 2 is the follower that falls behind, 3 the other one. F second in the list:
    // while L is down the coordinator's choice of leader is F too, and it does not move leadership off it.
    const [L, F, G] = [1, 2, 3];
    await admin.createTopic({
      name: TOPIC,
      assignments: [[L, F, G]],
      configs: { segment_bytes: String(SEGMENT_BYTES), retention_bytes: String(RETENTION_BYTES) },
    });
    // A restarted broker listens on a new port, so each probe asks the brokers running now; while a broker
    // is down a request may go to it and fail, and the probe then tries again.
    const partition = async () => {
      const c = createClient({ bootstrap: [...running.values()].map((b) => b.bootstrap) });
      try {
        return (await c.admin().describeTopics([TOPIC]))[0]?.partitions[0];
      } catch {
        return undefined;
      } finally {
        await c.close();
      }
    };
    const inSync = (ids: number[], leader?: number) =>
      until(
        `replicas ${ids} in sync${leader === undefined ? '' : ` under leader ${leader}`}`,
        async () => {
          const p = await partition();
          if (p === undefined || p.leaderId <= 0 || (leader !== undefined && p.leaderId !== leader)) return;
          return ids.every((id) => p.isr.includes(id)) ? p : undefined;
        },
        30_000,
        200,
      );
    await inSync([L, G, F], L);
    /** Waits until the leader no longer counts `id` in sync (it answered nothing for 10 s). */
    const outOfSync = (id: number) =>
      until(
        `broker ${id} out of the in-sync set`,
        async () => {
          const p = await partition();
          return p !== undefined && p.leaderId > 0 && !p.isr.includes(id) ? true : undefined;
        },
        30_000,
        200,
      );

    let producer: Producer = client.producer({ acks: -1, lingerMs: 0, deliveryTimeoutMs: 30_000 });
    const acked = new Map<number, number>(); // seq -> offset
    const failures: string[] = [];
    let seq = 0;
    const produce = async (n: number): Promise<void> => {
      const inFlight = new Set<Promise<void>>();
      for (const end = seq + n; seq < end; seq++) {
        while (inFlight.size >= IN_FLIGHT_MAX) await Promise.race(inFlight);
        const s = seq;
        const p = producer
          .send({ topic: TOPIC, messages: [{ value: `${s}|${PADDING}` }] })
          .then(
            ([meta]) => void acked.set(s, meta!.offset),
            (err: unknown) => void failures.push(`${s}: ${(err as { code?: string }).code ?? String(err)}`),
          )
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    };
    /** Reads from whichever broker leads, asking again when leadership moved between the look-up and the read. */
    const readFromCurrentLeader = (from: number) =>
      until(
        'a read from the current leader',
        async () => {
          const p = await partition();
          const b = p === undefined ? undefined : running.get(p.leaderId);
          if (p === undefined || b === undefined) return;
          try {
            return { leaderId: p.leaderId, read: await readFromLeader(b, from) };
          } catch (err) {
            if (err instanceof LeaderReadError && err.moved) return;
            throw err;
          }
        },
        30_000,
        200,
      );
    const leaderEarliest = async (b: BrokerProcess) =>
      (await readFromLeader(b, Number.MAX_SAFE_INTEGER)).earliest;
    /** Writes until `done` holds (checked between rounds of writes), at most `rounds` rounds. */
    const produceUntil = async (what: string, done: () => Promise<boolean>, rounds = 20) => {
      for (let r = 0; r < rounds; r++) {
        await produce(500);
        // Retention runs every 250 ms: give it a few rounds before writing more.
        for (let wait = 0; wait < 4; wait++) {
          if (await done()) return;
          await new Promise((res) => setTimeout(res, 250));
        }
      }
      throw new Error(`still not ${what} after ${rounds} rounds of writes`);
    };
    const errorsIn = (lines: readonly string[]) =>
      lines.filter((l) => ERROR_LEVELS.some((e) => l.includes(e)));
    const phases: string[] = [];
    const mark = (name: string) => phases.push(`${name} ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);

    // a. Follower F dies holding a few hundred messages; retention on L and G deletes past its log end.
    await produce(300);
    const endAtKill = (await readFromLeader(running.get(L)!, Number.MAX_SAFE_INTEGER)).hw;
    await running.get(F)!.kill();
    running.delete(F);
    await produceUntil(
      'past the dead follower on both live replicas',
      async () =>
        (await leaderEarliest(running.get(L)!)) > endAtKill &&
        diskLogStart(running.get(G)!, TOPIC) > endAtKill,
    );
    // Only a replica that left the in-sync set proves it rejoined.
    await outOfSync(F);
    mark('a');

    // b. F restarts behind every live replica's log start: a snapshot, then the log, then in sync.
    const f = await start(F);
    await inSync([L, G, F], L);
    expect(f.logs.filter((l) => l.includes('"installed snapshot"')).length).toBeGreaterThan(0);
    expect(errorsIn(f.logs)).toEqual([]);
    const fromL = await readFromLeader(running.get(L)!, 0);
    console.log(
      `retention: F restarted with log start ${diskLogStart(f, TOPIC)}; leader ${fromL.earliest}, ` +
        `G ${diskLogStart(running.get(G)!, TOPIC)} (F held up to ${endAtKill})`,
    );
    // It holds what retention keeps, not only what followed the leader's latest snapshot.
    expect(diskLogStart(f, TOPIC)).toBeLessThanOrEqual(retainedFloor(fromL.batches));
    mark('b');

    // c. Make F the leader: with G dead, writes committed by L and F leave G's log behind F's; with L dead
    // too, only F can win the election G's restart makes possible.
    await running.get(G)!.kill();
    running.delete(G);
    await produce(100);
    await running.get(L)!.kill();
    running.delete(L);
    await start(G);
    await until(
      'F leading',
      async () => ((await partition())?.leaderId === F ? true : undefined),
      30_000,
      100,
    );
    const fromF = await readFromLeader(running.get(F)!, 0);
    const byOffset = new Map(fromF.records.map((r) => [r.offset, r.value]));
    const wanted = [...acked].filter(([, offset]) => offset >= fromF.earliest);
    const wrong = wanted.filter(([s, offset]) => byOffset.get(offset)?.split('|')[0] !== String(s));
    expect(wrong.slice(0, 5)).toEqual([]);
    const seqs = fromF.records.map((r) => Number(r.value.split('|')[0]));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    const heldByF = fromF.batches.reduce((sum, b) => sum + b.sizeBytes, 0);
    console.log(
      `retention: F leads from ${fromF.earliest} to ${fromF.hw} (${heldByF} bytes), ${wanted.length} acked ` +
        'messages there',
    );
    expect(heldByF).toBeGreaterThanOrEqual(RETENTION_BYTES);
    await inSync([F, G]);
    await start(L);
    await inSync([L, G, F]);
    mark('c');

    // d. A paused follower while retention on the leader passes its log end, then resumed. Every broker has
    // restarted on a new port since the first client started: a new one.
    const again = createClient({ bootstrap: [...running.values()].map((b) => b.bootstrap) });
    clients.push(again);
    producer = again.producer({ acks: -1, lingerMs: 0, deliveryTimeoutMs: 30_000 });
    await inSync([L, G, F]);
    const { leaderId, read: atPause } = await readFromCurrentLeader(Number.MAX_SAFE_INTEGER);
    const pausedId = [L, G, F].find((id) => id !== leaderId)!;
    const paused = running.get(pausedId)!;
    const endAtPause = atPause.hw;
    const logsBefore = paused.logs.length;
    paused.child.kill('SIGSTOP');
    try {
      await produceUntil(
        'past the paused follower on the leader',
        async () => (await readFromCurrentLeader(Number.MAX_SAFE_INTEGER)).read.earliest > endAtPause,
      );
      await outOfSync(pausedId);
    } finally {
      paused.child.kill('SIGCONT');
    }
    await inSync([L, G, F]);
    const resumed = paused.logs.slice(logsBefore);
    expect(resumed.filter((l) => l.includes('"installed snapshot"')).length).toBeGreaterThan(0);
    expect(errorsIn(resumed)).toEqual([]);
    mark('d');

    // Writes stopped: every acknowledged message from the leader's log start on, and every replica's log
    // start leaves at least retention_bytes.
    await inSync([L, G, F]);
    // The rebalancer may hand leadership back to the preferred broker L at any time now that it is in sync.
    const { leaderId: lastLeader, read: final } = await readFromCurrentLeader(0);
    const finalByOffset = new Map(final.records.map((r) => [r.offset, r.value]));
    const finalWanted = [...acked].filter(([, offset]) => offset >= final.earliest);
    expect(
      finalWanted.filter(([s, o]) => finalByOffset.get(o)?.split('|')[0] !== String(s)).slice(0, 5),
    ).toEqual([]);
    expect(finalWanted.length).toBeGreaterThan(1_000);
    const floor = retainedFloor(final.batches);
    const starts = [L, G, F].map((id) => ({ id, logStart: diskLogStart(running.get(id)!, TOPIC) }));
    console.log(
      `retention: ${acked.size} acknowledged, failed ${JSON.stringify(failures.slice(0, 5))}; leader ` +
        `${lastLeader} ${final.earliest}..${final.hw}, retained floor ${floor}, replica log starts ` +
        `${JSON.stringify(starts)}; phases ${phases.join(', ')}`,
    );
    for (const s of starts)
      expect({ ...s, ok: s.logStart >= 0 && s.logStart <= floor }).toEqual({ ...s, ok: true });
    expect(failures).toEqual([]);
    for (const [id, b] of running)
      expect({ id, signal: b.child.signalCode, exit: b.child.exitCode }).toEqual({
        id,
        signal: null,
        exit: null,
      });
  }, 180_000);
});
