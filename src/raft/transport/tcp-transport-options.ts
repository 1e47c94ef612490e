/**
 * What a TcpTransport is told: its options, their defaults, and the checks between them, in one place so
 * every limit of the peer link is named and validated before anything connects.
 */
import { invariant } from '../../errors/index.js';
import { systemTimers, type Timers } from '../../resilience/clock.js';
import type { NodeId } from '../core/types.js';
import { type RaftLogger, silentLogger } from '../logger.js';
import type { PeerAddress } from './peer.js';
import type { PeerTls } from './peer-sockets.js';

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  readonly host?: string;
  /** 0 picks a free port (read it back from `listen()`). */
  readonly port?: number;
  readonly peers?: ReadonlyMap<NodeId, PeerAddress>;
  /** Largest frame accepted or sent; bigger incoming frames close the connection. */
  readonly maxFrameBytes?: number;
  /** Envelopes queued per peer while it is unreachable or slow; the oldest are dropped beyond this. */
  readonly maxQueuedEnvelopes?: number;
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** An accepted connection that does not say hello within this time is closed. */
  readonly helloTimeoutMs?: number;
  /** A dial that does not connect within this time is abandoned and retried with backoff. */
  readonly connectTimeoutMs?: number;
  readonly random?: () => number;
  readonly logger?: RaftLogger;
  /**
   * A node joining a running cluster (not in the voter list): the voters do not know its address, so it
   * dials every peer it knows whatever the ids.
   */
  readonly dialsAllPeers?: boolean;
  /**
   * Accept a hello from a node id not in `peers` (a joining node): it is reached over the connection it
   * opened and never dialed from here.
   */
  readonly acceptsUnknownPeers?: boolean;
  /**
   * The local address outgoing connections bind to (the listener's host when it is a specific address), so a
   * peer's connections come from the address others know it by: firewall rules between brokers (the chaos
   * suite's partitions) and audit logs see one address per broker.
   */
  readonly localAddress?: string;
  /**
   * A connection that delivers nothing for this long is closed and dialed again. TCP alone would keep a
   * connection whose packets were dropped for a while (a network partition) and retry at its backed-off
   * retransmission timeout, seconds after the network healed: elections stalled until then.
   */
  readonly idleTimeoutMs?: number;
  /** An idle connection carries an empty message frame this often, so the peer knows it is alive. */
  readonly keepaliveIntervalMs?: number;
  readonly nowMs?: () => number;
  /** Redial and breaker timers (the liveness check stays on a real interval). */
  readonly timers?: Timers;
  /** Failed dials (or idle timeouts without the peer's connection) in a row that open a peer's breaker. */
  readonly breakerFailureThreshold?: number;
  /** How long an open peer breaker drops messages before one dial probes; default reconnectMaxMs. */
  readonly breakerOpenTimeoutMs?: number;
  /** Mutual TLS on the peer link (cluster.peer_tls; peer-sockets.ts); null or absent: plain TCP. */
  readonly tls?: PeerTls | null;
}

/** Every option but the initial peers, defaults filled in. */
export type ResolvedTcpTransportOptions = Required<Omit<TcpTransportOptions, 'peers'>>;

/** Fills in the defaults; throws (invariant) when the options contradict each other. */
export function resolveTcpTransportOptions(options: TcpTransportOptions): ResolvedTcpTransportOptions {
  const opts: ResolvedTcpTransportOptions = {
    nodeId: options.nodeId,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    maxFrameBytes: options.maxFrameBytes ?? 64 * 1024 * 1024,
    maxQueuedEnvelopes: options.maxQueuedEnvelopes ?? 10_000,
    reconnectInitialMs: options.reconnectInitialMs ?? 50,
    reconnectMaxMs: options.reconnectMaxMs ?? 1_000,
    helloTimeoutMs: options.helloTimeoutMs ?? 5_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 1_500,
    random: options.random ?? Math.random,
    logger: options.logger ?? silentLogger,
    dialsAllPeers: options.dialsAllPeers ?? false,
    acceptsUnknownPeers: options.acceptsUnknownPeers ?? false,
    localAddress: options.localAddress ?? '',
    idleTimeoutMs: options.idleTimeoutMs ?? 2_000,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 250,
    nowMs: options.nowMs ?? (() => Date.now()),
    timers: options.timers ?? systemTimers,
    breakerFailureThreshold: options.breakerFailureThreshold ?? 5,
    breakerOpenTimeoutMs: options.breakerOpenTimeoutMs ?? options.reconnectMaxMs ?? 1_000,
    tls: options.tls ?? null,
  };
  invariant(opts.reconnectInitialMs <= opts.reconnectMaxMs, 'reconnectInitialMs must be <= reconnectMaxMs');
  invariant(opts.keepaliveIntervalMs < opts.idleTimeoutMs, 'keepaliveIntervalMs must be < idleTimeoutMs');
  return opts;
}
