import type { Command } from 'commander';
import type { Broker } from '../../src/broker/broker.js';

interface BrokerOptions {
  config?: string;
  dataDir?: string;
  listen?: string;
  httpListen?: string;
  brokerId?: string;
  nodeId?: string;
  voters?: string;
  peerListen?: string;
  printConfig?: boolean;
}

export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description(
      'run a broker (built-in defaults: clients on 0.0.0.0:9092, health and metrics on :8080, data in ./data)',
    )
    .option('--config <file>', 'YAML config file (env STREAMBUS_* and these flags override it)')
    .option('--data-dir <dir>', 'data directory (broker.data_dir)')
    .option('--listen <host:port>', 'client listener (broker.listen)')
    .option('--http-listen <host:port>', 'health and metrics listener (health.http.bind_address and port)')
    .option('--broker-id <id>', "this broker's id (broker.id)")
    .option('--node-id <id>', 'alias of --broker-id (broker.id)')
    .option(
      '--voters <id@host:port,...>',
      'join the metadata quorum of these voters (cluster.enabled, cluster.voters)',
    )
    .option('--peer-listen <host:port>', 'inter-broker listener (cluster.peer_listen)')
    .action(async (options: BrokerOptions) => {
      // Loaded here, not at the top: client commands (topic, produce, ...) should not pay for the broker.
      const [{ Broker }, { brokerFlagOverrides, loadConfig }, { createLogger }] = await Promise.all([
        import('../../src/broker/broker.js'),
        import('../../src/config/index.js'),
        import('../../src/observability/index.js'),
      ]);
      const config = loadConfig({
        ...(options.config === undefined ? {} : { file: options.config }),
        env: process.env,
        overrides: brokerFlagOverrides({
          dataDir: options.dataDir,
          listen: options.listen,
          httpListen: options.httpListen,
          brokerId: options.brokerId,
          nodeId: options.nodeId,
          voters: options.voters,
          peerListen: options.peerListen,
        }),
        onWarning: (message) => process.stderr.write(`streambus: warning: ${message}\n`),
      });
      const logger = createLogger({
        level: config.logging.level,
        format: config.logging.format,
        output: config.logging.output,
        base: { broker_id: config.broker.id },
      });
      // Signals are handled from before the start: one that arrives while the broker is still starting (a
      // rollout during a long recovery, or right after "broker started" is logged) is acted on once the
      // start completes, instead of Node's default of dying on the spot; a second one exits at once.
      let broker: Broker | undefined;
      let signalled: NodeJS.Signals | undefined;
      const stop = (running: Broker, signal: NodeJS.Signals): void => {
        if (running.isShuttingDown) {
          logger.warn({ operation: 'shutdown', signal }, 'second signal: exiting at once');
          process.exit(1);
        }
        // Exit 0 after a full drain and after a forced one alike: either way every log was flushed and
        // closed (no acknowledged write is lost) and the operator asked for the stop, so a supervisor with
        // Restart=on-failure must not restart it. A forced drain is told apart by its warning log line and
        // the "broker stopped" line's `forced: true`. Exit 1: a second signal, or a shutdown that threw.
        running.shutdown(signal).then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ operation: 'shutdown', error: String(err) }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      const onSignal = (signal: NodeJS.Signals): void => {
        if (broker === undefined) {
          if (signalled !== undefined) process.exit(1);
          signalled = signal;
          return;
        }
        stop(broker, signal);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        broker = await Broker.start(config, {
          logger,
          // The broker logged why and has stopped (a build older than the cluster's feature level).
          onFatal: () => process.exit(1),
        });
      } catch (err) {
        logger.fatal(
          { operation: 'start', error: (err as Error).message, code: (err as { code?: string }).code },
          'broker failed to start',
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        process.exit(1);
      }
      if (signalled !== undefined) stop(broker, signalled);
    });
}
