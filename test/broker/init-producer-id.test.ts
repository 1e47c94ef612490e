/**
 * InitProducerId on a single-node broker: every answer is a fresh id at epoch 0, and a restarted broker
 * (same data dir) never hands out an id it, or its previous run, already gave.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/broker-process.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
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
  const responses = await Promise.all(Array.from({ length: n }, () => c.request(ApiKey.InitProducerId, {})));
  for (const r of responses) {
    expect(r.error).toBeNull();
    expect(r.producerEpoch).toBe(0);
  }
  return responses.map((r) => r.producerId);
}

describe('InitProducerId (single node)', () => {
  it('answers a distinct producer id at epoch 0 to every request, pipelined or not', async () => {
    b = await startInProcessBroker();
    conn = await connectTo(b);
    const ids = [...(await initProducerIds(conn, 20)), ...(await initProducerIds(conn, 1))];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toBeGreaterThan(0);
  });

  it('after a restart on the same data dir, new ids are all above every id handed out before', async () => {
    const dataDir = tempDir();
    b = await startInProcessBroker({}, dataDir);
    conn = await connectTo(b);
    const before = await initProducerIds(conn, 5);
    await conn.close();
    await b.stop();
    b = await startInProcessBroker({}, dataDir);
    conn = await connectTo(b);
    const after = await initProducerIds(conn, 5);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
  });
});
