/**
 * `topic delete-records`: deletes a topic's records before an offset (Kafka's kafka-delete-records), or all
 * of them up to the high watermark (`--all`), in one partition or every one. Prints each partition's new
 * low watermark (its log start); fails, after printing the rest, if any partition failed.
 */
import type { Command } from 'commander';
import { fromWireError } from '../../src/protocol/index.js';
import { parseIntOption } from './common.js';
import { withBootstrap, withClient } from './connect-flags.js';

interface DeleteRecordsOptions {
  partition?: number;
  beforeOffset?: number;
  all?: boolean;
  bootstrap: string;
}

/** The offset to ask for: --before-offset N, or -1 (the high watermark) for --all; exactly one of them. */
export function deleteRecordsOffset(opts: { beforeOffset?: number; all?: boolean }): number {
  if ((opts.beforeOffset === undefined) === (opts.all !== true)) {
    throw new Error('give exactly one of --before-offset <offset> and --all');
  }
  return opts.beforeOffset ?? -1;
}

export function registerDeleteRecordsCommand(topic: Command): void {
  withBootstrap(
    topic
      .command('delete-records <name>')
      .description(
        "delete a topic's records before an offset (or all of them): gone for consumers at once, disk space freed as whole segments fall below",
      )
      .option(
        '--partition <n>',
        'only this partition (default: every partition)',
        parseIntOption('--partition', 0),
      )
      .option(
        '--before-offset <offset>',
        'delete every record below this offset (at most the high watermark)',
        parseIntOption('--before-offset', 0),
      )
      .option('--all', 'delete every record up to the high watermark (purge the topic)'),
  ).action(async (name: string, opts: DeleteRecordsOptions) => {
    const offset = deleteRecordsOffset(opts);
    await withClient(opts, async (client) => {
      const admin = client.admin();
      let partitions: number[];
      if (opts.partition !== undefined) {
        partitions = [opts.partition];
      } else {
        const [described] = await admin.describeTopics([name]);
        if (described?.error) throw fromWireError(described.error, 'topic.delete_records');
        partitions = described?.partitions.map((p) => p.partition) ?? [];
      }
      const results = await admin.deleteRecords(
        partitions.map((partition) => ({ topic: name, partition, offset })),
      );
      for (const r of results) {
        if (r.error === null)
          process.stdout.write(`${r.topic}/${r.partition}\tlow_watermark ${r.lowWatermark}\n`);
      }
      const failed = results.find((r) => r.error !== null);
      if (failed?.error) throw failed.error;
    });
  });
}
