/**
 * A broker's group coordinator at shutdown: it stops before the replicas hand their leadership over, so a
 * shard still loading then fails under it (its replica stopped). That is the shutdown, not a failure: no
 * warning, no load error for the health check, and no new load starts for requests still draining.
 */
import { describe, expect, it } from 'vitest';
import type { ServedPartition } from '../../../src/broker/catalog.js';
import { GroupCoordinator } from '../../../src/broker/groups/group-coordinator.js';
import { OFFSETS_TOPIC } from '../../../src/broker/groups/offsets-records.js';
import { loadConfig } from '../../../src/config/index.js';
import { isStreamBusError, StreamBusError } from '../../../src/errors/index.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { catalogServing } from '../../helpers/catalog-stub.js';

/** An offsets partition led here whose appends wait until the test ends them; the appends it was asked for. */
function loadingPartition(): { served: ServedPartition; appends: ((err: unknown) => void)[] } {
  const appends: ((err: unknown) => void)[] = [];
  const served: ServedPartition = {
    append: () => new Promise((_resolve, reject) => appends.push(reject)),
    read: () => new Promise(() => {}),
    highWatermark: () => 0,
    logStartOffset: () => 0,
    sizeBytes: () => 0,
    offsetForTimestamp: () => Promise.resolve(null),
    onHighWatermark: () => () => {},
    leadership: () => 7,
  };
  return { served, appends };
}

function coordinatorOver(served: ServedPartition) {
  const { logger, lines } = captureLogger();
  const catalog = catalogServing(served, {
    topic: (name) =>
      name === OFFSETS_TOPIC
        ? { name, partitions: 1, replicationFactor: 3, internal: true, configs: {}, incarnation: 1 }
        : undefined,
    placement: () => ({ leaderId: 1, leaderEpoch: 7, replicas: [1, 2, 3], isr: [1, 2, 3] }),
  });
  const coordinator = new GroupCoordinator({
    catalog,
    brokerId: 1,
    config: loadConfig({ env: {} }).groups,
    clustered: true,
    nowMs: () => Date.now(),
    logger,
  });
  return { coordinator, lines };
}

describe('group coordinator stop', () => {
  it('a shard whose load is cut short by the shutdown is not reported as failed', async () => {
    const { served, appends } = loadingPartition();
    const { coordinator, lines } = coordinatorOver(served);
    const request = coordinator.shardFor('billing').catch((e: unknown) => e);
    expect(appends).toHaveLength(1); // the load's leadership marker is being written
    coordinator.stop();
    appends[0]!(new StreamBusError('RAFT_STOPPED', { operation: 'raft' }));
    await request;
    await new Promise((r) => setImmediate(r));
    expect(lines().filter((l) => l.msg === 'group load failed')).toEqual([]);
    expect(coordinator.status().lastLoadError).toBeNull();
  });

  it('after stop, a group request is told NOT_COORDINATOR and starts no load', async () => {
    const { served, appends } = loadingPartition();
    const { coordinator } = coordinatorOver(served);
    coordinator.stop();
    const err = await coordinator.shardFor('billing').catch((e: unknown) => e);
    expect(isStreamBusError(err, 'NOT_COORDINATOR')).toBe(true);
    expect(appends).toEqual([]);
  });

  it('before stop, the same load failure is a warning and the health check sees it', async () => {
    const { served, appends } = loadingPartition();
    const { coordinator, lines } = coordinatorOver(served);
    const request = coordinator.shardFor('billing').catch((e: unknown) => e);
    appends[0]!(new StreamBusError('RAFT_STOPPED', { operation: 'raft' }));
    expect(isStreamBusError(await request, 'COORDINATOR_NOT_AVAILABLE')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(lines().filter((l) => l.msg === 'group load failed')).toHaveLength(1);
    expect(coordinator.status().lastLoadError).toMatch(/__consumer_offsets-0/);
    coordinator.stop();
  });
});
