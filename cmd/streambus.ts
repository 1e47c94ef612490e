#!/usr/bin/env node
/**
 * `streambus`: one CLI for running a broker and for working with topics, messages and benchmarks.
 * Entry point only: each command lives in cmd/commands/ and wires library code together.
 */
import { Command } from 'commander';
import { registerBenchCommand } from './commands/bench.js';
import { registerBrokerCommand } from './commands/broker.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerConfigCommand } from './commands/config.js';
import { registerConsumeCommand } from './commands/consume.js';
import { registerDevClusterCommand } from './commands/dev-cluster.js';
import { registerGroupCommand } from './commands/group.js';
import { registerProduceCommand } from './commands/produce.js';
import { registerTopicCommand } from './commands/topic.js';

// A reader that goes away (`streambus consume ... | head`) fails the next write with EPIPE. Without a
// listener that is an uncaught 'error' event and a stack trace; commands instead see their writes fail
// (consume stops and commits only what was printed) and end as they would have.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const program = new Command()
  .name('streambus')
  .description('StreamBus: a distributed commit log for Node.js')
  .showHelpAfterError()
  .enablePositionalOptions();

registerBrokerCommand(program);
registerDevClusterCommand(program);
registerClusterCommand(program);
registerTopicCommand(program);
registerProduceCommand(program);
registerConsumeCommand(program);
registerGroupCommand(program);
registerBenchCommand(program);
registerConfigCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`streambus: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
  process.exit(1);
});
