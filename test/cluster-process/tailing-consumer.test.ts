/**
 * A consumer waiting at the end of a replicated partition while a producer sends small batches at a steady
 * rate: `streambus bench e2e` against three brokers. Its consumer fetches again as soon as an answer
 * arrives, so its fetches land at the high watermark while the leader's next write is often still running,
 * into the zeros preallocated ahead of it. Every message must arrive, with no fetch error (a read at the
 * high watermark used to reach that write in flight and fail with CORRUPT_LOG).
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import {
  formedCluster,
  startThreeBrokerCluster,
  threeBrokerFixture,
  until,
} from '../helpers/cluster-processes.js';
import { runCli } from '../helpers/run-cli.js';

const fixture = threeBrokerFixture('tail');

describe('a consumer tailing a replicated partition', () => {
  it('bench e2e on replication factor 3 receives every message it sent', async () => {
    const brokers = await startThreeBrokerCluster(fixture.dirs);
    fixture.running.push(...brokers);
    await until('a metadata leader seeing all three brokers alive', () => formedCluster(brokers));
    const bootstrap = brokers.map((b) => b.bootstrap).join(',');
    const client = createClient({ bootstrap: brokers.map((b) => b.bootstrap), requestTimeoutMs: 10_000 });
    fixture.clients.push(client);
    await client.admin().createTopic({ name: 'tail', partitions: 1, replicationFactor: 3 });
    await until('the partition has a leader', async () => {
      const [t] = await client.admin().describeTopics(['tail']);
      return (t?.partitions[0]?.leaderId ?? -1) >= 0 ? true : undefined;
    });

    const args = ['bench', 'e2e', '--bootstrap', bootstrap, '--topic', 'tail', '--rate', '1000'];
    const r = await runCli([...args, '--duration', '3', '--warmup', '500'], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/corrupt/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Record<string, number>;
    expect(summary.sent).toBe(3000);
    expect(summary.received).toBe(3000);
    expect(summary.publish_errors).toBe(0);
  });
});
