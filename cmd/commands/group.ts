import type { Command } from 'commander';
import type { GroupView, OffsetDeletion, OffsetResetTarget } from '../../src/index.js';
import { parseIntOption, renderTable } from './common.js';
import { cliClient, withBootstrap } from './connect-flags.js';

/** The human-readable `group describe` report: state, members and their partitions, offsets and lag. */
export function renderGroup(g: GroupView): string {
  const header =
    `group ${g.groupId}\tstate ${g.state}\tgeneration ${g.generation}\tassignor ${g.protocol ?? '-'}\t` +
    `coordinator ${g.coordinatorId}\n`;
  const members = renderTable(
    ['MEMBER', 'INSTANCE', 'CLIENT', 'HOST', 'PARTITIONS'],
    g.members.map((m) => [
      `${m.memberId}${m.memberId === g.leaderId ? '*' : ''}`,
      m.groupInstanceId ?? '-',
      m.clientId,
      m.clientHost,
      m.partitions.map((p) => `${p.topic}-${p.partition}`).join(',') || '-',
    ]),
  );
  const offsets = renderTable(
    ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'MEMBER'],
    g.offsets.map((o) => [
      o.topic,
      String(o.partition),
      o.committed >= 0 ? String(o.committed) : '-',
      o.highWatermark >= 0 ? String(o.highWatermark) : '?',
      o.lag === null ? '-' : String(o.lag),
      o.memberId ?? '-',
    ]),
  );
  return `${header}${members}\n${offsets}${totalLag(g.offsets)}\n`;
}

/**
 * The sum of the known lags. A partition without a committed offset (or whose end is unknown) has no lag
 * to add (as Kafka's tool shows '-'): counting it as 0 would make a group that never committed look caught
 * up, so the line says how many were left out, and '-' when none is known.
 */
export function totalLag(offsets: GroupView['offsets']): string {
  const known = offsets.filter((o) => o.lag !== null);
  const unknown = offsets.length - known.length;
  const sum = known.reduce((n, o) => n + (o.lag ?? 0), 0);
  const why = 'no committed offset or end unknown';
  if (unknown === 0) return `total lag ${sum}`;
  if (known.length === 0) return `total lag - (${unknown} partition(s) with unknown lag: ${why})`;
  return `total lag ${sum} (${unknown} partition(s) with unknown lag not counted: ${why})`;
}

/** The `group delete-offsets` report: one row per partition, what was deleted or why it was kept. */
export function renderOffsetDeletions(deletions: readonly OffsetDeletion[]): string {
  return renderTable(
    ['TOPIC', 'PARTITION', 'RESULT'],
    deletions.map((d) => [
      d.topic,
      String(d.partition),
      d.error !== null
        ? `${d.error.code}: ${d.error.message}`
        : d.committed >= 0
          ? `deleted (was ${d.committed})`
          : 'no committed offset',
    ]),
  );
}

function resetTarget(opts: {
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: number;
  toTimestamp?: number;
}): OffsetResetTarget {
  const chosen = [
    opts.toEarliest,
    opts.toLatest,
    opts.toOffset !== undefined,
    opts.toTimestamp !== undefined,
  ].filter(Boolean);
  if (chosen.length !== 1)
    throw new Error('choose exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp');
  if (opts.toEarliest) return { to: 'earliest' };
  if (opts.toLatest) return { to: 'latest' };
  if (opts.toOffset !== undefined) return { to: 'offset', offset: opts.toOffset };
  return { to: 'timestamp', timestampMs: opts.toTimestamp as number };
}

export function registerGroupCommand(program: Command): void {
  const group = program.command('group').description('consumer groups: members, committed offsets, lag');

  withBootstrap(
    group.command('list').description('every consumer group with its state').option('--json', 'print JSON'),
  ).action(async (opts: { bootstrap: string; json?: boolean }) => {
    const client = cliClient(opts);
    try {
      const groups = await client.admin().groups().listGroups();
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(groups, null, 2)}\n`
          : renderTable(
              ['GROUP', 'STATE', 'COORDINATOR'],
              groups.map((g) => [g.groupId, g.state, String(g.coordinatorId)]),
            ),
      );
    } finally {
      await client.close();
    }
  });

  withBootstrap(
    group
      .command('describe <group>')
      .description('members and their partitions, committed offsets and lag per partition')
      .option('--json', 'print JSON'),
  ).action(async (groupId: string, opts: { bootstrap: string; json?: boolean }) => {
    const client = cliClient(opts);
    try {
      const view = await client.admin().groups().describeGroup(groupId);
      process.stdout.write(opts.json ? `${JSON.stringify(view, null, 2)}\n` : renderGroup(view));
    } finally {
      await client.close();
    }
  });

  withBootstrap(
    group
      .command('reset-offsets <group> <topic>')
      .description(
        "move a stopped group's committed offsets (stop its consumers first; offsets may go backwards)",
      )
      .option('--to-earliest', 'the start of each partition')
      .option('--to-latest', 'the end of each partition (skip everything not yet consumed)')
      .option('--to-offset <n>', 'this offset in every partition', parseIntOption('--to-offset', 0))
      .option(
        '--to-timestamp <ms>',
        'the first message at or after this time (ms since the epoch)',
        parseIntOption('--to-timestamp', 0),
      )
      .option('--partition <n>', 'only this partition', parseIntOption('--partition', 0)),
  ).action(
    async (
      groupId: string,
      topic: string,
      opts: {
        bootstrap: string;
        toEarliest?: boolean;
        toLatest?: boolean;
        toOffset?: number;
        toTimestamp?: number;
        partition?: number;
      },
    ) => {
      const target = resetTarget(opts);
      const client = cliClient(opts);
      try {
        const moved = await client
          .admin()
          .groups()
          .resetOffsets(groupId, topic, target, opts.partition === undefined ? undefined : [opts.partition]);
        process.stdout.write(
          renderTable(
            ['TOPIC', 'PARTITION', 'NEW OFFSET'],
            moved.map((m) => [topic, String(m.partition), String(m.offset)]),
          ),
        );
      } finally {
        await client.close();
      }
    },
  );

  withBootstrap(
    group
      .command('delete-offsets <group>')
      .summary("delete a group's committed offsets of a topic (--topic T [--partition N ...])")
      .description(
        "delete a group's committed offsets of a topic (Kafka's --delete-offsets); the group then starts " +
          "those partitions per its consumers' autoOffsetReset. While the group has members, partitions of " +
          'a topic a member subscribes to are refused (GROUP_SUBSCRIBED_TO_TOPIC) and the rest deleted; ' +
          'exits 1 when any partition was refused',
      )
      .requiredOption('--topic <topic>', 'the topic whose offsets to delete')
      .option(
        '--partition <n>',
        'only this partition (repeat for several; default: every partition)',
        (value: string, previous: number[] | undefined) => [
          ...(previous ?? []),
          parseIntOption('--partition', 0)(value),
        ],
      ),
  ).action(async (groupId: string, opts: { bootstrap: string; topic: string; partition?: number[] }) => {
    const client = cliClient(opts);
    try {
      const deletions = await client.admin().groups().deleteOffsets(groupId, opts.topic, opts.partition);
      process.stdout.write(renderOffsetDeletions(deletions));
      if (deletions.some((d) => d.error !== null)) process.exitCode = 1;
    } finally {
      await client.close();
    }
  });

  withBootstrap(
    group.command('delete <group>').description('delete a group with no members and its committed offsets'),
  ).action(async (groupId: string, opts: { bootstrap: string }) => {
    const client = cliClient(opts);
    try {
      await client.admin().groups().deleteGroup(groupId);
      process.stdout.write(`deleted group ${groupId}\n`);
    } finally {
      await client.close();
    }
  });
}
