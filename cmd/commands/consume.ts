import type { Command } from 'commander';
import {
  type CommittedOffset,
  type Consumer,
  EARLIEST_TIMESTAMP,
  isStreamBusError,
  LATEST_TIMESTAMP,
  type StreamBusClient,
  type TopicPartition,
} from '../../src/index.js';
import { parseIntOption } from './common.js';
import { cliClient, withBootstrap } from './connect-flags.js';
import { ExitSignals, type GaveUp, isGaveUp, SIGNAL_EXIT_CODES } from './exit-signals.js';

interface ConsumeOptions {
  bootstrap: string;
  group?: string;
  instanceId?: string;
  sessionTimeoutMs?: number;
  fromBeginning?: boolean;
  partition?: number;
  offset?: number;
  maxMessages?: number;
  timeoutMs?: number;
  printKey?: boolean;
  printOffset?: boolean;
  clientRack?: string;
}

/** Resolves once stdout took `text`: true, or false when its reader has gone (EPIPE, as after `| head`). */
function writeOut(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (process.stdout.destroyed) resolve(false);
    else process.stdout.write(text, (err) => resolve(err == null));
  });
}

/**
 * Commits what was printed. A commit refused because the group is rebalancing (or this member's generation
 * is over) loses nothing: the partition's next owner starts from the last commit and prints those messages
 * again (at least once), so the command says so and goes on. One refused because the topic is gone (deleted
 * while it was read; the member may not have heard of the rebalance without it yet) has nothing to protect.
 */
async function commitPrinted(consumer: Consumer, offsets: CommittedOffset[]): Promise<void> {
  try {
    await consumer.commit(offsets);
  } catch (err) {
    if (!isStreamBusError(err) || err.category === 'fatal') throw err;
    if (err.code === 'UNKNOWN_TOPIC_OR_PARTITION') {
      const topics = [...new Set(offsets.map((o) => o.topic))].join(', ');
      process.stderr.write(`commit skipped: topic ${topics} no longer exists\n`);
      return;
    }
    process.stderr.write(`commit skipped (${err.code}): these messages may be delivered again\n`);
  }
}

/**
 * How long the last commit and leaving the group may take after Ctrl-C / SIGTERM. A broker that answers
 * does so well within this; one that went away would hold the process for as long as the client retries.
 */
export const EXIT_GRACE_MS = 5_000;

/** The stderr line for what a signal made consume give up on, and what that means for the next run. */
export function skippedNotice(
  waitingFor: 'consuming' | 'commit' | 'leave',
  group: boolean,
  gaveUp: Pick<GaveUp, 'signal' | 'graceMs'>,
): string {
  const why = `no answer from the broker within ${gaveUp.graceMs} ms of ${gaveUp.signal}`;
  if (waitingFor === 'leave') {
    return group
      ? `leaving the group skipped (${why}): its partitions move to other members once this member's session times out`
      : `closing skipped (${why})`;
  }
  if (waitingFor === 'commit')
    return `commit skipped (${why}): the group's next run starts from its last commit, so messages printed since may be printed again`;
  return `stopped without finishing (${why})`;
}

/**
 * What happens to an --offset outside the partition's [log start, high watermark]: the consumer's fetch is
 * refused as out of range and it starts over per its reset policy (latest; earliest with --from-beginning),
 * as Kafka's console consumer does with auto.offset.reset. Undefined when the offset is in range.
 */
export function outOfRangeNotice(
  tp: TopicPartition,
  offset: number,
  range: { logStartOffset: number; highWatermark: number },
  reset: 'earliest' | 'latest',
): string | undefined {
  const name = `${tp.topic}-${tp.partition}`;
  let where: string;
  if (offset > range.highWatermark) {
    where = `past the end of ${name} (high watermark ${range.highWatermark})`;
  } else if (offset < range.logStartOffset) {
    where = `before the start of ${name} (log start offset ${range.logStartOffset})`;
  } else return undefined;
  const instead =
    reset === 'latest'
      ? 'starting at the end instead; waiting for new messages'
      : `starting at the beginning (offset ${range.logStartOffset}) instead, as --from-beginning asks`;
  return `offset ${offset} is ${where}; ${instead}`;
}

/** Says on stderr when --offset is out of range (else the command just waits, silently); best effort. */
async function warnIfOutOfRange(
  client: StreamBusClient,
  tp: TopicPartition,
  offset: number,
  reset: 'earliest' | 'latest',
): Promise<void> {
  try {
    const [start, end] = await client.admin().listOffsets([
      { ...tp, timestamp: EARLIEST_TIMESTAMP },
      { ...tp, timestamp: LATEST_TIMESTAMP },
    ]);
    if (start === undefined || end === undefined || start.error !== null || end.error !== null) return;
    const range = { logStartOffset: start.offset, highWatermark: end.offset };
    const notice = outOfRangeNotice(tp, offset, range, reset);
    if (notice !== undefined) process.stderr.write(`${notice}\n`);
  } catch {
    // The consumer reports an unreachable broker or unknown topic itself.
  }
}

export function registerConsumeCommand(program: Command): void {
  withBootstrap(
    program
      .command('consume <topic>')
      .description('print messages, one value per line (each partition in offset order)')
      .option(
        '--group <id>',
        'consume as a member of this consumer group (partitions shared with its other members; progress committed)',
      )
      .option(
        '--instance-id <id>',
        'static group membership: a restart within the session timeout keeps the partitions',
      )
      .option(
        '--session-timeout-ms <ms>',
        'with --group: how long the group waits for this member after it goes silent (default 10000)',
        parseIntOption('--session-timeout-ms', 1),
      )
      .option(
        '--from-beginning',
        'start at the earliest offset instead of the end (with --group: when the group has no committed offset)',
      )
      .option('--partition <n>', 'read only this partition', parseIntOption('--partition', 0))
      .option(
        '--offset <n>',
        'start at this offset (needs --partition; out of range: the end, or the beginning with --from-beginning)',
        parseIntOption('--offset', 0),
      )
      .option('--max-messages <n>', 'exit after this many messages', parseIntOption('--max-messages', 1))
      .option(
        '--timeout-ms <ms>',
        'exit when no message arrives for this long',
        parseIntOption('--timeout-ms', 0),
      )
      .option(
        '--client-rack <rack>',
        "this consumer's rack (broker.rack): read from an in-sync replica there instead of the leader",
      )
      .option('--print-key', 'print key<TAB>value')
      .option('--print-offset', 'print partition:offset<TAB> before each line'),
  ).action(async (topic: string, opts: ConsumeOptions) => {
    if (opts.offset !== undefined && opts.partition === undefined)
      throw new Error('--offset needs --partition');
    if (opts.group !== undefined && (opts.partition !== undefined || opts.offset !== undefined))
      throw new Error('--group assigns partitions itself: drop --partition and --offset');
    if (opts.instanceId !== undefined && opts.group === undefined)
      throw new Error('--instance-id needs --group');
    const client = cliClient(opts);
    const consumer = client.consumer({
      autoOffsetReset: opts.fromBeginning ? 'earliest' : 'latest',
      ...(opts.clientRack === undefined ? {} : { clientRack: opts.clientRack }),
      ...(opts.group === undefined
        ? {}
        : {
            // Commits follow what was printed (below), not what was fetched.
            group: {
              groupId: opts.group,
              groupInstanceId: opts.instanceId ?? null,
              autoCommit: false,
              ...(opts.sessionTimeoutMs === undefined
                ? {}
                : {
                    sessionTimeoutMs: opts.sessionTimeoutMs,
                    heartbeatIntervalMs: Math.max(1, Math.min(3_000, Math.floor(opts.sessionTimeoutMs / 3))),
                  }),
            },
          }),
    });
    const signals = new ExitSignals({ graceMs: EXIT_GRACE_MS });
    const stop = signals.stopped;
    /** What the command waits for, to say what a signal made it skip. */
    let waitingFor: 'consuming' | 'commit' | 'leave' = 'consuming';
    const commit = async (offsets: CommittedOffset[]): Promise<void> => {
      waitingFor = 'commit';
      await commitPrinted(consumer, offsets);
      waitingFor = 'consuming';
    };
    let printed = 0;
    /** Without --group: the topic was deleted while it was read (the consumer dropped its partitions). */
    let topicDeleted = false;
    /**
     * Per partition, the offset of its first message delivered but not printed (--max-messages reached, or
     * a round the reader did not take): the group's next run must start there, neither before (printed
     * twice) nor at the consumer's position (past it, so skipped).
     */
    const notPrinted = new Map<string, number>();
    const holdBack = (m: { topic: string; partition: number; offset: number }): void => {
      const key = `${m.topic}:${m.partition}`;
      // Messages come in offset order per partition: the first one held back is the lowest.
      if (!notPrinted.has(key)) notPrinted.set(key, m.offset);
    };
    const run = async (): Promise<void> => {
      try {
        if (opts.group !== undefined) {
          consumer.subscribe([topic]);
        } else {
          await consumer.assign(
            [opts.partition === undefined ? { topic } : { topic, partition: opts.partition }],
            {
              onDeleted: () => {
                topicDeleted = true;
              },
            },
          );
          const assigned: TopicPartition[] = consumer.assignment();
          if (opts.offset !== undefined) {
            const tp = { topic, partition: opts.partition! };
            await consumer.seek(tp, opts.offset);
            await warnIfOutOfRange(client, tp, opts.offset, opts.fromBeginning ? 'earliest' : 'latest');
          } else if (opts.fromBeginning) await consumer.seekToBeginning(assigned);
          else await consumer.seekToEnd(assigned);
        }

        let lastMessageAt = Date.now();
        // A group member whose topic is deleted keeps waiting (the group rebalances without it, and reads it
        // again if it is created anew), as Kafka's console consumer does; alone, there is nothing left to read.
        while (!stop.aborted && !(topicDeleted && consumer.assignment().length === 0)) {
          // Bounded by --timeout-ms too: a group member's poll waits for its join, which lasts as long as the
          // coordinator cannot be found.
          const signal =
            opts.timeoutMs === undefined
              ? stop
              : AbortSignal.any([
                  stop,
                  AbortSignal.timeout(Math.max(1, lastMessageAt + opts.timeoutMs - Date.now())),
                ]);
          const messages = await consumer.poll({ signal });
          if (messages.length === 0) {
            if (opts.timeoutMs !== undefined && Date.now() - lastMessageAt >= opts.timeoutMs) {
              if (opts.group !== undefined && consumer.assignment().length === 0)
                process.stderr.write(
                  `streambus: no partitions of group ${opts.group} assigned within --timeout-ms\n`,
                );
              break;
            }
            continue;
          }
          lastMessageAt = Date.now();
          let out = '';
          const next = new Map<string, { topic: string; partition: number; offset: number }>();
          let lines = 0;
          for (const m of messages) {
            if (opts.maxMessages !== undefined && printed + lines >= opts.maxMessages) {
              holdBack(m);
              continue;
            }
            if (opts.printOffset) out += `${m.partition}:${m.offset}\t`;
            if (opts.printKey) out += `${m.key?.toString() ?? ''}\t`;
            out += `${m.value?.toString() ?? ''}\n`;
            next.set(`${m.topic}:${m.partition}`, {
              topic: m.topic,
              partition: m.partition,
              offset: m.offset + 1,
            });
            lines++;
          }
          if (!(await writeOut(out))) {
            // How much of the round the reader took is unknowable: all of it counts as not printed.
            for (const m of messages) holdBack(m);
            break;
          }
          printed += lines;
          if (opts.group !== undefined && next.size > 0) await commit([...next.values()]);
          if (opts.maxMessages !== undefined && printed >= opts.maxMessages) break;
        }
        // As Kafka consumers commit their positions, not only what they read: every assigned partition
        // records where the next run must start. One with messages held back starts at the first of them;
        // one with nothing to read (or never fetched) where this member started it (per --from-beginning), so
        // the next run neither starts it from the end, skipping what was not printed or arrived meanwhile,
        // nor prints anything twice.
        if (opts.group !== undefined) {
          const positions: CommittedOffset[] = [];
          for (const tp of consumer.assignment()) {
            // No position: the partition was never started, so its committed offset (if any) still holds.
            const offset = notPrinted.get(`${tp.topic}:${tp.partition}`) ?? consumer.position(tp);
            if (offset !== undefined) positions.push({ topic: tp.topic, partition: tp.partition, offset });
          }
          if (positions.length > 0) await commit(positions);
        }
      } finally {
        // With --group, closing leaves the group, so its partitions move to other members at once.
        waitingFor = 'leave';
        await client.close();
      }
    };
    const outcome = await signals.within(run()).finally(() => {
      // Once given up on, the work is left behind: a signal from here on ends the process (Node's default).
      signals.remove();
    });
    if (isGaveUp(outcome)) {
      process.stderr.write(`${skippedNotice(waitingFor, opts.group !== undefined, outcome)}\n`);
      process.stderr.write(`${printed} message(s) consumed\n`);
      // The client still retries in the background; nothing more it does can matter to this run.
      process.exit(SIGNAL_EXIT_CODES[outcome.signal]);
    }
    process.stderr.write(`${printed} message(s) consumed\n`);
    if (topicDeleted) {
      process.stderr.write(`streambus: topic ${topic} was deleted\n`);
      process.exitCode = 1;
    }
  });
}
