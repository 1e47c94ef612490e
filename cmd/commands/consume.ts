import type { Command } from 'commander';
import { createClient, type TopicPartition } from '../../src/index.js';
import { bootstrapList, parseIntOption, withBootstrap } from './common.js';

interface ConsumeOptions {
  bootstrap: string;
  fromBeginning?: boolean;
  partition?: number;
  offset?: number;
  maxMessages?: number;
  timeoutMs?: number;
  printKey?: boolean;
  printOffset?: boolean;
}

function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

export function registerConsumeCommand(program: Command): void {
  withBootstrap(
    program
      .command('consume <topic>')
      .description('print messages, one value per line (each partition in offset order)')
      .option('--from-beginning', 'start at the earliest offset instead of the end')
      .option('--partition <n>', 'read only this partition', parseIntOption('--partition'))
      .option('--offset <n>', 'start at this offset (needs --partition)', parseIntOption('--offset'))
      .option('--max-messages <n>', 'exit after this many messages', parseIntOption('--max-messages'))
      .option(
        '--timeout-ms <ms>',
        'exit when no message arrives for this long',
        parseIntOption('--timeout-ms'),
      )
      .option('--print-key', 'print key<TAB>value')
      .option('--print-offset', 'print partition:offset<TAB> before each line'),
  ).action(async (topic: string, opts: ConsumeOptions) => {
    if (opts.offset !== undefined && opts.partition === undefined)
      throw new Error('--offset needs --partition');
    const client = createClient({ bootstrap: bootstrapList(opts.bootstrap), clientId: 'streambus-cli' });
    const consumer = client.consumer({ autoOffsetReset: opts.fromBeginning ? 'earliest' : 'latest' });
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let printed = 0;
    try {
      await consumer.assign([
        opts.partition === undefined ? { topic } : { topic, partition: opts.partition },
      ]);
      const assigned: TopicPartition[] = consumer.assignment();
      if (opts.offset !== undefined) consumer.seek({ topic, partition: opts.partition! }, opts.offset);
      else if (opts.fromBeginning) await consumer.seekToBeginning(assigned);
      else await consumer.seekToEnd(assigned);

      let lastMessageAt = Date.now();
      while (!stop.signal.aborted) {
        const messages = await consumer.poll({ signal: stop.signal });
        if (messages.length === 0) {
          if (opts.timeoutMs !== undefined && Date.now() - lastMessageAt >= opts.timeoutMs) break;
          continue;
        }
        lastMessageAt = Date.now();
        let out = '';
        for (const m of messages) {
          if (opts.maxMessages !== undefined && printed >= opts.maxMessages) break;
          if (opts.printOffset) out += `${m.partition}:${m.offset}\t`;
          if (opts.printKey) out += `${m.key?.toString() ?? ''}\t`;
          out += `${m.value?.toString() ?? ''}\n`;
          printed++;
        }
        await writeOut(out);
        if (opts.maxMessages !== undefined && printed >= opts.maxMessages) break;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await client.close();
    }
    process.stderr.write(`${printed} message(s) consumed\n`);
  });
}
