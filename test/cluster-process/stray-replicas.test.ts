/**
 * A broker that was down while its topic was deleted ends up without that topic's replica folder, and a
 * replica folder no metadata names (left by a broker that installed a metadata snapshot taken after the
 * deletion, or crashed while closing a replica) is removed once the broker is back and its metadata is
 * confirmed current; the replicas still assigned to it stay. Needs `npm run build` first.
 */
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import {
  formedCluster,
  freePorts,
  HOST,
  startClusterBroker,
  threeBrokerFixture,
  until,
} from '../helpers/cluster-processes.js';

/** The replica folders of `topic` in a broker's data dir. */
function replicaFolders(dataDir: string, topic: string): string[] {
  const root = join(dataDir, '__replicas');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((name) => name.startsWith(`${topic}-`));
}

describe('stray replica folders', () => {
  const { dirs, running, clients } = threeBrokerFixture('stray');

  it('a broker down while its topic was deleted removes that replica folder when it is back', async () => {
    requireDist();
    const peerPorts = await freePorts(3);
    const voters = peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',');
    const start = (id: number) =>
      startClusterBroker({ id, dataDir: dirs[id - 1]!, peerPort: peerPorts[id - 1]!, voters });
    running.push(...(await Promise.all([1, 2, 3].map(start))));
    await until('a metadata leader all three agree on, seeing all three alive', () => formedCluster(running));
    const client = createClient({
      bootstrap: running.map((b) => b.bootstrap).join(','),
      requestTimeoutMs: 10_000,
    });
    clients.push(client);
    await client.admin().createTopics([
      { name: 'doomed', partitions: 1, replicationFactor: 3 },
      { name: 'kept', partitions: 1, replicationFactor: 3 },
    ]);
    await until('both replicas open on broker 3', async () =>
      replicaFolders(dirs[2]!, 'doomed').length === 1 && replicaFolders(dirs[2]!, 'kept').length === 1
        ? true
        : undefined,
    );

    await running[2]!.kill();
    await until('the topic deleted while broker 3 is down', async () => {
      try {
        await client.admin().deleteTopic('doomed');
        return true;
      } catch (err) {
        // The killed broker may have been the metadata leader: retry; a retry after the deletion landed
        // finds the topic gone.
        return (err as { code?: string }).code === 'UNKNOWN_TOPIC_OR_PARTITION' ? true : undefined;
      }
    });
    expect(replicaFolders(dirs[2]!, 'doomed')).toHaveLength(1); // nobody closed it
    // A replica of a topic incarnation no metadata names any more: what a broker that installs a snapshot
    // taken after the deletion is left with (it never opens that replica, so never closes it).
    const [kept] = replicaFolders(dirs[2]!, 'kept');
    cpSync(join(dirs[2]!, '__replicas', kept!), join(dirs[2]!, '__replicas', 'ghost-0-1'), {
      recursive: true,
    });

    running[2] = await start(3);
    const strayLines = () => running[2]!.logs.filter((l) => l.includes('stray replica folder: data removed'));
    // The line is logged after the folder is gone and reaches the test through the child's stdout: wait for it.
    await until(
      'the deleted topic and the stray folder gone, and the removal logged',
      async () =>
        replicaFolders(dirs[2]!, 'doomed').length === 0 &&
        replicaFolders(dirs[2]!, 'ghost').length === 0 &&
        strayLines().length > 0
          ? true
          : undefined,
      30_000,
    );
    expect(replicaFolders(dirs[2]!, 'kept')).toEqual([kept]);
    expect(strayLines()).toHaveLength(1);
    expect(strayLines()[0]).toContain('ghost-0-1');
  });
});
