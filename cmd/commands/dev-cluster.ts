import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseIntOption } from './common.js';

interface DevClusterOptions {
  brokers: number;
  dataDir: string;
  basePort: number;
  host: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
}

export function registerDevClusterCommand(program: Command): void {
  program
    .command('dev-cluster')
    .description(
      'run a local cluster of N broker processes (logs in DIR/broker-<id>.log) until Ctrl-C; for development only',
    )
    .requiredOption(
      '--brokers <n>',
      'number of brokers (1, 3 or 5 all vote; otherwise the first 1 or 3)',
      parseIntOption('--brokers', 1),
    )
    .requiredOption('--data-dir <dir>', 'parent directory: broker i keeps its data in DIR/broker-i')
    .option(
      '--base-port <port>',
      'broker i listens on P+(i-1)*10 (clients), +1 (peers), +2 (health/metrics); 0 picks free ports',
      parseIntOption('--base-port', 0),
      9092,
    )
    .option('--host <host>', 'address every listener binds to and advertises', '127.0.0.1')
    .option(
      '--ready-timeout-ms <ms>',
      'how long to wait for the cluster to be ready',
      parseIntOption('--ready-timeout-ms', 1),
      60_000,
    )
    .option(
      '--stop-timeout-ms <ms>',
      'how long brokers may drain after SIGTERM before SIGKILL',
      parseIntOption('--stop-timeout-ms', 1),
      35_000,
    )
    .action(async (options: DevClusterOptions) => {
      const [{ blockPorts, checkDevClusterOptions, planDevCluster }, { freePorts, runDevCluster }] =
        await Promise.all([import('../dev-cluster/plan.js'), import('../dev-cluster/supervisor.js')]);
      const problem = checkDevClusterOptions(options.brokers, options.basePort);
      if (problem !== null) throw new Error(problem);
      const ports =
        options.basePort === 0
          ? await freePorts(options.host, options.brokers)
          : blockPorts(options.basePort, options.brokers);
      const brokers = planDevCluster({ dataDir: resolve(options.dataDir), host: options.host, ports });
      const code = await runDevCluster({
        brokers,
        readyTimeoutMs: options.readyTimeoutMs,
        stopTimeoutMs: options.stopTimeoutMs,
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`dev-cluster: ${line}\n`),
      });
      process.exit(code);
    });
}
