import type { Server, Socket } from 'node:net';
import { invariant } from '../../errors/index.js';
import type { FrameDecoder } from '../../protocol/frame-decoder.js';
import type { BytesListener, ReadingSocket } from '../../protocol/socket-io.js';
import type { CircuitBreaker } from '../../resilience/circuit-breaker.js';
import { encodeEnvelopes } from '../codec.js';
import type { NodeId } from '../core/types.js';
import { encodeFrame, FRAME_HELLO, FRAME_MESSAGES, helloPayload, messageFrames } from './frame.js';
import { InboundFrames, type MessageHandler } from './inbound-frames.js';
import {
  countAbsence,
  creditOwnStall,
  newPeer,
  type Peer,
  type PeerAddress,
  PeerLinkError,
  retirePeer,
} from './peer.js';
import { dialPeer, type PeerTls, peerServer, renewPeerServerTls } from './peer-sockets.js';
import {
  type ResolvedTcpTransportOptions,
  resolveTcpTransportOptions,
  type TcpTransportOptions,
} from './tcp-transport-options.js';
import type { Envelope, RaftTransport } from './types.js';

export type { PeerAddress } from './peer.js';
export type { TcpTransportOptions } from './tcp-transport-options.js';

/** Told of each peer's breaker; what it returns runs when that peer is removed (removePeer). */
export type BreakerListener = (breaker: CircuitBreaker) => (() => void) | undefined;

/** An empty MESSAGES frame: a keepalive any version of the receiver accepts (no envelopes in it). */
const KEEPALIVE_FRAME = encodeFrame(FRAME_MESSAGES, encodeEnvelopes([]));

/** A liveness check at least this late counts as a stall of this process (creditOwnStall). */
const OWN_STALL_MIN_MS = 100;

/**
 * Raft messages over TCP. One connection per peer pair: the node with the lower id dials, the other
 * accepts, and both directions share the socket. A joining node dials every voter (they do not know its
 * address yet, see `dialsAllPeers`); if both sides dial, the lower id's connection wins. Everything queued
 * for a peer during one event-loop turn goes out as one frame (every group's messages together). Queues are
 * bounded and drop the oldest envelopes: Raft retransmits, so loss is safe and blocking the driver is not.
 */
export class TcpTransport implements RaftTransport {
  private readonly opts: ResolvedTcpTransportOptions;
  /** What the listener presents and every dial uses: opts.tls until renewed (setTls). */
  private tls: PeerTls | null;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly breakerListeners = new Set<BreakerListener>();
  private readonly inbound: InboundFrames;
  private server: Server | undefined;
  private readonly unidentified = new Set<Socket>();
  private closed = false;
  private peerLostHandler: ((peer: NodeId) => void) | undefined;
  /** Dials every peer whatever the ids (options.dialsAllPeers, or dialAllPeers since). */
  private dialsAll: boolean;
  /** Why a peer connection ended, when it was not the other end closing it (logged when it is lost). */
  private readonly endCauses = new WeakMap<Socket, string>();
  /**
   * Connections the peer was heard on. Only their loss is logged: one that something between accepted and
   * closed before the peer spoke (a proxy or sidecar in front of a stopped broker) was never the peer's.
   */
  private readonly heardOn = new WeakSet<Socket>();
  droppedEnvelopes = 0;
  /** Dials started (connection attempts); a peer whose breaker is open is not dialed. */
  dialsStarted = 0;

  constructor(options: TcpTransportOptions) {
    this.opts = resolveTcpTransportOptions(options);
    this.tls = this.opts.tls;
    this.dialsAll = this.opts.dialsAllPeers;
    this.inbound = new InboundFrames(this.opts);
    for (const [id, addr] of options.peers ?? []) this.setPeer(id, addr);
    this.livenessIntervalMs = Math.min(this.opts.keepaliveIntervalMs, 100);
    this.lastLivenessCheckAtMs = performance.now();
    this.livenessTimer = setInterval(() => this.checkLiveness(), this.livenessIntervalMs);
    this.livenessTimer.unref();
  }

  private readonly livenessIntervalMs: number;
  /** On the real monotonic clock (not `nowMs`, which tests drive): it measures this loop's own lateness. */
  private lastLivenessCheckAtMs: number;

  /** Connections closed because nothing arrived on them for idleTimeoutMs. */
  idleDisconnects = 0;
  private livenessTimer: NodeJS.Timeout | undefined;

  /** Keepalives on quiet connections; closes connections that went silent (they are dialed again). */
  private checkLiveness(): void {
    const now = this.opts.nowMs();
    const checkedAtMs = performance.now();
    const lateMs = checkedAtMs - this.lastLivenessCheckAtMs - this.livenessIntervalMs;
    this.lastLivenessCheckAtMs = checkedAtMs;
    if (lateMs >= OWN_STALL_MIN_MS) creditOwnStall(this.peers.values(), lateMs, now);
    for (const peer of this.peers.values()) {
      const socket = peer.socket;
      if (socket === undefined || socket.destroyed) {
        countAbsence(peer, now, this.opts.idleTimeoutMs);
        continue;
      }
      if (now - peer.lastReceivedAtMs > this.opts.idleTimeoutMs) {
        this.idleDisconnects++;
        this.opts.logger.warn(
          { node_id: this.opts.nodeId, peer: peer.id, silent_ms: now - peer.lastReceivedAtMs },
          'raft peer connection went silent: closing it to connect afresh',
        );
        this.endCauses.set(socket, 'silent');
        socket.destroy();
        continue;
      }
      if (!peer.waitingDrain && now - peer.lastSentAtMs >= this.opts.keepaliveIntervalMs) {
        peer.lastSentAtMs = now;
        socket.write(KEEPALIVE_FRAME);
      }
    }
  }

  /**
   * Each peer's breaker, now and as peers become known (to export their state); what `listener` returns for
   * one runs when its peer is removed. Returns an unsubscribe.
   */
  observeBreakers(listener: BreakerListener): () => void {
    for (const peer of this.peers.values()) this.tellBreaker(listener, peer);
    this.breakerListeners.add(listener);
    return () => this.breakerListeners.delete(listener);
  }

  private tellBreaker(listener: BreakerListener, peer: Peer): void {
    const release = listener(peer.breaker);
    if (release !== undefined) peer.releases.push(release);
  }

  /** Starts accepting connections; resolves with the bound address. */
  async listen(): Promise<PeerAddress> {
    const server = peerServer(
      this.tls,
      (connection) => this.accept(connection),
      (remote, err) =>
        this.opts.logger.warn(
          { remote, error: err.message },
          'raft peer TLS handshake failed; connection closed',
        ),
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    invariant(addr !== null && typeof addr === 'object', 'tcp server has an address');
    return { host: addr.address, port: addr.port };
  }

  /**
   * Renewed certificate files (a TLS transport only): connections accepted or dialed from now on use them;
   * open ones keep going on the certificate they were made with.
   */
  setTls(tls: PeerTls): void {
    invariant(this.tls !== null, 'setTls on a TLS transport: the peer link cannot switch protocol');
    this.tls = tls;
    if (this.server !== undefined) renewPeerServerTls(this.server, tls);
  }

  /** Adds or moves a peer. The lower id of a pair dials, so only then does this connect. */
  setPeer(id: NodeId, address: PeerAddress): void {
    if (id === this.opts.nodeId) return;
    let peer = this.peers.get(id);
    if (peer === undefined) peer = this.addPeer(id, address, this.dialsAll || this.opts.nodeId < id);
    else peer.address = address;
    if (this.dials(id) && peer.socket === undefined && peer.reconnectTimer === undefined) this.dial(peer);
  }

  /**
   * From now on dials every peer it knows, whatever the ids, as a node built with `dialsAllPeers` does: for a
   * node that finds out only later that the others may not dial it (broker/leader-search.ts). A peer that
   * dials it too is not refused here (a lower id's connection wins), and one whose connection is up already
   * is dialed only once that connection is lost.
   */
  dialAllPeers(): void {
    if (this.dialsAll) return;
    this.dialsAll = true;
    for (const peer of this.peers.values()) {
      // Known only from its hello (no address): nothing to dial (see onDisconnect).
      if (peer.dialer || peer.address === undefined) continue;
      peer.dialer = true;
      if (peer.socket === undefined && peer.reconnectTimer === undefined) this.dial(peer);
    }
  }

  private addPeer(id: NodeId, address: PeerAddress | undefined, dialer: boolean): Peer {
    const peer = newPeer(id, address, dialer, {
      failureThreshold: this.opts.breakerFailureThreshold,
      openTimeoutMs: this.opts.breakerOpenTimeoutMs,
      clock: { nowMs: this.opts.nowMs },
    });
    peer.breaker.subscribe((event) => {
      if (event.type !== 'state-change' || event.to !== 'open') return;
      // What waited for the peer is stale by the time it returns; Raft sends afresh.
      this.droppedEnvelopes += peer.queue.length;
      peer.queue = [];
    });
    this.peers.set(id, peer);
    for (const listener of this.breakerListeners) this.tellBreaker(listener, peer);
    return peer;
  }

  /**
   * Forgets a peer (its broker left the cluster): its connection and any dial in progress close, it is not
   * dialed again, messages for it are dropped, and its breaker goes with it (observers' releases run), so
   * nothing more is logged or exported about it. A later setPeer, or its hello if unknown peers are
   * accepted, adds it afresh with a new breaker.
   */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    this.droppedEnvelopes += retirePeer(peer, this.opts.timers);
  }

  onMessage(handler: MessageHandler): void {
    this.inbound.handler = handler;
  }

  onPeerLost(handler: (peer: NodeId) => void): void {
    this.peerLostHandler = handler;
  }

  send(to: NodeId, envelopes: readonly Envelope[]): void {
    const peer = this.peers.get(to);
    // An open breaker fails sends fast: no queue builds up for a peer known to be away.
    if (peer === undefined || this.closed || (peer.socket === undefined && peer.breaker.state() === 'open')) {
      this.droppedEnvelopes += envelopes.length;
      return;
    }
    for (const e of envelopes) peer.queue.push(e);
    const excess = peer.queue.length - this.opts.maxQueuedEnvelopes;
    if (excess > 0) {
      peer.queue.splice(0, excess);
      this.droppedEnvelopes += excess;
    }
    if (!peer.flushScheduled) {
      peer.flushScheduled = true;
      setImmediate(() => {
        peer.flushScheduled = false;
        this.flush(peer);
      });
    }
  }

  isConnected(to: NodeId): boolean {
    return this.peers.get(to)?.socket !== undefined;
  }

  /**
   * Bytes (messages or keepalives) arrived from `to` within idleTimeoutMs. Stricter than `isConnected`: a
   * stopped peer (SIGSTOP, a hung process) still completes TCP connects in its kernel, so its connection
   * comes and goes, but it sends nothing. For health reports (how many voters this node hears).
   */
  isHeardFrom(to: NodeId): boolean {
    const peer = this.peers.get(to);
    return (
      peer !== undefined &&
      peer.lastDataAtMs > 0 &&
      this.opts.nowMs() - peer.lastDataAtMs <= this.opts.idleTimeoutMs
    );
  }

  /**
   * Bytes arrived from `to` within `ms` over the connection that is up now (RaftTransport.heardFromWithin).
   * Silence this process caused itself (a stall of its own event loop) is not counted (creditOwnStall).
   */
  heardFromWithin(to: NodeId, ms: number): boolean {
    const peer = this.peers.get(to);
    return peer?.socket !== undefined && peer.lastDataAtMs > 0 && this.opts.nowMs() - peer.lastDataAtMs <= ms;
  }

  /** How long ago bytes (messages or keepalives) last arrived from `to`; undefined if never or not a peer. */
  silentForMs(to: NodeId): number | undefined {
    const at = this.peers.get(to)?.lastDataAtMs ?? 0;
    return at > 0 ? this.opts.nowMs() - at : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.livenessTimer);
    for (const peer of this.peers.values()) {
      if (peer.reconnectTimer !== undefined) this.opts.timers.clearTimeout(peer.reconnectTimer);
      peer.socket?.destroy();
      peer.socket = undefined;
      peer.queue = [];
    }
    for (const s of this.unidentified) s.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- connections

  private dials(peerId: NodeId): boolean {
    return this.peers.get(peerId)?.dialer === true;
  }

  /** Dials through the peer's breaker: while it is open, no dial, just a check again when it may admit one. */
  private dial(peer: Peer): void {
    // A connection the peer opened (it is the lower id, or this node was unknown to it) serves both ways.
    if (this.closed || peer.retired || peer.address === undefined || peer.socket !== undefined) return;
    if (peer.dialing !== undefined) return;
    let admitted = false;
    peer.breaker
      .call(undefined, () => {
        admitted = true;
        return this.connect(peer, peer.address as PeerAddress);
      })
      .catch(() => undefined);
    if (!admitted)
      this.redialAfter(peer, Math.max(peer.breaker.retryAfterMs(), this.opts.reconnectInitialMs));
  }

  /**
   * One connection attempt: resolves once the peer is heard on it (or its own connection is already up),
   * rejects if it closes before that. Either way the socket lives on as the peer's connection.
   */
  private connect(peer: Peer, address: PeerAddress): Promise<void> {
    this.dialsStarted++;
    return new Promise<void>((resolve, reject) => {
      let proven = false;
      const { socket, onBytes, ready } = dialPeer(address, this.opts.localAddress, this.tls);
      peer.dialing = socket;
      socket.setNoDelay(true);
      socket.setTimeout(this.opts.connectTimeoutMs, () => socket.destroy());
      socket.once(ready, () => {
        peer.dialing = undefined;
        socket.setTimeout(0);
        socket.setKeepAlive(true, 5_000);
        if (peer.socket !== undefined) {
          // The peer's own connection arrived meanwhile: keep that one (the peer is evidently up).
          proven = true;
          resolve();
          socket.destroy();
          return;
        }
        socket.write(encodeFrame(FRAME_HELLO, helloPayload(this.opts.nodeId)));
        const decoder = this.inbound.newDecoder();
        const read = this.attach(peer, socket, decoder);
        onBytes(
          (chunk) => {
            if (!proven) {
              proven = true;
              this.heardOn.add(socket);
              peer.attempts = 0;
              resolve();
            }
            read(chunk);
          },
          () => decoder.inPlaceTarget(),
        );
      });
      socket.on('error', (err) => this.endOnError(socket, err));
      socket.once('close', () => {
        if (peer.dialing === socket) peer.dialing = undefined;
        if (!proven) reject(new PeerLinkError(peer.id, 'connection closed before the peer was heard'));
        if (peer.socket === socket || peer.socket === undefined) this.onDisconnect(peer, socket);
      });
    });
  }

  private redialAfter(peer: Peer, delayMs: number): void {
    if (this.closed || peer.retired || peer.reconnectTimer !== undefined) return;
    peer.reconnectTimer = this.opts.timers.setTimeout(() => {
      peer.reconnectTimer = undefined;
      this.dial(peer);
    }, delayMs);
  }

  private endOnError(socket: Socket, err: Error & { code?: string }): void {
    this.endCauses.set(socket, err.code ?? err.message);
    socket.destroy();
  }

  private onDisconnect(peer: Peer, socket: Socket): void {
    if (peer.socket === socket) {
      peer.socket = undefined;
      peer.absentSinceMs = this.opts.nowMs();
      if (!this.closed) {
        // Every group led over this connection hears of it (followers campaign soon): worth a line, so an
        // election nobody's fault explains can be traced to the link (a reset, the other end closing).
        if (this.heardOn.has(socket))
          this.opts.logger.info(
            {
              node_id: this.opts.nodeId,
              peer: peer.id,
              cause: this.endCauses.get(socket) ?? 'closed by the other end',
            },
            'raft peer connection lost',
          );
        this.peerLostHandler?.(peer.id);
        // Known only from its hello (never given an address): nothing vouches for it any more. Forgotten
        // rather than counted absent forever, which a broker that left the cluster, dialed in again before
        // it was stopped, would otherwise be (its breaker opening every few seconds for good). A node
        // still joining dials again and is accepted afresh.
        if (peer.address === undefined && !peer.dialer) this.removePeer(peer.id);
      }
    }
    peer.waitingDrain = false;
    if (this.closed || peer.retired || !peer.dialer || peer.reconnectTimer !== undefined) return;
    // Exponential backoff with jitter, so a restarted cluster does not reconnect in lockstep. Once the
    // breaker has opened, dial() waits out its open timeout instead.
    const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectInitialMs * 2 ** peer.attempts);
    const delayMs = base / 2 + (this.opts.random() * base) / 2;
    peer.attempts = Math.min(peer.attempts + 1, 30);
    this.redialAfter(peer, delayMs);
  }

  /** A joining node's first hello: known from now on, reached over the connection it opened. */
  private inboundPeer(id: NodeId): Peer | undefined {
    if (!this.opts.acceptsUnknownPeers || id === 0 || id === this.opts.nodeId) return undefined;
    const peer = this.addPeer(id, undefined, false);
    this.opts.logger.info({ peer: id }, 'accepted a connection from a node outside the configured peers');
    return peer;
  }

  private accept({ socket, onBytes }: ReadingSocket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.unidentified.add(socket);
    const owner = (): Peer | undefined => {
      for (const p of this.peers.values()) if (p.socket === socket) return p;
      return undefined;
    };
    const decoder = this.inbound.newDecoder();
    const timer = setTimeout(() => socket.destroy(), this.opts.helloTimeoutMs);
    // Until the peer's hello names it, bytes go to onHello; then to the peer's reader (attach()).
    let read: BytesListener;
    const onHello = (chunk: Buffer): void => {
      const frames = this.inbound.decode(socket, decoder, chunk);
      if (frames === undefined) return;
      const first = frames[0];
      if (first === undefined) return;
      const peerId =
        first.kind === FRAME_HELLO && first.payload.byteLength === 4
          ? Buffer.from(first.payload).readUInt32BE(0)
          : 0;
      const peer = this.peers.get(peerId) ?? this.inboundPeer(peerId);
      // Of two connections between a pair, the lower id's wins: a joining node dials everyone, and the
      // voters that learn its address later dial it too when their id is lower.
      if (peer === undefined || (peer.dialer && peerId > this.opts.nodeId)) {
        this.inbound.reject(socket, new Error(`unexpected hello from ${peerId}`));
        return;
      }
      clearTimeout(timer);
      this.heardOn.add(socket);
      peer.lastDataAtMs = this.opts.nowMs();
      socket.setKeepAlive(true, 5_000);
      this.unidentified.delete(socket);
      // A newer connection from the same peer (it restarted) replaces the old one.
      const old = peer.socket;
      read = this.attach(peer, socket, decoder);
      old?.destroy();
      // The peer's hello is its own word that it is back: an open breaker lets traffic through at once.
      peer.breaker.recovered();
      peer.breaker.call(undefined, async () => undefined).catch(() => undefined);
      this.inbound.deliver(peer, socket, frames.slice(1));
    };
    read = onHello;
    onBytes(
      (chunk) => read(chunk),
      () => decoder.inPlaceTarget(),
    );
    socket.on('error', (err) => this.endOnError(socket, err));
    socket.once('close', () => {
      clearTimeout(timer);
      this.unidentified.delete(socket);
      const p = owner();
      if (p !== undefined) this.onDisconnect(p, socket);
    });
  }

  /** Makes `socket` the peer's connection; returns the listener for the bytes it reads. */
  private attach(peer: Peer, socket: Socket, decoder: FrameDecoder): BytesListener {
    peer.socket = socket;
    peer.waitingDrain = false;
    peer.lastReceivedAtMs = this.opts.nowMs();
    this.flush(peer);
    return this.inbound.reader(peer, socket, decoder);
  }

  private flush(peer: Peer): void {
    const socket = peer.socket;
    if (socket === undefined || peer.waitingDrain || peer.queue.length === 0 || socket.destroyed) return;
    const batch = peer.queue;
    peer.queue = [];
    let writable = true;
    // Corked, a frame's buffers leave in one writev.
    peer.lastSentAtMs = this.opts.nowMs();
    socket.cork();
    const frames = messageFrames(batch, this.opts.maxFrameBytes, (bytes) => {
      this.droppedEnvelopes++;
      this.opts.logger.warn({ node_id: this.opts.nodeId, bytes }, 'raft message exceeds frame limit');
    });
    for (const frame of frames) for (const chunk of frame) writable = socket.write(chunk) && writable;
    socket.uncork();
    if (!writable) {
      peer.waitingDrain = true;
      socket.once('drain', () => {
        peer.waitingDrain = false;
        this.flush(peer);
      });
    }
  }
}
