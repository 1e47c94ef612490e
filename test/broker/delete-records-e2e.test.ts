/**
 * DeleteRecords on a running single-node broker: the SDK and the CLI advance a partition's log start, the
 * records below it are gone for consumers (from-beginning starts there, a consumer positioned below resets),
 * ListOffsets earliest and describe say so, the segments below it are deleted, and all of it survives a
 * restart (topics.json keeps the floor).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { runCli } from '../helpers/run-cli.js';

const SETTINGS = {
  'broker.listen': '127.0.4.1:0',
  'health.http.bind_address': '127.0.4.1',
};
const TOPIC = 'purge';
const RECORDS = 60;

const dataDir = tempDir();
let b: InProcessBroker;
let client: StreamBusClient;

async function start(): Promise<void> {
  b = await startInProcessBroker(SETTINGS, dataDir);
  client = createClient({ bootstrap: [b.bootstrap], clientId: 'delete-records', requestTimeoutMs: 10_000 });
}

async function stop(): Promise<void> {
  await client?.close();
  await b?.stop();
}

beforeAll(start);
afterAll(async () => {
  await stop();
  removeDir(dataDir);
});

const earliest = async (partition: number) =>
  (await client.admin().listOffsets([{ topic: TOPIC, partition, timestamp: -2 }]))[0]!.offset;

/** The first record a consumer with no position reads, from the beginning (auto offset reset earliest). */
async function firstFromBeginning(partition: number): Promise<number> {
  const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
  try {
    await consumer.assign([{ topic: TOPIC, partition }]);
    for await (const m of consumer) return m.offset;
    throw new Error('the consumer ended');
  } finally {
    await consumer.close();
  }
}

const segmentsOf = async (partition: number) =>
  (await readdir(join(dataDir, `${TOPIC}-${partition}`))).filter((f) => f.endsWith('.log')).length;

describe('DeleteRecords on a single node', () => {
  it('the SDK deletes the records below an offset: consumers, ListOffsets and describe start there; segments go', async () => {
    const admin = client.admin();
    await admin.createTopic({ name: TOPIC, partitions: 2, configs: { segment_bytes: '1024' } });
    const producer = client.producer({ acks: -1, lingerMs: 0 });
    for (let i = 0; i < RECORDS; i++) {
      await producer.send({ topic: TOPIC, messages: [{ value: `v${i}-${'x'.repeat(60)}`, partition: 0 }] });
    }
    await producer.send({ topic: TOPIC, messages: [{ value: 'one', partition: 1 }] });
    await producer.close();
    const segmentsBefore = await segmentsOf(0);
    expect(segmentsBefore).toBeGreaterThan(3);

    const results = await admin.deleteRecords([
      { topic: TOPIC, partition: 0, offset: 25 },
      { topic: TOPIC, partition: 1, offset: 5 },
      { topic: 'nope', partition: 0, offset: 1 },
    ]);
    expect(results.map((r) => [r.partition, r.lowWatermark, r.error?.code ?? null])).toEqual([
      [0, 25, null],
      [1, -1, 'OFFSET_OUT_OF_RANGE'],
      [0, -1, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
    expect(await earliest(0)).toBe(25);
    expect(await firstFromBeginning(0)).toBe(25);
    const [described] = await admin.describeTopics([TOPIC]);
    expect(described?.partitions[0]?.logStartOffset).toBe(25);
    expect(await segmentsOf(0)).toBeLessThan(segmentsBefore);

    // A consumer positioned below the log start resets (auto offset reset), as after retention.
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    try {
      await consumer.assign([{ topic: TOPIC, partition: 0 }]);
      await consumer.seek({ topic: TOPIC, partition: 0 }, 3);
      for await (const m of consumer) {
        expect(m.offset).toBe(25);
        break;
      }
    } finally {
      await consumer.close();
    }

    // A compact-only topic keeps every key's latest record: refused, as in Kafka.
    await admin.createTopic({ name: 'compacted', partitions: 1, configs: { cleanup_policy: 'compact' } });
    const [compacted] = await admin.deleteRecords([{ topic: 'compacted', partition: 0, offset: 0 }]);
    expect(compacted?.error?.code).toBe('INVALID_REQUEST');
    expect(compacted?.error?.message).toMatch(/cleanup_policy is compact/);

    // Below the log start: nothing changes, the answer is the log start.
    const [again] = await admin.deleteRecords([{ topic: TOPIC, partition: 0, offset: 10 }]);
    expect(again).toMatchObject({ lowWatermark: 25, error: null });
  });

  it('the CLI deletes before an offset, or everything (--all), printing each new low watermark', async () => {
    const cli = (...args: string[]) =>
      runCli(['topic', 'delete-records', TOPIC, ...args, '--bootstrap', b.bootstrap]);
    const before = await cli('--partition', '0', '--before-offset', '40');
    expect(before.stderr).toBe('');
    expect(before.stdout).toBe(`${TOPIC}/0\tlow_watermark 40\n`);
    const all = await cli('--partition', '1', '--all');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe(`${TOPIC}/1\tlow_watermark 1\n`);
    // Every partition when none is named (below both log starts: nothing changes).
    const every = await cli('--before-offset', '1');
    expect(every.stdout).toBe(`${TOPIC}/0\tlow_watermark 40\n${TOPIC}/1\tlow_watermark 1\n`);
    const beyond = await cli('--partition', '0', '--before-offset', '1000');
    expect(beyond.code).not.toBe(0);
    expect(beyond.stderr).toMatch(/OFFSET_OUT_OF_RANGE|above the high watermark/);
    const unknown = await runCli(['topic', 'delete-records', 'nope', '--all', '--bootstrap', b.bootstrap]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/UNKNOWN_TOPIC_OR_PARTITION/);
    const bad = await cli();
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/exactly one of --before-offset <offset> and --all/);
  });

  it('survives a restart: a log start inside a segment stays, and the next record follows the high watermark', async () => {
    const bases = (await readdir(join(dataDir, `${TOPIC}-0`)))
      .filter((f) => f.endsWith('.log'))
      .map((f) => Number(f.slice(0, 20)));
    expect(Math.min(...bases), 'the segment holding offset 40 starts below it').toBeLessThan(40);
    await stop();
    await start();
    expect(await earliest(0)).toBe(40);
    expect(await firstFromBeginning(0)).toBe(40);
    expect(await earliest(1)).toBe(1);
    const producer = client.producer({ acks: -1, lingerMs: 0 });
    const [sent] = await producer.send({ topic: TOPIC, messages: [{ value: 'after', partition: 1 }] });
    await producer.close();
    expect(sent?.offset).toBe(1);
  });
});
