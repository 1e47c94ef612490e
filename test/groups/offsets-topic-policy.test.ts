/**
 * `__consumer_offsets` keeps its own scheme (coordinators rewrite live state, retention drops the rest)
 * whatever the default cleanup policy: it is created with cleanup_policy delete, so a broker default of
 * compact neither stops its retention nor hands it to the log cleaner.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { until } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

let broker: InProcessBroker | undefined;
let client: StreamBusClient | undefined;
afterAll(async () => {
  await client?.close();
  await broker?.destroy();
});

describe('__consumer_offsets under a compact default', () => {
  it('is created with cleanup_policy delete', async () => {
    broker = await startInProcessBroker({
      'broker.listen': '127.0.2.1:0',
      'health.http.bind_address': '127.0.2.1',
      'storage.cleanup_policy': 'compact',
      'groups.initial_rebalance_delay': 100,
    });
    client = createClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
    const admin = client.admin();
    await admin.createTopic({ name: 'in', partitions: 1 });
    const member = client.consumer({ maxWaitMs: 50, group: { groupId: 'g', autoCommit: false } });
    member.subscribe(['in']);
    await until('the group to form', async () => {
      await member.poll({ signal: AbortSignal.timeout(300) });
      return member.assignment().length === 1 ? true : undefined;
    });
    await member.close();
    const entries = await admin.describeConfig({ type: 'topic', name: '__consumer_offsets' });
    expect(entries.find((e) => e.key === 'cleanup_policy')).toEqual({
      key: 'cleanup_policy',
      value: 'delete',
      source: 'topic',
    });
    // A topic of its own takes the broker default.
    const own = await admin.describeConfig({ type: 'topic', name: 'in' });
    expect(own.find((e) => e.key === 'cleanup_policy')?.value).toBe('compact');
  });
});
