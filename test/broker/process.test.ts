/**
 * The broker as an operator runs it: a child process of the built CLI. Durability across kill -9 and
 * graceful restarts, SIGTERM drain with clients active, the health and metrics endpoints, config errors
 * and the data-dir lock.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/index.js';
import {
  type AckedProducer,
  type ReadRecord,
  readAllPartitions,
  requireDist,
  startAckedProducer,
} from '../helpers/acked-producer.js';
import { type BrokerProcess, CLI, removeDir, startBroker, tempDir } from '../helpers/broker-process.js';

const dirs: string[] = [];
const brokers: BrokerProcess[] = [];
const producers: AckedProducer[] = [];

function newDir(): string {
  const d = tempDir('streambus-process-');
  dirs.push(d);
  return d;
}

async function launch(dataDir: string): Promise<BrokerProcess> {
  const broker = await startBroker({ dataDir });
  brokers.push(broker);
  return broker;
}

beforeAll(() => requireDist());

afterEach(async () => {
  for (const p of producers.splice(0)) await p.kill();
  for (const b of brokers.splice(0)) await b.kill();
});
afterAll(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

async function createTopic(b: BrokerProcess, name: string, partitions: number): Promise<void> {
  const client = createClient({ bootstrap: b.bootstrap });
  try {
    await client.admin().createTopic({ name, partitions });
  } finally {
    await client.close();
  }
}

/** Every acknowledged sequence number is present; per partition offsets run 0..n-1; no value repeats. */
function expectDurable(read: ReadRecord[][], acked: Set<number>): void {
  const seen = new Set<number>();
  let duplicates = 0;
  for (const records of read) {
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    for (const r of records) {
      const n = Number(r.value);
      if (seen.has(n)) duplicates++;
      seen.add(n);
    }
  }
  expect(duplicates).toBe(0);
  const missing = [...acked].filter((n) => !seen.has(n));
  expect(missing.slice(0, 20)).toEqual([]);
  expect(missing.length).toBe(0);
}

describe('durability', () => {
  test('after kill -9 mid-produce with acks=all, every acknowledged message is there after restart', async () => {
    const dataDir = newDir();
    const first = await launch(dataDir);
    await createTopic(first, 'durable', 3);
    const producer = startAckedProducer(first.bootstrap, 'durable');
    producers.push(producer);
    await producer.waitForAcks(3_000);
    await first.kill();
    await producer.kill();
    const acked = new Set(producer.acked);
    expect(acked.size).toBeGreaterThanOrEqual(3_000);

    const second = await launch(dataDir);
    const read = await readAllPartitions(second.host, second.port, 'durable', 3);
    expectDurable(read, acked);
    // The log accepts appends right after the truncated tail.
    const client = createClient({ bootstrap: second.bootstrap });
    try {
      const [meta] = await client
        .producer()
        .send({ topic: 'durable', messages: [{ value: 'after', partition: 0 }] });
      expect(meta?.offset).toBe(read[0]!.length);
    } finally {
      await client.close();
    }
  });

  test('a graceful stop and restart keeps every message, each partition in order', async () => {
    const dataDir = newDir();
    const first = await launch(dataDir);
    await createTopic(first, 'kept', 2);
    const client = createClient({ bootstrap: first.bootstrap });
    const sent: string[] = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
    try {
      const producer = client.producer({ acks: -1 });
      await producer.send({ topic: 'kept', messages: sent.map((value, i) => ({ value, partition: i % 2 })) });
    } finally {
      await client.close();
    }
    expect(await first.stop()).toBe(0);
    const second = await launch(dataDir);
    const read = await readAllPartitions(second.host, second.port, 'kept', 2);
    expect(read[0]!.map((r) => r.value)).toEqual(sent.filter((_, i) => i % 2 === 0));
    expect(read[1]!.map((r) => r.value)).toEqual(sent.filter((_, i) => i % 2 === 1));
  });

  test('SIGTERM during a long poll and an active producer exits 0 and keeps everything acknowledged', async () => {
    const dataDir = newDir();
    const first = await launch(dataDir);
    await createTopic(first, 'drain', 2);
    await createTopic(first, 'idle', 1);
    const producer = startAckedProducer(first.bootstrap, 'drain');
    producers.push(producer);
    await producer.waitForAcks(1_000);
    const consumer = await Connection.connect({ host: first.host, port: first.port });
    const longPoll = consumer
      .request(
        ApiKey.Fetch,
        {
          maxWaitMs: 20_000,
          minBytes: 1,
          maxBytes: 1 << 20,
          partitions: [{ topic: 'idle', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
        },
        { timeoutMs: 60_000 },
      )
      .then(
        (res) => ({ ok: true as const, records: res.partitions[0]!.records.length }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    await new Promise((r) => setTimeout(r, 200));
    const exitCode = await first.stop('SIGTERM');
    expect(exitCode, first.logs.slice(-15).join('\n')).toBe(0);
    // The drain answers the long poll at once (empty) rather than leaving it to time out.
    const polled = await longPoll;
    expect(polled).toEqual({ ok: true, records: 0 });
    await consumer.close();
    await producer.kill();
    expect(first.logs.some((l) => l.includes('"broker stopped"'))).toBe(true);

    const second = await launch(dataDir);
    expectDurable(await readAllPartitions(second.host, second.port, 'drain', 2), new Set(producer.acked));
  });
});

describe('operating surface', () => {
  let b: BrokerProcess;
  beforeAll(async () => {
    b = await startBroker({ dataDir: newDir() });
  });
  afterAll(async () => {
    await b?.kill();
  });

  test('/health/live and /health/ready answer 200 once started; /health lists components as JSON', async () => {
    const base = `http://127.0.0.1:${b.httpPort}`;
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as { status: string; components: { name: string; status: string }[] };
    expect(body.status).toBe('healthy');
    expect(body.components.map((c) => c.name)).toEqual(expect.arrayContaining(['storage', 'partitions']));
  });

  test('/metrics counts produced messages per topic in streambus_messages_in_total', async () => {
    await createTopic(b, 'metered', 1);
    const client = createClient({ bootstrap: b.bootstrap });
    try {
      await client.producer().send({
        topic: 'metered',
        messages: Array.from({ length: 7 }, (_, i) => ({ value: `v${i}` })),
      });
    } finally {
      await client.close();
    }
    const res = await fetch(`http://127.0.0.1:${b.httpPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('streambus_messages_in_total{') && l.includes('topic="metered"'));
    expect(line).toBeDefined();
    expect(Number(line!.split(' ').pop())).toBe(7);
  });
});

describe('start-up refusals', () => {
  test('a config file with an unknown key stops the broker with a non-zero exit naming the key', () => {
    const dir = newDir();
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, 'config_version: 1\nbroker:\n  data_dir: ./d\n  not_a_real_key: 5\n');
    const run = spawnSync(process.execPath, [CLI, 'broker', '--config', file, '--listen', '127.0.0.1:0'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(`${run.stdout}${run.stderr}`).toContain('broker.not_a_real_key');
  });

  test('a config value of the wrong form is refused naming the key and the expected form', () => {
    const dir = newDir();
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, 'storage:\n  flush_policy: sometimes\n');
    const run = spawnSync(process.execPath, [CLI, 'broker', '--config', file, '--listen', '127.0.0.1:0'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    const out = `${run.stdout}${run.stderr}`;
    expect(out).toContain('storage.flush_policy');
    expect(out).toContain('always');
  });

  test('a second broker on the same data dir refuses to start while the first runs', async () => {
    const dataDir = newDir();
    const first = await launch(dataDir);
    const second = startBroker({ dataDir });
    await expect(second).rejects.toThrow(/exited \(1\) before starting[\s\S]*in use by another broker/);
    // The first one is unaffected.
    const conn = await Connection.connect({ host: first.host, port: first.port });
    expect((await conn.request(ApiKey.ApiVersions, {})).apis.length).toBeGreaterThan(0);
    await conn.close();
  });
});
