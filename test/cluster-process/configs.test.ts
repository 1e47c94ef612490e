/**
 * Topic configs in a real three-broker cluster go through the metadata store: a cluster-wide default set
 * through one broker is what another broker describes, a topic override set through one broker is what a
 * third describes, and the override reaches every replica's running log (a lowered segment_bytes makes each
 * replica roll segments for the records produced after it). Needs `npm run build` first.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey, type ConfigEntry } from '../../src/protocol/index.js';
import { REPLICAS_DIR } from '../../src/storage/log-manager.js';
import { requireDist } from '../helpers/acked-producer.js';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import { formedCluster, startThreeBrokerCluster, until } from '../helpers/cluster-processes.js';
import { codeOf, connectTo } from '../helpers/wire.js';

const TOPIC = 'cfg-dist';

async function describeOn(conn: Connection, resource: { type: 'topic' | 'cluster'; name: string }) {
  const res = await conn.request(ApiKey.DescribeConfigs, { resources: [resource] });
  const r = res.resources[0]!;
  expect(codeOf(r.error)).toBeNull();
  return r.entries;
}

const entry = (entries: ConfigEntry[], key: string) => entries.find((e) => e.key === key);

/** Segment files of the topic's partition-0 replica in a broker's data dir. */
function segmentFiles(dataDir: string): number {
  const dirs = readdirSync(join(dataDir, REPLICAS_DIR)).filter((d) => d.startsWith(`${TOPIC}-0-`));
  expect(dirs).toHaveLength(1);
  return readdirSync(join(dataDir, REPLICAS_DIR, dirs[0]!)).filter((f) => f.endsWith('.log')).length;
}

describe('configs through the metadata store of a three-broker cluster', () => {
  const dirs = [tempDir('streambus-cfg-1-'), tempDir('streambus-cfg-2-'), tempDir('streambus-cfg-3-')];
  const running: BrokerProcess[] = [];
  const conns: Connection[] = [];
  let client: StreamBusClient | undefined;

  afterAll(async () => {
    for (const c of conns) await c.close();
    await client?.close();
    // Each process by its own handle (its PID), never by pattern.
    await Promise.all(running.map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('a cluster default altered on one broker is read back on another; a topic override reaches every replica log', async () => {
    requireDist();
    running.push(...(await startThreeBrokerCluster(dirs)));
    await until('a metadata leader all three agree on, seeing all three alive', () => formedCluster(running));
    for (const b of running) conns.push(await connectTo(b));
    const [on1, on2, on3] = conns as [Connection, Connection, Connection];

    // Cluster default through broker 1, read on broker 2 (and broker 3).
    const altered = await on1.request(ApiKey.AlterConfigs, {
      resources: [{ type: 'cluster', name: '', set: { retention_ms: '86400000' }, delete: [] }],
      validateOnly: false,
    });
    expect(codeOf(altered.resources[0]!.error)).toBeNull();
    for (const conn of [on2, on3]) {
      const seen = await until('the cluster default on another broker', async () => {
        const e = entry(await describeOn(conn, { type: 'cluster', name: '' }), 'retention_ms');
        return e?.source === 'cluster' ? e : undefined;
      });
      expect(seen).toEqual({ key: 'retention_ms', value: '86400000', source: 'cluster' });
    }

    client = createClient({ bootstrap: running.map((b) => b.bootstrap), clientId: 'configs-test' });
    await client.admin().createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3 });
    const fromTopic = await until('the new topic on broker 3', async () => {
      const res = await on3.request(ApiKey.DescribeConfigs, { resources: [{ type: 'topic', name: TOPIC }] });
      return res.resources[0]!.error === null ? res.resources[0]!.entries : undefined;
    });
    expect(entry(fromTopic, 'retention_ms')).toEqual({
      key: 'retention_ms',
      value: '86400000',
      source: 'cluster',
    });

    const producer = client.producer({ lingerMs: 0 });
    const produce = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await until('an acknowledged produce', async () => {
          try {
            await producer.send({ topic: TOPIC, messages: [{ value: 'v'.repeat(400), partition: 0 }] });
            return true;
          } catch {
            return undefined; // leader still being elected
          }
        });
      }
    };
    await produce(5);
    for (const d of dirs) expect(segmentFiles(d), d).toBe(1);

    // Topic override through broker 2, read on broker 3; every replica's log takes it up while running.
    const override = await on2.request(ApiKey.AlterConfigs, {
      resources: [{ type: 'topic', name: TOPIC, set: { segment_bytes: '1024' }, delete: [] }],
      validateOnly: false,
    });
    expect(codeOf(override.resources[0]!.error)).toBeNull();
    const seen = await until('the override on broker 3', async () => {
      const e = entry(await describeOn(on3, { type: 'topic', name: TOPIC }), 'segment_bytes');
      return e?.source === 'topic' ? e : undefined;
    });
    expect(seen).toEqual({ key: 'segment_bytes', value: '1024', source: 'topic' });
    await produce(8);
    for (const d of dirs) {
      const files = await until(`segments rolled in ${d}`, async () => {
        const n = segmentFiles(d);
        return n > 1 ? n : undefined;
      });
      expect(files).toBeGreaterThan(1);
    }
    await producer.close();
  });
});
