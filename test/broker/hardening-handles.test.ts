/**
 * No handle leaks: starting and stopping a broker in-process (with a client connection and a produce each
 * time) leaves no sockets, servers, timers or file handles behind; single-node, and in cluster mode (one
 * voter: the metadata Raft group, its peer listener, the coordinator and replicated partitions).
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { aliveInMetadata, singleVoterCluster, startInProcessBroker } from '../helpers/in-process-broker.js';

function countByType(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Types whose count grew from `before` to `after`, with the growth. */
function growth(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [type, n] of after) {
    const delta = n - (before.get(type) ?? 0);
    if (delta > 0) grown[type] = delta;
  }
  return grown;
}

async function settle(): Promise<void> {
  // Closed handles leave the active list on the next turns of the loop (close callbacks, fs.close).
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 50));
}

type Mode = 'single-node' | 'cluster';

async function overridesFor(mode: Mode): Promise<Record<string, unknown>> {
  return mode === 'single-node' ? {} : singleVoterCluster();
}

async function cycle(mode: Mode, round: number): Promise<void> {
  const b = await startInProcessBroker(await overridesFor(mode));
  await aliveInMetadata(b);
  const client = createClient({ bootstrap: [b.bootstrap], clientId: `handles-${round}` });
  try {
    await client.admin().createTopic({ name: 'handles', partitions: 2, replicationFactor: 1, configs: {} });
    const producer = client.producer({ lingerMs: 0 });
    const acked = await producer.send({ topic: 'handles', messages: [{ value: 'a' }, { value: 'b' }] });
    expect(acked).toHaveLength(2);
    await producer.close();
    const health = await fetch(`http://127.0.0.1:${b.httpPort}/health`);
    await health.text();
  } finally {
    await client.close();
    await b.destroy();
  }
}

describe.each<Mode>(['single-node', 'cluster'])('broker start/stop leaves no active handles (%s)', (mode) => {
  it('returns to the baseline handle count per type after 5 start/stop cycles', async () => {
    // Warm-up: first-use caches (DNS, undici keep-alive pool, lazy imports) are not leaks.
    await cycle(mode, 0);
    await settle();
    const before = countByType();
    for (let round = 1; round <= 5; round++) await cycle(mode, round);
    await settle();
    const after = countByType();
    expect(growth(before, after), JSON.stringify([...after])).toEqual({});
  }, 60_000);
});
