/**
 * InitProducerId in cluster mode (one voter, in process): ids come from the replicated metadata counter, so
 * a restarted broker, reading it back from its metadata log, never hands out an id again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PRODUCER_IDS_FILE } from '../../src/broker/producer-id-blocks.js';
import type { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/broker-process.js';
import {
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';
import { connectTo } from '../helpers/wire.js';

let b: InProcessBroker | undefined;
let conn: Connection | undefined;

afterEach(async () => {
  await conn?.close();
  await b?.destroy();
  conn = undefined;
  b = undefined;
});

async function initProducerIds(c: Connection, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    // The metadata leader may still be coming up: a retriable answer is asked again.
    for (;;) {
      const r = await c.request(ApiKey.InitProducerId, {});
      if (r.error === null) {
        expect(r.producerEpoch).toBe(0);
        ids.push(r.producerId);
        break;
      }
      expect(['retriable', 'transient']).toContain(r.error.category);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return ids;
}

describe('InitProducerId (cluster mode, one voter)', () => {
  it('hands out distinct ids from the metadata counter, and none again after a restart', async () => {
    const dataDir = tempDir();
    const overrides = await singleVoterCluster();
    b = await startInProcessBroker(overrides, dataDir);
    conn = await connectTo(b);
    const before = await initProducerIds(conn, 5);
    expect(new Set(before).size).toBe(5);
    await conn.close();
    await b.stop();
    b = await startInProcessBroker(overrides, dataDir);
    conn = await connectTo(b);
    const after = await initProducerIds(conn, 5);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
    // The ids came from the metadata quorum, not from the single-node file.
    expect(existsSync(join(dataDir, PRODUCER_IDS_FILE))).toBe(false);
  }, 30_000);
});
