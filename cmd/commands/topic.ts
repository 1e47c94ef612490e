import type { Command } from 'commander';
import type { TopicDescription } from '../../src/protocol/messages.js';
import { parseIntOption, parseKeyValues, parseReplicaAssignment } from './common.js';
import { withBootstrap, withClient } from './connect-flags.js';
import { registerDeleteRecordsCommand } from './topic-delete-records.js';
import { registerReassignCommands } from './topic-reassign.js';

const ASSIGNMENT_HELP =
  "each partition's broker ids, preferred leader first, partitions separated by commas: 1:2:3,2:3:1 (instead of the broker's placement)";

export function registerTopicCommand(program: Command): void {
  const topic = program
    .command('topic')
    .description('create, list, describe, alter, reassign, unpin and delete topics, and delete records');

  withBootstrap(
    topic
      .command('create <name>')
      .description('create a topic')
      .option(
        '--partitions <n>',
        'number of partitions (default 1, or as many as --replica-assignment lists)',
        parseIntOption('--partitions'),
      )
      .option(
        '--replication-factor <n>',
        'replicas per partition (default: the broker default, 1 on a single node, min(3, alive brokers) in a cluster)',
        parseIntOption('--replication-factor'),
      )
      .option('--replica-assignment <lists>', ASSIGNMENT_HELP, parseReplicaAssignment)
      .option('--config <key=value...>', 'topic config overrides, e.g. retention_ms=3600000', []),
  ).action(
    async (
      name: string,
      opts: {
        partitions?: number;
        replicationFactor?: number;
        replicaAssignment?: number[][];
        config: string[];
        bootstrap: string;
      },
    ) => {
      const assignments = opts.replicaAssignment;
      const partitions = opts.partitions ?? assignments?.length ?? 1;
      await withClient(opts, (client) =>
        client.admin().createTopic({
          name,
          partitions,
          ...(opts.replicationFactor === undefined ? {} : { replicationFactor: opts.replicationFactor }),
          ...(assignments === undefined ? {} : { assignments }),
          configs: parseKeyValues(opts.config, '--config'),
        }),
      );
      process.stdout.write(`created topic ${name} with ${partitions} partition(s)\n`);
    },
  );

  withBootstrap(topic.command('list').description('list topics')).action(
    async (opts: { bootstrap: string }) => {
      const topics = await withClient(opts, (client) => client.admin().listTopics());
      for (const t of topics)
        process.stdout.write(`${t.name}\t${t.partitions} partition(s)${t.internal ? '\tinternal' : ''}\n`);
    },
  );

  withBootstrap(
    topic
      .command('describe <name...>')
      .description('show partitions, leaders, replicas and offsets')
      .option('--json', 'print JSON'),
  ).action(async (names: string[], opts: { bootstrap: string; json?: boolean }) => {
    const described = await withClient(opts, (client) => client.admin().describeTopics(names));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(described, null, 2)}\n`);
      return;
    }
    let failed = false;
    for (const t of described) {
      if (t.error !== null) {
        process.stderr.write(`${t.name}: ${t.error.message}\n`);
        failed = true;
        continue;
      }
      process.stdout.write(renderTopicDescription(t));
    }
    if (failed) process.exitCode = 1;
  });

  withBootstrap(
    topic
      .command('alter <name>')
      .description(
        'add partitions to a topic (they are never removed; keyed messages may map to other partitions after)',
      )
      .requiredOption(
        '--partitions <n>',
        'the new total number of partitions (more than now)',
        parseIntOption('--partitions'),
      )
      .option(
        '--replica-assignment <lists>',
        `the added partitions: ${ASSIGNMENT_HELP}`,
        parseReplicaAssignment,
      )
      .option('--validate-only', 'check the change without making it'),
  ).action(
    async (
      name: string,
      opts: { partitions: number; replicaAssignment?: number[][]; validateOnly?: boolean; bootstrap: string },
    ) => {
      const validateOnly = opts.validateOnly === true;
      const assignments = opts.replicaAssignment;
      await withClient(opts, async (client) => {
        const [outcome] = await client
          .admin()
          .createPartitions(
            { [name]: assignments === undefined ? opts.partitions : { count: opts.partitions, assignments } },
            { validateOnly },
          );
        if (outcome?.error) throw outcome.error;
      });
      process.stdout.write(
        validateOnly
          ? `topic ${name} can grow to ${opts.partitions} partition(s)\n`
          : `topic ${name} now has ${opts.partitions} partition(s)\n`,
      );
    },
  );

  registerReassignCommands(topic);
  registerDeleteRecordsCommand(topic);

  withBootstrap(topic.command('delete <name>').description('delete a topic and its data')).action(
    async (name: string, opts: { bootstrap: string }) => {
      await withClient(opts, (client) => client.admin().deleteTopic(name));
      process.stdout.write(`deleted topic ${name}\n`);
    },
  );
}

/**
 * One described topic as `topic describe` prints it: a line for the topic, one per partition. `pinned`
 * marks a partition placed by an operator's replica assignment, which the rebalancer keeps
 * (docs/cluster.md, "Pinned partitions"); `target` the list a reassignment in progress moves it to
 * ("Reassigning and unpinning").
 */
export function renderTopicDescription(t: TopicDescription): string {
  const configs = Object.entries(t.configs)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const lines = [
    `topic ${t.name}\tpartitions ${t.partitions.length}${configs ? `\tconfigs ${configs}` : ''}`,
  ];
  for (const p of t.partitions) {
    lines.push(
      `  partition ${p.partition}\tleader ${p.leaderId}\treplicas ${p.replicas.join(',')}\tisr ${p.isr.join(',')}` +
        `\tlog_start ${p.logStartOffset}\thigh_watermark ${p.highWatermark}\tsize_bytes ${p.sizeBytes}` +
        (p.pinned === true ? '\tpinned' : '') +
        (p.targetReplicas === undefined ? '' : `\ttarget ${p.targetReplicas.join(',')}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
