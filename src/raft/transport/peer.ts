/**
 * One remote peer of the TCP transport: its connection state, queue and circuit breaker.
 *
 * The breaker of a peer link (`raft-peer-<id>`) is shared by every Raft group on the broker
 * (they share the transport, so one breaker per remote broker).
 *
 * What a call is:
 * - on the side that dials (the lower id): one dial. It succeeds once bytes arrive from the peer over the
 *   new connection (a stopped process still completes the TCP handshake in its kernel, so a connect alone
 *   proves nothing) and fails when the connection closes before that;
 * - on the side that waits to be dialed: each idle timeout that passes with no connection from the peer
 *   fails; the peer's hello on a new connection succeeds (and ends an open period at once, see
 *   `recovered`).
 *
 * While open, messages for the peer are dropped instead of queued (Raft retransmits; queued messages to a
 * dead peer are stale by the time it returns) and it is not dialed until the open timeout has passed; then
 * one dial probes (half-open) and its success closes the breaker.
 *
 * Thresholds: the failure threshold is `resilience.circuit_breaker.failure_threshold`. The open timeout is
 * the transport's longest redial backoff (reconnectMaxMs, 1 s), not the generic 30 s: a restarted broker is
 * redialed no later than the backoff alone would, so partition groups and the metadata group regain it as
 * fast as before (an election takes 1-2 s; a 30 s wait would keep a returning voter out of the quorum).
 * One successful dial is proof enough, so one trial at a time and one success close it.
 */
import type { Socket } from 'node:net';
import { CircuitBreaker } from '../../resilience/circuit-breaker.js';
import type { Clock, TimerHandle, Timers } from '../../resilience/clock.js';
import type { Envelope } from '../codec.js';
import type { NodeId } from '../core/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface Peer {
  readonly id: NodeId;
  address: PeerAddress | undefined;
  socket: Socket | undefined;
  queue: Envelope[];
  flushScheduled: boolean;
  waitingDrain: boolean;
  attempts: number;
  reconnectTimer: TimerHandle | undefined;
  /** The connection a dial of ours is opening (one at a time), until it connects or fails. */
  dialing: Socket | undefined;
  /** Removed from the transport (removePeer): never dialed, connected or reported again. */
  retired: boolean;
  /** What the transport's breaker observers asked to run when the peer is removed (its metrics end). */
  readonly releases: (() => void)[];
  /**
   * Whether this side opens the connection: fixed when the peer is first known, except that a transport
   * told to dial every peer (TcpTransport.dialAllPeers) makes it true.
   */
  dialer: boolean;
  readonly breaker: CircuitBreaker;
  /** Since when a peer that dials us has had no connection (its breaker counts each idle timeout of it). */
  absentSinceMs: number;
  lastReceivedAtMs: number;
  /** When bytes last arrived from the peer (a connect alone does not count, unlike `lastReceivedAtMs`). */
  lastDataAtMs: number;
  lastSentAtMs: number;
}

export interface PeerBreakerOptions {
  readonly failureThreshold: number;
  readonly openTimeoutMs: number;
  readonly clock: Clock;
}

export function peerBreakerName(peer: NodeId): string {
  return `raft-peer-${peer}`;
}

export function createPeerBreaker(peer: NodeId, options: PeerBreakerOptions): CircuitBreaker {
  return new CircuitBreaker({
    name: peerBreakerName(peer),
    failureThreshold: options.failureThreshold,
    successThreshold: 1,
    maxRequestsHalfOpen: 1,
    openTimeoutMs: options.openTimeoutMs,
    clock: options.clock,
    // Every outcome the transport reports is the link's own (refused, timed out, silent, closed).
    countsAsFailure: () => true,
  });
}

export function newPeer(
  id: NodeId,
  address: PeerAddress | undefined,
  dialer: boolean,
  breaker: PeerBreakerOptions,
): Peer {
  return {
    id,
    address,
    socket: undefined,
    queue: [],
    flushScheduled: false,
    waitingDrain: false,
    attempts: 0,
    reconnectTimer: undefined,
    dialing: undefined,
    retired: false,
    releases: [],
    dialer,
    breaker: createPeerBreaker(id, breaker),
    absentSinceMs: breaker.clock.nowMs(),
    lastReceivedAtMs: 0,
    lastDataAtMs: 0,
    lastSentAtMs: 0,
  };
}

/**
 * Ends everything the transport holds for a removed peer: its redial timer, its connection and any dial in
 * progress (closed without being reported lost: the peer left, nothing failed), its queue, and its observers'
 * bindings. Its breaker is dropped with it, so it never reports (or logs) a state again.
 */
export function retirePeer(peer: Peer, timers: Pick<Timers, 'clearTimeout'>): number {
  peer.retired = true;
  if (peer.reconnectTimer !== undefined) timers.clearTimeout(peer.reconnectTimer);
  peer.reconnectTimer = undefined;
  const socket = peer.socket;
  peer.socket = undefined;
  socket?.destroy();
  peer.dialing?.destroy();
  const dropped = peer.queue.length;
  peer.queue = [];
  for (const release of peer.releases.splice(0)) release();
  return dropped;
}

/**
 * A liveness check this late means this process's own event loop was blocked (a GC pause, a stuck disk
 * write, CPU starvation): timers run before sockets are read, so whatever the peers sent meanwhile is still
 * unread, and the time is this node's silence, not theirs. It is credited to every peer; otherwise a broker
 * back from a 2 s stall would close every peer connection with their messages unread and report each peer
 * lost (its followers would campaign). Silence is measured in time this process was running.
 */
export function creditOwnStall(peers: Iterable<Peer>, stalledMs: number, now: number): void {
  for (const peer of peers) {
    peer.lastReceivedAtMs = Math.min(now, peer.lastReceivedAtMs + stalledMs);
    if (peer.lastDataAtMs > 0) peer.lastDataAtMs = Math.min(now, peer.lastDataAtMs + stalledMs);
    peer.absentSinceMs = Math.min(now, peer.absentSinceMs + stalledMs);
  }
}

/**
 * A peer that dials us and has stayed away for another idle timeout is one failed call of its breaker
 * (it would have redialed within its backoff, at most reconnectMaxMs, if it could).
 */
export function countAbsence(peer: Peer, now: number, idleTimeoutMs: number): void {
  if (peer.dialer || now - peer.absentSinceMs < idleTimeoutMs) return;
  peer.absentSinceMs = now;
  peer.breaker
    .call(undefined, () => Promise.reject(new PeerLinkError(peer.id, 'no connection from the peer')))
    .catch(() => undefined);
}

/** A failure the transport reports to a peer's breaker; never thrown to callers. */
export class PeerLinkError extends Error {
  constructor(
    readonly peer: NodeId,
    reason: string,
  ) {
    super(`raft peer ${peer}: ${reason}`);
    this.name = 'PeerLinkError';
  }
}
