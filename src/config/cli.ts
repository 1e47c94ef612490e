import { StreamBusError } from '../errors/index.js';
import type { BrokerConfig } from './types.js';
import { parseHostPort } from './validate.js';

export interface BrokerFlags {
  readonly dataDir?: string | undefined;
  readonly listen?: string | undefined;
  /** HOST:PORT of the health (and, unless metrics.port is set, metrics) listener. */
  readonly httpListen?: string | undefined;
  /** broker.id */
  readonly brokerId?: string | undefined;
  /** broker.id as well (`--node-id`, an alias of `--broker-id`); both may be given only when equal. */
  readonly nodeId?: string | undefined;
  /** Sets cluster.enabled and cluster.voters: `id@host:port,...`. */
  readonly voters?: string | undefined;
  /** cluster.peer_listen */
  readonly peerListen?: string | undefined;
}

/** `streambus broker` flags as `loadConfig` overrides (the highest layer). Unset flags are left out. */
export function brokerFlagOverrides(flags: BrokerFlags): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (flags.dataDir !== undefined) overrides['broker.data_dir'] = flags.dataDir;
  if (flags.listen !== undefined) overrides['broker.listen'] = flags.listen;
  if (flags.httpListen !== undefined) {
    const parsed = parseHostPort(flags.httpListen);
    if (parsed === undefined) {
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'config.load',
        message: `--http-listen: expected host:port, like '0.0.0.0:8080', got '${flags.httpListen}'`,
      });
    }
    overrides['health.http.bind_address'] = parsed.host;
    overrides['health.http.port'] = parsed.port;
  }
  // Values stay strings: the schema validates and converts them, naming the key when they are wrong.
  if (flags.brokerId !== undefined && flags.nodeId !== undefined && flags.brokerId !== flags.nodeId) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'config.load',
      message: `--node-id ${flags.nodeId} and --broker-id ${flags.brokerId} disagree (they set the same broker.id)`,
    });
  }
  const brokerId = flags.brokerId ?? flags.nodeId;
  if (brokerId !== undefined) overrides['broker.id'] = brokerId;
  if (flags.peerListen !== undefined) overrides['cluster.peer_listen'] = flags.peerListen;
  if (flags.voters !== undefined) {
    overrides['cluster.enabled'] = true;
    overrides['cluster.voters'] = flags.voters;
  }
  return overrides;
}

/** What clients are told to connect to: `broker.advertised_listen`, else `broker.listen` with a wildcard host made concrete. */
export function advertisedListen(config: BrokerConfig): { host: string; port: number } {
  const text = config.broker.advertisedListen ?? config.broker.listen;
  const parsed = parseHostPort(text) ?? { host: '127.0.0.1', port: 9092 };
  const wildcard = parsed.host === '0.0.0.0' || parsed.host === '::' || parsed.host === '';
  return { host: wildcard ? '127.0.0.1' : parsed.host, port: parsed.port };
}
