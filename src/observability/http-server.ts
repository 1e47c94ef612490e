import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { StreamBusError } from '../errors/index.js';
import type { HealthRegistry, HealthStatus } from './health.js';
import type { MetricsRegistry } from './metrics.js';

/** What /health/raft shows: the metadata Raft group's state, read from memory (never blocking). */
export interface RaftHealthView {
  readonly status: HealthStatus | 'unavailable';
  readonly message?: string;
  readonly [field: string]: unknown;
}

export type RaftHealthProvider = () => RaftHealthView;

export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Serve /health/live, /health/ready, /health/raft and /health from this registry's cache. */
  readonly health?: HealthRegistry;
  /** Serve Prometheus text at `metricsPath`. */
  readonly metrics?: MetricsRegistry;
  readonly metricsPath?: string;
  /**
   * Give /metrics its own listener on this port (same host). null/undefined or equal to `port`: share the
   * health listener. 0 always means a separate listener on a free port.
   */
  readonly metricsPort?: number | null;
  /** Until the metadata Raft group exists; `OpsServer.setRaftHealthProvider` can set it later. */
  readonly raftHealth?: RaftHealthProvider;
  /** Server errors are logged here at warn; request logging is off. */
  readonly logger?: Logger;
  /**
   * The config keys behind `host`, `port` and `metricsPort`: a listener that cannot bind (port taken,
   * address not on this host) then fails with INVALID_CONFIG naming them, as the client listener does.
   */
  readonly configKeys?: { readonly host: string; readonly port: string; readonly metricsPort?: string };
}

export interface OpsServer {
  /** Where the health endpoints (or, without health, the metrics) listen. */
  readonly address: { readonly host: string; readonly port: number };
  /** Where /metrics listens, if served. */
  readonly metricsAddress: { readonly host: string; readonly port: number } | undefined;
  setRaftHealthProvider(provider: RaftHealthProvider | undefined): void;
  close(): Promise<void>;
}

const NO_RAFT: RaftHealthView = {
  status: 'unavailable',
  message: 'single-node broker: there is no metadata Raft group yet',
};

/**
 * The ops HTTP server. Every health answer comes from cached state, so a probe answers in well under 100 ms
 * even while a check hangs; status codes: 200 for healthy or degraded, 503 otherwise.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const metricsPath = options.metricsPath ?? '/metrics';
  // An explicit 0 asks for a listener of its own on a free port (tests), even when `port` is 0 too.
  const metricsPort = options.metricsPort ?? null;
  const separateMetrics =
    options.metrics !== undefined &&
    options.health !== undefined &&
    metricsPort !== null &&
    (metricsPort !== options.port || metricsPort === 0);
  let raftProvider = options.raftHealth;

  const main = createApp(options.logger);
  if (options.health !== undefined) {
    addHealthRoutes(main, options.health, () => raftProvider);
  }
  if (options.metrics !== undefined && !separateMetrics) addMetricsRoute(main, options.metrics, metricsPath);

  let metricsApp: FastifyInstance | undefined;
  if (separateMetrics && options.metrics !== undefined) {
    metricsApp = createApp(options.logger);
    addMetricsRoute(metricsApp, options.metrics, metricsPath);
  }

  const listen = async (app: FastifyInstance, port: number, portKey: string | undefined): Promise<void> => {
    try {
      await app.listen({ host: options.host, port });
    } catch (err) {
      const keys = options.configKeys;
      if (keys === undefined || portKey === undefined) throw err;
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'ops_http.listen',
        cause: err,
        message: `${portKey} ${port} (${keys.host} ${options.host}): ${(err as Error).message}`,
        metadata: { key: portKey, host: options.host, port },
      });
    }
  };
  try {
    await listen(main, options.port, options.configKeys?.port);
    if (metricsApp !== undefined) await listen(metricsApp, metricsPort ?? 0, options.configKeys?.metricsPort);
  } catch (err) {
    await Promise.allSettled([main.close(), metricsApp?.close()]);
    throw err;
  }
  const address = boundAddress(main);
  const metricsAddress =
    options.metrics === undefined ? undefined : metricsApp === undefined ? address : boundAddress(metricsApp);
  return {
    address,
    metricsAddress,
    setRaftHealthProvider(provider) {
      raftProvider = provider;
    },
    async close() {
      await Promise.all([main.close(), metricsApp?.close()]);
    },
  };
}

function createApp(logger: Logger | undefined): FastifyInstance {
  return Fastify({
    ...(logger === undefined
      ? { logger: false }
      : { loggerInstance: logger.child({ component: 'ops-http' }, { level: 'warn' }) }),
    logController: new LogController({ disableRequestLogging: true }),
    // Close keep-alive sockets on close(): no handle outlives the server.
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
}

function addHealthRoutes(
  app: FastifyInstance,
  health: HealthRegistry,
  raftProvider: () => RaftHealthProvider | undefined,
): void {
  app.get('/health/live', async (_request, reply) => {
    const live = health.liveness();
    return reply
      .code(live.live ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(live.live ? { status: 'alive' } : { status: 'dead', reason: live.reason });
  });
  app.get('/health/ready', async (_request, reply) => {
    const readiness = health.readiness();
    return reply
      .code(readiness.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(readiness.ready ? { status: 'ready' } : { status: 'not_ready', reason: readiness.reason });
  });
  app.get('/health/raft', async (_request, reply) => {
    const view = raftView(health, raftProvider());
    const ok = view.status === 'healthy' || view.status === 'degraded';
    return reply
      .code(ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(view);
  });
  app.get('/health', async (_request, reply) => {
    const report = health.report();
    return reply
      .code(report.status === 'unhealthy' ? 503 : 200)
      .header('cache-control', 'no-store')
      .send(report);
  });
}

/** The provider if set, else a registered `raft` check's cached result, else an honest "unavailable". */
function raftView(health: HealthRegistry, provider: RaftHealthProvider | undefined): RaftHealthView {
  if (provider !== undefined) {
    try {
      return provider();
    } catch (err) {
      return { status: 'unhealthy', message: err instanceof Error ? err.message : String(err) };
    }
  }
  const component = health.component('raft');
  if (component !== undefined) return { ...component };
  return NO_RAFT;
}

function addMetricsRoute(app: FastifyInstance, metrics: MetricsRegistry, path: string): void {
  app.get(path, async (_request, reply) => {
    const body = await metrics.text();
    return reply.code(200).header('content-type', metrics.contentType).send(body);
  });
}

function boundAddress(app: FastifyInstance): { host: string; port: number } {
  const info = app.server.address() as AddressInfo;
  return { host: info.address, port: info.port };
}
