/**
 * One client connection: owns the socket, framing, pipelining and backpressure. It never interprets a
 * request: whole frames go to the router, which answers with a response frame (or null when none is due,
 * as for acks=0 produce).
 *
 * Pipelining: many requests may be in flight; responses are written strictly in request order (a slow
 * fetch holds back the answers behind it, as in Kafka). Backpressure: the socket stops being read while
 * `inFlightMax` requests are pending or while the socket's write buffer is above its high-water mark.
 *
 * A frame longer than `frameBytesMax` is refused unread: only its first bytes are read (memory never follows
 * a declared length), the router answers its correlation id in its turn, and the connection then closes.
 * Closing rather than skipping the body: nothing after an unread body can be trusted to be a frame (a
 * garbage length would have the broker swallow up to 4 GiB), and the client opens a new connection anyway.
 */
import type { Socket } from 'node:net';
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import { FrameDecoder, type RefusedFrame } from '../protocol/frame-decoder.js';
import { REQUEST_IDS_BYTES } from '../protocol/header.js';
import { type ReadingSocket, writeChunks } from '../protocol/socket-io.js';

export interface FrameRouter {
  /** Answers one request frame. Never throws for bad input: bad input gets an error response. */
  route(frame: Buffer, connection: ConnectionInfo): Promise<Answer | null>;
  /**
   * Answers a request whose frame was refused as over the frame limit, from the frame's first bytes (its
   * body is never read). The connection closes after the answer.
   */
  refuse(refused: RefusedFrame, connection: ConnectionInfo): Answer;
}

/** A response frame as chunks to write in order (see encodeResponseChunks). */
export interface Answer {
  chunks: Buffer[];
  /** Runs once the socket has taken every chunk (not when the write fails or never happens). */
  onWritten?: () => void;
  /**
   * Close the connection once the answers before this one and its own chunks (if any) are written,
   * answering nothing more: how a request that has no answer (a produce with acks=0) tells its client it
   * failed (CLOSE_CONNECTION), and what follows the answer to a frame refused unread.
   */
  closeConnection?: true;
  /**
   * The client went over a quota (client-quotas.ts): once this answer is written the
   * connection is not read for this long, so the client's next requests wait (Kafka's channel mute).
   */
  throttleMs?: number;
}

/** An answer that closes the connection instead (see Answer.closeConnection). */
export const CLOSE_CONNECTION: Answer = { chunks: [], closeConnection: true };

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
}

export interface ConnectionLimits {
  frameBytesMax: number;
  inFlightRequestsMax: number;
  idleTimeoutMs: number;
}

export interface ConnectionObserver {
  onProtocolError?(info: ConnectionInfo, err: StreamBusError): void;
  onClosed?(info: ConnectionInfo): void;
  onInFlightChange?(delta: number): void;
  /**
   * A request's answer is ready but waits behind an earlier, unanswered request on the same connection
   * (+1), or has been written (-1): the head-of-line queue that in-order responses create.
   */
  onQueuedChange?(delta: number): void;
  /** The connection goes unread `addedMs` longer than it already would (its client is over a quota). */
  onMuted?(info: ConnectionInfo, addedMs: number): void;
}

interface Slot {
  done: boolean;
  /** Done while an earlier request was not: counted by onQueuedChange until written. */
  queued: boolean;
  response: Answer | null;
}

export class BrokerConnection implements ConnectionInfo {
  readonly remoteAddress: string;
  private readonly decoder: FrameDecoder;
  private readonly pending: Slot[] = [];
  private writeBlocked = false;
  private closed = false;
  /** False once draining: bytes still read (to see the peer's FIN) are discarded. */
  private reading = true;
  /** Set once an answer closed the connection (CLOSE_CONNECTION): nothing more is written. */
  private ending = false;
  private drainWaiters: (() => void)[] = [];
  /** Not reading until this timer fires: the client is over its quota (Answer.throttleMs). */
  private muted: ReturnType<typeof setTimeout> | null = null;
  private mutedUntilMs = 0;
  /** Resolves when the socket has closed. */
  readonly closedPromise: Promise<void>;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly router: FrameRouter,
    private readonly limits: ConnectionLimits,
    private readonly observer: ConnectionObserver = {},
    /** From acceptReading(): bytes arrive through it; without it, through 'data' events. */
    onBytes?: ReadingSocket['onBytes'],
  ) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder({
      frameBytesMax: limits.frameBytesMax,
      refusedHeadBytes: REQUEST_IDS_BYTES,
    });
    socket.setNoDelay(true);
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs, () => {
        if (this.pending.length === 0) this.destroy();
      });
    }
    const read = (chunk: Buffer): void => {
      if (this.reading) this.onData(chunk);
    };
    if (onBytes) onBytes(read, () => (this.reading ? this.decoder.inPlaceTarget() : null));
    else socket.on('data', read);
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    socket.on('error', () => this.destroy());
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => this.onClose());
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Stops reading new requests; resolves once every in-flight request has been answered (or the socket closed). */
  drain(): Promise<void> {
    this.socket.pause();
    this.reading = false;
    if (this.pending.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }

  /** Ends the connection after flushing what has been written. */
  end(): void {
    if (this.closed) return;
    this.socket.end();
    // drain() paused the socket: resume (bytes read now are discarded) so the peer's FIN is read and the
    // socket closes; a paused socket never sees it and would never close.
    this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      // A broken length prefix leaves no way to find the next frame: answer nothing, close.
      this.observer.onProtocolError?.(this, toStreamBusError(err, 'connection.decode'));
      this.destroy();
      return;
    }
    for (const frame of frames) this.dispatch(frame);
    const refused = this.decoder.refused;
    if (refused !== null) this.refuse(refused);
    this.updateFlow();
  }

  /** Answers a frame refused unread, after the requests before it, then closes (see the file comment). */
  private refuse(refused: RefusedFrame): void {
    this.reading = false;
    this.observer.onProtocolError?.(this, refused.error);
    const slot: Slot = { done: false, queued: false, response: null };
    this.pending.push(slot);
    this.observer.onInFlightChange?.(1);
    this.complete(slot, { ...this.router.refuse(refused, this), closeConnection: true });
  }

  private dispatch(frame: Buffer): void {
    const slot: Slot = { done: false, queued: false, response: null };
    this.pending.push(slot);
    this.observer.onInFlightChange?.(1);
    this.router.route(frame, this).then(
      (response) => this.complete(slot, response),
      (err: unknown) => {
        // The router answers bad input itself; reaching here is a broker bug. Drop the connection rather
        // than answer out of order or leave the client waiting forever.
        this.observer.onProtocolError?.(
          this,
          err instanceof StreamBusError ? err : new StreamBusError('UNKNOWN_SERVER_ERROR', { cause: err }),
        );
        this.complete(slot, null);
        this.destroy();
      },
    );
  }

  private complete(slot: Slot, response: Answer | null): void {
    slot.done = true;
    slot.response = response;
    if (this.pending[0] !== slot) {
      slot.queued = true;
      this.observer.onQueuedChange?.(1);
    }
    while (this.pending.length > 0 && this.pending[0]!.done) {
      const head = this.pending.shift()!;
      this.observer.onInFlightChange?.(-1);
      if (head.queued) this.observer.onQueuedChange?.(-1);
      if (head.response !== null && !this.closed && !this.ending) {
        const { chunks, onWritten } = head.response;
        const done =
          onWritten === undefined
            ? undefined
            : (err?: Error | null) => {
                if (!err) onWritten();
              };
        if (chunks.length > 0 && !writeChunks(this.socket, chunks, done)) this.writeBlocked = true;
      }
      const throttleMs = head.response?.throttleMs ?? 0;
      if (throttleMs > 0 && !this.closed) this.mute(throttleMs);
      if (head.response?.closeConnection === true && !this.ending) {
        // Later requests go unanswered: the client fails them as lost with the connection and retries.
        this.ending = true;
        this.reading = false;
        this.end();
      }
    }
    this.updateFlow();
    if (this.pending.length === 0) this.releaseDrainWaiters();
  }

  /** Stops reading for `ms` (or longer, if already muted for longer). */
  private mute(ms: number): void {
    const now = Date.now();
    const until = now + ms;
    if (this.muted !== null) {
      if (until <= this.mutedUntilMs) return;
      clearTimeout(this.muted);
    }
    this.observer.onMuted?.(this, until - Math.max(now, this.mutedUntilMs));
    this.mutedUntilMs = until;
    this.muted = setTimeout(() => {
      this.muted = null;
      this.updateFlow();
    }, ms);
    this.updateFlow();
  }

  private updateFlow(): void {
    // Ending: the socket must stay read (what arrives is discarded) to see the peer's FIN (end()).
    if (this.closed || this.ending || this.drainWaiters.length > 0) return;
    const shouldPause =
      this.writeBlocked || this.muted !== null || this.pending.length >= this.limits.inFlightRequestsMax;
    if (shouldPause && !this.socket.isPaused()) this.socket.pause();
    else if (!shouldPause && this.socket.isPaused()) this.socket.resume();
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.muted !== null) clearTimeout(this.muted);
    this.muted = null;
    this.releaseDrainWaiters();
    this.observer.onClosed?.(this);
  }
}
