/**
 * `topic reassign` and `topic unpin`: an operator's own replica list for a partition (Kafka's
 * kafka-reassign-partitions), and handing partitions back to the rebalancer (docs/cluster.md, "Reassigning
 * and unpinning"). Both return once the change is recorded; `--wait` then follows the moves.
 */
import type { Command } from 'commander';
import type { Admin } from '../../src/client/admin.js';
import type { PartitionDescription } from '../../src/protocol/messages.js';
import { parseIntOption } from './common.js';
import { withBootstrap, withClient } from './connect-flags.js';

const WAIT_POLL_MS = 500;
const WAIT_TIMEOUT_MS_DEFAULT = 120_000;

/** `--replicas 4,1,2`: broker ids, preferred leader first. Only the syntax is checked here. */
export function parseReplicaList(value: string): number[] {
  return value.split(',').map((id) => {
    const n = Number(id);
    if (id.trim() === '' || !Number.isInteger(n) || n <= 0) {
      throw new Error(`--replicas expects broker ids like 4,1,2; got '${value}'`);
    }
    return n;
  });
}

/** Done: the replicas are the list asked for, in its order, and every one of them is in sync. */
export function reassignmentSettled(p: PartitionDescription, target: readonly number[]): boolean {
  return (
    p.replicas.length === target.length &&
    p.replicas.every((id, i) => id === target[i]) &&
    target.every((id) => p.isr.includes(id))
  );
}

export function registerReassignCommands(topic: Command): void {
  withBootstrap(
    topic
      .command('reassign <name>')
      .description(
        "move a partition's replicas to brokers of your choosing, or change how many it has, and pin them there (cluster mode); returns once accepted, `topic describe` shows the target and the replicas converge",
      )
      .requiredOption('--partition <n>', 'the partition to move', parseIntOption('--partition', 0))
      .requiredOption(
        '--replicas <ids>',
        "broker ids separated by commas, preferred leader first: 4,1,2 (registered brokers that are not draining or decommissioned; more or fewer than the partition has grows or shrinks it, never below the topic's min_insync_replicas)",
        parseReplicaList,
      )
      .option('--wait', 'wait until the replicas are the list, in its order, and all in sync')
      .option(
        '--timeout-ms <ms>',
        `how long --wait waits (default ${WAIT_TIMEOUT_MS_DEFAULT})`,
        parseIntOption('--timeout-ms', 1),
      ),
  ).action(
    async (
      name: string,
      opts: { partition: number; replicas: number[]; wait?: boolean; timeoutMs?: number; bootstrap: string },
    ) => {
      await withClient(opts, async (client) => {
        const admin = client.admin();
        await admin.reassignPartitions(name, [{ partition: opts.partition, replicas: opts.replicas }]);
        process.stdout.write(
          `reassignment of ${name}/${opts.partition} to ${opts.replicas.join(',')} accepted; the partition is pinned\n`,
        );
        if (opts.wait === true) {
          await waitForReplicas(
            admin,
            name,
            opts.partition,
            opts.replicas,
            opts.timeoutMs ?? WAIT_TIMEOUT_MS_DEFAULT,
          );
        }
      });
    },
  );

  withBootstrap(
    topic
      .command('unpin <name>')
      .description(
        'hand partitions placed by --replica-assignment or topic reassign back to the rebalancer, which may move them again (cluster mode)',
      )
      .option(
        '--partition <n>',
        'only this partition (default: every partition)',
        parseIntOption('--partition', 0),
      ),
  ).action(async (name: string, opts: { partition?: number; bootstrap: string }) => {
    await withClient(opts, (client) =>
      client.admin().unpinPartitions(name, opts.partition === undefined ? undefined : [opts.partition]),
    );
    process.stdout.write(
      opts.partition === undefined
        ? `unpinned every partition of ${name}\n`
        : `unpinned ${name}/${opts.partition}\n`,
    );
  });
}

/** Polls the partition until it has settled on `target`, printing each new replica set on the way. */
async function waitForReplicas(
  admin: Admin,
  topic: string,
  partition: number,
  target: readonly number[],
  timeoutMs: number,
): Promise<void> {
  const giveUpAtMs = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const [described] = await admin.describeTopics([topic]);
    if (described?.error) throw new Error(`${topic}: ${described.error.message}`);
    const p = described?.partitions.find((x) => x.partition === partition);
    if (p === undefined) throw new Error(`${topic}/${partition} is gone`);
    const now = `replicas ${p.replicas.join(',')} isr ${p.isr.join(',')} leader ${p.leaderId}`;
    if (now !== last) process.stdout.write(`  ${topic}/${partition}: ${now}\n`);
    last = now;
    if (reassignmentSettled(p, target)) {
      process.stdout.write(`${topic}/${partition} is on ${target.join(',')}, all in sync\n`);
      return;
    }
    if (Date.now() + WAIT_POLL_MS > giveUpAtMs) {
      throw new Error(
        `${topic}/${partition} has not settled on ${target.join(',')} within ${timeoutMs} ms (${now}); the reassignment goes on`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}
