import { createInterface } from 'node:readline';
import { type Command, Option } from 'commander';
import { COMPRESSIONS, createClient, type ProducerMessage } from '../../src/index.js';
import { bootstrapList, parseAcks, withBootstrap } from './common.js';

interface ProduceOptions {
  bootstrap: string;
  key?: string;
  keySeparator?: string;
  acks: 0 | 1 | -1;
  partition?: string;
  compression: 'none' | 'gzip';
  lingerMs: string;
}

/** Lines are sent in chunks; this many sends may be outstanding before reading more of stdin. */
const CHUNK_MESSAGES = 500;
const OUTSTANDING_CHUNKS_MAX = 64;

export function registerProduceCommand(program: Command): void {
  withBootstrap(
    program
      .command('produce <topic>')
      .description('send one message per line of stdin; reports acknowledged messages on stderr')
      .option('--key <key>', 'key for every message (same key, same partition)')
      .option('--key-separator <sep>', 'split each line into key and value at the first <sep>')
      .option('--acks <acks>', '0, 1 or all', parseAcks, -1)
      .option('--partition <n>', 'send every message to this partition')
      .addOption(
        new Option('--compression <codec>', 'how batches are compressed')
          .choices(COMPRESSIONS)
          .default('none'),
      )
      .option('--linger-ms <ms>', 'how long a batch waits for more messages', '5'),
  ).action(async (topic: string, opts: ProduceOptions) => {
    const client = createClient({ bootstrap: bootstrapList(opts.bootstrap), clientId: 'streambus-cli' });
    const producer = client.producer({
      acks: opts.acks,
      compression: opts.compression,
      lingerMs: Number(opts.lingerMs),
    });
    const partition = opts.partition === undefined ? undefined : Number(opts.partition);
    let acknowledged = 0;
    let sent = 0;
    let failure: unknown = null;
    const outstanding = new Set<Promise<void>>();

    const send = (chunk: ProducerMessage[]): Promise<void> => {
      sent += chunk.length;
      const p = producer.send({ topic, messages: chunk }).then(
        () => {
          acknowledged += chunk.length;
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      const tracked = p.finally(() => outstanding.delete(tracked));
      outstanding.add(tracked);
      return tracked;
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

    let chunk: ProducerMessage[] = [];
    const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) {
        if (failure !== null) break;
        chunk.push(toMessage(line));
        if (chunk.length >= CHUNK_MESSAGES) {
          void send(chunk);
          chunk = [];
          while (outstanding.size >= OUTSTANDING_CHUNKS_MAX) await Promise.race(outstanding);
        }
      }
      if (chunk.length > 0 && failure === null) void send(chunk);
      await Promise.allSettled([...outstanding]);
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
        `${count} message(s) ${what}; stopped after an error: ${e.code ?? ''} ${e.message ?? String(failure)}\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(`${count} message(s) ${what}\n`);
    }
  });
}
