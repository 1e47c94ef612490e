/**
 * `topic describe` through one broker shows every partition's offsets and size, also those of partitions
 * led elsewhere: a broker knows them only for the partitions it serves, so the SDK asks each leader. Needs
 * `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import {
  formedCluster,
  startThreeBrokerCluster,
  threeBrokerFixture,
  until,
} from '../helpers/cluster-processes.js';

const TOPIC = 'described';

describe('describeTopics in a three-broker cluster', () => {
  const { dirs, running, clients } = threeBrokerFixture('desc');

  it('reports the high watermark and size of partitions led by other brokers', async () => {
    requireDist();
    running.push(...(await startThreeBrokerCluster(dirs)));
    await until('a metadata leader all three agree on, seeing all three alive', () => formedCluster(running));
    const all = createClient({ bootstrap: running.map((b) => b.bootstrap).join(',') });
    clients.push(all);
    await all.admin().createTopics([{ name: TOPIC, partitions: 3, replicationFactor: 1 }]);
    const producer = all.producer({ lingerMs: 0, retries: 30 });
    const counts = [5, 6, 7];
    for (const [partition, count] of counts.entries()) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: count }, (_, i) => ({ partition, value: `p${partition}-${i}` })),
      });
    }

    // Through one broker only: it leads at most one of the three partitions.
    const one = createClient({ bootstrap: running[0]!.bootstrap });
    clients.push(one);
    const [described] = await one.admin().describeTopics([TOPIC]);
    const leaders = new Set(described!.partitions.map((p) => p.leaderId));
    expect(leaders.size).toBeGreaterThan(1); // replicas are spread, so some partitions are led elsewhere
    expect(described!.partitions.map((p) => p.highWatermark)).toEqual(counts);
    for (const p of described!.partitions) {
      expect(p.logStartOffset).toBe(0);
      expect(p.sizeBytes).toBeGreaterThan(0);
    }
  });
});
