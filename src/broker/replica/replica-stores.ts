/**
 * Where replica logs live and how they open: `<data dir>/__replicas/<topic>-<partition>-<incarnation>/`,
 * each a ReplicatedLog (storage/replicated-log.ts) with the topic's log config (broker defaults, cluster
 * topic defaults, topic overrides).
 */
import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopicRecord } from '../../metadata/types.js';
import { Bulkhead } from '../../resilience/bulkhead.js';
import type { LogConfig, StorageConfig } from '../../storage/config.js';
import { logConfigOf } from '../../storage/config.js';
import { REPLICAS_DIR } from '../../storage/log-manager.js';
import { ReplicatedLog } from '../../storage/replicated-log.js';
import { normalizeTopicConfigs, resolveLogConfig } from '../../storage/topic-config.js';
import type { Clock, StorageLogger } from '../../storage/types.js';
import type { ReplicaManagerDeps } from './replica-manager.js';

export interface ReplicaStoreDeps {
  readonly clock: Clock;
  readonly logger: StorageLogger;
  readonly onFsync?: (durationSeconds: number) => void;
  /** The topic's effective configs (cluster defaults and overrides) as metadata holds them. */
  readonly topicConfigs: (topic: TopicRecord) => Record<string, string>;
}

/**
 * Background reads of old entries for lagging followers, across every replica log of the broker. Each log
 * loads at most 2 chunks at a time (storage/replicated-cache.ts), of up to a quarter of its cache (4 MiB by
 * default); after a broker restart every partition it follows may lag at once, so without a bound across
 * logs, thousands of partitions would read (and hold) gigabytes together. A read turned away is asked for
 * again on the follower's next response.
 */
export const CATCH_UP_READS_MAX = 4;
/** Reads waiting for a slot; more are turned away at once (BULKHEAD_FULL, read as nothing loaded). */
export const CATCH_UP_READS_QUEUED_MAX = 64;

export function replicaStores(
  storage: StorageConfig,
  deps: ReplicaStoreDeps,
): Pick<ReplicaManagerDeps, 'openStore' | 'storeExists' | 'removeStore' | 'listStoreDirs' | 'storeConfig'> {
  const storeConfig = (topic: TopicRecord): LogConfig =>
    resolveLogConfig(logConfigOf(storage), normalizeTopicConfigs(deps.topicConfigs(topic)));
  const catchUpReads = new Bulkhead({
    name: 'replica.catch-up-read',
    concurrencyMax: CATCH_UP_READS_MAX,
    queueMax: CATCH_UP_READS_QUEUED_MAX,
  });
  return {
    storeConfig,
    openStore: (request) =>
      ReplicatedLog.open(request.dir, storeConfig(request.topic), {
        clock: deps.clock,
        logger: deps.logger,
        catchUpReads,
        ...(deps.onFsync === undefined ? {} : { onFsync: deps.onFsync }),
        ...(request.bootstrapVoters === undefined ? {} : { bootstrapVoters: request.bootstrapVoters }),
      }),
    storeExists: async (dir) => (await entriesOf(dir)).length > 0,
    removeStore: (dir) => rm(dir, { recursive: true, force: true }),
    listStoreDirs: async () => {
      const root = join(storage.dataDir, REPLICAS_DIR);
      return (await entriesOf(root)).filter((e) => e.isDirectory()).map((e) => join(root, e.name));
    },
  };
}

/** A folder's entries; none when it does not exist. */
async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
