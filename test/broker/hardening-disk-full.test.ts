import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import type { Connection } from '../../src/client/connection.js';
import { loadConfig } from '../../src/config/index.js';
import { codeFromWire } from '../../src/errors/index.js';
import { createLogger } from '../../src/observability/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { decodeRecords, splitBatches } from '../../src/protocol/record-batch.js';
import { tryMountTmpfs, unmountTmpfs } from '../helpers/test-tmpfs.js';
import { batchOf, connectTo } from '../helpers/wire.js';

const TMPFS_BYTES = 2 * 1024 * 1024;
const DISK_FREE_MIN_BYTES = 512 * 1024;

const mountDir = tryMountTmpfs('hardening-disk-full', TMPFS_BYTES);

describe.skipIf(mountDir === null)('disk full on a tmpfs data dir', () => {
  let b: { broker: Broker; httpPort: number };
  let conn: Connection;
  const logChunks: string[] = [];
  const logLines = (): Record<string, unknown>[] =>
    logChunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    const dataDir = join(mountDir as string, 'data');
    mkdirSync(dataDir);
    const config = loadConfig({
      env: {},
      overrides: {
        'broker.data_dir': dataDir,
        'broker.listen': '127.0.0.1:0',
        'health.http.bind_address': '127.0.0.1',
        'health.http.port': 0,
        'storage.segment_bytes': 256 * 1024,
        'limits.batch_bytes_max': 64 * 1024,
        'storage.flush_policy': 'always',
        // Zeros ahead of each active segment take space before data does: keep them small on a 2 MiB disk,
        // or the health check's margin is gone once a topic exists.
        'storage.preallocate_bytes': 64 * 1024,
        'health.disk_free_bytes_min': DISK_FREE_MIN_BYTES,
        'health.check_interval': 60_000,
      },
    });
    const destination = new Writable({
      write(chunk, _enc, done) {
        logChunks.push(String(chunk));
        done();
      },
    });
    const broker = await Broker.start(config, { logger: createLogger({ level: 'info', destination }) });
    b = { broker, httpPort: broker.addresses.httpPort ?? -1 };
    conn = await connectTo(broker.addresses);
  });
  afterAll(async () => {
    await conn?.close();
    await b?.broker.shutdown('test');
    if (mountDir !== null) unmountTmpfs(mountDir);
  });

  async function health(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${b.httpPort}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  function storageComponent(body: Record<string, unknown>): Record<string, unknown> | undefined {
    return (body.components as Record<string, unknown>[]).find((c) => c.name === 'storage');
  }

  async function errorsTotal(code: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${b.httpPort}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('streambus_errors_total{') && l.includes(`code="${code}"`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  async function createTopic(name: string, partitions: number): Promise<void> {
    const res = await conn.request(ApiKey.CreateTopics, {
      topics: [{ name, partitions, replicationFactor: 1, configs: {} }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    expect(res.topics[0]?.error).toBeNull();
  }

  it('fails produce with DISK_FULL, keeps serving reads, reports storage unhealthy, and recovers', async () => {
    await b.broker.health.refresh('storage');
    expect(storageComponent((await health('/health')).body)?.status).toBe('healthy');
    expect((await health('/health/ready')).status).toBe(200);
    const diskFullBefore = await errorsTotal('DISK_FULL');

    await createTopic('fill', 2);
    const acked = new Map<number, string[]>([
      [0, []],
      [1, []],
    ]);
    const full = new Set<number>();
    const value = 'x'.repeat(16 * 1024);
    // Each round offers one batch to every partition that is not yet full; stop once both are.
    for (let round = 0; round < 400 && full.size < 2; round++) {
      const partitions = [0, 1]
        .filter((p) => !full.has(p))
        .map((p) => ({ topic: 'fill', partition: p, records: batchOf([`${p}-${round}-${value}`]) }));
      const res = await conn.request(ApiKey.Produce, { acks: -1, timeoutMs: 5_000, partitions });
      for (const r of res.partitions) {
        if (r.error === null) {
          expect(r.baseOffset).toBe(acked.get(r.partition)?.length);
          acked.get(r.partition)?.push(`${r.partition}-${round}-${value}`);
          continue;
        }
        expect(codeFromWire(r.error.code)).toBe('DISK_FULL');
        expect(r.error.category).toBe('transient');
        full.add(r.partition);
      }
    }
    expect([...full].sort()).toEqual([0, 1]);
    expect((acked.get(0)?.length ?? 0) + (acked.get(1)?.length ?? 0)).toBeGreaterThan(10);

    // Reads keep working, and return exactly what was acknowledged.
    for (const [partition, values] of acked) {
      const got: string[] = [];
      while (got.length < values.length) {
        const res = await conn.request(ApiKey.Fetch, {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          partitions: [{ topic: 'fill', partition, fetchOffset: got.length, partitionMaxBytes: 1 << 20 }],
        });
        const r = res.partitions[0];
        expect(r?.error).toBeNull();
        expect(r?.highWatermark).toBe(values.length);
        for (const batch of splitBatches(r?.records ?? Buffer.alloc(0)))
          for (const record of decodeRecords(batch)) got.push(String(record.value));
      }
      expect(got).toEqual(values);
    }

    // Health: storage unhealthy (free space below health.disk_free_bytes_min), so not ready; still live.
    await b.broker.health.refresh('storage');
    const report = await health('/health');
    expect(report.status).toBe(503);
    expect(storageComponent(report.body)?.status).toBe('unhealthy');
    expect(String(storageComponent(report.body)?.message)).toMatch(/below/);
    expect((await health('/health/ready')).status).toBe(503);
    expect((await health('/health/live')).status).toBe(200);
    expect(b.broker.isReady()).toBe(false);
    expect(await errorsTotal('DISK_FULL')).toBeGreaterThanOrEqual(diskFullBefore + 2);
    // Logged for the operator (sampled: one line per operation and code, not one per failed request).
    const diskFullLogs = logLines().filter((l) => l.code === 'DISK_FULL' && l.component === 'broker');
    expect(diskFullLogs).toHaveLength(1);
    expect(diskFullLogs[0]).toMatchObject({
      level: 'warn',
      operation: 'produce',
      msg: 'partition operation failed',
    });
    expect(logLines().some((l) => l.msg === 'health check storage is unhealthy' && l.level === 'warn')).toBe(
      true,
    );

    // Freeing space (deleting the topic) brings produce, health and readiness back.
    const deleted = await conn.request(ApiKey.DeleteTopics, { topics: ['fill'], timeoutMs: 5_000 });
    expect(deleted.topics[0]?.error).toBeNull();
    await createTopic('after', 1);
    const again = await conn.request(ApiKey.Produce, {
      acks: -1,
      timeoutMs: 5_000,
      partitions: [{ topic: 'after', partition: 0, records: batchOf(['back']) }],
    });
    expect(again.partitions[0]?.error).toBeNull();
    await b.broker.health.refresh('storage');
    expect(storageComponent((await health('/health')).body)?.status).toBe('healthy');
    expect((await health('/health/ready')).status).toBe(200);
    expect(b.broker.isReady()).toBe(true);
  }, 60_000);
});
