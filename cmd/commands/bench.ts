import { type Command, Option } from 'commander';
import { COMPRESSIONS } from '../../src/index.js';
import type { BenchOptions } from '../bench/common.js';
import { benchConsume } from '../bench/consume.js';
import { benchE2e } from '../bench/e2e.js';
import { benchProduce } from '../bench/produce.js';
import { printSummary, type Summary } from '../bench/report.js';
import { parseAcks, parseIntOption } from './common.js';
import { withBootstrap } from './connect-flags.js';

type RawOptions = Omit<BenchOptions, 'durationS'> & { duration: number };

function benchCommand(
  parent: Command,
  name: string,
  description: string,
  run: (o: BenchOptions) => Promise<Summary>,
): void {
  withBootstrap(
    parent
      .command(name)
      .description(description)
      .option(
        '--topic <name>',
        'topic (created when missing, with the broker default replication factor)',
        'bench',
      )
      .option(
        '--messages <n>',
        'messages to send (produce) or read (consume); e2e sends --rate for --duration',
        parseIntOption('--messages', 1),
        200_000,
      )
      .option('--size <bytes>', 'message size', parseIntOption('--size', 0), 1024)
      .option('--batch <n>', 'messages per producer batch', parseIntOption('--batch', 1), 1000)
      .option('--acks <acks>', '0, 1 or all', parseAcks, -1)
      .addOption(
        new Option('--compression <codec>', 'produce and e2e: how the producer compresses batches')
          .choices(COMPRESSIONS)
          .default('none'),
      )
      .option('--partitions <n>', 'partitions when creating the topic', parseIntOption('--partitions', 1), 1)
      .option('--in-flight <n>', 'producer sends outstanding at once', parseIntOption('--in-flight', 1), 8)
      .option(
        '--linger-ms <ms>',
        'producer linger (0: send at the end of the event-loop turn)',
        parseIntOption('--linger-ms', 0),
        1,
      )
      .option('--rate <n>', 'e2e: messages per second', parseIntOption('--rate', 1), 5000)
      .option('--duration <s>', 'e2e: seconds', parseIntOption('--duration', 1), 5)
      .option(
        '--warmup <n>',
        'messages sent (consume: read) first in the same process, not measured',
        parseIntOption('--warmup', 0),
        10_000,
      )
      .option(
        '--client-rack <rack>',
        "consume: the consumer's rack (broker.rack), to read from an in-sync replica there",
      ),
  ).action(async (raw: RawOptions) => {
    const { duration, ...rest } = raw;
    const summary = await run({ ...rest, durationS: duration });
    printSummary(summary);
  });
}

export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description(
      'measure throughput and latency against a running broker; the last stdout line is a JSON summary',
    );
  benchCommand(bench, 'produce', 'produce throughput and acknowledged latency', benchProduce);
  benchCommand(bench, 'consume', 'consume throughput from the beginning of the topic', benchConsume);
  benchCommand(bench, 'e2e', 'end-to-end latency at a fixed rate (consumer in a worker thread)', benchE2e);
}
