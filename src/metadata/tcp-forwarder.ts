/**
 * The real MetadataForwarder: a follower's metadata write travels to the leader over the Raft peer
 * connection that already exists between every pair of voters, as envelopes of a reserved group id that no
 * Raft group uses. TcpTransport has one message handler, so this class sits between it and the RaftNode:
 * the node gets `raftTransport` (every other group's envelopes pass through untouched), the forwarding
 * envelopes stop here.
 *
 * Wire shape (reusing the Raft Message fields, so TcpTransport's codec carries it unchanged):
 *   request  `prop`     index = correlation id, commit = the asker's remaining time in ms (0: not given, as
 *                       from a broker before deadlines travelled), context = the encoded command (as
 *                       MetadataStore built it)
 *   response `app-resp` index = correlation id, context = msgpackr `{ ok: true, result }` or
 *                       `{ ok: false, code, message, leaderId, leaderPeer }` (leaderPeer: `{ host, port }`
 *                       of the leader a NOT_LEADER names, when the answering node knows it, else null;
 *                       older builds send none and ignore it)
 * The transport drops envelopes when a peer is down, so a request may get no answer: the caller's deadline
 * (the store's attempt, itself within a client request's deadline) bounds the wait, and the command's
 * request id makes re-sending safe. The leader side works on a request for at most the remaining time it
 * carried (never more than handleTimeoutMs), so the time left only shrinks across the hop.
 *
 * A joining broker (outside the metadata group, `join` set, join-route.ts) knows only the voters it lists, and any of
 * them may be a follower: a NOT_LEADER answer that names the leader's peer address makes it add the leader
 * as a peer (so it dials it, as it dials every voter it knows), wait for the connection and send the same
 * command there, within the same deadline. One redirect per forward: the leader's own NOT_LEADER (it lost
 * leadership meanwhile) goes back to the caller, whose next attempt asks again. Redirecting rather than
 * relaying through the follower: the leader must reach the joiner anyway to replicate the metadata log to
 * it, and it does so over the connection the joiner opened (voters accept unknown peers; a joiner does not).
 */
import { pack, unpack } from 'msgpackr';
import { ERRORS, type ErrorCode } from '../errors/catalogue.js';
import { InvariantViolation, isStreamBusError, StreamBusError, toStreamBusError } from '../errors/index.js';
import type { Envelope } from '../raft/codec.js';
import type { Message, NodeId } from '../raft/core/types.js';
import type { RaftLogger } from '../raft/logger.js';
import type { RaftTransport } from '../raft/transport/types.js';
import { type Clock, sleep, systemTimers, type Timers } from '../resilience/clock.js';
import { Deadline } from '../resilience/deadline.js';
import type { ForwardTarget, MetadataForwarder } from './forwarder.js';
import type { JoinRoute } from './join-route.js';
import { parseApplyResult } from './snapshot.js';
import type { ApplyResult, HostPort } from './types.js';

/** Reserved: never the id of a Raft group. */
export const FORWARD_GROUP_ID = 'metadata.forward';

/** How often a redirected forward looks whether the connection to the named leader is up yet. */
export const REDIRECT_CONNECT_POLL_MS = 25;

export interface PeerTransport extends RaftTransport {
  /** False while no connection to `to` is up (a forward would only sit in a queue). */
  isConnected(to: NodeId): boolean;
}

export interface TransportForwarderOptions {
  readonly nodeId: NodeId;
  readonly transport: PeerTransport;
  /** The leader side's bound on one forwarded proposal (the asker's remaining time can only shorten it). */
  readonly handleTimeoutMs: number;
  readonly logger: RaftLogger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** The peer address of a broker (the metadata registry's, else cluster.voters'), sent with NOT_LEADER. */
  readonly peerAddressOf?: (id: NodeId) => HostPort | undefined;
  /**
   * Set on a broker that may join from outside the metadata group. While it does (its route names voters to
   * try), a NOT_LEADER answer that names the leader's address is followed there (see above).
   */
  readonly join?: JoinRoute;
}

interface Pending {
  readonly leaderId: NodeId;
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (err: Error) => void;
}

type RaftHandler = (from: NodeId, envelopes: readonly Envelope[]) => void;

export class TransportForwarder implements MetadataForwarder {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private raftHandler: RaftHandler | undefined;
  private peerLostHandler: ((peer: NodeId) => void) | undefined;
  private target: ForwardTarget | undefined;
  private closed = false;
  /** What the RaftNode uses instead of the raw transport. */
  readonly raftTransport: RaftTransport;

  constructor(private readonly options: TransportForwarderOptions) {
    const transport = options.transport;
    transport.onMessage((from, envelopes) => this.onEnvelopes(from, envelopes));
    transport.onPeerLost?.((peer) => this.onPeerLost(peer));
    const heardFromWithin = transport.heardFromWithin?.bind(transport);
    this.raftTransport = {
      send: (to, envelopes) => transport.send(to, envelopes),
      onMessage: (handler) => {
        this.raftHandler = handler;
      },
      onPeerLost: (handler) => {
        this.peerLostHandler = handler;
      },
      close: () => transport.close(),
      // Without it the host would let no partition group go quiet (RaftCore.quiesce).
      ...(heardFromWithin === undefined ? {} : { heardFromWithin }),
    };
  }

  /** The local store, which answers forwarded writes while this node leads. */
  setTarget(target: ForwardTarget): void {
    this.target = target;
  }

  async forward(leaderId: NodeId, commandBytes: Uint8Array, deadline: Deadline): Promise<ApplyResult> {
    try {
      return await this.forwardTo(leaderId, commandBytes, deadline);
    } catch (err) {
      const redirect = this.redirectOf(err, leaderId);
      if (redirect === undefined) throw err;
      return this.forwardRedirected(leaderId, redirect, commandBytes, deadline);
    }
  }

  /** The leader a NOT_LEADER from `asked` names with its address, when this node follows redirects. */
  private redirectOf(err: unknown, asked: NodeId): { id: NodeId; address: HostPort } | undefined {
    const joining = (this.options.join?.via().length ?? 0) > 0;
    if (!joining || !isStreamBusError(err, 'NOT_LEADER')) return undefined;
    const id = err.metadata?.leaderId;
    const address = err.metadata?.leaderPeer;
    if (typeof id !== 'number' || id === 0 || id === asked || id === this.options.nodeId) return undefined;
    return isHostPort(address) ? { id, address } : undefined;
  }

  /** One hop on to the leader `asked` named: dial it, wait for the connection, send the command there. */
  private async forwardRedirected(
    asked: NodeId,
    leader: { id: NodeId; address: HostPort },
    commandBytes: Uint8Array,
    deadline: Deadline,
  ): Promise<ApplyResult> {
    const transport = this.options.transport;
    if (!transport.isConnected(leader.id)) {
      this.options.logger.info(
        { operation: 'metadata.forward', asked, leader: leader.id, peer: hostPort(leader.address) },
        'a voter named the metadata leader: dialing it',
      );
      this.options.join?.learnPeer(leader.id, leader.address);
    }
    const timers = this.options.timers ?? systemTimers;
    while (!transport.isConnected(leader.id) && !this.closed) {
      try {
        await sleep(REDIRECT_CONNECT_POLL_MS, deadline.signal, timers);
      } catch {
        throw new StreamBusError('NETWORK_ERROR', {
          operation: 'metadata.forward',
          message: `metadata leader ${leader.id} (named by ${asked}) not reached at ${hostPort(leader.address)}`,
        });
      }
    }
    return this.forwardTo(leader.id, commandBytes, deadline);
  }

  private forwardTo(leaderId: NodeId, commandBytes: Uint8Array, deadline: Deadline): Promise<ApplyResult> {
    const signal = deadline.signal;
    if (this.closed || !this.options.transport.isConnected(leaderId)) {
      return Promise.reject(
        new StreamBusError('NETWORK_ERROR', {
          operation: 'metadata.forward',
          message: `no connection to metadata leader ${leaderId}`,
        }),
      );
    }
    const id = this.nextId++;
    return new Promise<ApplyResult>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(id);
        reject(
          new StreamBusError('NETWORK_ERROR', {
            operation: 'metadata.forward',
            message: `no answer from metadata leader ${leaderId}`,
          }),
        );
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (fn: () => void): void => {
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        fn();
      };
      this.pending.set(id, {
        leaderId,
        resolve: (r) => settle(() => resolve(r)),
        reject: (e) => settle(() => reject(e)),
      });
      // At least 1: 0 on the wire means "no budget given". Sent now, so transit time only shortens it.
      this.send(leaderId, 'prop', id, commandBytes, Math.max(1, Math.floor(deadline.remainingMs())));
    });
  }

  /** Fails every waiting forward (RAFT_STOPPED) and drops later answers. Does not close the transport. */
  close(): void {
    this.closed = true;
    const err = new StreamBusError('RAFT_STOPPED', { operation: 'metadata.forward' });
    for (const p of [...this.pending.values()]) p.reject(err);
  }

  /**
   * The connection to `peer` was lost: forwards waiting on it fail now (NETWORK_ERROR, retriable; the
   * command's request id makes the retry safe if the leader applied it after all) instead of at their
   * deadline, and Raft hears of it (RaftCore.peerLost).
   */
  private onPeerLost(peer: NodeId): void {
    const lost = [...this.pending.values()].filter((p) => p.leaderId === peer);
    for (const p of lost) {
      p.reject(
        new StreamBusError('NETWORK_ERROR', {
          operation: 'metadata.forward',
          message: `connection to metadata leader ${peer} lost`,
        }),
      );
    }
    this.peerLostHandler?.(peer);
  }

  private onEnvelopes(from: NodeId, envelopes: readonly Envelope[]): void {
    const raft: Envelope[] = [];
    for (const env of envelopes) {
      if (env.groupId !== FORWARD_GROUP_ID) raft.push(env);
      else if (env.message.type === 'prop') void this.serve(from, env.message);
      else if (env.message.type === 'app-resp') this.answer(from, env.message);
    }
    if (raft.length > 0) this.raftHandler?.(from, raft);
  }

  /** Leader side: one proposal, its result or error back to the asker. */
  private async serve(from: NodeId, m: Message): Promise<void> {
    let reply: Record<string, unknown>;
    try {
      if (this.target === undefined || this.closed || m.context === undefined) {
        throw new StreamBusError('BROKER_NOT_AVAILABLE', {
          operation: 'metadata.forwarded',
          message: 'metadata store not running here',
        });
      }
      const deadline = Deadline.fromTimeout(forwardedBudgetMs(m.commit, this.options.handleTimeoutMs), {
        operation: 'metadata.forwarded',
        ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
        ...(this.options.timers === undefined ? {} : { timers: this.options.timers }),
      });
      try {
        reply = { ok: true, result: await this.target.handleForwarded(m.context, deadline) };
      } finally {
        deadline.dispose();
      }
    } catch (err) {
      const e = toStreamBusError(err, 'metadata.forwarded');
      const leaderId = isStreamBusError(e, 'NOT_LEADER') ? e.metadata?.leaderId : undefined;
      // The address too: a joining asker may know no way to the leader but through this node.
      const leaderPeer =
        typeof leaderId === 'number' && leaderId !== 0 ? this.options.peerAddressOf?.(leaderId) : undefined;
      reply = {
        ok: false,
        code: e.code,
        message: e.message,
        leaderId: leaderId ?? null,
        leaderPeer: leaderPeer === undefined ? null : { host: leaderPeer.host, port: leaderPeer.port },
      };
    }
    if (!this.closed) this.send(from, 'app-resp', m.index, pack(reply));
  }

  /** Follower side: match an answer to its waiting forward; a malformed one fails that forward. */
  private answer(from: NodeId, m: Message): void {
    const p = this.pending.get(m.index);
    if (p === undefined || p.leaderId !== from) return; // late (already timed out) or not ours
    try {
      p.resolve(decodeReply(m.context));
    } catch (err) {
      if (err instanceof StreamBusError) p.reject(err);
      else {
        this.options.logger.warn(
          { operation: 'metadata.forward', from, error: String(err) },
          'malformed answer',
        );
        p.reject(
          new StreamBusError('MALFORMED_FRAME', {
            operation: 'metadata.forward',
            message: err instanceof Error ? err.message : String(err),
          }),
        );
      }
    }
  }

  private send(
    to: NodeId,
    type: 'prop' | 'app-resp',
    index: number,
    context: Uint8Array,
    remainingMs = 0,
  ): void {
    const message: Message = {
      type,
      from: this.options.nodeId,
      to,
      term: 0,
      logTerm: 0,
      index,
      commit: remainingMs,
      reject: false,
      rejectHint: 0,
      entries: [],
      context,
    };
    this.options.transport.send(to, [{ groupId: FORWARD_GROUP_ID, message }]);
  }
}

/**
 * How long the leader side works on a forwarded proposal: the asker's remaining time as it sent it, never
 * more than this side's own bound; 0 (an asker that sends none) leaves the bound alone.
 */
export function forwardedBudgetMs(remainingMs: number, handleTimeoutMs: number): number {
  return remainingMs > 0 ? Math.min(remainingMs, handleTimeoutMs) : handleTimeoutMs;
}

/** An answer from a peer: untrusted. Returns the result, throws the remote error, or fails an invariant. */
function decodeReply(context: Uint8Array | undefined): ApplyResult {
  if (context === undefined) throw new InvariantViolation('forward answer without a body');
  const body: unknown = unpack(context);
  if (typeof body !== 'object' || body === null) throw new InvariantViolation('forward answer is not a map');
  const b = body as Record<string, unknown>;
  if (b.ok === true) return parseApplyResult(b.result);
  const code = b.code;
  if (typeof code !== 'string' || !Object.hasOwn(ERRORS, code) || typeof b.message !== 'string') {
    throw new InvariantViolation('forward answer has no valid error code');
  }
  const leaderId = b.leaderId;
  const leaderPeer = isHostPort(b.leaderPeer)
    ? { host: b.leaderPeer.host, port: b.leaderPeer.port }
    : undefined;
  throw new StreamBusError(code as ErrorCode, {
    operation: 'metadata.forward',
    message: b.message,
    ...(typeof leaderId === 'number'
      ? { metadata: { leaderId, ...(leaderPeer === undefined ? {} : { leaderPeer }) } }
      : {}),
  });
}

/** A peer address from the wire (untrusted): a non-empty host and a port in 1..65535. */
function isHostPort(value: unknown): value is HostPort {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.host === 'string' &&
    v.host.length > 0 &&
    typeof v.port === 'number' &&
    Number.isInteger(v.port) &&
    v.port > 0 &&
    v.port <= 65_535
  );
}

function hostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
