/** A broker inside the test process: faster than a child process, for API and handler tests. */
import { afterEach } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { loadConfig } from '../../src/config/index.js';
import { type ClientOptions, createClient, type StreamBusClient } from '../../src/index.js';
import { type Logger, silentLogger } from '../../src/observability/index.js';
import { removeDir, TEST_HOST, tempDir } from './broker-process.js';
import { freePort } from './cluster-processes.js';
import { waitFor } from './wait-for.js';

export interface InProcessBroker {
  broker: Broker;
  bootstrap: string;
  host: string;
  port: number;
  httpPort: number;
  dataDir: string;
  /** Graceful shutdown, keeping the data dir. */
  stop(): Promise<void>;
  /** Shutdown and remove the data dir. */
  destroy(): Promise<void>;
}

export async function startInProcessBroker(
  overrides: Record<string, unknown> = {},
  dataDir = tempDir(),
  options: { logger?: Logger; onFatal?: (reason: string) => void } = {},
): Promise<InProcessBroker> {
  const config = loadConfig({
    env: {},
    overrides: {
      'broker.data_dir': dataDir,
      'broker.listen': `${TEST_HOST}:0`,
      'health.http.bind_address': TEST_HOST,
      'health.http.port': 0,
      ...overrides,
    },
  });
  const broker = await Broker.start(config, {
    logger: options.logger ?? silentLogger(),
    ...(options.onFatal === undefined ? {} : { onFatal: options.onFatal }),
  });
  const { host, port, httpPort } = broker.addresses;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await broker.shutdown('test');
  };
  return {
    broker,
    host,
    port,
    httpPort: httpPort ?? -1,
    dataDir,
    bootstrap: `${host}:${port}`,
    stop,
    async destroy() {
      await stop();
      removeDir(dataDir);
    },
  };
}

/** Overrides for broker 1 as the one voter of its own cluster (cluster mode in process), on a free peer port. */
export async function singleVoterCluster(): Promise<Record<string, unknown>> {
  const peerPort = await freePort();
  return {
    'broker.id': 1,
    'cluster.enabled': true,
    'cluster.peer_listen': `${TEST_HOST}:${peerPort}`,
    'cluster.voters': `1@${TEST_HOST}:${peerPort}`,
  };
}

/** In cluster mode, waits until broker 1 is alive in metadata: a topic needs an alive broker to be placed on. */
export async function aliveInMetadata(b: InProcessBroker): Promise<void> {
  const cluster = b.broker.cluster;
  if (cluster === null) return;
  await waitFor(
    'this broker alive in metadata',
    () => cluster.store.snapshotView().brokers.get(1)?.state === 'alive',
  );
}

/**
 * A test file's broker, started by each test that needs one, with the clients made against it: after each
 * test the clients close and the broker is destroyed (its data dir removed). Registers its afterEach.
 */
export function perTestBroker(): {
  start(settings?: Record<string, unknown>): Promise<InProcessBroker>;
  client(options?: Omit<ClientOptions, 'bootstrap'>): StreamBusClient;
} {
  let broker: InProcessBroker | undefined;
  const clients: StreamBusClient[] = [];
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await broker?.destroy();
    broker = undefined;
  });
  return {
    async start(settings = {}) {
      broker = await startInProcessBroker(settings);
      await aliveInMetadata(broker);
      return broker;
    },
    client(options = {}) {
      if (broker === undefined) throw new Error('perTestBroker: start() the broker first');
      const c = createClient({ requestTimeoutMs: 10_000, ...options, bootstrap: broker.bootstrap });
      clients.push(c);
      return c;
    },
  };
}
