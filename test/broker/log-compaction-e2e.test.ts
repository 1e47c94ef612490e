/**
 * Log compaction end to end on a broker: a compacted topic with small segments takes keys k0..k9 many
 * times; the broker's cleaner (storage.cleaner_interval) leaves, for a consumer reading from the beginning,
 * only each key's latest value plus what is still in the active segment, at increasing offsets; a consumer
 * placed at an offset compaction removed goes on from the next one; a tombstone deletes its key and itself
 * goes after delete_retention_ms; records without a key are refused; the cleaner's metrics count the work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { until } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

const TOPIC = 'compacted';
const TP = { topic: TOPIC, partition: 0 };
const KEYS = 10;
const ROUNDS = 60;
const DELETE_RETENTION_MS = 1500;

let broker: InProcessBroker;
let client: StreamBusClient;

beforeAll(async () => {
  broker = await startInProcessBroker({
    'broker.listen': '127.0.2.1:0',
    'health.http.bind_address': '127.0.2.1',
    'storage.cleaner_interval': 100,
  });
  client = createClient({ bootstrap: broker.bootstrap, clientId: 'compaction-e2e' });
  await client.admin().createTopic({
    name: TOPIC,
    partitions: 1,
    configs: {
      cleanup_policy: 'compact',
      segment_bytes: '1024',
      min_cleanable_dirty_ratio: '0',
      delete_retention_ms: String(DELETE_RETENTION_MS),
    },
  });
});
afterAll(async () => {
  await client?.close();
  await broker?.destroy();
});

interface Seen {
  offset: number;
  key: string;
  value: string | null;
}

/** Everything a consumer reads from `from` up to the high watermark. */
async function consume(from = 0): Promise<Seen[]> {
  const [end] = await client.admin().listOffsets([{ ...TP, timestamp: -1 }]);
  const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 50 });
  try {
    await consumer.assign([TP]);
    await consumer.seek(TP, from);
    const out: Seen[] = [];
    while ((consumer.position(TP) ?? from) < end!.offset) {
      for (const m of await consumer.poll()) {
        out.push({ offset: m.offset, key: m.key?.toString() ?? '', value: m.value?.toString() ?? null });
      }
    }
    return out;
  } finally {
    await consumer.close();
  }
}

const valueAt = (key: number, round: number) => `k${key}-v${round}-${'p'.repeat(60)}`;

describe('a compacted topic', () => {
  it('keeps the latest value per key for consumers, offsets increasing, positions moving past gaps', async () => {
    const producer = client.producer({ lingerMs: 0 });
    for (let round = 0; round < ROUNDS; round++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: KEYS }, (_, k) => ({
          key: `k${k}`,
          value: valueAt(k, round),
          partition: 0,
        })),
      });
    }
    const produced = ROUNDS * KEYS;
    // Compacted, and settled: the same view twice in a row, several cleaner intervals apart.
    let previous = '';
    const seen = await until(
      'the cleaner to compact the topic',
      async () => {
        const all = await consume();
        const view = JSON.stringify(all);
        const settled = all.length < produced / 4 && view === previous;
        previous = view;
        return settled ? all : undefined;
      },
      15_000,
      500,
    );
    const offsets = seen.map((m) => m.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(offsets.length);
    // Each key's latest value is there, and a key's values only ever appear newest-last.
    for (let k = 0; k < KEYS; k++) {
      const values = seen.filter((m) => m.key === `k${k}`).map((m) => m.value);
      expect(values.at(-1)).toBe(valueAt(k, ROUNDS - 1));
      const rounds = values.map((v) => Number(v!.split('-')[1]!.slice(1)));
      expect(rounds).toEqual([...rounds].sort((a, b) => a - b));
    }
    // A consumer at an offset compaction removed is not out of range: it continues at the next record.
    const removed = offsets.findIndex((o, i) => o !== i);
    expect(removed).toBeGreaterThanOrEqual(0);
    const fromGap = await consume(removed);
    expect(fromGap.map((m) => m.offset)).toEqual(offsets.filter((o) => o >= removed));
  });

  it('refuses records without a key (INVALID_RECORD)', async () => {
    const producer = client.producer({ lingerMs: 0, retries: 0 });
    await expect(
      producer.send({ topic: TOPIC, messages: [{ key: null, value: 'no key', partition: 0 }] }),
    ).rejects.toMatchObject({ code: 'INVALID_RECORD' });
  });

  it('removes a deleted key, and after delete_retention_ms its tombstone too', async () => {
    const producer = client.producer({ lingerMs: 0 });
    await producer.send({ topic: TOPIC, messages: [{ key: 'k3', value: null, partition: 0 }] });
    // Later records of other keys roll the tombstone's segment so the cleaner may take it.
    for (let round = 0; round < 20; round++) {
      await producer.send({
        topic: TOPIC,
        messages: [{ key: 'k0', value: valueAt(0, ROUNDS + round), partition: 0 }],
      });
    }
    const withTombstone = await until('k3 to be only its tombstone', async () => {
      const k3 = (await consume()).filter((m) => m.key === 'k3');
      return k3.length === 1 && k3[0]!.value === null ? k3 : undefined;
    });
    expect(withTombstone).toHaveLength(1);
    await until(
      'the tombstone to go',
      async () => ((await consume()).some((m) => m.key === 'k3') ? undefined : true),
      DELETE_RETENTION_MS + 15_000,
    );
  });

  it('counts removed records and bytes in streambus_log_cleaner_* metrics', async () => {
    const res = await fetch(`http://127.0.2.1:${broker.httpPort}/metrics`);
    const text = await res.text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*topic="${TOPIC}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('streambus_log_cleaner_records_removed_total')).toBeGreaterThan((ROUNDS * KEYS) / 2);
    expect(value('streambus_log_cleaner_bytes_removed_total')).toBeGreaterThan(0);
    expect(value('streambus_log_cleaner_segments_cleaned_total')).toBeGreaterThan(0);
  });
});
