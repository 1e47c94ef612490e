import { type Command, Option } from 'commander';
import { PRODUCER_DEFAULTS } from '../../src/client/producer-options.js';
import { COMPRESSIONS, type Compression, type ProducerMessage } from '../../src/index.js';
import { parseAcks, parseIntOption } from './common.js';
import { cliClient, withBootstrap } from './connect-flags.js';
import { linesOf } from './stdin-lines.js';

interface ProduceOptions {
  bootstrap: string;
  key?: string;
  keySeparator?: string;
  acks: 0 | 1 | -1;
  partition?: number;
  compression: Compression;
  lingerMs: number;
  deliveryTimeoutMs?: number;
}

/**
 * Each line is its own send(), so the count acknowledged is exact even when some fail (one send of many
 * lines rejects as a whole, though the rest of its lines may have been written). Reading stdin pauses
 * while this many are outstanding, and resumes once half have settled.
 */
const OUTSTANDING_MAX = 4096;

export function registerProduceCommand(program: Command): void {
  withBootstrap(
    program
      .command('produce <topic>')
      .description('send one message per line of stdin; reports acknowledged messages on stderr')
      .option('--key <key>', 'key for every message (same key, same partition)')
      .option('--key-separator <sep>', 'split each line into key and value at the first <sep>')
      .option('--acks <acks>', '0, 1 or all', parseAcks, -1)
      .option('--partition <n>', 'send every message to this partition', parseIntOption('--partition', 0))
      .addOption(
        new Option('--compression <codec>', 'how batches are compressed')
          .choices(COMPRESSIONS)
          .default('none'),
      )
      .option(
        '--linger-ms <ms>',
        'how long a batch waits for more messages',
        parseIntOption('--linger-ms', 0),
        5,
      )
      .addOption(
        new Option(
          '--delivery-timeout-ms <ms>',
          'how long a message may take to be acknowledged, retries included (default 120000)',
        )
          .env('STREAMBUS_DELIVERY_TIMEOUT_MS')
          .argParser(parseIntOption('--delivery-timeout-ms', 1)),
      ),
  ).action(async (topic: string, opts: ProduceOptions) => {
    const client = cliClient(opts);
    const producer = client.producer({
      acks: opts.acks,
      compression: opts.compression,
      lingerMs: opts.lingerMs,
      ...(opts.deliveryTimeoutMs === undefined ? {} : { deliveryTimeoutMs: opts.deliveryTimeoutMs }),
    });
    const partition = opts.partition;
    let acknowledged = 0;
    let failed = 0;
    let sent = 0;
    let failure: unknown = null;
    let outstanding = 0;
    let resumeReading: (() => void) | null = null;
    let allSettled: (() => void) | null = null;
    const settled = (): void => {
      outstanding--;
      if (resumeReading !== null && outstanding <= OUTSTANDING_MAX / 2) {
        resumeReading();
        resumeReading = null;
      }
      if (allSettled !== null && outstanding === 0) allSettled();
    };

    const send = (message: ProducerMessage): void => {
      sent++;
      outstanding++;
      producer.send({ topic, messages: [message] }).then(
        () => {
          acknowledged++;
          settled();
        },
        (err: unknown) => {
          failed++;
          failure ??= err;
          settled();
        },
      );
    };

    const toMessage = (line: string): ProducerMessage => {
      const message: ProducerMessage = { value: line };
      if (opts.keySeparator !== undefined) {
        const i = line.indexOf(opts.keySeparator);
        if (i >= 0) {
          message.key = line.slice(0, i);
          message.value = line.slice(i + opts.keySeparator.length);
        }
      } else if (opts.key !== undefined) {
        message.key = opts.key;
      }
      if (partition !== undefined) message.partition = partition;
      return message;
    };

    try {
      process.stdin.setEncoding('utf8'); // a character split across chunks is decoded whole
      // A line longer than a request may carry could never be sent: it is refused once it gets that long.
      const lines = linesOf(process.stdin as AsyncIterable<string>, PRODUCER_DEFAULTS.maxRequestBytes);
      for await (const line of lines) {
        if (failure !== null) break;
        send(toMessage(line));
        if (outstanding >= OUTSTANDING_MAX) {
          await new Promise<void>((resolve) => {
            resumeReading = resolve;
          });
        }
      }
      if (outstanding > 0) {
        await new Promise<void>((resolve) => {
          allSettled = resolve;
        });
      }
      await producer.flush().catch((err: unknown) => {
        failure ??= err;
      });
    } finally {
      await client.close();
    }
    const what = opts.acks === 0 ? 'sent (acks=0: not acknowledged)' : 'acknowledged';
    const count = opts.acks === 0 ? sent : acknowledged;
    if (failure !== null) {
      const e = failure as { code?: string; message?: string };
      process.stderr.write(
        `${count} message(s) ${what}, ${failed} failed; stopped after an error: ${e.code ?? ''} ${e.message ?? String(failure)}\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(`${count} message(s) ${what}\n`);
    }
  });
}
