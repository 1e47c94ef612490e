/**
 * Where replica logs live and how they open: `<data dir>/__replicas/<topic>-<partition>-<incarnation>/`,
 * each a ReplicatedLog (storage/replicated-log.ts) with the topic's log config (broker defaults, cluster
 * topic defaults, topic overrides).
 */
import { readdir, rm } from 'node:fs/promises';
import type { StorageConfig } from '../../storage/config.js';
import { logConfigOf } from '../../storage/config.js';
import { ReplicatedLog } from '../../storage/replicated-log.js';
import { normalizeTopicConfigs, resolveLogConfig } from '../../storage/topic-config.js';
import type { Clock, StorageLogger } from '../../storage/types.js';
import type { OpenStoreRequest, ReplicaManagerDeps } from './replica-manager.js';

export interface ReplicaStoreDeps {
  readonly clock: Clock;
  readonly logger: StorageLogger;
  readonly onFsync?: (durationSeconds: number) => void;
  /** The topic's effective configs (cluster defaults and overrides) as metadata holds them. */
  readonly topicConfigs: (request: OpenStoreRequest) => Record<string, string>;
}

export function replicaStores(
  storage: StorageConfig,
  deps: ReplicaStoreDeps,
): Pick<ReplicaManagerDeps, 'openStore' | 'storeExists' | 'removeStore'> {
  return {
    openStore: (request) =>
      ReplicatedLog.open(
        request.dir,
        resolveLogConfig(logConfigOf(storage), normalizeTopicConfigs(deps.topicConfigs(request))),
        {
          clock: deps.clock,
          logger: deps.logger,
          ...(deps.onFsync === undefined ? {} : { onFsync: deps.onFsync }),
          ...(request.bootstrapVoters === undefined ? {} : { bootstrapVoters: request.bootstrapVoters }),
        },
      ),
    storeExists: async (dir) => {
      try {
        return (await readdir(dir)).length > 0;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    },
    removeStore: (dir) => rm(dir, { recursive: true, force: true }),
  };
}
