/** A CLI test file's broker: one process started before its tests and killed (data removed) after. */
import { afterAll, beforeAll } from 'vitest';
import { requireDist } from './acked-producer.js';
import { type BrokerProcess, removeDir, startBroker } from './broker-process.js';
import { type CliResult, runCli } from './run-cli.js';

export interface CliBroker {
  /** The broker (once beforeAll ran). */
  broker(): BrokerProcess;
  /** Runs the built CLI with `--bootstrap` pointing at the broker. */
  cli(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CliResult>;
}

/**
 * Registers the file's beforeAll/afterAll hooks; call at the top level of a test file. `options` start the
 * broker (e.g. `env` for a limit the file's tests need).
 */
export function cliBroker(options: Parameters<typeof startBroker>[0] = {}): CliBroker {
  let b: BrokerProcess | undefined;
  beforeAll(async () => {
    requireDist();
    b = await startBroker(options);
  });
  afterAll(async () => {
    await b?.kill();
    if (b) removeDir(b.dataDir);
  });
  const broker = (): BrokerProcess => {
    if (b === undefined) throw new Error('the CLI test broker is not started yet');
    return b;
  };
  return {
    broker,
    cli: (args, options = {}) => runCli([...args, '--bootstrap', broker().bootstrap], options),
  };
}
